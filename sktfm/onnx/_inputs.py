"""Raw input to the arrays the exported graphs take, in batches.

Texts and token lists become id arrays as sktfm's tokenizers make them (and
ids become texts again), feature rows a float32 matrix, series (steps,
features) arrays checked and scaled as sktfm does; batches go in order of
length and are padded. A serving module: it imports only the standard
library, NumPy and ``tokenizers`` (see :mod:`sktfm.onnx.predictor`).
"""

import re

import numpy as np

_SURROGATES = re.compile("[\ud800-\udfff]")


class _TextEncoder:
    """Texts or token lists to id arrays, as sktfm's tokenizers make them."""

    def __init__(self, folder, spec, config):
        from tokenizers import Tokenizer

        # The JSON is read and verified here; tokenizers parses the text.
        text = folder.read_text(spec["file"])
        try:
            self.tokenizer = Tokenizer.from_str(text)
        except Exception as error:  # tokenizers raises plain Exceptions
            raise ValueError(
                f"{folder.root / spec['file']} is not a Hugging Face tokenizer: it is "
                f"truncated or corrupt ({error})."
            ) from error
        if spec["encode_special_tokens"]:
            self.tokenizer.encode_special_tokens = True
        self.spec = spec
        self.pad_id = spec["pad_id"]
        self.max_len = config["max_len"]
        self.truncation = config["truncation"]
        self.vocab = None
        if spec["word_lookup"]:
            self.vocab = {
                token: i
                for token, i in self.tokenizer.get_vocab().items()
                if i >= spec["n_special"]
            }

    def encode(self, X):
        if isinstance(X, str):
            raise TypeError("Pass a list of texts, not a single str.")
        data = list(X)
        pretokenized = bool(data) and not isinstance(data[0], str)
        if pretokenized and self.vocab is not None:
            unk = self.spec["unk_id"]
            rows = [[self.vocab.get(token, unk) for token in tokens] for tokens in data]
        else:
            if not pretokenized:
                data = [_SURROGATES.sub("\ufffd", text) for text in data]
            else:
                data = [list(tokens) for tokens in data]
            encodings = self.tokenizer.encode_batch(
                data,
                is_pretokenized=pretokenized,
                add_special_tokens=self.spec["add_special_tokens"],
            )
            rows = [encoding.ids for encoding in encodings]
        out = []
        for i, ids in enumerate(rows):
            if len(ids) > self.max_len:
                if not self.truncation or self.spec["add_special_tokens"]:
                    raise ValueError(
                        f"Sample {i} has {len(ids)} tokens, over max_len={self.max_len}."
                    )
                ids = ids[: self.max_len]
            out.append(np.asarray(ids, dtype=np.int64))
        return out

    def decode(self, sequences):
        return self.tokenizer.decode_batch(
            [list(map(int, ids)) for ids in sequences], skip_special_tokens=True
        )


def _length_batches(samples, batch_size):
    """Row indices per batch; lists of variable-length samples go in order of length."""
    if isinstance(samples, np.ndarray):
        order = np.arange(len(samples))
    else:
        order = np.argsort([len(s) for s in samples], kind="stable")
    if len(order) == 0:
        raise ValueError("0 samples were given; at least 1 is required.")
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def _pad_ids(rows, pad_id):
    """Right-pad id arrays into (B, T) int64, T >= 1 (an all-padding row is valid)."""
    width = max(1, max(len(r) for r in rows))
    out = np.full((len(rows), width), pad_id, dtype=np.int64)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


def _features(X, n_features):
    X = np.asarray(getattr(X, "values", X), dtype=np.float32)
    if X.ndim != 2 or X.shape[1] != n_features:
        raise ValueError(f"X must have shape (n_samples, {n_features}), got {X.shape}.")
    return X


def _series(X, config):
    """Each series as (steps, F) float64, trailing all-NaN steps dropped, checked, scaled."""
    seq = config["sequence"]
    if isinstance(X, np.ndarray) and X.ndim == 3:
        X = list(X)
    out = []
    for i, s in enumerate(X):
        s = np.asarray(s, dtype=np.float64)
        if s.ndim != 2:
            raise ValueError(f"Series {i} must be 2-D (steps, features), got shape {s.shape}.")
        if seq["layout"] == "channels_first":
            s = s.T
        if s.shape[1] != config["n_features"]:
            raise ValueError(
                f"Series {i} has {s.shape[1]} features, expected {config['n_features']}."
            )
        real = ~np.isnan(s).all(axis=1)
        s = s[: (np.flatnonzero(real)[-1] + 1) if real.any() else 0]
        if len(s) > seq["max_steps"]:
            if not config["truncation"]:
                raise ValueError(
                    f"Series {i} has {len(s)} steps, over the {seq['max_steps']} the model reads."
                )
            s = s[: seq["max_steps"]]
        if seq["instance_scaling"]:
            with np.errstate(over="ignore", invalid="ignore"):
                mean, std = np.nanmean(s, axis=0), np.nanstd(s, axis=0)
                s = (s - mean) / np.where(std > 1e-8 * np.maximum(np.abs(mean), 1.0), std, 1.0)
        out.append(s)
    return out


def _pad_series(rows, seq):
    """NaN-pad series into (B, T, F) float32, T at least the traced graph's minimum."""
    width = max(seq["min_steps"], max(len(r) for r in rows))
    out = np.full((len(rows), width, rows[0].shape[1]), np.nan, dtype=np.float32)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out
