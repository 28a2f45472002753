"""Folders written by :func:`save` and read by :func:`load`; the :class:`Persistable` mixin."""

import contextlib
import json
import pathlib
import warnings
from importlib import metadata

from . import registry
from .codec import Decoder, Encoder, check_fitted
from .files import MANIFEST_FILE, SavedFolder, replacing_folder
from .weights import WEIGHTS_FILE, SavedWeights, save_weights

__all__ = [
    "SKTFM_FORMAT",
    "Persistable",
    "SavedWeights",
    "check_format",
    "decode_value",
    "encode_value",
    "load",
    "load_folder",
    "open_folder",
    "save",
    "versions",
    "write_folder",
    "write_json",
]

#: Version of the folder format written by :func:`save`. Bump it when a change
#: makes older sktfm versions unable to read new folders. Format 2 folders
#: carry a manifest (written last) that every load checks; format 1 folders,
#: written before manifests existed, load unverified with a warning. Format 3
#: folders hold the fit's plan (a record), from which the net is rebuilt.
#: Format 4 folders of table models hold the columns' types and the layout
#: of mixed tables (categories, text columns).
SKTFM_FORMAT = 4

CONFIG_FILE = "config.json"
FITTED_FILE = "fitted.json"


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
    ['config.json', 'fitted.json', 'manifest.json']
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

        The save is atomic (see :func:`save`). Load it back with
        :func:`sktfm.load`, which runs no pickle code.
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

    def _fill_older_format(self, version):
        """Give a model loaded from an older folder format the attributes it lacks.

        Called by :func:`load` with the folder's format version, before
        ``_restore``: the rest of the code can then rely on every fitted
        attribute of the current version.
        """

    def _check_fitted(self, require):
        """Declare the fitted attributes a loaded object must hold.

        Called by :func:`load` once the attributes are set (and an older
        format filled in by :meth:`_fill_older_format`), so that a folder
        that lacks one, or holds one of the wrong type, is refused at load
        rather than failing at the first ``predict``. ``require(name, types,
        values=None)`` raises a ValueError unless the attribute ``name`` is
        there, an instance of ``types`` and (when given) one of ``values``;
        it returns the attribute.
        """


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

    The save is atomic: the files are written into a temporary folder beside
    ``path``, fsynced, listed with their sizes and SHA-256 in
    ``manifest.json`` (written last), and the folder is then swapped into
    place. At every instant ``path`` holds the complete old model or the
    complete new one, even if the process is killed.

    Parameters
    ----------
    obj : Persistable
        The fitted estimator, tokenizer or cleaner.
    path : str or path-like
        Folder to write; created if missing. An existing folder is replaced
        whole; it must be empty or one that sktfm wrote.

    Raises
    ------
    NotFittedError
        If ``obj`` is not fitted.
    TypeError
        If ``obj`` is not an sktfm estimator, or holds a value with no safe
        format (a parameter set to an arbitrary object).
    ValueError
        If ``path`` exists and is not an empty folder or one sktfm wrote.

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
    with replacing_folder(path) as staging:
        write_folder(obj, staging)


def write_folder(obj, folder):
    """Write ``obj``'s files into the existing folder ``folder`` (no manifest)."""
    encode = Encoder()
    encode._ids[id(obj)] = (-1, obj)  # the root is not a reference target
    config = {
        "format": SKTFM_FORMAT,
        "class": type(obj).__name__,
        "params": encode.params(obj),
        "versions": versions(),
    }
    fitted = encode.fitted(obj)
    folder = pathlib.Path(folder)
    module = obj._saved_module()
    if module is not None:
        save_weights(module, folder / WEIGHTS_FILE)
    write_json(folder / FITTED_FILE, fitted)
    write_json(folder / CONFIG_FILE, config)


def load(path, *, device="cpu"):
    """Load an estimator saved by :func:`save`, running no pickle code.

    Loading reads only regular files inside the folder (no symlink, no
    ``..``, no absolute path), checks each against the folder's manifest,
    and checks sizes before it allocates: JSON files of at most
    :data:`~sktfm.persistence.files.MAX_JSON_BYTES`, arrays in JSON of
    numeric, bool or bounded-length string dtypes only, and the module's
    shapes against the weights file's header before the module is built.

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
        names a class that is not an sktfm estimator, or is malformed,
        incomplete or altered in any way (the message names the file).
    """
    return load_folder(open_folder(path, CONFIG_FILE), device=device)


def open_folder(path, config_file):
    """The :class:`SavedFolder` at ``path``, its manifest required from format 2 on.

    Folders of format 1 (written before manifests existed) are read
    unverified, with a warning.
    """
    folder = SavedFolder(path)
    if folder.manifest is None:
        if not folder.has(config_file):
            raise ValueError(
                f"{folder.path / config_file} is missing: not a folder written by sktfm.save."
            )
        config = folder.read_json(config_file)
        check_format(config, folder.path / config_file)
        if config["format"] >= 2:
            raise ValueError(
                f"{folder.path} has no {MANIFEST_FILE}: it was left half-written (an "
                "interrupted save) or altered; sktfm writes the manifest last."
            )
        warnings.warn(
            f"{folder.path} was saved by an sktfm that wrote no manifest, so whether it "
            "is complete cannot be checked; save it again to add one.",
            UserWarning,
            stacklevel=3,
        )
    return folder


def load_folder(folder, *, device="cpu"):
    """Load the estimator in the :class:`SavedFolder` ``folder``.

    Every problem with the folder's content is a ValueError naming the
    folder; nothing else escapes (a malformed value would otherwise surface
    as an AttributeError or a torch error deep inside the rebuild).
    """
    try:
        config = folder.read_json(CONFIG_FILE)
        check_format(config, folder.path / CONFIG_FILE)
        decode = Decoder()
        with _naming(folder.path / CONFIG_FILE):
            obj = decode.params(config.get("class"), _mapping(config, "params", CONFIG_FILE))
        decode._refs[-1] = obj
        fitted = folder.read_json(FITTED_FILE)
        with _naming(folder.path / FITTED_FILE):
            decode.set_fitted(obj, fitted, check=False)
            obj._fill_older_format(config["format"])
            check_fitted(obj)
        if hasattr(obj, "_validate_params"):  # the same rules as fit
            obj._validate_params()
        obj._restore(folder, device=device)
    except ValueError as error:
        if str(folder.path) in str(error):
            raise
        raise ValueError(f"{folder.path} cannot be loaded: {error}") from error
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as error:
        raise ValueError(
            f"{folder.path} cannot be loaded: {type(error).__name__}: {error}"
        ) from error
    return obj


@contextlib.contextmanager
def _naming(file):
    """Prefix the ValueErrors raised while decoding ``file`` with its path."""
    try:
        yield
    except ValueError as error:
        raise ValueError(f"{file}: {error}") from error


def _mapping(config, key, file):
    value = config.get(key, {})
    if not isinstance(value, dict):
        raise ValueError(f"{key!r} in {file} is not an object.")
    return value


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
