"""Sample weights as scikit-learn validates them, and the targets that carry them."""

import numpy as np
from sklearn.utils.validation import _check_sample_weight

from ..training.losses import weighted_targets

__all__ = ["check_sample_weight", "with_sample_weight"]


def check_sample_weight(sample_weight, X_model):
    """``sample_weight`` validated for ``X_model``'s samples; None if it changes nothing.

    As scikit-learn's estimators: one finite, non-negative weight per sample
    (a ValueError otherwise), not all zero. Weights are relative: scaling
    them all by one factor changes nothing. Weights that are all equal give
    the loss of no weights (it is a weighted *mean*), so they are dropped:
    a fit with ``np.ones(n)`` is exactly the fit without weights.
    """
    if sample_weight is None:
        return None
    weights = _check_sample_weight(
        sample_weight, X_model, dtype=np.float64, ensure_non_negative=True
    )
    return None if np.all(weights == weights[0]) else weights


def with_sample_weight(y_model, weights):
    """``y_model`` carrying ``weights`` (see :func:`~sktfm.training.losses.weighted_targets`)."""
    return y_model if weights is None else weighted_targets(y_model, weights)
