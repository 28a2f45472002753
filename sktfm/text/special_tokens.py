"""Special tokens and their ids, shared by every layer of sktfm.

The one definition of these constants. Pure Python, so that any layer (the
tokenizer, the collate functions, the PyTorch models, the estimators) may
import it without pulling in scikit-learn or torch.

Every vocabulary a :class:`~sktfm.text.Tokenizer` learns starts with
:data:`SPECIAL_TOKENS`, in this order, so their ids are fixed:

>>> from sktfm.text.special_tokens import PAD_ID, SPECIAL_TOKENS, UNK_ID
>>> SPECIAL_TOKENS[PAD_ID], SPECIAL_TOKENS[UNK_ID]
('[PAD]', '[UNK]')
"""

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
]

#: Special tokens, in id order: padding, unknown token, classification,
#: separator, mask (masked-token training), begin and end of sequence.
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[BOS]", "[EOS]")
PAD_ID, UNK_ID, CLS_ID, SEP_ID, MASK_ID, BOS_ID, EOS_ID = range(len(SPECIAL_TOKENS))
#: Number of special tokens; the ids of learned tokens start here.
N_SPECIAL = len(SPECIAL_TOKENS)

#: Values of ``Tokenizer(kind=...)`` (and of the estimators' ``tokenizer``).
TOKENIZER_KINDS = ("word", "char", "bpe")
