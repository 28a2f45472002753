"""Target encodings shared by the estimators: label indices and standardisation."""

import warnings

import numpy as np


def mean_and_scale(values, weights=None):
    """Per-column mean and standard deviation of a 2-D array; zero spreads become 1.

    Used to standardise features and targets: a constant column is centred,
    never divided by zero. Missing cells (NaN) are left out; a column with
    none observed gets mean 0 and scale 1. ``weights`` (one per row, for
    complete arrays): the weighted mean and deviation.
    """
    if weights is not None:
        mean = np.average(values, axis=0, weights=weights)
        scale = np.sqrt(np.average((values - mean) ** 2, axis=0, weights=weights))
    elif np.isnan(values).any():
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
            mean, scale = np.nanmean(values, axis=0), np.nanstd(values, axis=0)
        mean = np.where(np.isnan(mean), 0.0, mean)
    else:
        mean, scale = values.mean(axis=0), values.std(axis=0)
    return mean, np.where(scale > 0, scale, 1.0)


def label_indices(classes, y, *, hint):
    """Positions of the labels ``y`` in the sorted ``classes``, as int64.

    Raises a ValueError naming the unseen labels and ending with ``hint``.
    """
    index = np.searchsorted(classes, y).clip(max=len(classes) - 1)
    unknown = classes[index] != y
    if unknown.any():
        raise ValueError(
            f"y contains labels not in classes_ {classes.tolist()[:10]}: "
            f"{np.unique(y[unknown]).tolist()[:5]}. {hint}"
        )
    return index.astype(np.int64)
