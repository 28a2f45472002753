"""Table input of the encoder estimators: numeric tables, and mixed ones.

:class:`TableInput` turns a table into model input: a numeric table as a
standardised float array (NaN: a missing cell), a table with categorical or
text columns through :mod:`sktfm.tables` (one float array too: cells, then
each text column's token ids). It keeps the data-side state a fit learns
(feature scaling, column types, categories, the text columns' tokenizer).
"""

import numpy as np
from sklearn.utils.validation import validate_data

from .. import tables
from ._targets import mean_and_scale


def _numbers(X):
    """Whether array-like ``X`` holds numbers only (as a numeric table does)."""
    try:
        return np.asarray(X).dtype.kind in "biuf"
    except (TypeError, ValueError):  # ragged
        return False


#: ``numeric_embedding="auto"`` embeds a numeric column by periodic features when it
#: holds more distinct values at fit than this; fewer (counts, grades, pixel
#: intensities) stay linear.
PERIODIC_MIN_DISTINCT = 20


class TableInput:
    """Reading tables, numeric or mixed, for :class:`BaseEncoderEstimator`."""

    def _periodic_columns(self, X_model):
        """Per column, whether ``numeric_embedding`` embeds it by periodic features."""
        numeric = np.asarray(self.feature_types_) == "numeric"
        if self.numeric_embedding == "linear":
            return tuple(False for _ in numeric)
        if self.numeric_embedding == "periodic":
            return tuple(bool(v) for v in numeric)
        cells = np.asarray(X_model)[:, : len(numeric)]
        distinct = [len(np.unique(column[~np.isnan(column)])) for column in cells.T]
        return tuple(
            bool(is_numeric and n > PERIODIC_MIN_DISTINCT)
            for is_numeric, n in zip(numeric, distinct)
        )

    def _prepare_tabular(self, X, *, reset):
        if reset:
            self._table_layout = None
            typed = self._typed_columns(X)
            if typed is not None:
                return self._prepare_mixed_table(X, reset=True, typed=typed)
        elif self._table_layout is not None:
            return self._prepare_mixed_table(X, reset=False)
        # NaN is a missing cell, read as its column's missing token; inf is
        # an error, as in any scikit-learn estimator.
        X = validate_data(
            self, X, reset=reset, dtype=(np.float64, np.float32), ensure_all_finite="allow-nan"
        )
        if not reset and not self._reads_missing_cells() and np.isnan(X).any():
            raise ValueError(
                "Input X contains NaN, and this model was fitted by an sktfm whose "
                "tables had no missing-value tokens; fit it again to read missing cells."
            )
        if reset:
            self.feature_types_ = ("numeric",) * X.shape[1]
            # Standardised features train far better than raw scales; the
            # statistics are data-side state, like a StandardScaler's.
            self._feature_mean, self._feature_scale = mean_and_scale(X)
        return self._standardized(X)

    def _typed_columns(self, X):
        """``(columns, kinds)`` of ``X`` when it has (or is told to have) categorical
        or text columns, None for a numeric table (read as a numeric array)."""
        named = any(
            not isinstance(spec, str) and spec is not None
            for spec in (self.categorical_features, self.text_features)
        )
        if not named:
            if hasattr(X, "dtypes"):
                if all(tables.is_numeric_dtype(d) for d in X.dtypes):
                    return None  # a numeric DataFrame: read as a numeric array
            elif not hasattr(X, "__array__") and not isinstance(X, (list, tuple)):
                return None  # let validation name what X is
            elif _numbers(X):
                return None
        columns, declared = tables.table_columns(X)
        kinds = self._resolve_feature_types(X, columns, declared)
        return None if set(kinds) == {"numeric"} else (columns, kinds)

    def _resolve_feature_types(self, X, columns, declared):
        names = getattr(X, "columns", None)
        return tables.feature_types(
            columns,
            declared,
            categorical_features=self.categorical_features,
            text_features=self.text_features,
            names=None if names is None else [str(name) for name in names],
        )

    def _prepare_mixed_table(self, X, *, reset, typed=None):
        """A table with categorical or text columns as model input (see :mod:`sktfm.tables`).

        ``typed``: at fit, the ``(columns, kinds)`` of :meth:`_typed_columns`.
        """
        validate_data(self, X, skip_check_array=True, reset=reset)
        ids = None
        if reset:
            columns, kinds = typed
            text_columns = [j for j, kind in enumerate(kinds) if kind == "text"]
            lengths = {}
            if text_columns:
                texts = [t for j in text_columns for t in tables.text_values(columns[j])]
                self.tokenizer_ = self._make_tokenizer().fit(texts)
                ids = self._text_ids(columns, text_columns)
                lengths = {j: np.fromiter(map(len, ids[j]), np.int64) for j in text_columns}
            self._table_layout = tables.fit_layout(
                columns, kinds, min_frequency=self.min_frequency, text_lengths=lengths
            )
            self.feature_types_ = kinds
            numeric = tables.numeric_block(columns, kinds)
            mean, scale = mean_and_scale(numeric)
            categorical = np.asarray([kind != "numeric" for kind in kinds])
            self._feature_mean = np.where(categorical, 0.0, mean)
            self._feature_scale = np.where(categorical, 1.0, scale)
        else:
            columns, _ = tables.table_columns(X)
        layout = self._table_layout
        if ids is None:  # at fit, the text columns were tokenized once, above
            text_columns = [j for j, kind in enumerate(layout.kinds) if kind == "text"]
            ids = self._text_ids(columns, text_columns)
        Z = tables.encode_table(
            columns, layout, mean=self._feature_mean, scale=self._feature_scale, text_ids=ids
        )
        numeric = np.asarray(
            [kind == "numeric" for kind in layout.kinds]
            + [False] * (Z.shape[1] - len(layout.kinds))
        )
        if np.isinf(Z[:, numeric]).any() or not np.nanmax(np.abs(Z[:, numeric]), initial=0) <= 1e17:
            raise ValueError(
                "X has infinite numeric cells, or values too far from the training mean "
                "for the float32 model; rescale X."
            )
        return Z

    def _text_ids(self, columns, text_columns):
        """Per text column, each row's token ids (missing cells: none)."""
        return {
            j: list(self.tokenizer_.transform(tables.text_values(columns[j]))) for j in text_columns
        }

    def _reads_missing_cells(self):
        """Whether the fitted module has a missing token per column (models of
        tables fitted before there were such tokens have none)."""
        return bool(self._module_spec["module_kwargs"].get("missing", False))
