"""Folders written by :func:`save` and read by :func:`load`; the :class:`Persistable` mixin."""

import json
import pathlib
from importlib import metadata

from . import registry
from .codec import Decoder, Encoder

__all__ = [
    "SKTFM_FORMAT",
    "Persistable",
    "check_format",
    "decode_value",
    "encode_value",
    "load",
    "load_weights",
    "read_json",
    "save",
    "versions",
    "write_json",
]

#: Version of the folder format written by :func:`save`. Bump it when a change
#: makes older sktfm versions unable to read new folders.
SKTFM_FORMAT = 1

CONFIG_FILE = "config.json"
FITTED_FILE = "fitted.json"
WEIGHTS_FILE = "model.safetensors"


class Persistable:
    """Mixin of the objects that :func:`save` writes and :func:`load` rebuilds.

    Every subclass is registered under its class name when it is defined;
    pass ``register=False`` in the class statement for abstract bases.

    Examples
    --------
    >>> import os, tempfile
    >>> import sktfm
    >>> tok = sktfm.Tokenizer().fit(["the cat sat"])
    >>> folder = os.path.join(tempfile.mkdtemp(), "tok")
    >>> tok.save(folder)
    >>> sorted(os.listdir(folder))
    ['config.json', 'fitted.json']
    >>> sktfm.load(folder).transform(["the cat ran"])[0].tolist()
    [9, 7, 1]
    """

    #: Fitted attributes rebuilt by ``_restore`` instead of stored.
    _not_saved = ()

    def __init_subclass__(cls, register=True, **kwargs):
        super().__init_subclass__(**kwargs)
        if register:
            registry.register(cls)

    def save(self, path):
        """Save this fitted object to the folder ``path`` (JSON + safetensors).

        Load it back with :func:`sktfm.load`, which runs no pickle code.
        ``callbacks`` are not saved.

        Parameters
        ----------
        path : str or path-like
            Folder to write; created if missing.
        """
        save(self, path)

    def _check_saveable(self):
        """Raise ``NotFittedError`` when there is nothing fitted to save."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)

    def _saved_module(self):
        """The torch module whose weights are saved, or None."""
        return None

    def _restore(self, folder, *, device):
        """Rebuild what was not saved, once parameters and attributes are set."""


def versions():
    """Versions of sktfm and the libraries whose formats a folder depends on."""
    names = ("sktfm", "torch", "scikit-learn", "skorch", "tokenizers", "safetensors")
    found = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    found["sklearn"] = found.pop("scikit-learn")
    return found


def save(obj, path):
    """Save a fitted sktfm estimator (any :class:`Persistable`) to the folder ``path``.

    Parameters
    ----------
    obj : Persistable
        The fitted estimator, tokenizer or cleaner.
    path : str or path-like
        Folder to write; created if missing. Existing files of the same
        names are overwritten.

    Raises
    ------
    NotFittedError
        If ``obj`` is not fitted.
    TypeError
        If ``obj`` is not an sktfm estimator, or holds a value with no safe
        format (a parameter set to an arbitrary object).

    Notes
    -----
    ``callbacks`` are not saved (a warning says so when there are some): the
    loaded estimator has ``callbacks=None``.
    """
    if not registry.is_persistable(obj):
        raise TypeError(
            f"sktfm.save saves sktfm estimators, not {type(obj).__name__}; "
            "use sktfm.save_pipeline for a Pipeline."
        )
    obj._check_saveable()
    encode = Encoder()
    encode._ids[id(obj)] = (-1, obj)  # the root is not a reference target
    config = {
        "format": SKTFM_FORMAT,
        "class": type(obj).__name__,
        "params": encode.params(obj),
        "versions": versions(),
    }
    fitted = encode.fitted(obj)
    folder = pathlib.Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    module = obj._saved_module()
    if module is not None:
        _save_weights(module, folder / WEIGHTS_FILE)
    write_json(folder / FITTED_FILE, fitted)
    write_json(folder / CONFIG_FILE, config)  # last: a complete folder has one


def load(path, *, device="cpu"):
    """Load an estimator saved by :func:`save`, running no pickle code.

    Parameters
    ----------
    path : str or path-like
        Folder written by :func:`save`.
    device : str, default="cpu"
        Torch device for the module and net: ``"cpu"``, ``"cuda"``,
        ``"cuda:1"``... or ``"auto"`` (CUDA when available, else CPU). The
        device the model was trained on does not matter; ``device_`` is set
        to this one. The ``device`` parameter is left as saved.

    Returns
    -------
    estimator : sktfm estimator
        The fitted estimator, predicting as the saved one did.

    Raises
    ------
    ValueError
        If the folder is not an sktfm folder, was written by a newer sktfm,
        or names a class that is not an sktfm estimator.
    """
    folder = pathlib.Path(path)
    config = read_json(folder / CONFIG_FILE)
    check_format(config, folder / CONFIG_FILE)
    decode = Decoder()
    obj = decode.params(config.get("class"), config.get("params", {}))
    decode._refs[-1] = obj
    decode.set_fitted(obj, read_json(folder / FITTED_FILE))
    obj._restore(folder, device=device)
    return obj


def check_format(config, path):
    """Raise a ValueError unless ``config`` has a format this sktfm reads."""
    version = config.get("format") if isinstance(config, dict) else None
    if version is None:
        raise ValueError(f"{path} has no format version: not a folder written by sktfm.save.")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"{path} has an unreadable format version {version!r}.")
    if version > SKTFM_FORMAT:
        raise ValueError(
            f"{path} was saved by a newer sktfm (format {version}); upgrade sktfm "
            f"(this one reads format {SKTFM_FORMAT} and older)."
        )


def encode_value(value, name):
    """One value (parameters of a pipeline, say) as tagged JSON."""
    return Encoder()(value, name)


def decode_value(value):
    """Inverse of :func:`encode_value`."""
    return Decoder()(value)


def write_json(path, data):
    """Write ``data`` as indented UTF-8 JSON."""
    with open(path, "w", encoding="utf-8") as file:
        json.dump(data, file, ensure_ascii=False, indent=1)


def _save_weights(module, path):
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


def read_json(path):
    """Read JSON from ``path``; a missing or broken file is a ValueError."""
    try:
        with open(path, encoding="utf-8") as file:
            return json.load(file)
    except FileNotFoundError:
        raise ValueError(f"{path} is missing: not a folder written by sktfm.save.") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from error


def load_weights(module, path):
    """Load a state dict written by :func:`save` into ``module`` (strict)."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    if not pathlib.Path(path).exists():
        raise ValueError(f"{path} is missing: the module weights were not saved.")
    with safe_open(str(path), framework="pt") as file:
        metadata = file.metadata() or {}
    state = load_file(str(path), device="cpu")
    for alias, name in json.loads(metadata.get("sktfm_aliases", "{}")).items():
        state[alias] = state[name]
    module.load_state_dict(state, strict=True)
