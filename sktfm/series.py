"""Numeric sequences (time series) as the estimators take them.

A collection of series arrives in one of three forms (see DESIGN.md):

- a 3-D array ``(n_samples, seq_len, n_features)`` of equal-length series;
- a list of 2-D arrays ``(length_i, n_features)`` of unequal lengths (aeon's
  form for unequal-length collections, channels first);
- a 3-D array whose trailing all-NaN steps are padding (tslearn's form).

:func:`as_padded_series` turns all three into one float array in which
padding is NaN, so that the padding travels with the data through batching
and the model masks it (:class:`~sktfm.nn.SequenceEmbedding`). The other
helpers scale series and choose the patch length of ``patch_size="auto"``.
"""

import math

import numpy as np

from .data import SEQUENCE_LAYOUTS

__all__ = [
    "SERIES_SCALINGS",
    "TARGET_PATCHES",
    "as_padded_series",
    "auto_patch_size",
    "instance_normalize",
    "is_series_list",
    "max_steps",
    "series_lengths",
]

#: How series are scaled before the model: all together by the training
#: statistics, or each series on its own.
SERIES_SCALINGS = ("global", "instance")
#: ``patch_size="auto"`` cuts the longest training series into about this many
#: patches: "a few dozen tokens", as ViT and PatchTST feed their encoders.
TARGET_PATCHES = 32


def is_series_list(X):
    """Whether ``X`` is a list or tuple of arrays of 2 dimensions (unequal-length series)."""
    return (
        isinstance(X, (list, tuple))
        and len(X) > 0
        and all(isinstance(item, np.ndarray) and item.ndim == 2 for item in X)
    )


def as_padded_series(X, *, layout="channels_last"):
    """Validate a collection of series and return it NaN-padded, channels last.

    Parameters
    ----------
    X : ndarray of shape (n_samples, seq_len, n_features) or list of ndarray
        Equal-length series, NaN-padded series (trailing all-NaN steps), or a
        list of 2-D arrays ``(length_i, n_features)``.
    layout : {"channels_last", "channels_first"}, default="channels_last"
        ``"channels_first"`` reads aeon's and sktime's ``(n_channels,
        n_timepoints)`` per series instead.

    Returns
    -------
    series : ndarray of shape (n_samples, max_length, n_features)
        float64 (a float32 3-D array stays float32); every step past a series' end
        is NaN, and no step is padding in every series (trailing all-padding
        steps are dropped).

    Raises
    ------
    ValueError
        For a 1-D series, series with different channel counts, an empty
        series, infinite values, or NaN anywhere but in trailing padding (the
        message names the series and the step).

    Examples
    --------
    >>> series = [np.ones((2, 1)), np.ones((3, 1))]
    >>> as_padded_series(series)[:, :, 0]
    array([[ 1.,  1., nan],
           [ 1.,  1.,  1.]])
    """
    if layout not in SEQUENCE_LAYOUTS:
        raise ValueError(f"{layout=} is not supported; use one of {SEQUENCE_LAYOUTS}.")
    if isinstance(X, (list, tuple)):
        X = _pad_list(X, layout)
    else:
        X = np.asarray(X)
        if X.ndim != 3:
            raise ValueError(
                "Sequence input must be a 3-D array (n_samples, seq_len, n_features) or a "
                f"list of 2-D arrays (length_i, n_features); got shape {X.shape}."
            )
        if layout == "channels_first":
            X = X.transpose(0, 2, 1)
    if X.dtype.kind not in "fiub":
        raise TypeError(f"Sequence input must be numeric, got dtype {X.dtype}.")
    if X.dtype != np.float32:
        X = X.astype(np.float64)
    if X.shape[0] == 0 or X.shape[2] == 0:
        raise ValueError(
            f"Found array with shape {X.shape}: at least 1 sample and 1 feature are required."
        )
    if np.isinf(X).any():
        raise ValueError("Input X contains infinity or a value too large for dtype('float64').")
    lengths = series_lengths(X)
    _check_padding(X, lengths)
    return X[:, : lengths.max()]


def _pad_list(series, layout):
    """Stack a list of 2-D arrays into one NaN-padded 3-D array (channels last)."""
    if len(series) == 0:
        raise ValueError("X is empty: 0 series were given, at least 1 is required.")
    arrays = []
    for i, item in enumerate(series):
        item = np.asarray(item)
        if item.ndim != 2:
            raise ValueError(
                f"Series {i} has shape {item.shape}; every series must be 2-D "
                "(length, n_features): reshape a univariate series with s.reshape(-1, 1)."
            )
        arrays.append(item.T if layout == "channels_first" else item)
    channels = {a.shape[1] for a in arrays}
    if len(channels) > 1:
        counts = [a.shape[1] for a in arrays]
        first_odd = next(i for i, c in enumerate(counts) if c != counts[0])
        raise ValueError(
            f"Series have different channel counts {sorted(channels)}: series 0 has "
            f"{counts[0]}, series {first_odd} has {counts[first_odd]}."
        )
    dtype = np.result_type(*arrays)
    if dtype.kind not in "fiub":
        raise TypeError(f"Sequence input must be numeric, got dtype {dtype}.")
    width = max(len(a) for a in arrays)
    out = np.full((len(arrays), width, channels.pop()), np.nan, dtype=np.float64)
    for i, a in enumerate(arrays):
        out[i, : len(a)] = a
    return out


def series_lengths(X):
    """Length of each NaN-padded series: steps up to the last one with a value."""
    observed = ~np.isnan(X).all(axis=2)  # (n, T)
    T = X.shape[1]
    last = T - np.argmax(observed[:, ::-1], axis=1)  # one past the last observed step
    return np.where(observed.any(axis=1), last, 0)


def _check_padding(X, lengths):
    """NaN is allowed only as whole trailing steps; every series needs a step."""
    if (lengths == 0).any():
        i = int(np.argmax(lengths == 0))
        raise ValueError(f"Series {i} is empty (every step is NaN); each needs at least one step.")
    inside = np.arange(X.shape[1]) < lengths[:, None]  # (n, T): within each series
    bad = np.isnan(X).any(axis=2) & inside
    if bad.any():
        i, t = np.argwhere(bad)[0]
        raise ValueError(
            f"Series {i} has NaN at step {t}, before its last value at step "
            f"{lengths[i] - 1}. NaN may only pad the end of a series (all features); "
            "impute missing values inside a series first."
        )


def max_steps(patch_size, stride, max_tokens):
    """Steps that fill at most ``max_tokens`` patches (where longer series are cut)."""
    return (max_tokens - 1) * stride + patch_size


def auto_patch_size(length):
    """``patch_size="auto"``: a patch length that cuts ``length`` steps into ~32 tokens.

    Examples
    --------
    >>> auto_patch_size(24), auto_patch_size(150), auto_patch_size(1460)
    (1, 5, 46)
    """
    return max(1, math.ceil(length / TARGET_PATCHES))


def instance_normalize(X):
    """Scale each series and channel to mean 0 and standard deviation 1 over its steps.

    The per-series normalisation of RevIN (Kim et al., 2022) and of the UCR
    archive's z-normalised problems: the model sees shapes, not levels. A
    constant channel is centred only. Padding (NaN) stays NaN.
    """
    # Values near the float limits overflow to inf/NaN here; the caller
    # rejects any NaN that is not padding.
    with np.errstate(over="ignore", invalid="ignore"):
        mean = np.nanmean(X, axis=1, keepdims=True)  # (n, 1, F)
        std = np.nanstd(X, axis=1, keepdims=True)
        return (X - mean) / np.where(std > 1e-8 * np.maximum(np.abs(mean), 1.0), std, 1.0)
