"""Batched inference with a fitted net: outputs, embeddings, attention, generation.

Every function takes the batch size of this call and builds its own loader
with it (the net's ``batch_size`` is never changed); variable-length samples
are processed in order of length, so batches carry little padding, and the
results come back in input order. Memory beyond the output stays bounded by
one chunk of batches, however many samples there are.
"""

import numpy as np
import torch

from ..data import SequenceDataset
from ..nn.generation import CountConstraint

__all__ = [
    "cross_attention",
    "embed",
    "generate",
    "predict_outputs",
    "reconstruct",
    "self_attention",
]

# Samples sorted by length and computed together: this many batches at a time.
_BATCHES_PER_CHUNK = 64


def _batches(net, dataset, batch_size):
    """The net's validation loader over ``dataset``, with this call's batch size.

    A ``DataLoader`` draws a base seed (for its workers) from its generator at
    every iteration, from torch's global one when it has none: the loader gets
    a fresh generator of its own, so inference leaves the global generator
    where the user put it (its batches are in order, so nothing else changes).
    """
    kwargs = {
        "generator": torch.Generator(),
        **net.get_params_for("iterator_valid"),
        "batch_size": batch_size,
    }
    return net.iterator_valid(dataset, shuffle=False, **kwargs)


def _on_device(net, Xi):
    return {key: value.to(net.device) for key, value in Xi.items()}


def predict_outputs(net, X, *, batch_size):
    """Module outputs on ``X`` (model-ready samples), float32, in batches."""

    def compute(part):
        return np.concatenate(
            [
                net.evaluation_step(batch).cpu().numpy()
                for batch in _batches(net, SequenceDataset(part), batch_size)
            ]
        )

    return _in_length_order(X, compute, chunk=batch_size * _BATCHES_PER_CHUNK)


def embed(net, X, *, batch_size):
    """Pooled embeddings of model-ready samples ``X``, float32 ``(n_samples, d_model)``."""
    net.check_is_fitted()
    encode = net.embed_function()

    def compute(part):
        net.module_.eval()
        chunks = []
        with torch.inference_mode():
            for Xi, _ in _batches(net, SequenceDataset(part), batch_size):
                with net.autocast():
                    chunks.append(encode(**_on_device(net, Xi)).float().cpu().numpy())
        return np.concatenate(chunks, axis=0)

    return _in_length_order(X, compute, chunk=batch_size * _BATCHES_PER_CHUNK)


def reconstruct(net, X, hide, *, batch_size):
    """A masked-cell model's predictions of the cells ``hide`` (n, F) of table rows ``X``.

    Returns ``(values, codes)``, each (n, F): the numeric predictions (NaN
    where not hidden) and the most probable category codes (-1 where not
    hidden or not categorical); see
    :meth:`~sktfm.nn.heads.MaskedFeatureModel.reconstruct`.
    """
    net.check_is_fitted()
    model = net.module_
    model.eval()
    values, codes = [], []
    with torch.inference_mode():
        for start in range(0, len(X), batch_size):
            x = torch.as_tensor(X[start : start + batch_size]).to(net.device)
            h = torch.as_tensor(hide[start : start + batch_size]).to(net.device)
            with net.autocast():
                v, c = model.reconstruct(x, h)
            values.append(v.float().cpu().numpy())
            codes.append(c.cpu().numpy())
    return np.concatenate(values), np.concatenate(codes)


def _in_length_order(X, compute, *, chunk):
    """``compute`` over ``X`` chunk by chunk, rows written straight into the output.

    Variable-length samples (a list) go in order of length; each chunk's rows
    land at their input positions.
    """
    n = len(X)
    if n == 0:  # the estimators reject empty input before it gets here
        raise ValueError("0 samples were given; at least 1 is required.")
    variable = isinstance(X, list)
    order = _by_length(X) if variable else np.arange(n)
    out = None
    for start in range(0, n, chunk):
        rows = order[start : start + chunk]
        part = compute([X[i] for i in rows] if variable else X[start : start + chunk])
        if out is None:
            out = np.empty((n, *part.shape[1:]), dtype=part.dtype)
        out[rows] = part
    return out


def _by_length(sequences):
    """Indices that sort sequences by length: batches then carry little padding."""
    return np.argsort([len(seq) for seq in sequences], kind="stable")


def _backbone(module):
    """The encoder backbone of a fitted module (itself, or a head's ``backbone``)."""
    return getattr(module, "backbone", module)


def self_attention(net, X, *, batch_size):
    """Self-attention weights per sample, ``(n_layers, H, T, T)`` float32 each.

    ``T`` counts the sample's own positions, [CLS] first, without padding (in
    the order of the input: a table's cells, then each text column's words).
    """
    net.check_is_fitted()
    backbone = _backbone(net.module_)
    net.module_.eval()
    maps = []
    with torch.inference_mode():
        for Xi, _ in _batches(net, SequenceDataset(X), batch_size):
            with net.autocast():
                _, padding, weights = backbone.encode(_on_device(net, Xi)["x"], need_weights=True)
            stacked = torch.stack(weights, dim=1).float().cpu().numpy()  # (B, L, H, T, T)
            if padding is None:
                maps.extend(stacked)
                continue
            # Padding need not trail: a table's text columns pad each their own words.
            for sample, keep in zip(stacked, (~padding).cpu().numpy()):
                maps.append(sample[:, :, keep][:, :, :, keep])
    return maps


def generate(net, sources, *, batch_size, required=None, token_slots=None, **generate_kwargs):
    """Generated target ids for each source id array, in the input order.

    With ``required`` (n_sources, n_slots) and ``token_slots`` (V, n_slots),
    each output carries every slot token exactly as often as its source's row
    requires (:class:`~sktfm.nn.generation.CountConstraint`).
    """
    net.check_is_fitted()
    order = _by_length(sources)
    generated, start = [], 0
    for Xi, _ in _batches(net, SequenceDataset([sources[i] for i in order]), batch_size):
        src = Xi["src"].to(net.device)
        kwargs = generate_kwargs
        if required is not None:
            rows = order[start : start + len(src)]
            constraint = CountConstraint(
                torch.as_tensor(required[rows]),
                torch.as_tensor(token_slots),
                eos_id=net.module_.eos_id,
            )
            kwargs = {**generate_kwargs, "constraint": constraint}
        start += len(src)
        with net.autocast():
            generated.extend(net.module_.generate(src, **kwargs))
    result = [None] * len(sources)
    for position, ids in zip(order, generated):
        result[position] = ids
    return result


def cross_attention(net, sources, targets, *, batch_size):
    """Cross-attention maps ``(n_layers, H, T, S)`` for (source, target) id pairs."""
    net.check_is_fitted()
    module = net.module_
    module.eval()
    maps = []
    with torch.inference_mode():
        for Xi, _ in _batches(net, SequenceDataset(sources, targets), batch_size):
            src, tgt_in = Xi["src"].to(net.device), Xi["tgt_in"].to(net.device)
            memory, memory_mask = module.encode(src)
            _, weights = module.decode(tgt_in, memory, memory_mask, need_weights=True)
            stacked = torch.stack(weights, dim=1).float().cpu().numpy()  # (B, L, H, T, S)
            src_lengths = (src != module.padding_idx).sum(dim=1).tolist()
            # Shorter targets still hold their [EOS] in tgt_in: not a query.
            real = (tgt_in != module.padding_idx) & (tgt_in != module.eos_id)
            for sample, t_len, s_len in zip(stacked, real.sum(dim=1).tolist(), src_lengths):
                maps.append(sample[:, :, :t_len, :s_len])
    return maps
