"""The tokenizer that comes with a pretrained model folder (``tokenizer.json``)."""

from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..persistence import Persistable
from .validation import as_text_array, as_token_lists, is_token_lists

__all__ = ["PretrainedTokenizer"]


class PretrainedTokenizer(Persistable, TransformerMixin, BaseEstimator):
    """A pretrained model's own tokenizer (e.g. BERT's WordPiece), as an estimator.

    Loads ``tokenizer.json`` from a model folder with Hugging Face
    ``tokenizers``; nothing is learned. :meth:`transform` returns the ids the
    model was trained on, special tokens included (``[CLS] ... [SEP]`` for
    BERT), cut to ``max_len`` tokens, unpadded.

    Parameters
    ----------
    path : str or path-like
        Folder holding ``tokenizer.json``.
    max_len : int, default=256
        Longest sequence, special tokens included.
    truncation : bool, default=True
        Cut longer sequences (keeping the closing special token); when False
        they raise a ValueError.

    Attributes
    ----------
    tokenizer_ : tokenizers.Tokenizer
    vocab_size_ : int
    pad_id_, mask_id_ : int
        Ids of the padding and mask tokens.
    n_special_ : int
        One more than the largest special-token id: ids below it are never
        masked or drawn as random replacements in masked-token training.
    """

    def _check_fitted(self, require):
        from tokenizers import Tokenizer as HFTokenizer

        require("tokenizer_", HFTokenizer)
        require("vocab_size_", int)
        require("n_special_", int)

    def __init__(self, path, *, max_len=256, truncation=True):
        self.path = path
        self.max_len = max_len
        self.truncation = truncation

    def fit(self, X=None, y=None):
        """Load the tokenizer; ``X`` and ``y`` are ignored.

        Returns
        -------
        self : PretrainedTokenizer
        """
        from tokenizers import Tokenizer as HFTokenizer

        file = Path(self.path) / "tokenizer.json"
        if not file.is_file():
            raise FileNotFoundError(f"No tokenizer.json in {self.path}.")
        tokenizer = HFTokenizer.from_file(str(file))
        tokenizer.no_padding()
        if self.truncation:  # Hugging Face's own rule: special tokens survive the cut
            tokenizer.enable_truncation(max_length=self.max_len)
        else:
            tokenizer.no_truncation()
        specials = {
            token.content: token_id
            for token_id, token in tokenizer.get_added_tokens_decoder().items()
            if token.special
        }
        for name in ("pad", "mask"):
            token = {"pad": ("[PAD]", "<pad>"), "mask": ("[MASK]", "<mask>")}[name]
            found = [specials[t] for t in token if t in specials]
            if not found:
                raise ValueError(f"tokenizer.json has no {token[0]} token.")
            setattr(self, f"{name}_id_", found[0])
        self.tokenizer_ = tokenizer
        self.vocab_size_ = tokenizer.get_vocab_size(with_added_tokens=True)
        self.n_special_ = max(specials.values()) + 1
        return self

    def transform(self, X):
        """Token ids of each text (or pre-split list of words), special tokens included.

        Returns
        -------
        ids : ndarray of shape (n_samples,), dtype=object
            One int64 array per sample.
        """
        check_is_fitted(self)
        pretokenized = is_token_lists(X)
        texts = as_token_lists(X) if pretokenized else list(as_text_array(X, allow_2d=True))
        encodings = self.tokenizer_.encode_batch(
            texts, is_pretokenized=pretokenized, add_special_tokens=True
        )
        out = np.empty(len(encodings), dtype=object)
        for i, encoding in enumerate(encodings):
            ids = np.asarray(encoding.ids, dtype=np.int64)
            if len(ids) > self.max_len:
                raise ValueError(
                    f"Sample {i} has {len(ids)} tokens, over max_len={self.max_len}; "
                    "set truncation=True or raise max_len."
                )
            out[i] = ids
        return out

    def decode(self, ids):
        """Texts of id sequences, special tokens skipped."""
        check_is_fitted(self)
        texts = self.tokenizer_.decode_batch(
            [list(map(int, row)) for row in ids], skip_special_tokens=True
        )
        out = np.empty(len(texts), dtype=object)
        out[:] = texts
        return out
