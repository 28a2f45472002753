"""The registries of loadable classes, filled as classes are defined.

Two kinds: estimators (and tokenizers, cleaners), saved with their parameters
and fitted attributes, and records, frozen dataclasses of plain values (a
fit's plan) saved field by field.
"""

import dataclasses

__all__ = [
    "is_persistable",
    "is_record",
    "register",
    "register_record",
    "registered_class",
    "registered_record",
]

_REGISTRY = {}
_RECORDS = {}


def register(cls):
    """Make ``cls`` loadable by :func:`sktfm.load` under its class name."""
    _REGISTRY[cls.__name__] = cls
    return cls


def _registered(registry, name, kind):
    if not isinstance(name, str) or name not in registry:
        raise ValueError(
            f"Unknown {kind} {name!r} in an sktfm folder; sktfm.load rebuilds only "
            f"{sorted(registry)}."
        )
    return registry[name]


def registered_class(name):
    """The :class:`Persistable` class registered under ``name``."""
    return _registered(_REGISTRY, name, "class")


def is_persistable(obj):
    """Whether ``obj`` is an instance of a registered class."""
    return _REGISTRY.get(type(obj).__name__) is type(obj)


def register_record(cls):
    """Make the frozen dataclass ``cls`` savable and loadable, field by field.

    Its ``__init__`` (with any ``__post_init__`` checks) rebuilds it at load,
    from fields decoded as any other saved value.
    """
    if not (dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen):
        raise TypeError(f"{cls.__name__} is not a frozen dataclass.")
    _RECORDS[cls.__name__] = cls
    return cls


def registered_record(name):
    """The record class registered under ``name``."""
    return _registered(_RECORDS, name, "record")


def is_record(obj):
    """Whether ``obj`` is an instance of a registered record class."""
    return _RECORDS.get(type(obj).__name__) is type(obj)
