"""Input validation for text and token inputs.

Private helpers shared by the text front end and, later, by the estimators.
They turn the many shapes a user may hand in (lists, tuples, ndarrays, pandas
Series and DataFrames, lists of token lists) into plain numpy/Python containers
of ``str``, and raise errors that name the offending sample and the fix.

Numbers are accepted where a string is expected and converted with ``str()``,
the way :class:`~sklearn.preprocessing.OneHotEncoder` treats numbers as
categories; this is what lets the text transformers pass scikit-learn's
estimator checks, which feed numeric arrays. Missing values (``None``, NaN,
``pd.NA``, ``NaT``) and non-finite numbers are rejected, never silently read as
the text ``"nan"``.
"""

import numbers

import numpy as np
import pandas as pd
import scipy.sparse as sp

__all__ = ["as_text_array", "as_token_lists", "is_token_lists"]

_MISSING_HINT = "text inputs must be strings (fill missing text with '')"
_SEQUENCE_TYPES = (list, tuple, np.ndarray)


def _where(row, col=None, col_label="column"):
    """Human-readable position of a cell, e.g. ``row 3, column 1``."""
    return f"row {row}" if col is None else f"row {row}, {col_label} {col}"


def _is_missing(value):
    """Whether a non-str scalar is a missing-value marker (None, NaN, NA, NaT)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, (float, np.floating)):
        return bool(np.isnan(value))
    if isinstance(value, (np.datetime64, np.timedelta64)):
        return bool(np.isnat(value))
    return False


def _cell_to_str(value, name, where):
    """Convert one cell to ``str`` or raise an error naming it.

    Parameters
    ----------
    value : object
        The cell.
    name : str
        Name of the input in error messages (``"X"``).
    where : str
        Position of the cell in error messages (``"row 3, column 1"``).
    """
    if isinstance(value, str):
        return value if type(value) is str else str(value)
    if _is_missing(value):
        raise ValueError(f"{name} contains None/NaN at {where}; {_MISSING_HINT}.")
    if isinstance(value, (complex, np.complexfloating)):
        raise ValueError(
            f"Complex data not supported: {name} contains {value!r} at {where}; "
            "text inputs must be strings or real numbers."
        )
    if isinstance(value, (numbers.Number, np.number, np.bool_)):
        if isinstance(value, (float, np.floating)) and not np.isfinite(value):
            raise ValueError(
                f"{name} contains inf at {where}; text inputs must be strings or "
                "finite numbers."
            )
        return str(value)
    raise TypeError(
        f"{name} contains a value of type {type(value).__name__} at {where}: "
        f"{value!r:.80}. Each "
        "text must be a str (or a number, read as text); convert the value with "
        "str() or decode bytes with .decode()."
    )


def _check_shape(arr, name, allow_2d):
    """Reject 3-D+, empty and (when not allowed) 2-D inputs."""
    if arr.ndim == 0:
        raise TypeError(
            f"{name} must be a sequence of texts, got a single "
            f"{type(arr.item()).__name__}; wrap it in a list: [{name}]."
        )
    if arr.ndim > 2:
        raise ValueError(
            f"{name} has {arr.ndim} dimensions (shape={arr.shape}); text input must "
            "be 1-D (one text per sample) or 2-D (one text per cell)."
        )
    if arr.shape[0] == 0:
        raise ValueError(
            f"{name} has 0 samples (shape={arr.shape}); at least 1 sample is required."
        )
    if arr.ndim == 2 and arr.shape[1] == 0:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={arr.shape}) while a minimum of 1 "
            f"is required; {name} must hold at least one text column."
        )
    if arr.ndim == 2 and not allow_2d:
        if arr.shape[1] != 1:
            raise ValueError(
                f"{name} must be 1-D (one text per sample), got a 2-D input with "
                f"shape {arr.shape}. Select one column, e.g. {name}[:, 0]."
            )
        arr = arr[:, 0]
    return arr


def _numeric_to_text(arr, name):
    """Convert a numeric ndarray to an object array of ``str`` (finite only)."""
    if arr.dtype.kind == "c":
        raise ValueError(
            f"Complex data not supported: {name} has dtype {arr.dtype}; text inputs "
            "must be strings or real numbers."
        )
    if arr.ndim == 1:
        raise ValueError(
            f"{name} is a 1-D array of numbers (dtype {arr.dtype}), not text. "
            f"Reshape your data either using {name}.reshape(-1, 1) if it holds a "
            f"single feature whose values should be read as text, or convert it "
            f"with {name}.astype(str) if each number is one text."
        )
    if arr.dtype.kind == "f":
        finite = np.isfinite(arr)
        if not finite.all():
            row, col = np.argwhere(~finite)[0]
            what = "None/NaN" if np.isnan(arr[row, col]) else "inf"
            hint = _MISSING_HINT if what == "None/NaN" else "numbers must be finite"
            raise ValueError(f"{name} contains {what} at {_where(row, col)}; {hint}.")
    return arr.astype(str).astype(object)


def _object_to_text(arr, name):
    """Convert an object ndarray cell by cell; the fast path is all-``str``."""
    flat = arr.ravel()
    if all(type(cell) is str for cell in flat):
        return arr
    if arr.ndim == 1 and not any(isinstance(cell, str) for cell in flat):
        first = next((c for c in flat if not _is_missing(c)), None)
        if isinstance(first, (numbers.Number, np.number)):
            _numeric_to_text(np.zeros(1), name)  # raises the "Reshape" error
    out = np.empty(flat.shape, dtype=object)
    for i, cell in enumerate(flat):
        if arr.ndim == 1:
            where = _where(i)
        else:
            where = _where(*divmod(i, arr.shape[1]))
        out[i] = _cell_to_str(cell, name, where)
    return out.reshape(arr.shape)


def _to_ndarray(X, name):
    """Turn any accepted container into an ndarray without losing str cells."""
    if sp.issparse(X):
        raise TypeError(
            f"{name} is a sparse {type(X).__name__}; text input must be dense. "
            f"Convert it with {name}.toarray() if its values are meant as text."
        )
    if isinstance(X, (str, bytes)):
        raise TypeError(
            f"{name} must be a sequence of texts, got a single "
            f"{type(X).__name__}; wrap it in a list: [{name}]."
        )
    if isinstance(X, (pd.DataFrame, pd.Series)):
        return X.to_numpy()
    if isinstance(X, (list, tuple)):
        try:
            return np.asarray(X, dtype=object)
        except ValueError:  # nested sequences numpy cannot lay out
            arr = np.empty(len(X), dtype=object)
            arr[:] = list(X)
            return arr
    if isinstance(X, (dict, set, frozenset)) or not (
        hasattr(X, "__array__") or hasattr(X, "__len__")
    ):
        raise TypeError(
            f"{name} must be a list, tuple, ndarray, pandas Series or DataFrame "
            f"of texts, got {type(X).__name__}."
        )
    return np.asarray(X)


def as_text_array(X, *, allow_2d=True, name="X"):
    """Validate text input and return it as an object ndarray of ``str``.

    Parameters
    ----------
    X : array-like of shape (n_samples,) or (n_samples, n_columns)
        Texts: a list, tuple, ndarray or pandas Series of ``str``, or a 2-D
        array or DataFrame whose cells are texts. Numbers are read as text with
        ``str()``. A one-column 2-D input stays 2-D.
    allow_2d : bool, default=True
        Whether a 2-D input is accepted. When False, a one-column 2-D input is
        flattened and any other 2-D input is rejected.
    name : str, default="X"
        Name of the input in error messages.

    Returns
    -------
    texts : ndarray of shape (n_samples,) or (n_samples, n_columns), dtype=object
        The texts, each a plain ``str``.

    Raises
    ------
    ValueError
        On empty input, 3-D input, missing values (None, NaN, ``pd.NA``),
        non-finite or complex numbers, or a 1-D array holding only numbers.
    TypeError
        On sparse input or cells that are neither str nor numbers.

    Examples
    --------
    >>> from sktfm.text._validation import as_text_array
    >>> as_text_array(["a cat", 3, 1.5])
    array(['a cat', '3', '1.5'], dtype=object)
    """
    arr = _to_ndarray(X, name)
    arr = _check_shape(arr, name, allow_2d)
    kind = arr.dtype.kind
    if kind in "biufc":
        return _numeric_to_text(arr, name)
    if kind in "UT":
        arr = arr.astype(object)
    elif kind == "S":
        raise TypeError(
            f"{name} holds bytes (dtype {arr.dtype}); decode them to str first, "
            f"e.g. {name}.astype(str) or [b.decode('utf-8') for b in {name}]."
        )
    elif kind != "O":
        raise TypeError(
            f"{name} has dtype {arr.dtype}, which is not text; convert it with "
            f"{name}.astype(str) if its values are meant as text."
        )
    return _object_to_text(arr, name)


def is_token_lists(X):
    """Whether ``X`` looks like pre-tokenized input (a sequence of token lists).

    True for a non-empty list, tuple, 1-D object ndarray or object Series whose
    elements include at least one list, tuple or ndarray.
    """
    if isinstance(X, pd.Series):
        X = X.to_numpy(dtype=object)
    if isinstance(X, np.ndarray):
        if X.ndim != 1 or X.dtype != object:
            return False
    elif not isinstance(X, (list, tuple)):
        return False
    return any(isinstance(sample, _SEQUENCE_TYPES) for sample in X)


def as_token_lists(X, *, name="X"):
    """Validate pre-tokenized input and return a list of lists of ``str``.

    Parameters
    ----------
    X : sequence of sequences of str
        One list (or tuple, or 1-D array) of tokens per sample; samples may
        have different lengths and may be empty. Numeric tokens are read as
        text with ``str()``.
    name : str, default="X"
        Name of the input in error messages.

    Returns
    -------
    tokens : list of list of str

    Examples
    --------
    >>> from sktfm.text._validation import as_token_lists
    >>> as_token_lists([["New York", "is", "big"], ("a", 1)])
    [['New York', 'is', 'big'], ['a', '1']]
    """
    if isinstance(X, pd.Series):
        X = X.to_numpy(dtype=object)
    if len(X) == 0:
        raise ValueError(
            f"{name} has 0 samples; at least 1 sample (a list of tokens) is required."
        )
    out = []
    for i, sample in enumerate(X):
        if not isinstance(sample, _SEQUENCE_TYPES) or np.ndim(sample) != 1:
            raise TypeError(
                f"{name} mixes pre-tokenized samples (lists of tokens) with a "
                f"{type(sample).__name__} at row {i}: {sample!r:.80}. Pass either "
                "one list of tokens per sample, or one str per sample."
            )
        tokens = sample.tolist() if isinstance(sample, np.ndarray) else sample
        out.append(
            [
                tok
                if type(tok) is str
                else _cell_to_str(tok, name, _where(i, j, "token"))
                for j, tok in enumerate(tokens)
            ]
        )
    return out
