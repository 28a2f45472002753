"""Text front end: cleaning and tokenization.

>>> from sktfm.text import TextCleaner, Tokenizer, PAD_ID, UNK_ID
"""

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

__all__ = [
    "BOS_ID",
    "CLS_ID",
    "EOS_ID",
    "MASK_ID",
    "N_SPECIAL",
    "PAD_ID",
    "SEP_ID",
    "SPECIAL_TOKENS",
    "TOKENIZER_KINDS",
    "UNK_ID",
    "PretrainedTokenizer",
    "TextCleaner",
    "Tokenizer",
]
