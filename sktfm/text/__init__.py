"""Text front end: cleaning, tokenization and token vectors from co-occurrence.

>>> from sktfm.text import TextCleaner, Tokenizer, PAD_ID, UNK_ID
"""

from . import special_tokens
from .cleaner import TextCleaner
from .cooccurrence import cooccurrence_vectors
from .pretrained import PretrainedTokenizer
from .special_tokens import *  # noqa: F403 (re-exported through __all__)
from .tokenizer import Tokenizer

__all__ = [
    "PretrainedTokenizer",
    "TextCleaner",
    "Tokenizer",
    "cooccurrence_vectors",
    *special_tokens.__all__,
]
