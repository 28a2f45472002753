"""TransformerImputer: a Transformer that fills a table's gaps."""

import numbers

import numpy as np
from sklearn.base import TransformerMixin, _fit_context
from sklearn.utils._param_validation import MissingValues
from sklearn.utils.validation import check_is_fitted

from .. import tables
from ..training import inference
from ._encoder_base import BaseEncoderEstimator
from ._signature import Parameter

#: Parameters of the encoder that a table-only estimator has no use for.
_NOT_FOR_TABLES = (
    "input_type",
    "sequence_layout",
    "patch_size",
    "patch_stride",
    "series_scaling",
    "pretrained",
)

IMPUTATION = {
    "missing_values": Parameter(
        np.nan,
        [MissingValues()],
        "int, float, str, np.nan, None or pandas.NA",
        "The placeholder of a missing cell, as ``SimpleImputer`` takes it. Whatever it "
        "is, NaN, None and ``pd.NA`` cells of a DataFrame or object array are missing too.",
    ),
    "add_indicator": Parameter(
        False,
        ["boolean"],
        "bool",
        "Append one boolean column per feature that had missing cells at fit, True where "
        "the cell was missing (``SimpleImputer``'s indicator).",
    ),
}


class TransformerImputer(TransformerMixin, BaseEncoderEstimator):
    """Fill a table's missing cells with a Transformer trained on the table itself.

    ``fit(X)`` learns the table without labels, as the encoder's masked-cell
    pretraining does: a share of the observed cells is hidden and predicted
    (numbers by regression, categories by classification), while the
    truly missing cells enter the model as their column's *missing* token,
    so the model reads missingness as information. ``transform`` then hides
    every missing cell and fills it with the model's prediction from the
    rest of its row: a number for a numeric column, the most probable
    category (never the *unseen* one) for a categorical column. A missing
    text cell (free text cannot be predicted) gets the column's most
    frequent text at fit. Observed cells are never changed.

    The table may mix numbers, categories and text, with gaps (see
    ``categorical_features`` and ``text_features``); ``transform`` returns
    the container it is given, a DataFrame with the same columns and dtypes
    (integer columns get rounded predictions) or an array of the input's
    dtype, and honours ``set_output``.

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    {attributes}

    indicator_features_ : ndarray of int
        The columns that had missing cells at fit (those ``add_indicator``
        marks).

    See Also
    --------
    sklearn.impute.SimpleImputer : Fills with a column statistic.
    sklearn.impute.IterativeImputer : Fills by regressing each column on the others.
    TransformerEncoder : The same masked-cell pretraining, as a feature extractor.

    Examples
    --------
    >>> import numpy as np
    >>> from sktfm import TransformerImputer
    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal(size=64)
    >>> X = np.column_stack([a, 2 * a, -a])
    >>> X[::8, 1] = np.nan
    >>> imputer = TransformerImputer(d_model=16, n_heads=2, n_layers=1,
    ...                              dim_feedforward=32, max_epochs=2, random_state=0)
    >>> filled = imputer.fit_transform(X)
    >>> bool(np.isnan(filled).any()), filled.shape
    (False, (64, 3))
    """

    _parameters = {
        **IMPUTATION,
        **{
            name: param
            for name, param in BaseEncoderEstimator._parameters.items()
            if name not in _NOT_FOR_TABLES
        },
    }
    #: A table-only estimator: the input type is never in doubt.
    input_type = "tabular"

    def _check_fitted(self, require):
        super()._check_fitted(require)
        require("indicator_features_", np.ndarray)
        require("_fill_values", tuple)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = False
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    # ----------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the table by masked-cell reconstruction.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            The table, gaps included.
        y : None
            Ignored.

        Returns
        -------
        self : TransformerImputer
            The fitted imputer.
        """
        return self._fit_guarded(self._fit, X, y)

    def _fit(self, X, y=None, *, deadline=None):
        X = self._with_missing_as_nan(X)
        if self._resuming(False):
            X_model = self._prepare_X(X, reset=False)
            return self._continue_training(X_model, epochs=self.max_epochs, deadline=deadline)
        X_model = self._prepare_X(X, reset=True)
        columns, _ = tables.table_columns(X) if self._table_layout is not None else (None, None)
        missing = np.isnan(X_model[:, : self.n_features_in_])
        self.indicator_features_ = np.flatnonzero(missing.any(axis=0))
        self._fill_values = self._learn_fill_values(columns)
        self._fit_module(
            X_model, objective="masked_features", epochs=self.max_epochs, deadline=deadline
        )
        return self

    def _learn_fill_values(self, columns):
        """Per column: the values codes stand for (categorical), or the most frequent text."""
        layout = self._table_layout
        if layout is None:
            return ((),) * self.n_features_in_
        values = []
        for column, kind, categories in zip(columns, layout.kinds, layout.categories):
            present = [v for v in column if v is not None]
            if kind == "categorical":
                # The first value met for each category's key: the value the
                # user wrote (an int stays an int, True stays True).
                first = {}
                for v in present:
                    first.setdefault(tables.category_key(v), _plain(v))
                values.append(tuple(first[key] for key in categories))
            elif kind == "text":
                texts, counts = np.unique(
                    np.asarray(present or [""], dtype=str), return_counts=True
                )
                values.append((str(texts[np.argmax(counts)]),))
            else:
                values.append(())
        return tuple(values)

    # ----------------------------------------------------------- transform
    def transform(self, X):
        """Fill every missing cell of ``X``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            A table with the columns seen at fit.

        Returns
        -------
        X_filled : DataFrame or ndarray of shape (n_samples, n_features [+ n_indicators])
            ``X`` with its missing cells filled, in ``X``'s container and
            dtypes; with ``add_indicator``, followed by the indicator columns.
        """
        check_is_fitted(self, "net_")
        X_nan = self._with_missing_as_nan(X)
        X_model = self._prepare_X(X_nan, reset=False)
        F = self.n_features_in_
        missing = np.isnan(X_model[:, :F])
        kinds = np.asarray(self.feature_types_)
        hide = missing & (kinds != "text")
        values, codes = inference.reconstruct(self.net_, X_model, hide, batch_size=self.batch_size)
        values = values * self._feature_scale + self._feature_mean
        filled = [
            self._filled_column(column, j, missing[:, j], values[:, j], codes[:, j])
            for j, column in enumerate(self._columns(X_nan))
        ]
        return self._assemble(X, filled, missing)

    def _columns(self, X):
        if self._table_layout is None:
            array = np.asarray(X, dtype=np.float64) if not hasattr(X, "dtypes") else None
            if array is None:
                array = X.to_numpy(dtype=np.float64, na_value=np.nan)
            return [array[:, j] for j in range(array.shape[1])]
        return tables.table_columns(X)[0]

    def _filled_column(self, column, j, missing, values, codes):
        if not missing.any():
            return column
        kind = self.feature_types_[j]
        column = column.copy()
        if kind == "numeric":  # an object column of numbers keeps its observed values
            column[missing] = values[missing]
        elif kind == "categorical":
            known = self._fill_values[j]
            fallback = known[0] if known else None  # the most frequent category
            column[missing] = [known[c - 1] if c >= 1 else fallback for c in codes[missing]]
        else:
            column[missing] = self._fill_values[j][0]
        return column

    def _assemble(self, X, filled, missing):
        """The filled columns in ``X``'s container and dtypes, indicators appended."""
        indicators = missing[:, self.indicator_features_] if self.add_indicator else None
        if hasattr(X, "dtypes"):
            out = X.copy()
            for name, column in zip(X.columns, filled):
                out[name] = _as_dtype(column, X[name].dtype)
            if indicators is not None:
                for k, name in enumerate(self._indicator_names()):
                    out[name] = indicators[:, k]
            return out
        array = np.asarray(X) if not isinstance(X, np.ndarray) else X
        if array.dtype.kind in "fc":
            out = np.column_stack([c.astype(array.dtype) for c in filled])
        elif array.dtype.kind in "iub":
            out = np.column_stack([np.round(c).astype(array.dtype) for c in filled])
        else:
            out = np.empty(array.shape, dtype=object)
            for j, column in enumerate(filled):
                out[:, j] = column
        if indicators is not None:
            out = np.hstack([out, indicators.astype(out.dtype)])
        return out

    def _indicator_names(self):
        names = self._input_names()
        return [f"missingindicator_{names[j]}" for j in self.indicator_features_]

    def _input_names(self):
        if hasattr(self, "feature_names_in_"):
            return [str(name) for name in self.feature_names_in_]
        return [f"x{j}" for j in range(self.n_features_in_)]

    def get_feature_names_out(self, input_features=None):
        """Output feature names: the input's, then the indicators' (``add_indicator``).

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Input feature names; those seen at fit when None.

        Returns
        -------
        feature_names_out : ndarray of str objects
            The names of the columns ``transform`` returns.
        """
        check_is_fitted(self, "n_features_in_")
        if input_features is not None:
            names = [str(name) for name in input_features]
            if len(names) != self.n_features_in_:
                raise ValueError(
                    f"input_features has {len(names)} names, but {self.n_features_in_} "
                    "features were seen at fit."
                )
            if hasattr(self, "feature_names_in_") and names != self._input_names():
                raise ValueError("input_features is not equal to feature_names_in_.")
        else:
            names = self._input_names()
        if self.add_indicator:
            names = names + [f"missingindicator_{names[j]}" for j in self.indicator_features_]
        return np.asarray(names, dtype=object)

    # -------------------------------------------------------------- helpers
    def _with_missing_as_nan(self, X):
        """``X`` with its ``missing_values`` cells set to NaN (numbers) or None."""
        marker = self.missing_values
        if marker is None or _is_nan(marker):
            return X
        if hasattr(X, "dtypes"):
            return X.mask(X == marker)
        array = np.asarray(X, dtype=object if isinstance(marker, str) else None)
        if array.dtype.kind in "fc":
            return np.where(array == marker, np.nan, array)
        if array.dtype.kind in "iub":
            return np.where(array == marker, np.nan, array.astype(np.float64))
        array = array.astype(object)
        hit = np.frompyfunc(lambda v: _same(v, marker), 1, 1)(array).astype(bool)
        array[hit] = None
        return array


def _is_nan(value):
    return isinstance(value, numbers.Real) and value != value


def _same(value, marker):
    try:
        return bool(value == marker)
    except (TypeError, ValueError):
        return False


def _plain(value):
    """A NumPy scalar as the Python value it holds (savable, comparable)."""
    return value.item() if isinstance(value, np.generic) else value


def _as_dtype(column, dtype):
    """``column`` in a DataFrame column's ``dtype``: integers rounded, categories kept."""
    import pandas as pd

    if isinstance(dtype, pd.CategoricalDtype):
        return pd.Categorical(column, categories=dtype.categories, ordered=dtype.ordered)
    if pd.api.types.is_integer_dtype(dtype):
        column = np.round(np.asarray(column, dtype=np.float64))
    try:
        return pd.array(column).astype(dtype)
    except (TypeError, ValueError):  # a dtype the filled values do not fit: keep theirs
        return column
