"""Write a fitted sktfm estimator as ONNX graphs, its tokenizer and a config, to a folder.

The folder holds everything a service needs with only ``onnxruntime``,
``tokenizers`` and NumPy (see :class:`sktfm.onnx.OnnxPredictor`):

- ``model.onnx`` (encoder, classifier, regressor), or ``encoder.onnx`` and
  ``decoder.onnx`` (translator: the source encoding, and one decoding step
  with the key/value cache as inputs and outputs);
- ``tokenizer.json`` for text and token input (translator:
  ``source_tokenizer.json`` and ``target_tokenizer.json``), Hugging Face
  ``tokenizers``' own format;
- ``onnx_config.json``: how to turn raw input into the graph's input and its
  output into the estimator's (classes, lengths, series layout, ids);
- ``manifest.json``: every other file's size and SHA-256, written last.

The export is atomic (:func:`sktfm.persistence.replacing_folder`): the files
are written into a temporary sibling folder, fsynced, listed in the manifest
and the folder is swapped into place, so the target always holds the
complete earlier export or the complete new one, never a mix or a part.
:class:`sktfm.onnx.OnnxPredictor` checks every file it reads against the
manifest.
"""

import copy
import json
import warnings
from pathlib import Path

import numpy as np
import torch

from .._version import __version__
from ..persistence import replacing_folder
from ..series import max_steps
from ..text.protection import MAX_SPANS
from ..text.special_tokens import N_SPECIAL, UNK_ID
from .graphs import EncoderGraph, TranslatorDecoderStepGraph, TranslatorEncoderGraph

__all__ = ["export_onnx"]

#: Version of the folder layout and of ``onnx_config.json``. Format 2 folders
#: are written atomically and carry ``manifest.json``; the predictor refuses a
#: format 2 folder without one (format 1 folders, which had none, still load).
#: Format 3 adds a tabular config's ``table``: a mixed table's columns (names,
#: types, categories, text widths, scaling), or null for a numeric table.
FORMAT_VERSION = 3
CONFIG_FILE = "onnx_config.json"
_OPSET = 17
_TASKS = {
    "TransformerEncoder": "embedding",
    "TransformerClassifier": "classification",
    "TransformerRegressor": "regression",
}


def export_onnx(estimator, path, *, opset_version=_OPSET):
    """Export a fitted estimator to ONNX, for serving without torch.

    Parameters
    ----------
    estimator : TransformerEncoder, TransformerClassifier, TransformerRegressor \
or Seq2SeqTranslator
        A fitted estimator (trained here or loaded with :func:`sktfm.load`).
        Inside a :class:`~sklearn.pipeline.Pipeline`, export its last step.
    path : str or path-like
        Folder to write; created if missing. An existing folder is replaced
        whole, atomically: it must be empty or one that sktfm wrote (an
        earlier export), and it keeps the earlier export if the export fails.
    opset_version : int, default=17
        The ONNX opset of the graphs.

    Returns
    -------
    path : pathlib.Path
        The folder, for :class:`sktfm.onnx.OnnxPredictor`.

    Raises
    ------
    ValueError
        If the estimator is not fitted, or ``path`` exists and is neither an
        empty folder nor one that sktfm wrote.

    Notes
    -----
    The encoder, classifier and regressor graph maps token ids (B, T) int64,
    feature rows (B, F) float32 or series (B, T, F) float32 (NaN-padded
    after their end) to the embedding, the class probabilities or the
    targets; batch and sequence axes are dynamic, padding is masked. A mixed
    table's row (categorical or text columns) enters as :mod:`sktfm.tables`
    encodes it (cells, then each text column's token ids); the config holds
    the columns, categories and text widths, ``tokenizer.json`` the text
    columns' tokenizer. The translator's graphs decode greedily
    (``beam_size=1``).

    Examples
    --------
    >>> from sktfm import TransformerClassifier
    >>> from sktfm.onnx import OnnxPredictor
    >>> X, y = ["good day", "bad day", "good film", "bad film"] * 4, [1, 0, 1, 0] * 4
    >>> clf = TransformerClassifier(d_model=8, n_heads=2, n_layers=1, dim_feedforward=16,
    ...                             max_epochs=2, random_state=0).fit(X, y)
    >>> import tempfile
    >>> folder = export_onnx(clf, tempfile.mkdtemp())
    >>> sorted(p.name for p in folder.iterdir())
    ['manifest.json', 'model.onnx', 'onnx_config.json', 'tokenizer.json']
    >>> bool((OnnxPredictor(folder).predict(X) == clf.predict(X)).all())
    True
    """
    _require_onnx()
    name = type(estimator).__name__
    if name not in (*_TASKS, "Seq2SeqTranslator"):
        raise TypeError(
            f"export_onnx exports sktfm's estimators, got a {name}. For a Pipeline, "
            "export its last step and apply the steps before it in the service."
        )
    if not hasattr(estimator, "net_"):
        raise ValueError(f"This {name} is not fitted yet; call fit before export_onnx.")
    # Everything goes into a temporary sibling; replacing_folder then writes
    # manifest.json last and swaps the folder into place (or, on an error,
    # removes the sibling and leaves ``path`` as it was).
    with replacing_folder(path) as staging:
        if name == "Seq2SeqTranslator":
            config = _export_translator(estimator, staging, opset_version)
        else:
            config = _export_encoder(estimator, staging, opset_version)
        config = {
            "format": FORMAT_VERSION,
            "sktfm_version": __version__,
            "estimator": name,
            **config,
        }
        (staging / CONFIG_FILE).write_text(
            json.dumps(config, indent=1, ensure_ascii=False), encoding="utf-8"
        )
    return Path(path)


def _require_onnx():
    try:
        import onnx  # noqa: F401  (torch's exporter writes through it)
    except ImportError as error:
        raise ImportError(
            "export_onnx needs the onnx package: pip install 'sktfm[onnx]'."
        ) from error


def _cpu_copy(module):
    """A float32 CPU copy in eval mode: the estimator's own module is left as it is."""
    return copy.deepcopy(module).cpu().float().eval()


def _trace(graph, example, file, *, input_names, output_names, dynamic_axes, opset_version):
    with warnings.catch_warnings():
        # The tracer warns at every shape check it freezes; the graphs take
        # the data-independent paths (see sktfm.nn._capture).
        warnings.simplefilter("ignore")
        torch.onnx.export(
            graph,
            example,
            str(file),
            dynamo=False,
            input_names=input_names,
            output_names=output_names,
            dynamic_axes=dynamic_axes,
            opset_version=opset_version,
        )


# ---------------------------------------------------------------- encoders
def _export_encoder(estimator, folder, opset_version):
    task = _TASKS[type(estimator).__name__]
    if task == "classification" and estimator._module_spec["objective"] == "multilabel":
        # Its own task: a predictor that knows only softmax classes refuses it.
        task = "multilabel"
    input_type = estimator.input_type_
    module = _cpu_copy(estimator.module_)
    graph_kwargs = {}
    layout = getattr(estimator, "_table_layout", None) if input_type == "tabular" else None
    if input_type == "sequence" or (input_type == "tabular" and layout is None):
        graph_kwargs.update(
            feature_mean=estimator._feature_mean, feature_scale=estimator._feature_scale
        )
    if task == "regression":
        graph_kwargs.update(target_mean=estimator._y_mean, target_scale=estimator._y_scale)
    output = {
        "embedding": "embedding",
        "classification": "proba",
        "multilabel": "label_proba",
        "regression": "regression",
    }
    graph = EncoderGraph(module, output=output[task], **graph_kwargs).eval()

    config = {"task": task, "input_type": input_type, "max_len": estimator.max_len}
    config["truncation"] = bool(estimator.truncation)
    if input_type in ("text", "tokens"):
        input_name, example, axes = "input_ids", _example_ids(estimator), {0: "batch", 1: "tokens"}
        config["tokenizer"] = _write_tokenizer(estimator.tokenizer_, folder / "tokenizer.json")
    elif input_type == "tabular":
        n_features = estimator.n_features_in_
        input_name, axes = "features", {0: "batch"}
        config["n_features"] = n_features
        if layout is None:
            example = torch.randn(3, n_features, generator=torch.Generator().manual_seed(0))
            config["table"] = None
        else:
            # The predictor encodes the columns (cells, then text ids) as
            # sktfm.tables.encode_table does, scaling included.
            example = _example_table(estimator, layout)
            config["table"] = _table_config(estimator, layout)
            if any(layout.text_widths):
                config["tokenizer"] = _write_tokenizer(
                    estimator.tokenizer_, folder / "tokenizer.json"
                )
    else:
        input_name, axes = "series", {0: "batch", 1: "steps"}
        example, sequence = _example_series(estimator)
        config.update(n_features=estimator.n_features_in_, sequence=sequence)
    if task in ("classification", "multilabel"):
        output_names = ["logits", "probabilities"]
        config["classes"] = _json_labels(estimator.classes_)
    elif task == "regression":
        output_names = ["targets"]
        config["target_ndim"] = int(estimator._y_ndim)
    else:
        output_names = ["embedding"]
    config.update(input_name=input_name, output_names=output_names, file="model.onnx")
    _trace(
        graph,
        (example,),
        folder / "model.onnx",
        input_names=[input_name],
        output_names=output_names,
        dynamic_axes={input_name: axes, **{name: {0: "batch"} for name in output_names}},
        opset_version=opset_version,
    )
    return config


def _example_ids(estimator):
    """Token ids (3, 6) with a padded row, drawn from the real (non-special) ids."""
    tokenizer = estimator.tokenizer_
    low = getattr(tokenizer, "n_special_", N_SPECIAL)
    high = max(low + 1, tokenizer.vocab_size_)
    ids = torch.randint(low, high, (3, 6), generator=torch.Generator().manual_seed(0))
    ids[1, 4:] = getattr(tokenizer, "pad_id_", 0)
    return ids


def _example_table(estimator, layout):
    """Mixed-table rows (3, F + text ids): values, valid codes, gaps and padded text ids."""
    generator = torch.Generator().manual_seed(0)
    F = len(layout.kinds)
    cells = torch.randn(3, F, generator=generator)
    for f, cardinality in enumerate(layout.cardinalities):
        if cardinality:
            cells[:, f] = torch.randint(0, cardinality, (3,), generator=generator).float()
        elif layout.kinds[f] == "text":
            cells[:, f] = 0.0
    cells[1, :: max(1, F - 1)] = float("nan")  # missing cells: the first and the last
    parts = [cells]
    tokenizer = getattr(estimator, "tokenizer_", None)
    for f, width in enumerate(layout.text_widths):
        if width:
            low = getattr(tokenizer, "n_special_", N_SPECIAL)
            high = max(low + 1, tokenizer.vocab_size_)
            ids = torch.randint(low, high, (3, width), generator=generator).float()
            ids[0, (width + 1) // 2 :] = 0.0  # padding after a short text
            if cells[1, f].isnan():
                ids[1] = 0.0  # a missing text has no tokens
            parts.append(ids)
    return torch.cat(parts, dim=1)


def _table_config(estimator, layout):
    """How the predictor makes a mixed table's rows: sktfm.tables' layout, as JSON."""
    names = getattr(estimator, "feature_names_in_", None)
    return {
        "columns": None if names is None else [str(name) for name in names],
        "kinds": list(layout.kinds),
        "categories": [list(categories) for categories in layout.categories],
        "text_widths": [int(width) for width in layout.text_widths],
        "mean": np.asarray(estimator._feature_mean, dtype=np.float64).tolist(),
        "scale": np.asarray(estimator._feature_scale, dtype=np.float64).tolist(),
    }


def _example_series(estimator):
    """Series (3, T, F), one NaN-padded, and the config of the sequence input.

    The traced graph serves any series longer than one patch: the predictor
    pads shorter ones with NaN steps, which the model masks as it does in
    sktfm (a patch after the series' end is padding).
    """
    patch = getattr(estimator, "patch_size_", 1)
    stride = estimator.patch_stride or patch
    # patch + 1 steps: two patches, the last one cut short whenever stride > 1,
    # so the traced graph keeps the zero-fill of a partial last patch.
    series = torch.randn(
        3, patch + 1, estimator.n_features_in_, generator=torch.Generator().manual_seed(0)
    )
    series[1, -1:] = float("nan")
    sequence = {
        "patch_size": patch,
        "patch_stride": stride,
        "min_steps": patch + 1,
        "max_steps": max_steps(patch, stride, estimator.max_len),
        "layout": "channels_first"
        if estimator.sequence_layout == "channels_first"
        else "channels_last",
        "instance_scaling": estimator.series_scaling == "instance",
    }
    return series, sequence


def _write_tokenizer(tokenizer, file):
    """Save the Hugging Face tokenizer inside an sktfm tokenizer; return its config."""
    file.write_text(tokenizer.tokenizer_.to_str(), encoding="utf-8")
    pretrained = hasattr(tokenizer, "pad_id_")
    word_tokens = getattr(tokenizer, "kind", None) == "word" and tokenizer.input_kind_ == "tokens"
    return {
        "file": file.name,
        # sktfm's own tokenizers read "[PAD]" in text as text; a pretrained
        # one adds its [CLS]/[SEP] and cuts long texts itself.
        "encode_special_tokens": not pretrained,
        "add_special_tokens": pretrained,
        "pad_id": int(getattr(tokenizer, "pad_id_", 0)),
        # Given word tokens are looked up whole; special ids below n_special
        # are read as [UNK] (sktfm.text.Tokenizer does the same).
        "word_lookup": bool(word_tokens),
        "n_special": int(getattr(tokenizer, "n_special_", N_SPECIAL)),
        "unk_id": UNK_ID,
        "vocab_size": int(tokenizer.vocab_size_),
    }


def _json_labels(classes):
    labels = classes.tolist()
    try:
        json.dumps(labels)
    except TypeError as error:
        raise TypeError(
            f"the classes {labels[:5]} cannot be written to onnx_config.json; use str or "
            "int labels."
        ) from error
    return labels


# -------------------------------------------------------------- translator
def _export_translator(estimator, folder, opset_version):
    seq2seq = _cpu_copy(estimator.module_)
    layers = seq2seq.decoder.layers
    n_heads = layers[0].cross_attn.n_heads
    d_head = layers[0].cross_attn.d_head
    cache_names = [
        f"{kind}_{part}_{i}"
        for i in range(len(layers))
        for kind, part in (("cross", "key"), ("cross", "value"), ("past", "key"), ("past", "value"))
    ]
    # Example inputs from a seeded generator: export leaves torch's global RNG alone.
    generator = torch.Generator().manual_seed(0)
    src = torch.randint(10, max(11, seq2seq.src_vocab_size), (2, 7), generator=generator)
    src[1, 5:] = seq2seq.padding_idx
    encoder_outputs = ["memory_padding"] + [n for n in cache_names if n.startswith("cross")]
    _trace(
        TranslatorEncoderGraph(seq2seq).eval(),
        (src,),
        folder / "encoder.onnx",
        input_names=["source_ids"],
        output_names=encoder_outputs,
        dynamic_axes={
            "source_ids": {0: "batch", 1: "source"},
            **{
                n: {0: "batch", 2 if n != "memory_padding" else 1: "source"}
                for n in encoder_outputs
            },
        },
        opset_version=opset_version,
    )
    with torch.no_grad():
        encoded = TranslatorEncoderGraph(seq2seq)(src)
    caches = []
    for i in range(len(layers)):
        past_key, past_value = torch.randn(2, 2, n_heads, 3, d_head, generator=generator)
        caches += [encoded[1 + 2 * i], encoded[2 + 2 * i], past_key, past_value]
    token = torch.tensor([[seq2seq.bos_id], [12 % seq2seq.tgt_vocab_size]])
    present = [f"present_{part}_{i}" for i in range(len(layers)) for part in ("key", "value")]
    step_inputs = ["token", "memory_padding", *cache_names]
    axes = {
        "token": {0: "batch"},
        "memory_padding": {0: "batch", 1: "source"},
        "logits": {0: "batch"},
    }
    for n in cache_names:
        axes[n] = {0: "batch", 2: "source" if n.startswith("cross") else "past"}
    for n in present:
        axes[n] = {0: "batch", 2: "present"}
    _trace(
        TranslatorDecoderStepGraph(seq2seq).eval(),
        (token, encoded[0], *caches),
        folder / "decoder.onnx",
        input_names=step_inputs,
        output_names=["logits", *present],
        dynamic_axes=axes,
        opset_version=opset_version,
    )
    config = {
        "task": "translation",
        "input_type": estimator.input_type_,
        "encoder_file": "encoder.onnx",
        "decoder_file": "decoder.onnx",
        "n_layers": len(layers),
        "n_heads": n_heads,
        "d_head": d_head,
        "max_len": estimator.max_len,
        "truncation": bool(estimator.truncation),
        "max_output_len": estimator.max_output_len,
        "padding_id": seq2seq.padding_idx,
        "bos_id": seq2seq.bos_id,
        "eos_id": seq2seq.eos_id,
        "source_tokenizer": _write_tokenizer(
            estimator.source_tokenizer_, folder / "source_tokenizer.json"
        ),
        "target_tokenizer": _write_tokenizer(
            estimator.target_tokenizer_, folder / "target_tokenizer.json"
        ),
    }
    protector = estimator._protector()
    if protector is not None:
        slots = estimator._token_slots()
        config["protection"] = {
            "pattern": protector.pattern.pattern,
            "flags": int(protector.pattern.flags),
            "max_spans": MAX_SPANS,
            "vocab_size": len(slots),
            # Sparse (V, max_spans) counts: id -> [[slot, times], ...].
            "token_slots": {
                str(token_id): [[int(k), int(row[k])] for k in np.flatnonzero(row)]
                for token_id, row in enumerate(slots)
                if row.any()
            },
        }
    return config
