"""sktfm: the Transformer, built properly, inside scikit-learn.

>>> from sktfm import TransformerEncoder, TransformerClassifier
"""

from .estimators import (
    Seq2SeqTranslator,
    TransformerClassifier,
    TransformerEncoder,
    TransformerRegressor,
)
from .text import TextCleaner, Tokenizer

__version__ = "0.1.0"

__all__ = [
    "Seq2SeqTranslator",
    "TextCleaner",
    "Tokenizer",
    "TransformerClassifier",
    "TransformerEncoder",
    "TransformerRegressor",
    "__version__",
]
