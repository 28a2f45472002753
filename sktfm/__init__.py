"""sktfm: the Transformer, built properly, inside scikit-learn.

>>> from sktfm import TransformerEncoder, TransformerClassifier
"""

from ._version import __version__
from .estimators import (
    Seq2SeqTranslator,
    TransformerClassifier,
    TransformerEncoder,
    TransformerImputer,
    TransformerRegressor,
)
from .io import load, load_pipeline, save, save_pipeline
from .onnx import export_onnx
from .text import TextCleaner, Tokenizer

__all__ = [
    "Seq2SeqTranslator",
    "TextCleaner",
    "Tokenizer",
    "TransformerClassifier",
    "TransformerEncoder",
    "TransformerImputer",
    "TransformerRegressor",
    "__version__",
    "export_onnx",
    "load",
    "load_pipeline",
    "save",
    "save_pipeline",
]
