"""Text front end: cleaning and tokenization.

>>> from sktfm.text import TextCleaner, Tokenizer, PAD_ID, UNK_ID
"""

from .cleaner import TextCleaner
from .pretrained import PretrainedTokenizer
from .tokenizer import (
    BOS_ID,
    CLS_ID,
    EOS_ID,
    MASK_ID,
    N_SPECIAL,
    PAD_ID,
    SEP_ID,
    SPECIAL_TOKENS,
    UNK_ID,
    Tokenizer,
)

__all__ = [
    "BOS_ID",
    "CLS_ID",
    "EOS_ID",
    "MASK_ID",
    "N_SPECIAL",
    "PAD_ID",
    "SEP_ID",
    "SPECIAL_TOKENS",
    "PretrainedTokenizer",
    "UNK_ID",
    "TextCleaner",
    "Tokenizer",
]
