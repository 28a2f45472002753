"""The scikit-learn estimators of sktfm."""

from .classifier import TransformerClassifier
from .encoder import TransformerEncoder
from .regressor import TransformerRegressor

__all__ = ["TransformerClassifier", "TransformerEncoder", "TransformerRegressor"]
