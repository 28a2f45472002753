"""Frozen, typed, savable dataclasses: what a fit's plan is made of.

:func:`record` makes a class a frozen dataclass whose fields are checked
against their annotations when it is built, and registers it with the
persistence layer: a saved model stores its plan field by field, and a
folder whose plan holds a value of the wrong type is refused at load.
"""

import dataclasses
import types
import typing
from numbers import Integral, Real

from ..persistence.registry import register_record

__all__ = ["record"]

# What an annotation accepts: an int field takes no bool, a float field takes
# any real number (a learning rate of 1, say) but no bool.
_ACCEPTED = {int: Integral, float: Real}


def _accepts(annotation, value):
    if annotation is object:
        return True
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return any(_accepts(option, value) for option in typing.get_args(annotation))
    if annotation is type(None):
        return value is None
    if annotation in _ACCEPTED and isinstance(value, bool):
        return False
    return isinstance(value, _ACCEPTED.get(annotation, annotation))


def _check_fields(self):
    for field in dataclasses.fields(self):
        value = getattr(self, field.name)
        if not _accepts(field.type, value):
            raise TypeError(
                f"{type(self).__name__}.{field.name} must be {field.type}, "
                f"not {type(value).__name__} {value!r}."
            )


def record(cls):
    """Make ``cls`` a frozen dataclass with checked field types, savable by sktfm.save."""
    cls.__post_init__ = _check_fields
    return register_record(dataclasses.dataclass(frozen=True)(cls))
