"""The registry of loadable classes, filled as classes are defined."""

__all__ = ["is_persistable", "register", "registered_class"]

_REGISTRY = {}


def register(cls):
    """Make ``cls`` loadable by :func:`sktfm.load` under its class name."""
    _REGISTRY[cls.__name__] = cls
    return cls


def registered_class(name):
    """The :class:`Persistable` class registered under ``name``."""
    if name not in _REGISTRY:
        raise ValueError(
            f"Unknown class {name!r} in an sktfm folder; sktfm.load rebuilds only "
            f"{sorted(_REGISTRY)}."
        )
    return _REGISTRY[name]


def is_persistable(obj):
    """Whether ``obj`` is an instance of a registered class."""
    return _REGISTRY.get(type(obj).__name__) is type(obj)
