"""The scikit-learn estimators of sktfm."""

from .classifier import TransformerClassifier
from .encoder import TransformerEncoder
from .imputer import TransformerImputer
from .regressor import TransformerRegressor
from .translator import Seq2SeqTranslator

__all__ = [
    "Seq2SeqTranslator",
    "TransformerClassifier",
    "TransformerEncoder",
    "TransformerImputer",
    "TransformerRegressor",
]
