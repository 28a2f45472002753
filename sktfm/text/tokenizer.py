"""Tokenizer: learn a word, character or BPE vocabulary and map text to ids.

Backed by Hugging Face ``tokenizers``; this module only adapts it to the
scikit-learn API (fit/transform, parameters, validation, pickling).
"""

from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ..persistence import Persistable
from ._hf_backend import (
    build_tokenizer,
    build_trainer,
    no_special_tokens_in_text,
    training_texts,
    utf8_safe,
)
from .special_tokens import N_SPECIAL, PAD_ID, TOKENIZER_KINDS, UNK_ID
from .validation import as_text_array, as_token_lists, is_token_lists

__all__ = ["Tokenizer"]

# Texts are encoded this many at a time, so memory stays bounded.
_ENCODE_BATCH = 2048

_INPUT_KINDS = {
    "text": "text (one str per sample)",
    "tokens": "pre-tokenized input (one list of tokens per sample)",
    "columns": "a 2-D array or DataFrame with one token per cell",
}


class Tokenizer(Persistable, TransformerMixin, BaseEstimator):
    """Learn a vocabulary and turn texts into sequences of token ids.

    A thin scikit-learn wrapper around a Hugging Face ``tokenizers`` model,
    trained on the texts passed to :meth:`fit`:

    - ``kind="word"``: one token per word and per punctuation mark, keeping
      the ``vocab_size`` most frequent; a word that follows a space carries
      a "▁" mark (SentencePiece-style), so :meth:`decode` restores the text,
      hyphens and spacing included;
    - ``kind="char"``: one token per character, spaces included, so that
      :meth:`decode` gives the text back exactly;
    - ``kind="bpe"``: byte-pair encoding with SentencePiece-style word
      boundaries (``"▁"``), which splits rare words into known pieces.

    Every vocabulary starts with the special tokens :data:`SPECIAL_TOKENS`
    (``[PAD]``, ``[UNK]``, ``[CLS]``, ``[SEP]``, ``[MASK]``, ``[BOS]``,
    ``[EOS]``) with ids 0 to 6. Tokens not in the vocabulary map to ``[UNK]``
    (id 1); :meth:`transform` adds no special tokens.

    Three kinds of input are accepted, and :meth:`transform` must get the
    same kind as :meth:`fit`:

    - text: a list, array or Series of str, or a one-column DataFrame;
    - pre-tokenized text: a list of lists of str. Each str is one token for
      ``kind="word"`` (it may contain spaces), is split into characters for
      ``"char"`` and into pieces for ``"bpe"``;
    - a 2-D array or DataFrame with several columns: each row is a sequence
      with one token per cell. Numbers are read as text, so numeric tables
      work too.

    Parameters
    ----------
    kind : {"word", "char", "bpe"}, default="word"
        Tokenization model.
    vocab_size : int, default=8000
        Largest vocabulary size, special tokens included. Must be at least 8.
    min_frequency : int, default=1
        Words (``"word"``, ``"char"``: characters) seen fewer times in the
        training texts are left out of the vocabulary. For ``"bpe"``, the
        smallest count for a pair of pieces to be merged.
    max_len : int, default=256
        Longest sequence, in tokens, that :meth:`transform` returns; also the
        width of the padded output.
    truncation : bool, default=True
        Whether to cut sequences longer than ``max_len`` to their first
        ``max_len`` tokens. When False, they raise a ValueError.
    output : {"ids", "padded"}, default="ids"
        What :meth:`transform` returns: ``"ids"``, a 1-D object array holding
        one int64 array of ids per sample; ``"padded"``, an int64 matrix of
        shape ``(n_samples, max_len)`` right-padded with ``[PAD]`` (id 0).

    Attributes
    ----------
    tokenizer_ : tokenizers.Tokenizer
        The fitted Hugging Face tokenizer.
    vocabulary_ : dict of str to int
        Token to id, ordered by id.
    vocab_size_ : int
        Number of tokens in the vocabulary, special tokens included.
    input_kind_ : {"text", "tokens", "columns"}
        Kind of input seen during :meth:`fit`.
    n_features_in_ : int
        Number of columns seen during :meth:`fit`. Only set when fit on 2-D
        input.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the columns seen during :meth:`fit`. Only set when fit on a
        DataFrame whose column names are all strings.

    See Also
    --------
    TextCleaner : Normalize raw text before tokenizing it.

    Examples
    --------
    >>> from sktfm.text import Tokenizer
    >>> tok = Tokenizer(output="padded", max_len=5).fit(["the cat sat", "the dog"])
    >>> tok.transform(["the cat ran"])
    array([[7, 8, 1, 0, 0]])
    >>> tok.decode([[7, 8, 1, 0, 0]])
    array(['the cat'], dtype=object)
    """

    _parameter_constraints: dict = {
        "kind": [StrOptions(set(TOKENIZER_KINDS))],
        "vocab_size": [Interval(Integral, N_SPECIAL + 1, None, closed="left")],
        "min_frequency": [Interval(Integral, 1, None, closed="left")],
        "max_len": [Interval(Integral, 1, None, closed="left")],
        "truncation": ["boolean"],
        "output": [StrOptions({"ids", "padded"})],
    }

    def _check_fitted(self, require):
        from tokenizers import Tokenizer as HFTokenizer

        require("tokenizer_", HFTokenizer)
        require("vocabulary_", dict)
        require("vocab_size_", int)
        require("input_kind_", str, values=_INPUT_KINDS)

    def __init__(
        self,
        kind="word",
        *,
        vocab_size=8000,
        min_frequency=1,
        max_len=256,
        truncation=True,
        output="ids",
    ):
        self.kind = kind
        self.vocab_size = vocab_size
        self.min_frequency = min_frequency
        self.max_len = max_len
        self.truncation = truncation
        self.output = output

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the vocabulary from ``X``.

        Parameters
        ----------
        X : array-like of str, list of lists of str, or 2-D array-like
            Texts (list, array or Series of str, or a one-column DataFrame),
            pre-tokenized texts (a list of lists of str), or a 2-D array or
            DataFrame with one token per cell.
        y : None
            Ignored.

        Returns
        -------
        self : Tokenizer
            The fitted tokenizer.
        """
        input_kind, data = self._validate_input(X, reset=True)
        tokenizer = build_tokenizer(self.kind, input_kind)
        trainer = build_trainer(self.kind, self.vocab_size, self.min_frequency, input_kind, data)
        tokenizer.train_from_iterator(training_texts(input_kind, data), trainer=trainer)
        no_special_tokens_in_text(tokenizer)
        vocab = tokenizer.get_vocab()
        self.tokenizer_ = tokenizer
        self.vocabulary_ = dict(sorted(vocab.items(), key=lambda item: item[1]))
        self.vocab_size_ = len(vocab)
        self.input_kind_ = input_kind
        return self

    def transform(self, X):
        """Map each sample to its token ids.

        Parameters
        ----------
        X : array-like of str, list of lists of str, or 2-D array-like
            Input of the same kind as in :meth:`fit` (and, for 2-D input, the
            same columns).

        Returns
        -------
        ids : ndarray of shape (n_samples,) or (n_samples, max_len)
            With ``output="ids"``, a 1-D object array holding one 1-D int64
            array of token ids per sample (empty for an empty text). With
            ``output="padded"``, an int64 array right-padded with ``PAD_ID``.
        """
        check_is_fitted(self)
        input_kind, data = self._validate_input(X, reset=False)
        sequences = self._encode(input_kind, data)
        if self.output == "padded":
            padded = np.full((len(sequences), self.max_len), PAD_ID, dtype=np.int64)
            for row, ids in zip(padded, sequences):
                row[: len(ids)] = ids
            return padded
        out = np.empty(len(sequences), dtype=object)
        out[:] = sequences
        return out

    def decode(self, ids):
        """Turn sequences of token ids back into texts.

        Special tokens (padding and ``[UNK]`` included) are skipped. Words are
        joined with spaces (``"word"``), characters concatenated (``"char"``),
        and BPE pieces merged at their word boundaries (``"bpe"``).

        Parameters
        ----------
        ids : array-like of shape (n_samples, seq_len) or sequence of sequences
            Token ids: the output of :meth:`transform` (either ``output``), or
            any list of lists of ints.

        Returns
        -------
        texts : ndarray of shape (n_samples,), dtype=object
            One str per sample.
        """
        check_is_fitted(self)
        sequences = self._validate_ids(ids)
        texts = self.tokenizer_.decode_batch(sequences, skip_special_tokens=True)
        out = np.empty(len(texts), dtype=object)
        out[:] = texts
        return out

    def inverse_transform(self, X):
        """Turn sequences of token ids back into texts; same as :meth:`decode`.

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len) or sequence of sequences
            Token ids, as returned by :meth:`transform`.

        Returns
        -------
        texts : ndarray of shape (n_samples,), dtype=object
            One str per sample.
        """
        return self.decode(X)

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns of the padded output.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Ignored; present for API consistency.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``["tokenizer0", ..., f"tokenizer{max_len - 1}"]``.
        """
        check_is_fitted(self)
        if self.output != "padded":
            raise ValueError(
                f"get_feature_names_out is only defined for output='padded': with "
                f"output={self.output!r}, transform returns one variable-length "
                "sequence per sample, which has no fixed columns. Use "
                "Tokenizer(output='padded') for a (n_samples, max_len) matrix."
            )
        prefix = type(self).__name__.lower()
        return np.asarray([f"{prefix}{i}" for i in range(self.max_len)], dtype=object)

    # ------------------------------------------------------------------ steps

    def _validate_input(self, X, reset):
        """Return ``(input_kind, data)``; data is a list of str or of lists.

        Checks the number of columns against fit for 2-D input, and that the
        kind of input is the one seen in fit.
        """
        if is_token_lists(X):
            input_kind, texts = "tokens", None
            data = [[utf8_safe(tok) for tok in seq] for seq in as_token_lists(X)]
        else:
            texts = as_text_array(X)
            if texts.ndim == 1 or texts.shape[1] == 1:
                input_kind = "text"
                data = [utf8_safe(text) for text in texts.ravel().tolist()]
            else:
                input_kind = "columns"
                data = [[utf8_safe(tok) for tok in row] for row in texts.tolist()]
        if texts is not None and texts.ndim == 2:
            if reset or hasattr(self, "n_features_in_"):
                # The DataFrame carries the column names; any other input has
                # been laid out as an array already.
                X_2d = X if isinstance(X, pd.DataFrame) else texts
                validate_data(self, X_2d, reset=reset, skip_check_array=True)
        elif reset:
            for attr in ("n_features_in_", "feature_names_in_"):
                self.__dict__.pop(attr, None)
        if not reset and input_kind != self.input_kind_:
            raise ValueError(
                f"Tokenizer was fitted on {_INPUT_KINDS[self.input_kind_]}, but "
                f"got {_INPUT_KINDS[input_kind]}. Reshape your data: pass the same "
                "kind of input as in fit, or refit on this kind."
            )
        return input_kind, data

    def _encode(self, input_kind, data):
        """Token ids of each sample, truncated to (or checked against) max_len."""
        sequences = []
        for i, ids in enumerate(self._iter_ids(input_kind, data)):
            if len(ids) > self.max_len:
                if not self.truncation:
                    raise ValueError(
                        f"Row {i} of X has {len(ids)} tokens, more than "
                        f"max_len={self.max_len}; set truncation=True or "
                        "raise max_len."
                    )
                ids = ids[: self.max_len]
            sequences.append(np.asarray(ids, dtype=np.int64))
        return sequences

    def _iter_ids(self, input_kind, data):
        """Yield the list of token ids of each sample, without truncation."""
        if self.kind == "word" and input_kind != "text":
            # Given tokens are looked up whole: an empty or unseen token is
            # one [UNK], so positions stay aligned with the input cells. As
            # in text, "[PAD]" or "[MASK]" given as a token is not special.
            vocab = {
                token: token_id
                for token, token_id in self.vocabulary_.items()
                if token_id >= N_SPECIAL
            }
            for tokens in data:
                yield [vocab.get(token, UNK_ID) for token in tokens]
            return
        # The flag is not pickled: set it again after a round trip.
        no_special_tokens_in_text(self.tokenizer_)
        for start in range(0, len(data), _ENCODE_BATCH):
            encodings = self.tokenizer_.encode_batch(
                data[start : start + _ENCODE_BATCH],
                is_pretokenized=input_kind != "text",
                add_special_tokens=False,
            )
            for encoding in encodings:
                yield encoding.ids

    def _validate_ids(self, ids):
        """Return ``ids`` as a list of lists of int, each id in the vocabulary."""
        if isinstance(ids, (pd.DataFrame, pd.Series)):
            ids = ids.to_numpy()
        if isinstance(ids, np.ndarray) and ids.dtype != object:
            if ids.ndim != 2:
                raise ValueError(
                    f"ids must be a 2-D array (n_samples, seq_len) or a sequence of "
                    f"id sequences, got an array of shape {ids.shape}. For one "
                    "sequence, pass [ids]."
                )
            rows = list(ids)
        elif isinstance(ids, (list, tuple, np.ndarray)):
            rows = list(ids)
        else:
            raise TypeError(
                f"ids must be an array or a sequence of id sequences, got {type(ids).__name__}."
            )
        if not rows:
            raise ValueError("ids has 0 samples; at least 1 sequence is required.")
        return [self._check_id_row(i, row) for i, row in enumerate(rows)]

    def _check_id_row(self, i, row):
        if not isinstance(row, (list, tuple, np.ndarray)):
            raise TypeError(
                f"Row {i} of ids is a {type(row).__name__}, not a sequence of ids. "
                "Pass one sequence of ids per sample, e.g. [[7, 8, 9]]."
            )
        arr = np.asarray(row)
        if arr.size == 0:
            return []
        if arr.ndim != 1 or arr.dtype.kind not in "iu":
            raise ValueError(
                f"Row {i} of ids must be a 1-D sequence of integers, got dtype "
                f"{arr.dtype} and shape {arr.shape}."
            )
        bad = arr[(arr < 0) | (arr >= self.vocab_size_)]
        if bad.size:
            raise ValueError(
                f"Row {i} of ids contains id {bad[0]}, outside this vocabulary of "
                f"{self.vocab_size_} tokens; decode ids made by this tokenizer."
            )
        return arr.tolist()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = True
        tags.target_tags.required = False
        tags.transformer_tags.preserves_dtype = []
        return tags
