"""Text front end: cleaning and tokenization.

>>> from sktfm.text import TextCleaner, Tokenizer, PAD_ID, UNK_ID
"""

from . import special_tokens
from .cleaner import TextCleaner
from .pretrained import PretrainedTokenizer
from .special_tokens import *  # noqa: F403 (re-exported through __all__)
from .tokenizer import Tokenizer

__all__ = ["PretrainedTokenizer", "TextCleaner", "Tokenizer", *special_tokens.__all__]
