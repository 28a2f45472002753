"""Pretrained BERT-family folders: ``config.json``, ``model.safetensors``, ``tokenizer.json``.

Reads with ``json`` and ``safetensors`` only (no ``transformers``) and hands
the tensors to :func:`sktfm.nn.bert.load_bert_state`.
"""

import json
from pathlib import Path

from .nn.bert import bert_kwargs, load_bert_state

FILES = ("config.json", "model.safetensors", "tokenizer.json")


def check_folder(path):
    """Raise a clear error unless ``path`` is a folder with the three files."""
    folder = Path(path)
    if not folder.is_dir():
        raise FileNotFoundError(f"pretrained={str(path)!r} is not a folder.")
    missing = [name for name in FILES if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"pretrained folder {str(path)!r} lacks {missing}; a BERT-family folder "
            f"holds {list(FILES)}."
        )


def backbone_kwargs(path):
    """:class:`~sktfm.nn.BertBackbone` arguments from the folder's ``config.json``."""
    check_folder(path)
    with open(Path(path) / "config.json", encoding="utf-8") as file:
        return bert_kwargs(json.load(file))


def load_weights(backbone, path):
    """Copy the folder's ``model.safetensors`` into ``backbone`` (errors list misfits)."""
    from safetensors.torch import load_file

    load_bert_state(backbone, load_file(str(Path(path) / "model.safetensors")))
    return backbone
