"""Read an export folder confined, bounded and verified; refuse graphs with external data.

Every file read (``onnx_config.json``, the graphs, the tokenizers) must be a
regular file directly inside the folder (no symlink, FIFO or device; file
names in the config are plain names), JSON files are refused over
:data:`_MAX_JSON_BYTES`, and when the folder has a ``manifest.json`` (every
export of format 2 has) each file is checked against its size and SHA-256.
The bytes are read here and handed to ONNX Runtime and ``tokenizers``, which
open no file themselves; :func:`_check_graph` refuses a graph whose tensors
ONNX Runtime would read from other files. A malformed, incomplete or altered
folder raises a ValueError naming the file. A serving module: it imports only
the standard library (and ``onnxruntime``, for its exceptions); see
:mod:`sktfm.onnx.predictor`.
"""

import hashlib
import json
import os
import stat
from pathlib import Path

_CONFIG_FILE = "onnx_config.json"
_MANIFEST_FILE = "manifest.json"
_MANIFEST_FORMAT = 1
#: Largest JSON file read (config, tokenizers), and largest manifest.
_MAX_JSON_BYTES = 256 * 2**20
_MAX_MANIFEST_BYTES = 16 * 2**20
#: Largest graph read: protobuf cannot hold more in one file.
_MAX_GRAPH_BYTES = 2**31 - 1


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


def _short(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
