"""Transformer decoder: causal self-, cross-attention, feed-forward (Vaswani et al., 2017, 3.1).

Incremental decoding passes a cache from :meth:`Decoder.new_cache`: one dict of
two :class:`KVCache` per layer, ``{"self_attn": KVCache(), "cross_attn":
KVCache(static=True)}``. Each step then feeds only the new target positions
(usually one) and gets the same output as re-running the whole prefix.
"""

from typing import Optional, Union

from torch import Tensor, nn

from ._checks import check_positive
from .attention import KVCache, MultiHeadAttention
from .dropout import Dropout
from .feedforward import FeedForward

__all__ = ["DecoderLayer", "Decoder"]

LayerCache = dict[str, KVCache]


class DecoderLayer(nn.Module):
    """One decoder block: causal self-attention, cross-attention, feed-forward.

    Each of the three is a residual sublayer. Post-norm (the paper, section
    5.4): ``x = LayerNorm(x + Dropout(Sublayer(x)))``. Pre-norm
    (``norm_first=True``, the default): ``x = x + Dropout(Sublayer(LayerNorm(x)))``.
    The self-attention is causal: position ``i`` attends to target positions
    ``<= i`` only (section 3.2.3); the cross-attention attends to the whole
    encoder ``memory`` except its padding.

    NOTE[DIFF]: pre-norm is the default, as in :class:`EncoderLayer`.

    Parameters
    ----------
    d_model : int
        Model width ``C``.
    n_heads : int
        Number of attention heads; must divide ``d_model``.
    dim_feedforward : int
        Hidden width of the feed-forward sublayer.
    dropout : float, default=0.1
        Dropout on the attention weights, the feed-forward hidden layer and
        each sublayer output before the residual sum.
    activation : {"gelu", "relu"}, default="gelu"
        Feed-forward non-linearity.
    norm_first : bool, default=True
        Pre-norm if True, post-norm (paper) if False.

    Examples
    --------
    >>> import torch
    >>> layer = DecoderLayer(8, 2, 16)
    >>> x, memory = torch.randn(2, 5, 8), torch.randn(2, 7, 8)  # (B, T, C), (B, S, C)
    >>> out, weights = layer(x, memory, need_weights=True)
    >>> out.shape, weights.shape  # (B, T, C), cross-attention (B, H, T, S)
    (torch.Size([2, 5, 8]), torch.Size([2, 2, 5, 7]))
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        dim_feedforward: int,
        *,
        dropout: float = 0.1,
        activation: str = "gelu",
        norm_first: bool = True,
    ):
        super().__init__()
        self.norm_first = norm_first
        self.self_attn = MultiHeadAttention(d_model, n_heads, dropout=dropout)
        self.cross_attn = MultiHeadAttention(d_model, n_heads, dropout=dropout)
        self.feedforward = FeedForward(
            d_model, dim_feedforward, dropout=dropout, activation=activation
        )
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.norm3 = nn.LayerNorm(d_model)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)

    @staticmethod
    def new_cache() -> LayerCache:
        """An empty cache for one layer: appending self-attention, static cross-attention."""
        return {"self_attn": KVCache(), "cross_attn": KVCache(static=True)}

    def _self_block(
        self, x: Tensor, padding: Optional[Tensor], cache: Optional[LayerCache]
    ) -> Tensor:
        self_cache = None if cache is None else cache["self_attn"]
        out, _ = self.self_attn(x, key_padding_mask=padding, causal=True, cache=self_cache)
        return self.dropout1(out)  # (B, T, C)

    def _cross_block(
        self,
        x: Tensor,
        memory: Tensor,
        padding: Optional[Tensor],
        cache: Optional[LayerCache],
        need_weights: bool,
    ) -> tuple[Tensor, Optional[Tensor]]:
        cross_cache = None if cache is None else cache["cross_attn"]
        out, weights = self.cross_attn(
            x, memory, key_padding_mask=padding, need_weights=need_weights, cache=cross_cache
        )
        return self.dropout2(out), weights  # (B, T, C), (B, H, T, S) or None

    def forward(
        self,
        x: Tensor,
        memory: Tensor,
        *,
        tgt_padding_mask: Optional[Tensor] = None,
        memory_padding_mask: Optional[Tensor] = None,
        cache: Optional[LayerCache] = None,
        need_weights: bool = False,
    ) -> tuple[Tensor, Optional[Tensor]]:
        """Map ``x`` (B, T, C) attending to ``memory`` (B, S, C) to ``(x, weights)``.

        ``tgt_padding_mask`` (B, T) and ``memory_padding_mask`` (B, S) are bool,
        True = padding. With a ``cache`` (from :meth:`new_cache`), ``x`` holds
        only the new positions and ``tgt_padding_mask``, if given, covers the
        cached and new ones: (B, T_cached + T). ``weights`` are the
        cross-attention weights (B, H, T, S) when ``need_weights``, else None.
        """
        if self.norm_first:
            x = x + self._self_block(self.norm1(x), tgt_padding_mask, cache)
            attn, weights = self._cross_block(
                self.norm2(x), memory, memory_padding_mask, cache, need_weights
            )
            x = x + attn
            x = x + self.dropout3(self.feedforward(self.norm3(x)))
        else:
            x = self.norm1(x + self._self_block(x, tgt_padding_mask, cache))
            attn, weights = self._cross_block(x, memory, memory_padding_mask, cache, need_weights)
            x = self.norm2(x + attn)
            x = self.norm3(x + self.dropout3(self.feedforward(x)))
        return x, weights


class Decoder(nn.Module):
    """A stack of :class:`DecoderLayer` (Vaswani et al., 2017, section 3.1).

    Parameters
    ----------
    n_layers : int
        Number of layers (6 in the paper).
    d_model, n_heads, dim_feedforward, dropout, activation, norm_first
        Passed to each :class:`DecoderLayer`.

    Notes
    -----
    NOTE[DIFF]: with ``norm_first=True`` a final LayerNorm follows the stack;
    pre-norm layers leave the residual stream un-normalised.

    Examples
    --------
    >>> import torch
    >>> dec = Decoder(2, 8, 2, 16).eval()
    >>> x, memory = torch.randn(3, 5, 8), torch.randn(3, 7, 8)  # (B, T, C), (B, S, C)
    >>> dec(x, memory).shape
    torch.Size([3, 5, 8])
    >>> out, weights = dec(x, memory, need_weights=True)
    >>> len(weights), weights[0].shape  # one cross-attention (B, H, T, S) per layer
    (2, torch.Size([3, 2, 5, 7]))
    >>> cache = dec.new_cache()  # incremental decoding: one position per call
    >>> steps = [dec(x[:, t : t + 1], memory, cache=cache) for t in range(5)]
    >>> torch.allclose(torch.cat(steps, dim=1), dec(x, memory), atol=1e-5)
    True
    """

    def __init__(
        self,
        n_layers: int,
        d_model: int,
        n_heads: int,
        dim_feedforward: int,
        *,
        dropout: float = 0.1,
        activation: str = "gelu",
        norm_first: bool = True,
    ):
        super().__init__()
        check_positive(n_layers=n_layers)
        self.layers = nn.ModuleList(
            DecoderLayer(
                d_model,
                n_heads,
                dim_feedforward,
                dropout=dropout,
                activation=activation,
                norm_first=norm_first,
            )
            for _ in range(n_layers)
        )
        self.norm = nn.LayerNorm(d_model) if norm_first else nn.Identity()

    def new_cache(self) -> list[LayerCache]:
        """Empty cache for incremental decoding: a :meth:`DecoderLayer.new_cache` per layer."""
        return [layer.new_cache() for layer in self.layers]

    @staticmethod
    def cache_length(cache: list[LayerCache]) -> int:
        """Number of target positions already in ``cache``."""
        keys = cache[0]["self_attn"].k
        # A shape, not len(): ONNX export traces it instead of freezing it.
        return 0 if keys is None else keys.shape[2]

    @staticmethod
    def reorder_cache(cache: list[LayerCache], index: Tensor) -> None:
        """Pick batch rows of every layer's cache in place (beam search); ``index`` (B',)."""
        for layer_cache in cache:
            for kv in layer_cache.values():
                kv.reorder(index)

    def forward(
        self,
        x: Tensor,
        memory: Tensor,
        *,
        tgt_padding_mask: Optional[Tensor] = None,
        memory_padding_mask: Optional[Tensor] = None,
        cache: Optional[list[LayerCache]] = None,
        need_weights: bool = False,
    ) -> Union[Tensor, tuple[Tensor, list[Tensor]]]:
        """Decode ``x`` (B, T, C) against ``memory`` (B, S, C).

        Returns x (B, T, C), or ``(x, weights)`` when ``need_weights``, with one
        cross-attention (B, H, T, S) per layer. Masks and ``cache`` as in
        :meth:`DecoderLayer.forward`; ``cache`` comes from :meth:`new_cache`.
        """
        if cache is not None and len(cache) != len(self.layers):
            raise ValueError(
                f"cache has {len(cache)} layers, the decoder {len(self.layers)}; "
                "create it with `decoder.new_cache()`."
            )
        all_weights = []
        for i, layer in enumerate(self.layers):
            x, weights = layer(
                x,
                memory,
                tgt_padding_mask=tgt_padding_mask,
                memory_padding_mask=memory_padding_mask,
                cache=None if cache is None else cache[i],
                need_weights=need_weights,
            )
            if need_weights:
                all_weights.append(weights)  # (B, H, T, S)
        x = self.norm(x)
        return (x, all_weights) if need_weights else x
