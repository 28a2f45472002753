"""From a list of :class:`Parameter` entries to ``__init__``, constraints and docs.

An estimator class's ``__init__`` (a keyword-only signature that
``get_params`` reads), its ``_parameter_constraints`` and the ``Parameters``
block of its docstring are all made here from the same entries.
"""

import inspect
import textwrap
from typing import NamedTuple


class Parameter(NamedTuple):
    """One parameter: default, scikit-learn constraint, numpydoc type and description.

    ``applies_to`` names the input types the parameter is read for (empty:
    all of them); ``fit`` warns when one is set away from its default for
    input it ignores.
    """

    default: object
    constraint: list
    type: str
    doc: str
    applies_to: tuple = ()


def options(values):
    """The numpydoc type of a parameter that takes one of ``values``: ``{"a", "b"}``."""
    return "{" + ", ".join(f'"{value}"' for value in values) + "}"


def is_default(value, default):
    """Whether a parameter's ``value`` is its ``default`` (same type, equal)."""
    if value is default:
        return True
    try:
        return type(value) is type(default) and bool(value == default)
    except (TypeError, ValueError):  # an array, say: not a default
        return False


def inapplicable(parameters, values, input_type):
    """Names of the ``parameters`` set (in ``values``) away from their default that
    ``input_type`` ignores, in signature order."""
    return [
        name
        for name, param in parameters.items()
        if param.applies_to
        and input_type not in param.applies_to
        and name in values
        and not is_default(values[name], param.default)
    ]


def init_parameters(cls):
    """Names of the parameters of ``cls.__init__``, in signature order."""
    if cls.__init__ is object.__init__:
        return []
    return [
        name
        for name, arg in inspect.signature(cls.__init__).parameters.items()
        if name != "self" and arg.kind is not arg.VAR_KEYWORD and arg.kind is not arg.VAR_POSITIONAL
    ]


def constraints(cls, parameters):
    """``_parameter_constraints`` of ``cls``: the constraint of each of its parameters.

    Parameters that a subclass adds without an entry go unvalidated, as
    scikit-learn allows for third-party subclasses.
    """
    return {
        name: parameters[name].constraint for name in init_parameters(cls) if name in parameters
    }


def make_init(parameters):
    """An ``__init__`` whose keyword-only arguments are ``parameters``, in order.

    Each argument is stored unchanged under its name, as scikit-learn asks of
    an estimator's ``__init__``; the signature (``inspect.signature``, which
    ``get_params`` reads) lists every parameter with its default.
    """
    signature = inspect.Signature(
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=param.default)
            for name, param in parameters.items()
        ]
    )

    def __init__(self, **params):
        try:
            bound = signature.bind(self, **params)
        except TypeError as error:  # a misspelt name, say
            raise TypeError(f"{type(self).__name__}() {error}") from None
        bound.apply_defaults()
        for name in parameters:
            setattr(self, name, bound.arguments[name])

    __init__.__signature__ = signature
    return __init__


def _default(value):
    return f'"{value}"' if isinstance(value, str) else repr(value)


def parameters_doc(cls, parameters):
    """The numpydoc ``Parameters`` entries of ``cls.__init__``, in signature order."""
    blocks = []
    signature = inspect.signature(cls.__init__).parameters
    for name in init_parameters(cls):
        if name not in parameters:
            continue
        param, arg = parameters[name], signature[name]
        doc = param.doc
        if param.applies_to:
            kinds = " and ".join(param.applies_to)
            doc += f" Read for {kinds} input only; ``fit`` warns when it is set for other input."
        text = textwrap.fill(
            doc,
            width=76,
            initial_indent=" " * 8,
            subsequent_indent=" " * 8,
            break_on_hyphens=False,
        )
        blocks.append(f"    {name} : {param.type}, default={_default(arg.default)}\n{text}")
    return "\n\n".join(blocks)
