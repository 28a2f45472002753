"""The PyTorch modules that ONNX export traces: a fitted network, input to output.

Each wrapper holds a trained module and the few constants the estimator
applies around it (feature standardisation, target scale), so that the
exported graph maps what a service has (token ids, raw feature values) to
what the estimator returns (embeddings, probabilities, targets). Nothing
here imports scikit-learn: :mod:`sktfm.onnx.export` reads the fitted
estimator and builds these.
"""

import numpy as np
import torch
from torch import Tensor, nn

from ..nn.attention import KVCache

__all__ = ["EncoderGraph", "TranslatorEncoderGraph", "TranslatorDecoderStepGraph"]


def _constant(values) -> Tensor:
    return torch.as_tensor(np.asarray(values, dtype=np.float32))


class EncoderGraph(nn.Module):
    """Token ids or feature values -> embedding, class probabilities or targets.

    Parameters
    ----------
    module : nn.Module
        The fitted module: a backbone (``output="embedding"``) or a
        :class:`~sktfm.nn.TaskModel`.
    output : {"embedding", "proba", "label_proba", "regression"}
        What the graph returns: the pooled embedding (B, C); the logits and the
        softmax probabilities (B, n_classes); the logits and each label's
        sigmoid probability (B, n_labels); the targets in their own units
        (B, n_outputs).
    feature_mean, feature_scale : array-like of shape (F,), optional
        Standardisation of numeric input, applied first.
    target_mean, target_scale : array-like of shape (n_outputs,), optional
        The regressor's target standardisation, undone last.
    """

    def __init__(
        self,
        module: nn.Module,
        *,
        output: str,
        feature_mean=None,
        feature_scale=None,
        target_mean=None,
        target_scale=None,
    ):
        super().__init__()
        self.module = module
        self.output = output
        self.standardize = feature_mean is not None
        if self.standardize:
            self.register_buffer("feature_mean", _constant(feature_mean))
            self.register_buffer("feature_scale", _constant(feature_scale))
        if output == "regression":
            self.register_buffer("target_mean", _constant(target_mean))
            self.register_buffer("target_scale", _constant(target_scale))

    def forward(self, x: Tensor):
        if self.standardize:
            x = (x - self.feature_mean) / self.feature_scale  # NaN padding stays NaN
        if self.output == "embedding":
            return self.module(x)  # (B, C)
        out = self.module(x)  # (B, n_outputs)
        if self.output == "proba":
            return out, out.softmax(dim=-1)  # logits, probabilities
        if self.output == "label_proba":
            return out, out.sigmoid()  # logits, each label's probability
        return out * self.target_scale + self.target_mean


class TranslatorEncoderGraph(nn.Module):
    """Source ids (B, S) -> the decoder's cross-attention keys and values.

    Returns the source padding mask (B, S) and, per decoder layer, the
    projected memory keys and values (B, H, S, D): what every decoding step
    attends to, computed once per sentence.
    """

    def __init__(self, seq2seq: nn.Module):
        super().__init__()
        self.seq2seq = seq2seq

    def forward(self, src: Tensor):
        memory, padding = self.seq2seq.encode(src)  # (B, S, C), (B, S)
        outputs = [padding]
        for layer in self.seq2seq.decoder.layers:
            # The projection the cross-attention caches on a decoding's first step.
            outputs += layer.cross_attn._keys_values(
                memory, memory, None, memory.shape[0]
            )  # (B, H, S, D)
        return tuple(outputs)


class _AppendCache(KVCache):
    """A self-attention cache that grows by concatenation (one graph op, any length)."""

    def update(self, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        self.k = torch.cat([self.k, k], dim=2)  # (B, H, Tk + T, D)
        self.v = torch.cat([self.v, v], dim=2)
        return self.k, self.v


class TranslatorDecoderStepGraph(nn.Module):
    """One greedy decoding step with the key/value cache as inputs and outputs.

    Inputs: the newest target token (B, 1), the source padding mask (B, S),
    then per layer the cross-attention keys and values (B, H, S, D) from
    :class:`TranslatorEncoderGraph` and the self-attention keys and values of
    the previous steps (B, H, t, D) (``t = 0`` at the first step). Outputs:
    the next-token logits (B, V), with BOS and padding at -inf as sktfm's
    search bans them, and each layer's self-attention keys and values grown
    to (B, H, t + 1, D).
    """

    def __init__(self, seq2seq: nn.Module):
        super().__init__()
        self.seq2seq = seq2seq
        self.n_layers = len(seq2seq.decoder.layers)

    def forward(self, token: Tensor, memory_padding: Tensor, *caches: Tensor):
        cache = []
        for i in range(self.n_layers):
            cross_k, cross_v, past_k, past_v = caches[4 * i : 4 * i + 4]
            cross = KVCache(static=True)
            cross.k, cross.v = cross_k, cross_v
            own = _AppendCache()
            own.k, own.v = past_k, past_v
            cache.append({"self_attn": own, "cross_attn": cross})
        logits = self.seq2seq.next_token_logits(token, None, memory_padding, cache=cache)  # (B, V)
        banned = torch.tensor([self.seq2seq.bos_id, self.seq2seq.padding_idx])
        logits = logits.index_fill(1, banned, float("-inf"))
        present = []
        for layer_cache in cache:
            present += [layer_cache["self_attn"].k, layer_cache["self_attn"].v]
        return (logits, *present)
