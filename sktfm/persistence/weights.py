"""Module weights in a folder: ``model.safetensors``, written and read back checked.

:func:`save_weights` stores a state dict once per shared tensor;
:class:`SavedWeights` reads the file through a :class:`~.files.SavedFolder`
and checks its header (every tensor's dtype, shape and offsets, which
safetensors lists before the data) so that a module's shapes can be compared
with it before any memory is taken.
"""

import json

from .files import _parse_json

__all__ = ["WEIGHTS_FILE", "SavedWeights", "save_weights"]

WEIGHTS_FILE = "model.safetensors"


def save_weights(module, path):
    """The state_dict on CPU, each shared tensor (tied weights) stored once."""
    from safetensors.torch import save_file

    tensors, aliases, seen = {}, {}, {}
    for name, tensor in module.state_dict().items():
        key = (
            tensor.device,
            tensor.untyped_storage().data_ptr(),
            tensor.storage_offset(),
            tuple(tensor.shape),
            tuple(tensor.stride()),
            tensor.dtype,
        )
        if key in seen:
            aliases[name] = seen[key]
            continue
        seen[key] = name
        # A copy: views of one storage cannot share memory in safetensors.
        tensors[name] = tensor.detach().to("cpu", copy=True).contiguous()
    save_file(tensors, str(path), metadata={"format": "pt", "sktfm_aliases": json.dumps(aliases)})


class SavedWeights:
    """A folder's ``model.safetensors``, its header checked before any tensor is built.

    Parameters
    ----------
    folder : SavedFolder
        The folder; its manifest has vouched for the bytes.

    Attributes
    ----------
    shapes : dict
        Tensor name to shape, aliases (tied weights) included.
    n_elements : int
        Number of values stored.
    """

    def __init__(self, folder):
        self.file = folder.path / WEIGHTS_FILE
        if not folder.has(WEIGHTS_FILE):
            raise ValueError(f"{self.file} is missing: the module weights were not saved.")
        self._data = folder.read_bytes(WEIGHTS_FILE)
        self.shapes, self.aliases = _read_header(self._data, self.file)
        self.n_elements = sum(_product(shape) for shape in self.shapes.values())

    def check_shapes(self, expected):
        """Raise a ValueError unless the file holds exactly ``expected`` (name to shape)."""
        missing = sorted(set(expected) - set(self.shapes))
        extra = sorted(set(self.shapes) - set(expected))
        wrong = [
            f"{name} {list(self.shapes[name])} (expected {list(shape)})"
            for name, shape in expected.items()
            if name in self.shapes and tuple(self.shapes[name]) != tuple(shape)
        ]
        problems = [
            f"{label}: {items[:5]}"
            for label, items in (("missing", missing), ("unexpected", extra), ("shapes", wrong))
            if items
        ]
        if problems:
            raise ValueError(
                f"{self.file} does not fit the saved module spec; " + "; ".join(problems) + "."
            )

    def load_into(self, module):
        """Copy the tensors into ``module`` (strict); call :meth:`check_shapes` first."""
        from safetensors.torch import load as load_bytes

        try:
            state = load_bytes(self._data)
        except Exception as error:  # safetensors raises its own error type
            raise ValueError(f"{self.file} is not a readable safetensors file: {error}") from None
        for alias, name in self.aliases.items():
            state[alias] = state[name]
        try:
            module.load_state_dict(state, strict=True)
        except RuntimeError as error:
            raise ValueError(f"{self.file} does not fit the module: {error}") from None


_SAFETENSORS_DTYPES = frozenset(
    {"BOOL", "U8", "I8", "U16", "I16", "F16", "BF16", "U32", "I32", "F32", "U64", "I64", "F64"}
)


def _read_header(data, file):
    """The tensor shapes and sktfm aliases from a safetensors header, checked."""
    if len(data) < 8:
        raise ValueError(f"{file} is truncated: no safetensors header.")
    size = int.from_bytes(data[:8], "little")
    if size > len(data) - 8:
        raise ValueError(f"{file} is truncated: its header claims {size} bytes.")
    header = _parse_json(data[8 : 8 + size], file)
    if not isinstance(header, dict):
        raise ValueError(f"{file} has a malformed safetensors header.")
    metadata = header.pop("__metadata__", None) or {}
    shapes, body = {}, len(data) - 8 - size
    for name, entry in header.items():
        if not _valid_tensor_entry(entry, body):
            raise ValueError(f"{file} has a malformed entry for tensor {name!r}.")
        shape = entry["shape"]
        shapes[name] = tuple(shape)
    try:
        aliases = json.loads(metadata.get("sktfm_aliases", "{}"))
    except (AttributeError, TypeError, json.JSONDecodeError):
        aliases = None
    if not isinstance(aliases, dict) or not all(
        isinstance(alias, str) and target in shapes for alias, target in aliases.items()
    ):
        raise ValueError(f"{file} has malformed sktfm_aliases metadata.")
    for alias, target in aliases.items():
        shapes[alias] = shapes[target]
    return shapes, aliases


def _valid_tensor_entry(entry, body):
    if not isinstance(entry, dict) or entry.get("dtype") not in _SAFETENSORS_DTYPES:
        return False
    shape, offsets = entry.get("shape"), entry.get("data_offsets")
    return (
        isinstance(shape, list)
        and all(type(n) is int and n >= 0 for n in shape)
        and isinstance(offsets, list)
        and len(offsets) == 2
        and all(type(n) is int and 0 <= n <= body for n in offsets)
    )


def _product(shape):
    result = 1
    for n in shape:
        result *= n
    return result
