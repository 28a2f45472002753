"""Tables as people have them: numbers, categories and free text, with gaps.

What the estimators need to read a mixed table (a DataFrame, or a 2-D object
array), data-side state like a tokenizer's:

- :func:`table_columns` splits ``X`` into one 1-D array per column: float
  (NaN for a missing cell) for numbers, object (``None`` for a missing cell)
  for anything else;
- :func:`feature_types` says which column is ``"numeric"``,
  ``"categorical"`` or ``"text"``, from the user's ``categorical_features``
  and ``text_features`` (as ``HistGradientBoostingClassifier`` takes
  ``categorical_features``) or, for ``"auto"``, from dtype and content;
- :func:`fit_layout` learns each categorical column's categories (those
  seen at least ``min_frequency`` times) and each text column's width;
- :func:`encode_table` makes the model's float32 input: one cell per column
  (a standardised number, a category code, or 0 for a present text), NaN
  where a cell is missing, then each text column's token ids, padded.

A category's code is its position in the column's categories plus 1; code 0
is the column's "unseen" category, shared by categories rarer than
``min_frequency`` at fit and by any category first met at predict, which is
never an error. Categories are compared as strings (``str(value)``, with
``1.0`` read as ``1``), so an integer category survives a float column and
the saved layout is plain JSON.
"""

from numbers import Integral, Real

import numpy as np

from .training._records import record

__all__ = [
    "FEATURE_TYPES",
    "TEXT_MIN_DISTINCT",
    "TEXT_MIN_WORDS",
    "TableLayout",
    "encode_table",
    "feature_types",
    "fit_layout",
    "table_columns",
]

#: What a table's column can be.
FEATURE_TYPES = ("numeric", "categorical", "text")
#: "auto" reads a string column as free text when its values have at least
#: this many words on average ...
TEXT_MIN_WORDS = 3.0
#: ... and at least this share of its values are distinct; otherwise its
#: values are categories (a city, a grade, a short product code). Measured on
#: the string columns of the 13 real tables of benchmarks/real_tables.py:
#: package descriptions (6.4-6.8 words, 98-99% distinct) are text; education
#: levels (3.1 words, 0% distinct), maintainers' names (3.8-3.9 words, 18-23%)
#: and web hosts (1 word, 31-39%) are categories, as a user would read them.
TEXT_MIN_DISTINCT = 0.3


@record
class TableLayout:
    """How a fitted mixed table becomes model input (saved with the model).

    Attributes
    ----------
    kinds : tuple of str
        Each column's type, one of :data:`FEATURE_TYPES`.
    categories : tuple of tuple of str
        Each categorical column's categories as strings (empty for others);
        code ``i + 1`` is ``categories[f][i]``, code 0 the unseen category.
    text_widths : tuple of int
        Token ids each text column holds in a row (0 for others).
    """

    kinds: tuple
    categories: tuple
    text_widths: tuple

    @property
    def cardinalities(self):
        """Codes per column: its categories plus the unseen one (0 unless categorical)."""
        return tuple(
            len(cats) + 1 if kind == "categorical" else 0
            for kind, cats in zip(self.kinds, self.categories)
        )


def _is_missing(value):
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN, NaT and pd.NA (which raises) ...
    except TypeError:
        return True  # ... pd.NA's truth value is ambiguous: it is missing


def category_key(value):
    """The string a category is known by (``1.0`` and ``1`` alike)."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, Real) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _numeric_dtype(dtype):
    import pandas as pd

    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def table_columns(X):
    """``X`` (DataFrame or 2-D array-like) as a list of 1-D columns and their dtypes' kinds.

    Returns
    -------
    columns : list of ndarray
        float64 (NaN = missing) for numeric columns, object (``None`` =
        missing) for the others.
    declared : list of str or None
        Per column: ``"numeric"`` for numeric dtypes, ``"categorical"`` for
        ``category`` and ``bool`` dtypes, None where the content decides.
    """
    import pandas as pd

    if isinstance(X, pd.DataFrame):
        columns, declared = [], []
        for _, series in X.items():
            dtype = series.dtype
            if _numeric_dtype(dtype):
                columns.append(series.astype("float64").to_numpy(na_value=np.nan))
                declared.append("numeric")
                continue
            values = series.astype(object).to_numpy()
            columns.append(np.array([None if _is_missing(v) else v for v in values], object))
            categorical = isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(
                dtype
            )
            declared.append("categorical" if categorical else None)
        return columns, declared
    array = np.asarray(X, dtype=object) if not isinstance(X, np.ndarray) else X
    if array.ndim != 2:
        raise ValueError(f"Expected a 2-D table, got an array of shape {array.shape}.")
    if array.dtype.kind in "fiu":
        return [array[:, j].astype(np.float64) for j in range(array.shape[1])], [
            "numeric"
        ] * array.shape[1]
    columns = []
    for j in range(array.shape[1]):
        values = array[:, j]
        columns.append(np.array([None if _is_missing(v) else v for v in values], object))
    return columns, [None] * array.shape[1]


def _all_numbers(column):
    return all(
        isinstance(v, (Real, np.number)) and not isinstance(v, (bool, np.bool_))
        for v in column
        if v is not None
    )


def _looks_like_text(column):
    """Free text: many words per value and many distinct values (see :data:`TEXT_MIN_WORDS`)."""
    values = [v for v in column if v is not None]
    if not values or not all(isinstance(v, str) for v in values):
        return False
    words = np.mean([len(v.split()) for v in values])
    return words >= TEXT_MIN_WORDS and len(set(values)) >= TEXT_MIN_DISTINCT * len(values)


def _selected(spec, name, n_columns, names):
    """The set of column indices ``spec`` names (HistGradientBoosting's conventions)."""
    if spec is None or (isinstance(spec, str) and spec == "auto"):
        return set()
    values = np.asarray(spec)
    if values.ndim != 1:
        raise ValueError(f"{name} must be 'auto', None or a 1-D array-like, got {spec!r}.")
    if values.size == 0:
        return set()
    if values.dtype.kind == "b":
        if values.size != n_columns:
            raise ValueError(
                f"{name} as a boolean mask must have one entry per column ({n_columns}), "
                f"got {values.size}."
            )
        return set(np.flatnonzero(values).tolist())
    if values.dtype.kind in "iu":
        if values.min() < 0 or values.max() >= n_columns:
            raise ValueError(
                f"{name} holds indices out of range for {n_columns} columns: {values.tolist()}."
            )
        return set(values.tolist())
    if values.dtype.kind in "UO":
        if names is None:
            raise ValueError(
                f"{name} names columns ({values.tolist()[:5]}), but X has no column "
                "names; pass a DataFrame or give indices or a boolean mask."
            )
        index = {str(column): j for j, column in enumerate(names)}
        unknown = [str(v) for v in values if str(v) not in index]
        if unknown:
            raise ValueError(f"{name} names columns that X does not have: {unknown}.")
        return {index[str(v)] for v in values}
    raise ValueError(
        f"{name} must be 'auto', None, names, indices or a boolean mask, got {spec!r}."
    )


def feature_types(columns, declared, *, categorical_features, text_features, names=None):
    """Each column's type, one of :data:`FEATURE_TYPES`.

    Named columns take the type they are named for; the others follow
    their dtype (numbers: numeric; ``category`` and ``bool``: categorical)
    or, for strings and objects, their content: free text (see
    :data:`TEXT_MIN_WORDS`, :data:`TEXT_MIN_DISTINCT`) when ``text_features``
    is ``"auto"``, categories otherwise. A non-numeric column can only be
    categorical or text.
    """
    n_columns = len(columns)
    categorical = _selected(categorical_features, "categorical_features", n_columns, names)
    text = _selected(text_features, "text_features", n_columns, names)
    both = sorted(categorical & text)
    if both:
        raise ValueError(
            f"Columns {', '.join(_name(j, names) for j in both)} are named in both "
            "categorical_features and text_features; a column has one type."
        )
    kinds = []
    for j, (column, dtype_kind) in enumerate(zip(columns, declared)):
        if j in categorical:
            kinds.append("categorical")
        elif j in text:
            kinds.append("text")
        elif dtype_kind is not None:
            kinds.append(dtype_kind)
        elif _all_numbers(column):
            kinds.append("numeric")
        elif text_features == "auto" and _looks_like_text(column):
            kinds.append("text")
        elif categorical_features is None:
            raise ValueError(
                f"Column {_name(j, names)} holds non-numeric values, but "
                "categorical_features=None reads no column as categories; name it in "
                "categorical_features or text_features."
            )
        else:
            kinds.append("categorical")
    return tuple(kinds)


def _name(j, names):
    return repr(str(names[j])) if names is not None else str(j)


def _min_count(min_frequency, n_rows):
    if isinstance(min_frequency, Integral):
        return int(min_frequency)
    return int(np.ceil(min_frequency * n_rows))  # a share of the rows, as OneHotEncoder


def fit_layout(columns, kinds, *, min_frequency, text_lengths=None):
    """The :class:`TableLayout` of the training columns.

    Parameters
    ----------
    columns : list of ndarray
        From :func:`table_columns`.
    kinds : tuple of str
        From :func:`feature_types`.
    min_frequency : int or float
        Categories seen fewer times (or, a float, in a smaller share of the
        rows) share the unseen code.
    text_lengths : dict of int to ndarray, optional
        Per text column, the token count of each row; its width is the
        longest.
    """
    categories, widths = [], []
    for j, (column, kind) in enumerate(zip(columns, kinds)):
        cats = ()
        if kind == "categorical":
            keys = [category_key(v) for v in column if not _is_missing(v)]
            values, counts = np.unique(np.asarray(keys, dtype=str), return_counts=True)
            keep = counts >= _min_count(min_frequency, len(column))
            # Most frequent first: ties by name, so a layout never depends on row order.
            order = np.lexsort((values[keep], -counts[keep]))
            cats = tuple(str(v) for v in values[keep][order])
        categories.append(cats)
        width = 0
        if kind == "text":
            lengths = (text_lengths or {}).get(j, np.zeros(1, np.int64))
            width = max(int(np.max(lengths, initial=0)), 1)
        widths.append(width)
    return TableLayout(kinds=tuple(kinds), categories=tuple(categories), text_widths=tuple(widths))


def numeric_block(columns, kinds):
    """(n, F) float64 of the numeric columns' values, NaN elsewhere (for scaling)."""
    n = len(columns[0]) if columns else 0
    block = np.full((n, len(columns)), np.nan)
    for j, (column, kind) in enumerate(zip(columns, kinds)):
        if kind == "numeric":
            block[:, j] = _as_float(column, j)
    return block


def _as_float(column, j):
    try:
        return np.asarray(
            [np.nan if v is None else v for v in column] if column.dtype == object else column,
            dtype=np.float64,
        )
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"Column {j} was numeric at fit but holds a non-number now: {error}."
        ) from None


def text_values(column):
    """A text column's strings, missing cells as empty texts."""
    return ["" if v is None else str(v) for v in column]


def encode_table(columns, layout, *, mean, scale, text_ids=None):
    """The model input (n, F + sum(text widths)) float32 of a table's columns.

    Parameters
    ----------
    columns : list of ndarray
        From :func:`table_columns`, in the fitted order.
    layout : TableLayout
        The fitted layout.
    mean, scale : ndarray of shape (F,)
        The numeric columns' standardisation (ignored for the others).
    text_ids : dict of int to list of 1-D int arrays, optional
        Per text column, each row's token ids (longer rows are cut to the
        column's width).
    """
    n = len(columns[0])
    widths = layout.text_widths
    F = len(layout.kinds)
    out = np.zeros((n, F + sum(widths)), dtype=np.float32)
    start = F
    for j, (column, kind) in enumerate(zip(columns, layout.kinds)):
        if kind == "numeric":
            out[:, j] = (_as_float(column, j) - mean[j]) / scale[j]
        elif kind == "categorical":
            code = {key: i + 1 for i, key in enumerate(layout.categories[j])}
            out[:, j] = [np.nan if _is_missing(v) else code.get(category_key(v), 0) for v in column]
        else:
            out[:, j] = [np.nan if v is None else 0.0 for v in column]
            width = widths[j]
            block = out[:, start : start + width]
            for i, ids in enumerate(text_ids[j]):
                ids = ids[:width]
                block[i, : len(ids)] = ids
            start += width
    return out


def is_numeric_dtype(dtype):
    """Whether a column of ``dtype`` holds numbers (``bool`` is categorical)."""
    return _numeric_dtype(dtype)
