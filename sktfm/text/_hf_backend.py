"""The Hugging Face ``tokenizers`` side of :class:`~sktfm.text.Tokenizer`.

How each ``kind`` maps to a ``tokenizers`` model, pre-tokenizer, decoder and
trainer, and the few fixes the Rust library needs from Python (lone
surrogates, special tokens quoted in text). Private: the estimator in
``tokenizer.py`` is the public face.
"""

import re
from collections import Counter

from tokenizers import Regex, decoders, models, pre_tokenizers, trainers
from tokenizers import Tokenizer as HFTokenizer

from .special_tokens import N_SPECIAL, SPECIAL_TOKENS, UNK_ID

_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_METASPACE = "\u2581"  # "▁", the word-start mark of the BPE pre-tokenizer


def build_tokenizer(kind, input_kind):
    """An untrained Hugging Face tokenizer for ``kind`` and the input kind."""
    unk = SPECIAL_TOKENS[UNK_ID]
    if kind == "bpe":
        tokenizer = HFTokenizer(models.BPE(unk_token=unk))
        # Metaspace marks word starts with "▁", so decode restores spaces;
        # characters unseen at fit map to [UNK] instead of failing.
        tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
        tokenizer.decoder = decoders.Metaspace()
        return tokenizer
    tokenizer = HFTokenizer(models.WordLevel(unk_token=unk))
    if kind == "char":
        # Every code point, whitespace included, is one token.
        tokenizer.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
        tokenizer.decoder = decoders.Fuse()
    elif input_kind == "text":
        # Words split at spaces and punctuation; "▁" marks a word that
        # follows a space, so decode restores the text exactly
        # ("quatre-vingt-dix" -> "▁quatre", "-", "vingt", "-", "dix").
        tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
            [
                pre_tokenizers.Metaspace(),
                pre_tokenizers.Punctuation(behavior="isolated"),
            ]
        )
        tokenizer.decoder = decoders.Metaspace()
    # Word tokens given by the user (lists or cells) are used as they are:
    # no pre-tokenizer, so "New York" stays one token.
    return tokenizer


def build_trainer(kind, vocab_size, min_frequency, input_kind, data):
    """The trainer for ``kind``, with the special tokens first in the vocabulary."""
    common = dict(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(SPECIAL_TOKENS),
        show_progress=False,
    )
    if kind != "bpe":
        return trainers.WordLevelTrainer(**common)
    # The alphabet alone may not overflow vocab_size. The trainer's own
    # limit_alphabet breaks ties between equally frequent characters in
    # hash order, which changes from run to run: pick them here instead.
    limit = vocab_size - N_SPECIAL
    counts = _metaspace_char_counts(training_texts(input_kind, data))
    if len(counts) <= limit:
        return trainers.BpeTrainer(**common)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    alphabet = sorted(char for char, _ in ranked[:limit])
    return trainers.BpeTrainer(initial_alphabet=alphabet, limit_alphabet=limit, **common)


def training_texts(input_kind, data):
    """What the trainer reads: the texts, or each given token on its own."""
    if input_kind == "text":
        return data
    return (token for sequence in data for token in sequence)


def no_special_tokens_in_text(tokenizer):
    """Read "[PAD]", "[MASK]"... in the input as plain text, not special ids.

    Otherwise a text quoting "[PAD]" would put a padding id mid-sequence.
    """
    if not tokenizer.encode_special_tokens:
        tokenizer.encode_special_tokens = True


def utf8_safe(text):
    """Replace lone surrogates, which UTF-8 (and so Rust) cannot encode."""
    if text.isascii() or not _SURROGATE_RE.search(text):
        return text
    return _SURROGATE_RE.sub("\ufffd", text)


def _metaspace_char_counts(texts):
    """Character counts as the BPE trainer sees them after Metaspace."""
    counts = Counter()
    n_texts = 0
    for text in texts:
        counts.update(text)
        n_texts += bool(text) and text[0] != " "
    # Metaspace turns each space into "▁" and prepends one to each text.
    spaces = counts.pop(" ", 0)
    counts[_METASPACE] += spaces + n_texts
    return counts
