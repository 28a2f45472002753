"""Argument checks shared by the layers' constructors."""


def check_positive(**values: int) -> None:
    """Raise a ``ValueError`` naming the first value below 1.

    >>> check_positive(n_layers=2, max_len=0)
    Traceback (most recent call last):
    ...
    ValueError: max_len=0 must be a positive integer.
    """
    for name, value in values.items():
        if value < 1:
            raise ValueError(f"{name}={value!r} must be a positive integer.")
