"""Input handling shared by the estimators: what kind of input a user passed,
and how it becomes padded mini-batches.

Four input types reach a sequence estimator (see DESIGN.md):

- ``"text"``: 1-D strings (list, ndarray, Series) or a one-column DataFrame;
- ``"tokens"``: pre-tokenized text, a list of lists of ``str``;
- ``"tabular"``: a 2-D numeric array or DataFrame, one token per feature;
- ``"sequence"``: a 3-D numeric array ``(n_samples, seq_len, n_features)``, or a
  list of 2-D arrays ``(length_i, n_features)`` (see :mod:`sktfm.series`).

Text and tokens become variable-length id arrays; batches are padded to the
longest sequence *in the batch* (dynamic padding), never to ``max_len``.
"""

from numbers import Number

import numpy as np
import pandas as pd
import torch
from scipy import sparse
from torch.utils.data import DataLoader, Dataset, Sampler

from .text.special_tokens import PAD_ID

INPUT_TYPES = ("text", "tokens", "tabular", "sequence")
#: Axis orders of 3-D numeric input: sktfm's own, and aeon/sktime's.
SEQUENCE_LAYOUTS = ("channels_last", "channels_first")


def _is_str_sequence(item):
    return isinstance(item, (list, tuple, np.ndarray)) and all(
        isinstance(token, str) for token in item
    )


def _first_non_empty(items):
    for item in items:
        if len(item):
            return item
    return None


def infer_input_type(X):
    """Infer which of :data:`INPUT_TYPES` ``X`` is.

    Parameters
    ----------
    X : array-like, list or DataFrame
        The input as a user passed it.

    Returns
    -------
    input_type : str
        One of ``"text"``, ``"tokens"``, ``"tabular"``, ``"sequence"``.

    Raises
    ------
    ValueError
        If ``X`` is empty or a 1-D numeric array (a single feature must be
        passed as a column, ``X.reshape(-1, 1)``).
    TypeError
        If ``X`` is a scalar, a string or ``None``.
    """
    if X is None or isinstance(X, (str, bytes, Number)):
        raise TypeError(
            f"Expected an array-like, a list of strings or a DataFrame, got {type(X).__name__}."
        )
    if sparse.issparse(X):
        raise TypeError(
            "Sparse data was passed, but dense data is required: sequence "
            "estimators embed every feature as a token. Use X.toarray()."
        )
    if isinstance(X, pd.DataFrame):
        numeric = all(pd.api.types.is_numeric_dtype(d) for d in X.dtypes)
        return "tabular" if numeric or X.shape[1] != 1 else "text"
    if isinstance(X, pd.Series):
        return "text" if not pd.api.types.is_numeric_dtype(X.dtype) else _one_d_numeric()
    if isinstance(X, (list, tuple)):
        if len(X) == 0:
            raise ValueError("X is empty: 0 samples were given, at least 1 is required.")
        if all(isinstance(item, np.ndarray) for item in X):
            if any(item.ndim == 2 for item in X):
                return "sequence"  # series of unequal lengths (aeon's list form)
            if _looks_ragged(X) and all(item.ndim == 1 and item.dtype.kind in "fiub" for item in X):
                raise ValueError(
                    "X is a list of 1-D numeric arrays of different lengths; pass each "
                    "series as a 2-D array (length, n_features): s.reshape(-1, 1) for a "
                    "univariate series."
                )
        if all(isinstance(item, (list, tuple)) for item in X):
            first = _first_non_empty(X)
            if first is None or all(isinstance(t, str) for t in first):
                return "tokens"
        elif any(isinstance(item, str) for item in X):
            return "text"
    array = np.asarray(X, dtype=object) if _looks_ragged(X) else np.asarray(X)
    if array.ndim == 1 and array.dtype.kind in "USO":
        if (
            array.dtype.kind == "O"
            and array.size
            and all(isinstance(item, (list, tuple, np.ndarray)) for item in array)
        ):
            return "tokens"
        return "text"
    if array.ndim == 1:
        return _one_d_numeric()
    if array.ndim == 2:
        if array.dtype.kind in "US" or (
            array.dtype.kind == "O"
            and array.shape[1] == 1
            and array.size
            and all(isinstance(item, str) for item in array[:, 0])
        ):
            return "text" if array.shape[1] == 1 else "tabular"
        return "tabular"
    if array.ndim == 3:
        return "sequence"
    raise ValueError(f"Expected at most 3 dimensions, got X with shape {array.shape}.")


def _looks_ragged(X):
    sized = (list, tuple, np.ndarray)
    return (
        isinstance(X, (list, tuple))
        and len({len(item) if isinstance(item, sized) else -1 for item in X}) > 1
    )


def _one_d_numeric():
    raise ValueError(
        "Expected 2D array, got 1D numeric array instead. Reshape your data "
        "either using array.reshape(-1, 1) if your data has a single feature "
        "or array.reshape(1, -1) if it contains a single sample; text must be "
        "passed as strings."
    )


def resolve_input_type(X, input_type="auto"):
    """Return the input type of ``X``: ``input_type`` when explicit, else inferred."""
    if input_type == "auto":
        return infer_input_type(X)
    if input_type not in INPUT_TYPES:
        raise ValueError(f"Unknown input_type={input_type!r}; use 'auto' or one of {INPUT_TYPES}.")
    return input_type


def text_column(X):
    """Return text input as a 1-D sequence: a one-column 2-D input is flattened."""
    if isinstance(X, pd.DataFrame):
        if X.shape[1] != 1:
            raise ValueError(
                f"Text input must be a single column, got a DataFrame with "
                f"{X.shape[1]} columns; use a ColumnTransformer to pick one."
            )
        return X.iloc[:, 0]
    if isinstance(X, np.ndarray) and X.ndim == 2:
        if X.shape[1] != 1:
            raise ValueError(f"Text input must be a single column, got shape {X.shape}.")
        return X[:, 0]
    return X


class SequenceDataset(Dataset):
    """A torch ``Dataset`` over model-ready samples and optional targets.

    Parameters
    ----------
    X : list of 1-D int arrays, or float ndarray of 2 or 3 dimensions
        Token ids (variable length) or numeric rows/sequences.
    y : ndarray or None
        Targets aligned with ``X``; ``None`` for self-supervised training.
    """

    def __init__(self, X, y=None):
        if y is not None and len(y) != len(X):
            raise ValueError(f"X has {len(X)} samples but y has {len(y)}.")
        if isinstance(X, np.ndarray) and X.dtype.kind == "f" and np.isinf(X).any():
            # NaN here is sequence padding; inf is rejected earlier, so what is
            # left are finite values too large for float32 (|x| > 3.4e38 once
            # standardised), which would turn every output into NaN.
            raise ValueError(
                "X contains values too large for float32 (|x| > "
                f"{np.finfo(np.float32).max:.3g} after standardisation with the "
                "training statistics) or non-finite values; rescale the input."
            )
        self.X = X
        self.y = y

    def __len__(self):
        return len(self.X)

    def __getitem__(self, index):
        return self.X[index], (None if self.y is None else self.y[index])

    def lengths(self):
        """Tokens per sample (source plus target for pairs), or None for fixed sizes."""
        if not isinstance(self.X, list):
            return None
        lengths = np.fromiter(map(len, self.X), dtype=np.int64, count=len(self.X))
        if isinstance(self.y, list):  # translation pairs
            lengths += np.fromiter(map(len, self.y), dtype=np.int64, count=len(self.y))
        return lengths


class BucketBatchSampler(Sampler):
    """Shuffled mini-batches of samples of similar length.

    Each epoch the indices are shuffled, cut into pools of
    ``batch_size * pool_batches`` samples, each pool is sorted by length and
    cut into batches, and the batches are served in random order. Batches then
    carry little padding, while every epoch still visits every sample once in
    a fresh random grouping. Randomness comes from torch's global generator
    (seeded by the estimators).

    Parameters
    ----------
    lengths : array-like of int
        Length of each sample.
    batch_size : int
        Samples per batch (the last batch of a pool may be smaller).
    pool_batches : int, default=50
        Batches per sorted pool: larger pools pad less, smaller ones shuffle more.
    """

    def __init__(self, lengths, batch_size, pool_batches=50):
        self.lengths = np.asarray(lengths)
        self.batch_size = batch_size
        self.pool_batches = pool_batches

    def _pools(self, order):
        size = self.batch_size * self.pool_batches
        return [order[start : start + size] for start in range(0, len(order), size)]

    def __iter__(self):
        order = torch.randperm(len(self.lengths)).numpy()
        batches = []
        for pool in self._pools(order):
            pool = pool[np.argsort(self.lengths[pool], kind="stable")]
            batches += [pool[i : i + self.batch_size] for i in range(0, len(pool), self.batch_size)]
        for index in torch.randperm(len(batches)).tolist():
            yield batches[index].tolist()

    def __len__(self):
        return sum(
            -(-len(pool) // self.batch_size) for pool in self._pools(np.arange(len(self.lengths)))
        )


def training_loader(dataset, *, batch_size, shuffle=False, **kwargs):
    """skorch's training iterator: length-bucketed batches for variable-length data.

    Fixed-size data, unshuffled loading and an explicit ``sampler`` (as in
    data-parallel training) get a plain ``DataLoader``.
    """
    lengths = dataset.lengths() if hasattr(dataset, "lengths") else None
    if not shuffle or lengths is None or kwargs.get("sampler") is not None:
        return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, **kwargs)
    return DataLoader(dataset, batch_sampler=BucketBatchSampler(lengths, batch_size), **kwargs)


def pad_sequences(sequences, padding_value=PAD_ID):
    """Right-pad 1-D integer arrays to the longest one: ``(B, T_max)`` int64."""
    lengths = np.fromiter(map(len, sequences), dtype=np.int64, count=len(sequences))
    width = int(lengths.max(initial=0))
    batch = np.full((len(sequences), width), padding_value, dtype=np.int64)
    if width:  # one vectorised scatter, no per-row copies
        batch[np.arange(width) < lengths[:, None]] = np.concatenate(sequences)
    return torch.from_numpy(batch)


def collate(batch):
    """Collate ``(x, y)`` samples into ``({"x": tensor}, y_tensor_or_None)``.

    Token-id samples are padded to the longest sample in this batch (dynamic
    padding with ``PAD_ID``); numeric samples are stacked as float32.
    """
    xs, ys = zip(*batch)
    if np.issubdtype(np.asarray(xs[0]).dtype, np.integer):
        x = pad_sequences(xs)
    else:
        x = torch.as_tensor(np.stack(xs), dtype=torch.float32)
    if ys[0] is None:
        return {"x": x}, None
    return {"x": x}, torch.as_tensor(np.stack(ys))


def collate_pairs(batch):
    """Collate ``(source_ids, target_ids)`` samples for teacher forcing.

    Targets arrive as ``[BOS] ... [EOS]``; the decoder reads them without the
    last token (``tgt_in``) and learns to predict them without the first
    (the shifted target). Both sides are padded to their longest in the batch.
    Without targets (inference) only ``{"src": ...}`` is returned.
    """
    sources, targets = zip(*batch)
    src = pad_sequences(sources)
    if targets[0] is None:
        return {"src": src}, None
    tgt = pad_sequences(targets)
    return {"src": src, "tgt_in": tgt[:, :-1]}, tgt[:, 1:]
