"""Raw input to the arrays the exported graphs take, in batches.

Texts and token lists become id arrays as sktfm's tokenizers make them (and
ids become texts again), feature rows a float32 matrix, mixed tables (numbers,
categories, free text, gaps) the float32 rows :mod:`sktfm.tables` makes,
series (steps, features) arrays checked and scaled as sktfm does; batches go
in order of length and are padded. A serving module: it imports only the standard
library, NumPy and ``tokenizers`` (see :mod:`sktfm.onnx.predictor`).
"""

import re
from numbers import Real

import numpy as np

_SURROGATES = re.compile("[\ud800-\udfff]")


class _TextEncoder:
    """Texts or token lists to id arrays, as sktfm's tokenizers make them."""

    def __init__(self, folder, spec, config):
        from tokenizers import Tokenizer

        # The JSON is read and verified here; tokenizers parses the text.
        text = folder.read_text(spec["file"])
        try:
            self.tokenizer = Tokenizer.from_str(text)
        except Exception as error:  # tokenizers raises plain Exceptions
            raise ValueError(
                f"{folder.root / spec['file']} is not a Hugging Face tokenizer: it is "
                f"truncated or corrupt ({error})."
            ) from error
        if spec["encode_special_tokens"]:
            self.tokenizer.encode_special_tokens = True
        self.spec = spec
        self.pad_id = spec["pad_id"]
        self.max_len = config["max_len"]
        self.truncation = config["truncation"]
        self.vocab = None
        if spec["word_lookup"]:
            self.vocab = {
                token: i
                for token, i in self.tokenizer.get_vocab().items()
                if i >= spec["n_special"]
            }

    def encode(self, X):
        if isinstance(X, str):
            raise TypeError("Pass a list of texts, not a single str.")
        data = list(X)
        pretokenized = bool(data) and not isinstance(data[0], str)
        if pretokenized and self.vocab is not None:
            unk = self.spec["unk_id"]
            rows = [[self.vocab.get(token, unk) for token in tokens] for tokens in data]
        else:
            if not pretokenized:
                data = [_SURROGATES.sub("\ufffd", text) for text in data]
            else:
                data = [list(tokens) for tokens in data]
            encodings = self.tokenizer.encode_batch(
                data,
                is_pretokenized=pretokenized,
                add_special_tokens=self.spec["add_special_tokens"],
            )
            rows = [encoding.ids for encoding in encodings]
        out = []
        for i, ids in enumerate(rows):
            if len(ids) > self.max_len:
                if not self.truncation or self.spec["add_special_tokens"]:
                    raise ValueError(
                        f"Sample {i} has {len(ids)} tokens, over max_len={self.max_len}."
                    )
                ids = ids[: self.max_len]
            out.append(np.asarray(ids, dtype=np.int64))
        return out

    def decode(self, sequences):
        return self.tokenizer.decode_batch(
            [list(map(int, ids)) for ids in sequences], skip_special_tokens=True
        )


def _length_batches(samples, batch_size):
    """Row indices per batch; lists of variable-length samples go in order of length."""
    if isinstance(samples, np.ndarray):
        order = np.arange(len(samples))
    else:
        order = np.argsort([len(s) for s in samples], kind="stable")
    if len(order) == 0:
        raise ValueError("0 samples were given; at least 1 is required.")
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def _pad_ids(rows, pad_id):
    """Right-pad id arrays into (B, T) int64, T >= 1 (an all-padding row is valid)."""
    width = max(1, max(len(r) for r in rows))
    out = np.full((len(rows), width), pad_id, dtype=np.int64)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


def _features(X, n_features):
    X = np.asarray(getattr(X, "values", X), dtype=np.float32)
    if X.ndim != 2 or X.shape[1] != n_features:
        raise ValueError(f"X must have shape (n_samples, {n_features}), got {X.shape}.")
    return X


def _series(X, config):
    """Each series as (steps, F) float64, trailing all-NaN steps dropped, checked, scaled."""
    seq = config["sequence"]
    if isinstance(X, np.ndarray) and X.ndim == 3:
        X = list(X)
    out = []
    for i, s in enumerate(X):
        s = np.asarray(s, dtype=np.float64)
        if s.ndim != 2:
            raise ValueError(f"Series {i} must be 2-D (steps, features), got shape {s.shape}.")
        if seq["layout"] == "channels_first":
            s = s.T
        if s.shape[1] != config["n_features"]:
            raise ValueError(
                f"Series {i} has {s.shape[1]} features, expected {config['n_features']}."
            )
        real = ~np.isnan(s).all(axis=1)
        s = s[: (np.flatnonzero(real)[-1] + 1) if real.any() else 0]
        if len(s) > seq["max_steps"]:
            if not config["truncation"]:
                raise ValueError(
                    f"Series {i} has {len(s)} steps, over the {seq['max_steps']} the model reads."
                )
            s = s[: seq["max_steps"]]
        if seq["instance_scaling"]:
            with np.errstate(over="ignore", invalid="ignore"):
                mean, std = np.nanmean(s, axis=0), np.nanstd(s, axis=0)
                s = (s - mean) / np.where(std > 1e-8 * np.maximum(np.abs(mean), 1.0), std, 1.0)
        out.append(s)
    return out


def _pad_series(rows, seq):
    """NaN-pad series into (B, T, F) float32, T at least the traced graph's minimum."""
    width = max(seq["min_steps"], max(len(r) for r in rows))
    out = np.full((len(rows), width, rows[0].shape[1]), np.nan, dtype=np.float32)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


class _Table:
    """A mixed table's rows (numbers, categories, free text, gaps) as the graph's input.

    What :func:`sktfm.tables.encode_table` makes, from the exported layout:
    per column a cell (a standardised number, the category's code, 0.0 for a
    present text; NaN where the cell is missing), then each text column's
    token ids, cut to its width and padded with 0. Reads a DataFrame (duck-
    typed: ``X.columns`` and ``X[name].tolist()``), a dict of column name to
    values, or a 2-D array or list of rows in the fitted column order.
    """

    def __init__(self, spec, text=None):
        self.columns = spec["columns"]
        self.kinds = spec["kinds"]
        self.widths = spec["text_widths"]
        self.mean = np.asarray(spec["mean"], dtype=np.float64)
        self.scale = np.asarray(spec["scale"], dtype=np.float64)
        # Code i + 1 is categories[f][i]; 0 is the column's unseen category.
        self.codes = [{key: i + 1 for i, key in enumerate(cats)} for cats in spec["categories"]]
        self.text = text

    def encode(self, X):
        """``X`` as (n_samples, F + sum(text widths)) float32."""
        columns = self._columns(X)
        n, F = len(columns[0]), len(self.kinds)
        out = np.zeros((n, F + sum(self.widths)), dtype=np.float32)
        start = F
        for j, (values, kind) in enumerate(zip(columns, self.kinds)):
            missing = [_is_missing(v) for v in values]
            if kind == "numeric":
                numbers = self._numbers(values, missing, j)
                with np.errstate(over="ignore", invalid="ignore"):
                    z = (numbers - self.mean[j]) / self.scale[j]
                if np.isinf(z).any() or not np.nanmax(np.abs(z), initial=0) <= 1e17:
                    raise ValueError(
                        f"Column {self._name(j)} has infinite cells, or values too far from "
                        "the training mean for the float32 model; rescale X."
                    )
                out[:, j] = z
            elif kind == "categorical":
                code = self.codes[j]
                out[:, j] = [
                    np.nan if gap else code.get(_category_key(v), 0)
                    for v, gap in zip(values, missing)
                ]
            else:
                out[:, j] = [np.nan if gap else 0.0 for gap in missing]
                texts = ["" if gap else str(v) for v, gap in zip(values, missing)]
                width = self.widths[j]
                block = out[:, start : start + width]
                for i, ids in enumerate(self.text.encode(texts)):
                    ids = ids[:width]
                    block[i, : len(ids)] = ids
                start += width
        return out

    def _columns(self, X):
        """One list of values per fitted column, in the fitted order."""
        F = len(self.kinds)
        if isinstance(X, dict) or hasattr(X, "columns"):
            names = list(X.keys() if isinstance(X, dict) else X.columns)
            if len(set(map(str, names))) != len(names):
                raise ValueError(f"X has duplicated column names: {names}.")
            if self.columns is not None:
                self._check_names(names)
            elif len(names) != F:
                raise ValueError(f"X has {len(names)} columns; the model was fitted on {F}.")
            columns = [_values(X[name]) for name in names]
            lengths = sorted({len(values) for values in columns})
            if len(lengths) > 1:
                raise ValueError(f"X's columns have different lengths: {lengths}.")
        else:
            if isinstance(X, str):
                raise TypeError("Pass a table (rows of cells), not a single str.")
            array = np.asarray(X, dtype=object)
            if array.ndim != 2 or array.shape[1] != F:
                raise ValueError(
                    f"X must be a table of {F} columns (a DataFrame, a dict of columns or "
                    f"rows of cells), got an array of shape {array.shape}."
                )
            columns = [array[:, j].tolist() for j in range(F)]
        if not columns[0]:
            raise ValueError("0 samples were given; at least 1 is required.")
        return columns

    def _check_names(self, names):
        """The fitted names in the fitted order, as scikit-learn asks of a DataFrame."""
        fitted = self.columns
        if names == fitted:
            return
        given = [str(name) for name in names]
        unexpected = [name for name in given if name not in fitted]
        absent = [name for name in fitted if name not in given]
        message = "The feature names should match those that were passed during fit."
        if unexpected:
            message += f" Feature names unseen at fit time: {unexpected}."
        if absent:
            message += f" Feature names seen at fit time, yet now missing: {absent}."
        if not unexpected and not absent:
            message += (
                f" Feature names must be in the same order as they were in fit: {fitted}, "
                f"got {names}."
            )
        raise ValueError(message)

    def _numbers(self, values, missing, j):
        try:
            return np.asarray(
                [np.nan if gap else v for v, gap in zip(values, missing)], dtype=np.float64
            )
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"Column {self._name(j)} was numeric at fit but holds a non-number now: {error}."
            ) from None

    def _name(self, j):
        return repr(self.columns[j]) if self.columns is not None else str(j)


def _values(column):
    """A column's values as a list of Python objects (a Series, an array or a list)."""
    if hasattr(column, "tolist"):
        return column.tolist()
    if hasattr(column, "to_list"):
        return column.to_list()
    return list(column)


def _is_missing(value):
    """None, NaN and NaT, and pandas' NA (whose truth value raises), as sktfm.tables reads them."""
    if value is None:
        return True
    try:
        return bool(value != value)
    except TypeError:
        return True


def _category_key(value):
    """The string a category is known by (``1.0`` and ``1`` alike; sktfm.tables.category_key)."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, Real) and float(value).is_integer():
        return str(int(value))
    return str(value)
