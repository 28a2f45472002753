"""Serve an exported sktfm model with ONNX Runtime, NumPy and ``tokenizers`` only.

This module imports neither torch nor scikit-learn nor the rest of sktfm:
a service can copy this one file beside the folder that
:func:`sktfm.export_onnx` wrote and run it with ``pip install onnxruntime
tokenizers numpy``.
"""

import json
import re
from pathlib import Path

import numpy as np

__all__ = ["OnnxPredictor"]

_CONFIG_FILE = "onnx_config.json"
_FORMAT_VERSION = 1
_SURROGATES = re.compile("[\ud800-\udfff]")


class OnnxPredictor:
    """Predictions of an exported sktfm model, through ONNX Runtime.

    Takes the raw input the estimator took (texts, token lists, feature rows
    or series) and returns what it returned: ``transform`` embeddings,
    ``predict_proba`` / ``predict`` for a classifier, ``predict`` targets
    for a regressor, ``predict`` translations (greedy) for a translator.

    Parameters
    ----------
    path : str or path-like
        A folder written by :func:`sktfm.export_onnx`.
    batch_size : int, default=64
        Samples per ONNX Runtime call; variable-length samples are batched
        in order of length, as sktfm does.
    providers : list of str, optional
        ONNX Runtime execution providers; ``["CPUExecutionProvider"]`` by
        default.
    session_options : onnxruntime.SessionOptions, optional
        Threads and other settings of the ONNX Runtime sessions.

    Attributes
    ----------
    config : dict
        The export's ``onnx_config.json``.
    classes_ : ndarray of shape (n_classes,)
        The class labels (classifier only).

    Examples
    --------
    >>> from sktfm import TransformerRegressor, export_onnx
    >>> import numpy as np, tempfile
    >>> X = np.random.default_rng(0).normal(size=(40, 3))
    >>> reg = TransformerRegressor(d_model=8, n_heads=2, n_layers=1, dim_feedforward=16,
    ...                            max_epochs=2, random_state=0).fit(X, X.sum(axis=1))
    >>> predictor = OnnxPredictor(export_onnx(reg, tempfile.mkdtemp()))
    >>> bool(np.allclose(predictor.predict(X), reg.predict(X), atol=1e-4))
    True
    """

    def __init__(self, path, *, batch_size=64, providers=None, session_options=None):
        import onnxruntime

        self.path = Path(path)
        config_file = self.path / _CONFIG_FILE
        if not config_file.is_file():
            raise FileNotFoundError(
                f"No {_CONFIG_FILE} in {self.path}: export a model with sktfm.export_onnx."
            )
        self.config = json.loads(config_file.read_text())
        if self.config.get("format") != _FORMAT_VERSION:
            raise ValueError(
                f"{config_file} has format {self.config.get('format')!r}; this predictor "
                f"reads format {_FORMAT_VERSION}."
            )
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"{batch_size=} must be a positive integer.")
        self.batch_size = batch_size
        providers = providers or ["CPUExecutionProvider"]

        def session(name):
            return onnxruntime.InferenceSession(
                str(self.path / name), sess_options=session_options, providers=providers
            )

        config = self.config
        self.task = config["task"]
        if self.task == "translation":
            self._encoder = session(config["encoder_file"])
            self._decoder = session(config["decoder_file"])
            self._source = _TextEncoder(self.path, config["source_tokenizer"], config)
            self._target = _TextEncoder(self.path, config["target_tokenizer"], config)
            self._protection = _Protection.from_config(config.get("protection"))
        else:
            self._session = session(config["file"])
            if "tokenizer" in config:
                self._text = _TextEncoder(self.path, config["tokenizer"], config)
        if self.task == "classification":
            self.classes_ = np.asarray(config["classes"])

    # ------------------------------------------------------------- public
    def transform(self, X):
        """Embeddings (n_samples, d_model) float32 (encoder export)."""
        self._expect("embedding", "transform")
        return self._run(X)

    def predict_proba(self, X):
        """Class probabilities (n_samples, n_classes), columns as ``classes_``."""
        self._expect("classification", "predict_proba")
        return self._run(X, output=1).astype(np.float64)

    def predict(self, X):
        """Labels, targets or translations, as the estimator's ``predict``."""
        if self.task == "classification":
            return self.classes_[np.argmax(self._run(X, output=0), axis=1)]
        if self.task == "regression":
            y = self._run(X).astype(np.float64)
            return y.ravel() if self.config["target_ndim"] == 1 else y
        if self.task == "translation":
            return self._translate(X)
        raise AttributeError("An encoder export has transform, not predict.")

    def _expect(self, task, method):
        if self.task != task:
            raise AttributeError(f"A {self.task} export has no {method}.")

    # ------------------------------------------------------------ encoders
    def _run(self, X, output=0):
        """Graph output ``output`` for every sample, batched in order of length."""
        kind = self.config["input_type"]
        if kind in ("text", "tokens"):
            samples = self._text.encode(X)
            pad = self._text.pad_id

            def batch(rows):
                return _pad_ids([samples[i] for i in rows], pad)

        elif kind == "tabular":
            samples = _features(X, self.config["n_features"])

            def batch(rows):
                return samples[rows]

        else:
            samples = _series(X, self.config)

            def batch(rows):
                return _pad_series([samples[i] for i in rows], self.config["sequence"])

        name = self.config["input_name"]
        outputs = None
        for rows in _length_batches(samples, self.batch_size):
            result = self._session.run(None, {name: batch(rows)})[output]
            if outputs is None:
                outputs = np.empty((len(samples), *result.shape[1:]), dtype=result.dtype)
            outputs[rows] = result
        return outputs

    # ---------------------------------------------------------- translator
    def _translate(self, X):
        texts = [X] if isinstance(X, str) else list(X)
        spans = None
        if self._protection is not None:
            protected = [self._protection.protect(text) for text in texts]
            texts, spans = [t for t, _ in protected], [s for _, s in protected]
        sources = self._source.encode(texts)
        generated = self.generate(sources, spans=spans)
        translations = self._target.decode(generated)
        if spans is not None:
            translations = [self._protection.restore(t, s) for t, s in zip(translations, spans)]
        return np.asarray(translations, dtype=object)

    def generate(self, sources, *, spans=None):
        """Greedy target ids (without BOS, EOS, padding) for source id sequences.

        Parameters
        ----------
        sources : list of 1-D int arrays
            Source token ids, as the translator's source tokenizer gives them.
        spans : list of list of str, optional
            Protected spans of each source (texts through :meth:`predict`).

        Returns
        -------
        list of list of int
        """
        self._expect("translation", "generate")
        sources = [np.asarray(s, dtype=np.int64) for s in sources]
        result = [None] * len(sources)
        for rows in _length_batches(sources, self.batch_size):
            required = None
            if self._protection is not None:
                required = self._protection.required([spans[i] if spans else [] for i in rows])
            hyps = self._greedy(
                _pad_ids([sources[i] for i in rows], self.config["padding_id"]), required
            )
            for row, hyp in zip(rows, hyps):
                result[row] = hyp
        return result

    def _greedy(self, src, required):
        """sktfm's greedy search (sktfm.nn.generation.greedy_search) over ONNX Runtime."""
        c = self.config
        pad, eos = c["padding_id"], c["eos_id"]
        encoded = self._encoder.run(None, {"source_ids": src})
        # What every step reads unchanged: the padding and the cross-attention cache.
        fixed = {"memory_padding": encoded[0]}
        for i in range(c["n_layers"]):
            fixed[f"cross_key_{i}"], fixed[f"cross_value_{i}"] = encoded[1 + 2 * i : 3 + 2 * i]
        B = len(src)
        if c["max_output_len"] is None:
            limits = (src != pad).sum(axis=1) + 50
        else:
            limits = np.full(B, c["max_output_len"])
        limits = limits.clip(1, c["max_len"])
        empty = np.zeros((B, c["n_heads"], 0, c["d_head"]), dtype=np.float32)
        past = [empty] * (2 * c["n_layers"])
        token = np.full((B, 1), c["bos_id"], dtype=np.int64)
        finished = np.zeros(B, dtype=bool)
        counts = None if required is None else np.zeros_like(required)
        steps = []
        for step in range(int(limits.max())):
            feeds = {**fixed, "token": token}
            for i in range(c["n_layers"]):
                feeds[f"past_key_{i}"], feeds[f"past_value_{i}"] = past[2 * i : 2 * i + 2]
            logits, *past = self._decoder.run(None, feeds)
            if required is not None:
                logits = self._protection.apply(logits, counts, required, limits - step, eos)
            next_ids = logits.argmax(axis=-1)
            next_ids[finished] = pad
            if required is not None:
                counts = counts + self._protection.token_slots[next_ids]
            steps.append(next_ids)
            token = next_ids[:, None]
            finished |= (next_ids == eos) | (step + 1 >= limits)
            if finished.all():
                break
        hyps = []
        for row in np.stack(steps, axis=1).tolist():
            end = next((i for i, t in enumerate(row) if t in (eos, pad)), len(row))
            hyps.append(row[:end])
        return hyps


class _TextEncoder:
    """Texts or token lists to id arrays, as sktfm's tokenizers make them."""

    def __init__(self, folder, spec, config):
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(Path(folder) / spec["file"]))
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


class _Protection:
    """Placeholders swapped for sentinels and counted through decoding (sktfm.text.protection)."""

    def __init__(self, pattern, max_spans, token_slots):
        self.pattern = pattern
        self.sentinels = [chr(0xE000 + k) for k in range(max_spans)]
        self.token_slots = token_slots  # (V, max_spans)
        self.slot_ids = np.flatnonzero(token_slots.any(axis=1))
        self.other = np.ones(len(token_slots), dtype=bool)
        self.other[self.slot_ids] = False

    @classmethod
    def from_config(cls, spec):
        if spec is None:
            return None
        slots = np.zeros((spec["vocab_size"], spec["max_spans"]), dtype=np.int64)
        for token_id, counts in spec["token_slots"].items():
            for k, times in counts:
                slots[int(token_id), k] = times
        return cls(re.compile(spec["pattern"], spec["flags"]), spec["max_spans"], slots)

    def protect(self, text):
        found = [m for m in self.pattern.finditer(text) if m.group() != "%%"]
        found = found[: len(self.sentinels)]
        pieces, end = [], 0
        for k, match in enumerate(found):
            pieces += [text[end : match.start()], self.sentinels[k]]
            end = match.end()
        return "".join(pieces) + text[end:], [m.group() for m in found]

    def restore(self, text, spans):
        table = {ord(self.sentinels[k]): span for k, span in enumerate(spans)}
        table.update({ord(s): "" for s in self.sentinels[len(spans) :]})
        return text.translate(table)

    def required(self, spans):
        required = np.zeros((len(spans), len(self.sentinels)), dtype=np.int64)
        for row, source_spans in zip(required, spans):
            row[: len(source_spans)] = 1
        return required * self.token_slots.any(axis=0)

    def apply(self, scores, counts, required, steps_left, eos_id):
        """sktfm.nn.generation.CountConstraint.apply, in NumPy."""
        scores = scores.copy()
        if len(self.slot_ids):
            missing = (required - counts).clip(min=0).sum(axis=1)
            hurry = (missing > 0) & (missing >= steps_left)
            scores[np.ix_(hurry, self.other)] = -np.inf
            after = counts[:, None, :] + self.token_slots[self.slot_ids][None]
            over = (after > required[:, None, :]).any(axis=-1)  # (N, n)
            block = scores[:, self.slot_ids]
            block[over] = -np.inf
            scores[:, self.slot_ids] = block
        incomplete = (counts < required).any(axis=1)
        scores[incomplete, eos_id] = -np.inf
        return scores


# ----------------------------------------------------------------- batches
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
