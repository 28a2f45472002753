"""Serve an exported sktfm model with ONNX Runtime, NumPy and ``tokenizers`` only.

:class:`OnnxPredictor` loads the folder that :func:`sktfm.export_onnx` wrote
and answers ``transform``, ``predict_proba`` and ``predict`` as the estimator
did, running sktfm's greedy search in NumPy for a translator.

Serving is four modules of this package, which import only the standard
library, NumPy, ``onnxruntime``, ``tokenizers`` and each other (neither torch
nor scikit-learn nor the rest of sktfm):

- ``predictor.py``: :class:`OnnxPredictor`, and the translator's protected
  placeholders;
- ``_inputs.py``: raw input to the graphs' input arrays, batched and padded;
- ``_export_folder.py``: the confined, bounded, manifest-checked reading of
  the folder, and the check that a graph keeps no tensor in other files;
- ``_export_config.py``: the validation of ``onnx_config.json``.

A service can copy these four files into a folder of its own (a package: add
an empty ``__init__.py``), ``from that_package.predictor import OnnxPredictor``
and run it with ``pip install onnxruntime tokenizers numpy``.

A malformed, incomplete or altered export folder raises a ValueError naming
the file (see ``_export_folder.py`` and ``_export_config.py``).
"""

import re

import numpy as np

from ._export_config import _read_config
from ._export_folder import (
    _CONFIG_FILE,
    _MAX_GRAPH_BYTES,
    _check_graph,
    _ExportFolder,
    _onnxruntime_errors,
)
from ._inputs import (
    _features,
    _length_batches,
    _pad_ids,
    _pad_series,
    _series,
    _Table,
    _TextEncoder,
)

__all__ = ["OnnxPredictor"]


class OnnxPredictor:
    """Predictions of an exported sktfm model, through ONNX Runtime.

    Takes the raw input the estimator took (texts, token lists, feature rows,
    mixed tables or series) and returns what it returned: ``transform``
    embeddings, ``predict_proba`` / ``predict`` for a classifier, ``predict``
    targets for a regressor, ``predict`` translations (greedy) for a
    translator. A mixed table (categorical or text columns) comes as a
    DataFrame, a dict of column name to values, or rows of cells in the
    fitted column order; a table fitted with column names must have those
    names, in that order.

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
    path : pathlib.Path
        The folder.
    classes_ : ndarray of shape (n_classes,)
        The class labels (classifier only; ``np.arange(n_labels)`` for a
        multilabel one).

    Raises
    ------
    ValueError
        If the folder has no ``onnx_config.json``, or is malformed, incomplete or
        altered: a file that is not a regular file inside it, a file name in the config
        that leads elsewhere, a file that does not match ``manifest.json`` (or a format
        2 folder without one), a config with missing or wrong entries, a truncated or
        corrupt graph or tokenizer. The message names the file.

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

        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"{batch_size=} must be a positive integer.")
        folder = _ExportFolder(path)
        self.path = folder.root
        self.config = config = _read_config(folder)
        self.batch_size = batch_size
        providers = providers or ["CPUExecutionProvider"]
        errors = _onnxruntime_errors()

        def session(name, inputs, n_outputs):
            # The graph's bytes, read and verified here: ONNX Runtime opens no file.
            file = folder.root / name
            model = folder.read_bytes(name, limit=_MAX_GRAPH_BYTES)
            _check_graph(model, file)
            try:
                loaded = onnxruntime.InferenceSession(
                    model, sess_options=session_options, providers=providers
                )
            except errors as error:
                raise ValueError(
                    f"{file} cannot be loaded by ONNX Runtime: it is truncated, corrupt or "
                    f"not an ONNX graph ({error})."
                ) from error
            names = sorted(node.name for node in loaded.get_inputs())
            if names != sorted(inputs) or len(loaded.get_outputs()) < n_outputs:
                raise ValueError(
                    f"{file} takes the inputs {names} and gives {len(loaded.get_outputs())} "
                    f"outputs, not what {folder.root / _CONFIG_FILE} describes: the folder "
                    "mixes files of different exports."
                )
            return loaded

        self.task = config["task"]
        if self.task == "translation":
            n_layers = config["n_layers"]
            caches = [
                f"{kind}_{part}_{i}"
                for i in range(n_layers)
                for kind in ("cross", "past")
                for part in ("key", "value")
            ]
            self._encoder = session(config["encoder_file"], ["source_ids"], 1 + 2 * n_layers)
            self._decoder = session(
                config["decoder_file"], ["token", "memory_padding", *caches], 1 + 2 * n_layers
            )
            self._source = _TextEncoder(folder, config["source_tokenizer"], config)
            self._target = _TextEncoder(folder, config["target_tokenizer"], config)
            self._protection = _Protection.from_config(config.get("protection"))
        else:
            n_outputs = 2 if self.task in ("classification", "multilabel") else 1
            self._session = session(config["file"], [config["input_name"]], n_outputs)
            if config["input_type"] in ("text", "tokens"):
                self._text = _TextEncoder(folder, config["tokenizer"], config)
            self._table = None
            if config["input_type"] == "tabular" and config.get("table") is not None:
                table = config["table"]
                text = None
                if any(table["text_widths"]):
                    text = _TextEncoder(folder, config["tokenizer"], config)
                self._table = _Table(table, text)
        if self.task in ("classification", "multilabel"):
            self.classes_ = np.asarray(config["classes"])

    # ------------------------------------------------------------- public
    def transform(self, X):
        """Embeddings (n_samples, d_model) float32 (encoder export)."""
        self._expect("embedding", "transform")
        return self._run(X)

    def predict_proba(self, X):
        """Class probabilities (n_samples, n_classes), columns as ``classes_``;
        a multilabel export's each label's probability (n_samples, n_labels)."""
        if self.task != "multilabel":
            self._expect("classification", "predict_proba")
        return self._run(X, output=1).astype(np.float64)

    def predict(self, X):
        """Labels, targets or translations, as the estimator's ``predict``."""
        if self.task == "classification":
            return self.classes_[np.argmax(self._run(X, output=0), axis=1)]
        if self.task == "multilabel":
            # As the estimator: the float64 sigmoid of the logits, over 0.5.
            logits = self._run(X, output=0).astype(np.float64)
            return (np.exp(-np.logaddexp(0.0, -logits)) > 0.5).astype(np.int64)
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
            if self._table is not None:
                samples = self._table.encode(X)
            else:
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
        # Checked by _check_protection when the config was read.
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
