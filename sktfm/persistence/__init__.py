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

A class takes part through four hooks: ``_not_saved`` (attributes rebuilt
rather than stored), ``_check_saveable()`` (raise when not fitted),
``_saved_module()`` (the torch module whose weights to store, or None) and
``_restore(folder, device=...)`` (rebuild what was not stored, after load).
"""

from .folder import (
    CONFIG_FILE,
    FITTED_FILE,
    SKTFM_FORMAT,
    WEIGHTS_FILE,
    Persistable,
    check_format,
    decode_value,
    encode_value,
    load,
    load_weights,
    read_json,
    save,
    versions,
    write_json,
)
from .registry import is_persistable, registered_class

__all__ = [
    "CONFIG_FILE",
    "FITTED_FILE",
    "SKTFM_FORMAT",
    "WEIGHTS_FILE",
    "Persistable",
    "check_format",
    "decode_value",
    "encode_value",
    "is_persistable",
    "load",
    "load_weights",
    "read_json",
    "registered_class",
    "save",
    "versions",
    "write_json",
]
