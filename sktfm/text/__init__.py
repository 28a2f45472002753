"""Text front end: cleaning and tokenization.

>>> from sktfm.text import TextCleaner, Tokenizer, PAD_ID, UNK_ID
"""

from . import special_tokens
from .cleaner import TextCleaner
from .pretrained import PretrainedTokenizer
from .special_tokens import (
    BOS_ID,
    CLS_ID,
    EOS_ID,
    MASK_ID,
    N_SPECIAL,
    PAD_ID,
    SEP_ID,
    SPECIAL_TOKENS,
    TOKENIZER_KINDS,
    UNK_ID,
)
from .tokenizer import Tokenizer

__all__ = ["PretrainedTokenizer", "TextCleaner", "Tokenizer", *special_tokens.__all__]
