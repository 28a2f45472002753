"""Safe persistence: objects that save themselves as JSON + safetensors.

A class that derives from :class:`Persistable` is registered under its name
when it is defined; :func:`save` writes such an object to a folder and
:func:`load` reads it back without running any pickle code: parameters and
fitted attributes are JSON (read with :mod:`json`), module weights a
``safetensors`` file, Hugging Face tokenizers their own JSON. Only registered
classes can be rebuilt: a folder cannot name an arbitrary class to import.
This module is the bottom layer: it imports no other sktfm module.

Folder layout::

    path/
        config.json        format version, class, get_params(), library versions
        fitted.json        fitted attributes (arrays, tokenizers, history, ...)
        model.safetensors  the module's state_dict (models only)
        manifest.json      every other file's size and SHA-256, written last

A save writes a temporary sibling folder and swaps it into place (see
:mod:`sktfm.persistence.files`); a load reads only regular files inside the
folder, bounded in size and checked against the manifest.

A class takes part through four hooks: ``_not_saved`` (attributes rebuilt
rather than stored), ``_check_saveable()`` (raise when not fitted),
``_saved_module()`` (the torch module whose weights to store, or None) and
``_restore(folder, device=...)`` (rebuild what was not stored, after load,
reading through the :class:`SavedFolder` it is given).
"""

from .files import MANIFEST_FILE, MAX_JSON_BYTES, SavedFolder, replacing_folder, write_manifest
from .folder import (
    CONFIG_FILE,
    FITTED_FILE,
    SKTFM_FORMAT,
    WEIGHTS_FILE,
    Persistable,
    SavedWeights,
    check_format,
    decode_value,
    encode_value,
    load,
    load_folder,
    open_folder,
    save,
    versions,
    write_folder,
    write_json,
)
from .registry import is_persistable, registered_class

__all__ = [
    "CONFIG_FILE",
    "FITTED_FILE",
    "MANIFEST_FILE",
    "MAX_JSON_BYTES",
    "SKTFM_FORMAT",
    "WEIGHTS_FILE",
    "Persistable",
    "SavedFolder",
    "SavedWeights",
    "check_format",
    "decode_value",
    "encode_value",
    "is_persistable",
    "load",
    "load_folder",
    "open_folder",
    "registered_class",
    "replacing_folder",
    "save",
    "versions",
    "write_folder",
    "write_json",
    "write_manifest",
]
