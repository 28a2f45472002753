"""Serve an exported sktfm model with ONNX Runtime, NumPy and ``tokenizers`` only.

This module imports neither torch nor scikit-learn nor the rest of sktfm:
a service can copy this one file beside the folder that
:func:`sktfm.export_onnx` wrote and run it with ``pip install onnxruntime
tokenizers numpy``.

The folder is read confined, bounded and verified: every file read
(``onnx_config.json``, the graphs, the tokenizers) must be a regular file
directly inside it (no symlink, FIFO or device; file names in the config are
plain names), JSON files are refused over :data:`_MAX_JSON_BYTES`, and when
the folder has a ``manifest.json`` (every export of format 2 has) each file
is checked against its size and SHA-256. The bytes are read here and handed
to ONNX Runtime and ``tokenizers``, which open no file themselves. A
malformed, incomplete or altered folder raises a ValueError naming the file.
"""

import hashlib
import json
import os
import re
import stat
from pathlib import Path

import numpy as np

__all__ = ["OnnxPredictor"]

_CONFIG_FILE = "onnx_config.json"
_MANIFEST_FILE = "manifest.json"
#: Folder formats this predictor reads: 1 (no manifest) and 2 (manifest required).
_FORMATS = (1, 2)
_MANIFEST_FORMAT = 1
#: Largest JSON file read (config, tokenizers), and largest manifest.
_MAX_JSON_BYTES = 256 * 2**20
_MAX_MANIFEST_BYTES = 16 * 2**20
#: Largest graph read: protobuf cannot hold more in one file.
_MAX_GRAPH_BYTES = 2**31 - 1
_TASKS = ("embedding", "classification", "regression", "translation")
_INPUT_TYPES = ("text", "tokens", "tabular", "sequence")
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
    path : pathlib.Path
        The folder.
    classes_ : ndarray of shape (n_classes,)
        The class labels (classifier only).

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
            n_outputs = 2 if self.task == "classification" else 1
            self._session = session(config["file"], [config["input_name"]], n_outputs)
            if config["input_type"] in ("text", "tokens"):
                self._text = _TextEncoder(folder, config["tokenizer"], config)
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


# ------------------------------------------------------------------ folder
class _ExportFolder:
    """The files of an export: regular files directly inside it, bounded, verified.

    The folder may itself be reached through a symlink; nothing inside it
    may be one. Where it has a ``manifest.json``, every file read must be
    listed there and match its size and SHA-256.
    """

    def __init__(self, path):
        self.root = Path(path)
        if not os.path.lexists(self.root / _CONFIG_FILE):
            raise ValueError(
                f"No {_CONFIG_FILE} in {self.root}: export a model with sktfm.export_onnx."
            )
        self.manifest = self._read_manifest()

    def read_bytes(self, name, *, limit):
        """The bytes of the file ``name``, checked against the manifest."""
        name = _plain_name(name, self.root / _CONFIG_FILE, self.root)
        file = self.root / name
        entry = None
        if self.manifest is not None:
            entry = self.manifest.get(name)
            if entry is None:
                raise ValueError(
                    f"{file} is not listed in {self.root / _MANIFEST_FILE}: the folder is "
                    "incomplete or was altered after export_onnx wrote it."
                )
        data = _read_regular(file, limit=limit)
        if entry is not None and (
            len(data) != entry["size"] or hashlib.sha256(data).hexdigest() != entry["sha256"]
        ):
            raise ValueError(
                f"{file} does not match {self.root / _MANIFEST_FILE} (size or SHA-256): the "
                "folder was left half-written (an interrupted export) or altered; export "
                "the model again."
            )
        return data

    def read_text(self, name):
        """The UTF-8 text file ``name`` (at most :data:`_MAX_JSON_BYTES`)."""
        return _decode(self.read_bytes(name, limit=_MAX_JSON_BYTES), self.root / name)

    def read_json(self, name):
        """The JSON file ``name``, parsed."""
        return _parse_json(self.read_text(name), self.root / name)

    def _read_manifest(self):
        file = self.root / _MANIFEST_FILE
        if not os.path.lexists(file):
            return None
        manifest = _parse_json(_decode(_read_regular(file, limit=_MAX_MANIFEST_BYTES), file), file)
        files = manifest.get("files") if isinstance(manifest, dict) else None
        if (
            not isinstance(files, dict)
            or type(manifest.get("format")) is not int
            or manifest["format"] != _MANIFEST_FORMAT
            or not all(_valid_entry(entry) for entry in files.values())
        ):
            raise ValueError(f"{file} is not an sktfm manifest.")
        for name, entry in files.items():
            listed = self.root / _plain_name(name, file, self.root)
            size = _regular_stat(listed).st_size
            if size != entry["size"]:
                raise ValueError(
                    f"{listed} has {size} bytes where {file} lists {entry['size']}: the folder "
                    "was left half-written (an interrupted export) or altered; export the "
                    "model again."
                )
        return files


def _plain_name(name, source, root):
    """``name`` if it is a plain file name (no folder, no ``..``, not absolute)."""
    if (
        not isinstance(name, str)
        or name in ("", ".", "..")
        or any(character in name for character in "/\\:\x00")
    ):
        raise ValueError(
            f"{source} names the file {_short(name)}, which is not a plain file name: the "
            f"predictor reads only files directly inside {root}."
        )
    return name


def _valid_entry(entry):
    return (
        isinstance(entry, dict)
        and type(entry.get("size")) is int
        and entry["size"] >= 0
        and isinstance(entry.get("sha256"), str)
        and len(entry["sha256"]) == 64
    )


def _regular_stat(file):
    """``os.lstat(file)``, refusing a missing file, a symlink or any non-regular file."""
    try:
        info = os.lstat(file)
    except FileNotFoundError:
        raise ValueError(f"{file} is missing: the export is incomplete.") from None
    except OSError as error:
        raise ValueError(f"{file} cannot be read: {error.strerror}.") from None
    if stat.S_ISLNK(info.st_mode):
        raise ValueError(
            f"{file} is a symlink; the predictor reads only regular files inside the folder."
        )
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"{file} is not a regular file (a FIFO, device or folder).")
    return info


def _read_regular(file, *, limit):
    """Read a regular file (never a symlink, FIFO or device) of at most ``limit`` bytes."""
    _regular_stat(file)  # clear messages; the open and fstat below close the race
    flags = (
        os.O_RDONLY
        | getattr(os, "O_NOFOLLOW", 0)
        | getattr(os, "O_NONBLOCK", 0)
        | getattr(os, "O_BINARY", 0)
    )
    try:
        descriptor = os.open(file, flags)
    except OSError as error:
        raise ValueError(f"{file} cannot be opened as a regular file: {error.strerror}.") from None
    with open(descriptor, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"{file} is not a regular file (a FIFO, device or folder).")
        if info.st_size > limit:
            raise ValueError(f"{file} has {info.st_size} bytes, over the {limit}-byte limit.")
        data = handle.read(info.st_size + 1)
    if len(data) != info.st_size:
        raise ValueError(f"{file} changed size while it was read.")
    return data


def _decode(data, file):
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"{file} is not UTF-8 text: {error}.") from None


def _parse_json(text, file):
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{file} is not valid JSON (truncated or corrupt): {error}.") from None
    except RecursionError:
        raise ValueError(f"{file} nests too deeply to be an sktfm file.") from None


# The fields of onnx.proto's messages that hold tensors, directly or nested:
# message -> {field number: message}. A tensor with external_data (13) or
# data_location EXTERNAL (14) would make ONNX Runtime open a file itself.
_ONNX_FIELDS = {
    "model": {7: "graph", 20: "training", 25: "function"},
    "training": {1: "graph", 2: "graph"},
    "function": {7: "node", 11: "attribute"},
    "graph": {1: "node", 5: "tensor", 15: "sparse"},
    "node": {5: "attribute"},
    "attribute": {5: "tensor", 6: "graph", 10: "tensor", 11: "graph", 22: "sparse", 23: "sparse"},
    "sparse": {1: "tensor", 2: "tensor"},
    "tensor": {},
}
_MAX_GRAPH_DEPTH = 64


def _check_graph(model, file):
    """Refuse a graph that is not protobuf or whose tensors are stored in other files.

    ONNX Runtime would read such tensors from files it opens itself (relative
    to the working directory for a graph given as bytes); an export keeps
    every tensor inside its graph file.
    """
    try:
        external = _external_tensor(memoryview(model), "model", 0)
    except _Malformed as error:
        raise ValueError(
            f"{file} cannot be loaded by ONNX Runtime: it is truncated, corrupt or not an "
            f"ONNX graph ({error})."
        ) from None
    if external:
        raise ValueError(
            f"{file} keeps tensors in other files (ONNX external data); the predictor reads "
            "only graphs that hold all their tensors, as export_onnx writes them."
        )


class _Malformed(Exception):
    pass


def _varint(data, at):
    value = shift = 0
    while True:
        if at >= len(data) or shift > 63:
            raise _Malformed("a field runs past the end")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at
        shift += 7


def _external_tensor(data, kind, depth):
    """Whether the protobuf message ``data`` of ``kind`` holds an external tensor."""
    if depth > _MAX_GRAPH_DEPTH:
        raise _Malformed("graphs nest too deeply")
    fields = _ONNX_FIELDS[kind]
    at, end = 0, len(data)
    while at < end:
        key, at = _varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _varint(data, at)
            if kind == "tensor" and number == 14 and value != 0:
                return True
        elif wire == 1:
            at += 8
        elif wire == 5:
            at += 4
        elif wire == 2:
            length, at = _varint(data, at)
            if at + length > end:
                raise _Malformed("a field runs past the end")
            if kind == "tensor" and number == 13:
                return True
            inner = fields.get(number)
            if inner is not None and _external_tensor(data[at : at + length], inner, depth + 1):
                return True
            at += length
        else:
            raise _Malformed(f"wire type {wire} is not protobuf's")
        if at > end:
            raise _Malformed("a field runs past the end")
    return False


def _onnxruntime_errors():
    """The exceptions ONNX Runtime raises for a graph it cannot load."""
    try:
        from onnxruntime.capi import onnxruntime_pybind11_state as state
    except ImportError:
        return (RuntimeError,)
    found = (
        value
        for value in vars(state).values()
        if isinstance(value, type)
        and issubclass(value, Exception)
        and value.__module__ == state.__name__
    )
    return (RuntimeError, *found)


# ------------------------------------------------------------------ config
_REGEX_FLAGS = re.IGNORECASE | re.MULTILINE | re.DOTALL | re.UNICODE | re.VERBOSE | re.ASCII
# At most this many (vocab_size x max_spans) cells of protected-span counts.
_MAX_SLOT_CELLS = 2**27


def _read_config(folder):
    """``onnx_config.json``, with every entry the predictor reads checked."""
    file = folder.root / _CONFIG_FILE
    config = folder.read_json(_CONFIG_FILE)
    if not isinstance(config, dict):
        raise ValueError(
            f"{file} holds a JSON {type(config).__name__}, not an object: it is not an "
            "sktfm ONNX config."
        )
    version = config.get("format")
    if type(version) is not int or version not in _FORMATS:
        raise ValueError(
            f"{file} has format {_short(version)}; this predictor reads formats "
            f"{' and '.join(map(str, _FORMATS))}."
        )
    if version >= 2 and folder.manifest is None:
        raise ValueError(
            f"{folder.root} has no {_MANIFEST_FILE} although {file} is format {version}: the "
            "folder was left half-written (an interrupted export) or altered; export_onnx "
            "writes the manifest last. Export the model again."
        )
    _check_config(config, str(file))
    return config


def _entry(spec, key, where, wanted, valid):
    """``spec[key]``, or a ValueError naming ``where`` when it is missing or not ``wanted``."""
    if key not in spec:
        raise ValueError(f"{where} lacks the entry {key!r}: it is incomplete or not sktfm's.")
    value = spec[key]
    if not valid(value):
        raise ValueError(f"{where}: {key!r} is {_short(value)}, not {wanted}.")
    return value


def _count(low):
    return f"an integer >= {low}", lambda v: type(v) is int and v >= low


def _one_of(*choices):
    return (
        f"one of {list(choices)}",
        lambda v: any(type(v) is type(choice) and v == choice for choice in choices),
    )


_BOOL = ("true or false", lambda v: type(v) is bool)
_STRING = ("a string", lambda v: isinstance(v, str))
_OBJECT = ("a JSON object", lambda v: isinstance(v, dict))
_LABELS = (
    "a non-empty list of labels",
    lambda v: isinstance(v, list) and bool(v) and all(type(c) in (str, int, float) for c in v),
)


def _check_config(config, where):
    task = _entry(config, "task", where, *_one_of(*_TASKS))
    input_type = _entry(config, "input_type", where, *_one_of(*_INPUT_TYPES))
    _entry(config, "max_len", where, *_count(1))
    _entry(config, "truncation", where, *_BOOL)
    if task == "translation":
        for key in ("encoder_file", "decoder_file"):
            _entry(config, key, where, *_STRING)
        for key in ("n_layers", "n_heads", "d_head"):
            _entry(config, key, where, *_count(1))
        for key in ("padding_id", "bos_id", "eos_id"):
            _entry(config, key, where, *_count(0))
        _entry(
            config,
            "max_output_len",
            where,
            "null or an integer >= 0",
            lambda v: v is None or (type(v) is int and v >= 0),
        )
        for key in ("source_tokenizer", "target_tokenizer"):
            _check_tokenizer(_entry(config, key, where, *_OBJECT), f"{where} ({key!r})")
        if config.get("protection") is not None:
            protection = _entry(config, "protection", where, *_OBJECT)
            _check_protection(protection, f"{where} ('protection')")
        return
    _entry(config, "file", where, *_STRING)
    _entry(config, "input_name", where, *_STRING)
    if input_type in ("text", "tokens"):
        _check_tokenizer(_entry(config, "tokenizer", where, *_OBJECT), f"{where} ('tokenizer')")
    else:
        _entry(config, "n_features", where, *_count(1))
    if input_type == "sequence":
        sequence = _entry(config, "sequence", where, *_OBJECT)
        inner = f"{where} ('sequence')"
        for key in ("patch_size", "patch_stride", "min_steps", "max_steps"):
            _entry(sequence, key, inner, *_count(1))
        _entry(sequence, "layout", inner, *_one_of("channels_first", "channels_last"))
        _entry(sequence, "instance_scaling", inner, *_BOOL)
    if task == "classification":
        _entry(config, "classes", where, *_LABELS)
    elif task == "regression":
        _entry(config, "target_ndim", where, *_one_of(1, 2))


def _check_tokenizer(spec, where):
    _entry(spec, "file", where, *_STRING)
    for key in ("encode_special_tokens", "add_special_tokens", "word_lookup"):
        _entry(spec, key, where, *_BOOL)
    for key in ("pad_id", "n_special", "unk_id", "vocab_size"):
        _entry(spec, key, where, *_count(0))


def _check_protection(spec, where):
    pattern = _entry(spec, "pattern", where, *_STRING)
    flags = _entry(
        spec,
        "flags",
        where,
        "re flags among IGNORECASE, MULTILINE, DOTALL, UNICODE, VERBOSE and ASCII",
        lambda v: type(v) is int and v >= 0 and not v & ~_REGEX_FLAGS,
    )
    max_spans = _entry(spec, "max_spans", where, *_count(1))
    vocab_size = _entry(spec, "vocab_size", where, *_count(1))
    if max_spans > 0x1900 or vocab_size * max_spans > _MAX_SLOT_CELLS:
        raise ValueError(
            f"{where}: {vocab_size} tokens by {max_spans} spans is more than a translator has."
        )
    slots = _entry(spec, "token_slots", where, *_OBJECT)
    for token_id, counts in slots.items():
        if not (
            token_id.isascii()
            and token_id.isdigit()
            and int(token_id) < vocab_size
            and isinstance(counts, list)
            and all(
                isinstance(pair, list)
                and len(pair) == 2
                and type(pair[0]) is int
                and 0 <= pair[0] < max_spans
                and type(pair[1]) is int
                and pair[1] >= 0
                for pair in counts
            )
        ):
            raise ValueError(
                f"{where}: 'token_slots' maps {_short(token_id)} to {_short(counts)}, not a "
                "token id below vocab_size to [[span, times], ...] with span below max_spans."
            )
    try:
        re.compile(pattern, flags)
    except (re.error, ValueError, OverflowError, RecursionError) as error:
        raise ValueError(f"{where}: 'pattern' is not a regular expression: {error}.") from None


def _short(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


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
