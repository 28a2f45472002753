"""Input validation for text and token inputs.

Shared by the text front end, the estimators and :mod:`sktfm.metrics`. These
functions turn the many shapes a user may hand in (lists, tuples, ndarrays,
pandas Series and DataFrames, lists of token lists) into plain numpy/Python
containers of ``str``, and raise errors that name the offending sample and
the fix.

The rules, column by column (a 1-D input is one column; pre-tokenized input
counts as one column of tokens):

- a column of strings must hold only strings: a number or any other object
  among strings is a ``TypeError`` naming its position (``X[1] is int,
  expected str``), since it is almost always a bug upstream;
- a column of numbers only is read as text with ``str()``, the way
  :class:`~sklearn.preprocessing.OneHotEncoder` treats numbers as categories;
  this is what lets the text transformers pass scikit-learn's estimator
  checks, which feed numeric arrays. A 1-D array of numbers is refused all the
  same (``"Reshape your data"``), as scikit-learn refuses 1-D ``X``;
- missing values (``None``, NaN, ``pd.NA``, ``NaT``) and non-finite or complex
  numbers are a ``ValueError``, never silently read as the text ``"nan"``.

>>> from sktfm.text.validation import as_text_array
>>> as_text_array(["a", 3, "b"])  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
TypeError: X[1] is int, expected str: 3. A text input must not mix strings ...
"""

import numbers

import numpy as np
import pandas as pd
import scipy.sparse as sp

__all__ = ["as_text_array", "as_token_lists", "is_missing", "is_token_lists"]

_MISSING_HINT = "text inputs must be strings (fill missing text with '')"
_SEQUENCE_TYPES = (list, tuple, np.ndarray)


def is_missing(value):
    """Whether ``value`` is a missing-value marker.

    Parameters
    ----------
    value : object
        Any scalar, typically one cell of a text input.

    Returns
    -------
    missing : bool
        True for ``None``, ``pd.NA``, ``pd.NaT``, a float NaN (Python or
        numpy) and a numpy ``NaT``; False for anything else, strings included.

    Examples
    --------
    >>> import numpy as np
    >>> from sktfm.text.validation import is_missing
    >>> [is_missing(v) for v in (None, float("nan"), np.float32("nan"), "", 0)]
    [True, True, True, False, False]
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, (float, np.floating)):
        return bool(np.isnan(value))
    if isinstance(value, (np.datetime64, np.timedelta64)):
        return bool(np.isnat(value))
    return False


def _where(row, col=None, col_label="column"):
    """Human-readable position of a cell, e.g. ``row 3, column 1``."""
    return f"row {row}" if col is None else f"row {row}, {col_label} {col}"


def _is_number(value):
    return isinstance(value, (numbers.Number, np.number, np.bool_))


def _not_str_error(value, at, mixed):
    """The TypeError for a non-str cell at ``at`` (e.g. ``"X[1]"``)."""
    if mixed:
        why = "A text input must not mix strings with other values; convert every value with str()"
    else:
        why = "Each text must be a str (or a number, read as text); convert it with str()"
    return TypeError(
        f"{at} is {type(value).__name__}, expected str: {value!r:.80}. {why}, "
        "or decode bytes with .decode()."
    )


def _cell_to_str(value, name, where, at, has_str, allow_numbers):
    """Convert one non-``str`` cell to ``str`` or raise an error naming it.

    Parameters
    ----------
    value : object
        The cell; not an instance of ``str``.
    name : str
        Name of the input in error messages (``"X"``).
    where : str
        Position of the cell in value errors (``"row 3, column 1"``).
    at : str
        The cell as an indexing expression in type errors (``"X[3, 1]"``).
    has_str : bool
        Whether the cell's column holds strings; then no other value fits.
    allow_numbers : bool
        Whether a number may be read as text at all.
    """
    if is_missing(value):
        raise ValueError(f"{name} contains None/NaN at {where}; {_MISSING_HINT}.")
    if has_str or not allow_numbers or not _is_number(value):
        raise _not_str_error(value, at, mixed=has_str)
    if isinstance(value, (complex, np.complexfloating)):
        raise ValueError(
            f"Complex data not supported: {name} contains {value!r} at {where}; "
            "text inputs must be strings or real numbers."
        )
    if isinstance(value, (float, np.floating)) and not np.isfinite(value):
        raise ValueError(
            f"{name} contains inf at {where}; text inputs must be strings or finite numbers."
        )
    return str(value)


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


def _reshape_error(name, dtype):
    return ValueError(
        f"{name} is a 1-D array of numbers (dtype {dtype}), not text. "
        f"Reshape your data either using {name}.reshape(-1, 1) if it holds a "
        f"single feature whose values should be read as text, or convert it "
        f"with {name}.astype(str) if each number is one text."
    )


def _numeric_to_text(arr, name, allow_numbers):
    """Convert a numeric ndarray to an object array of ``str`` (finite only)."""
    if not allow_numbers:
        raise TypeError(
            f"{name} is an array of numbers (dtype {arr.dtype}), expected str; "
            f"convert it with {name}.astype(str) if its values are meant as text."
        )
    if arr.dtype.kind == "c":
        raise ValueError(
            f"Complex data not supported: {name} has dtype {arr.dtype}; text inputs "
            "must be strings or real numbers."
        )
    if arr.ndim == 1:
        raise _reshape_error(name, arr.dtype)
    if arr.dtype.kind == "f":
        finite = np.isfinite(arr)
        if not finite.all():
            row, col = np.argwhere(~finite)[0]
            what = "None/NaN" if np.isnan(arr[row, col]) else "inf"
            hint = _MISSING_HINT if what == "None/NaN" else "numbers must be finite"
            raise ValueError(f"{name} contains {what} at {_where(row, col)}; {hint}.")
    return arr.astype(str).astype(object)


def _object_to_text(arr, name, at, allow_numbers):
    """Convert an object ndarray cell by cell; the fast path is all-``str``."""
    flat = arr.ravel()
    if all(type(cell) is str for cell in flat):
        return arr
    columns = arr.reshape(len(arr), -1)
    has_str = [any(isinstance(cell, str) for cell in col) for col in columns.T]
    if arr.ndim == 1 and allow_numbers and not has_str[0]:
        first = next((c for c in flat if not is_missing(c)), None)
        if _is_number(first):
            raise _reshape_error(name, "object")
    out = np.empty(flat.shape, dtype=object)
    n_cols = columns.shape[1]
    for i, cell in enumerate(flat):
        if isinstance(cell, str):
            out[i] = cell if type(cell) is str else str(cell)
            continue
        row, col = divmod(i, n_cols)
        if arr.ndim == 1:
            where, index = _where(row), f"{row}"
        else:
            where, index = _where(row, col), f"{row}, {col}"
        out[i] = _cell_to_str(cell, name, where, f"{at}[{index}]", has_str[col], allow_numbers)
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


def as_text_array(X, *, allow_2d=True, allow_numbers=True, name="X"):
    """Validate text input and return it as an object ndarray of ``str``.

    Parameters
    ----------
    X : array-like of shape (n_samples,) or (n_samples, n_columns)
        Texts: a list, tuple, ndarray or pandas Series of ``str``, or a 2-D
        array or DataFrame whose cells are texts. A column of numbers only
        is read as text with ``str()``; a column mixing strings with other
        values is an error. A one-column 2-D input stays 2-D.
    allow_2d : bool, default=True
        Whether a 2-D input is accepted. When False, a one-column 2-D input is
        flattened and any other 2-D input is rejected.
    allow_numbers : bool, default=True
        Whether numbers may be read as text. When False, every value must be
        a ``str`` (as for the references and predictions of a text metric).
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
        On sparse input, on a column mixing strings with numbers or other
        objects, on cells that are neither str nor numbers, and on any
        number when ``allow_numbers=False``. The message names the first
        offending cell, e.g. ``X[1] is int, expected str``.

    See Also
    --------
    as_token_lists : The same for pre-tokenized input.

    Examples
    --------
    >>> from sktfm.text.validation import as_text_array
    >>> as_text_array(["a cat", "a dog"])
    array(['a cat', 'a dog'], dtype=object)
    >>> as_text_array([[3, "red"], [1.5, "blue"]])
    array([['3', 'red'],
           ['1.5', 'blue']], dtype=object)
    """
    # Positions in type errors read as the indexing that finds the cell.
    at = f"{name}.iloc" if isinstance(X, (pd.DataFrame, pd.Series)) else name
    arr = _to_ndarray(X, name)
    arr = _check_shape(arr, name, allow_2d)
    kind = arr.dtype.kind
    if kind in "biufc":
        return _numeric_to_text(arr, name, allow_numbers)
    if kind in "UT":
        return arr.astype(object)
    if kind == "S":
        raise TypeError(
            f"{name} holds bytes (dtype {arr.dtype}); decode them to str first, "
            f"e.g. {name}.astype(str) or [b.decode('utf-8') for b in {name}]."
        )
    if kind != "O":
        raise TypeError(
            f"{name} has dtype {arr.dtype}, which is not text; convert it with "
            f"{name}.astype(str) if its values are meant as text."
        )
    return _object_to_text(arr, name, at, allow_numbers)


def is_token_lists(X):
    """Whether ``X`` looks like pre-tokenized input (a sequence of token lists).

    Parameters
    ----------
    X : object
        Any input.

    Returns
    -------
    token_lists : bool
        True for a non-empty list, tuple, 1-D object ndarray or object Series
        whose elements include at least one list, tuple or ndarray.

    Examples
    --------
    >>> from sktfm.text.validation import is_token_lists
    >>> is_token_lists([["a", "cat"], ["a", "dog"]]), is_token_lists(["a cat"])
    (True, False)
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
        have different lengths and may be empty. All the tokens form one
        column: tokens that are all numbers are read as text with ``str()``,
        strings mixed with other values are an error.
    name : str, default="X"
        Name of the input in error messages.

    Returns
    -------
    tokens : list of list of str

    Raises
    ------
    ValueError
        On empty input, missing tokens (None, NaN) and non-finite numbers.
    TypeError
        On a sample that is not a sequence of tokens, or on a token that is
        not a str among str tokens (``X[0][1] is int, expected str``).

    See Also
    --------
    as_text_array : The same for text input.

    Examples
    --------
    >>> from sktfm.text.validation import as_token_lists
    >>> as_token_lists([["New York", "is", "big"], ("a", "city")])
    [['New York', 'is', 'big'], ['a', 'city']]
    >>> as_token_lists([[1, 2], [3]])
    [['1', '2'], ['3']]
    """
    if isinstance(X, pd.Series):
        X = X.to_numpy(dtype=object)
    if len(X) == 0:
        raise ValueError(f"{name} has 0 samples; at least 1 sample (a list of tokens) is required.")
    out, has_str, all_str = [], False, True
    for i, sample in enumerate(X):
        if not isinstance(sample, _SEQUENCE_TYPES) or np.ndim(sample) != 1:
            raise TypeError(
                f"{name} mixes pre-tokenized samples (lists of tokens) with a "
                f"{type(sample).__name__} at row {i}: {sample!r:.80}. Pass either "
                "one list of tokens per sample, or one str per sample."
            )
        tokens = sample.tolist() if isinstance(sample, np.ndarray) else list(sample)
        for tok in tokens:
            if isinstance(tok, str):
                has_str = True
            all_str = all_str and type(tok) is str
        out.append(tokens)
    if all_str:
        return out
    # Second pass, only on the slow path: whether strings occur anywhere
    # decides if a number is a token (all numbers) or a mistake (mixed).
    for i, tokens in enumerate(out):
        for j, tok in enumerate(tokens):
            if isinstance(tok, str):
                tokens[j] = tok if type(tok) is str else str(tok)
            else:
                tokens[j] = _cell_to_str(
                    tok, name, _where(i, j, "token"), f"{name}[{i}][{j}]", has_str, True
                )
    return out
