"""Multi-head scaled dot-product attention (Vaswani et al., 2017, section 3.2).

Shape vocabulary used in comments throughout ``sktfm.nn``:

- ``B``: batch size
- ``T``: sequence length (``Tq`` for queries, ``Tk`` for keys and values)
- ``H``: number of attention heads
- ``D``: size of one head, ``D = C // H``
- ``C``: model width, ``d_model``
- ``F``: number of input features (tabular columns or per-step channels)

Mask conventions (the two used by PyTorch, kept apart by name):

- ``key_padding_mask``: ``(B, Tk)`` bool, ``True`` = padding to ignore, the same
  convention as :class:`torch.nn.MultiheadAttention`.
- the mask returned by :func:`attention_mask` and given to
  :func:`torch.nn.functional.scaled_dot_product_attention`: bool, ``True`` = may
  attend.

Incremental decoding keeps each layer's projected keys and values in a
:class:`KVCache`, so that a decoding step projects only the new positions.
"""

import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._capture import capturing_graph
from .dropout import dropout
from .linear import cpu_inference

__all__ = ["KVCache", "MultiHeadAttention", "attention_mask"]


def attention_mask(
    key_padding_mask: Optional[Tensor],
    *,
    causal: bool,
    q_len: int,
    k_len: int,
    device: Optional[torch.device] = None,
) -> Optional[Tensor]:
    """Build the boolean "may attend" mask from padding and causality.

    Parameters
    ----------
    key_padding_mask : bool Tensor of shape (B, Tk) or None
        ``True`` marks padding keys that no query may attend to.
    causal : bool
        If True, query ``i`` may attend key ``j`` only when
        ``j <= i + (k_len - q_len)``. The offset aligns the *last* query with the
        *last* key, which is what incremental decoding with a KV cache needs
        (``q_len=1`` sees every cached key).
    q_len, k_len : int
        Number of queries ``Tq`` and keys ``Tk``.
    device : torch.device, optional
        Where to build the causal part; defaults to the padding mask's device.

    Returns
    -------
    mask : bool Tensor broadcastable to (B, 1, Tq, Tk), or None
        ``True`` = may attend (the ``scaled_dot_product_attention`` convention).
        ``None`` when nothing is masked.

    Examples
    --------
    >>> attention_mask(None, causal=True, q_len=2, k_len=3).int()[0, 0]
    tensor([[1, 1, 0],
            [1, 1, 1]], dtype=torch.int32)
    """
    mask = None
    if key_padding_mask is not None:
        if key_padding_mask.dtype != torch.bool:
            raise TypeError(
                f"key_padding_mask must be a bool tensor (True = padding), got "
                f"{key_padding_mask.dtype=}; use `mask.bool()` or `ids == padding_idx`."
            )
        if key_padding_mask.ndim != 2 or key_padding_mask.shape[1] != k_len:
            raise ValueError(
                f"key_padding_mask must have shape (B, Tk={k_len}), got "
                f"{tuple(key_padding_mask.shape)}."
            )
        device = key_padding_mask.device if device is None else device
        mask = ~key_padding_mask[:, None, None, :]  # (B, 1, 1, Tk)
    if causal:
        ones = torch.ones(q_len, k_len, dtype=torch.bool, device=device)
        causal_mask = ones.tril(diagonal=k_len - q_len)[None, None]  # (1, 1, Tq, Tk)
        mask = causal_mask if mask is None else mask & causal_mask
    return mask


class KVCache:
    """Projected keys and values of one attention layer, kept between decoding steps.

    A cache holds ``k`` and ``v`` of shape (B, H, Tk, D). Given to
    :meth:`MultiHeadAttention.forward` as ``cache``, it changes where keys and
    values come from:

    - self-attention (``static=False``): the new positions' keys and values are
      appended, and the queries attend over every cached key. With
      ``causal=True`` the offset of :func:`attention_mask` lets the new queries
      see the whole cached prefix, so feeding one token per step costs one
      position per step, not the whole prefix again.
    - cross-attention (``static=True``): the keys and values of the encoder
      memory are projected on the first call and reused afterwards; the
      ``key``/``value`` given on later calls are ignored. Start a new cache for
      a new memory.

    Parameters
    ----------
    static : bool, default=False
        True for cross-attention (compute once), False for self-attention (append).

    Examples
    --------
    >>> mha = MultiHeadAttention(d_model=8, n_heads=2).eval()
    >>> x = torch.randn(3, 4, 8)  # (B, T, C)
    >>> cache = KVCache()
    >>> steps = [mha(x[:, t : t + 1], causal=True, cache=cache)[0] for t in range(4)]
    >>> len(cache), cache.k.shape  # Tk, (B, H, Tk, D)
    (4, torch.Size([3, 2, 4, 4]))
    >>> torch.allclose(torch.cat(steps, dim=1), mha(x, causal=True)[0], atol=1e-6)
    True
    """

    def __init__(self, *, static: bool = False):
        self.static = static
        self.k: Optional[Tensor] = None  # (B, H, Tk, D)
        self.v: Optional[Tensor] = None  # (B, H, Tk, D)
        # Self-attention appends into buffers with spare room (doubling), so a
        # step writes one position instead of copying the whole prefix;
        # ``k``/``v`` are views of their filled part.
        self._k_buffer: Optional[Tensor] = None
        self._v_buffer: Optional[Tensor] = None

    def __len__(self) -> int:
        """Number of cached key positions ``Tk`` (0 while empty)."""
        return 0 if self.k is None else self.k.shape[2]

    def update(self, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """Store new keys/values (B, H, T, D); return all of them (B, H, Tk, D)."""
        if self.k is None or self.static:
            self.k, self.v = k, v
            return k, v
        if self.k.shape[:2] != k.shape[:2] or self.k.shape[3] != k.shape[3]:
            raise ValueError(
                f"cached keys of shape (B, H, Tk, D)={tuple(self.k.shape)} cannot take new "
                f"keys of shape {tuple(k.shape)}; after changing the batch, call "
                "`cache.reorder(index)` or start a new cache."
            )
        length, new = self.k.shape[2], k.shape[2]
        if self._k_buffer is None or self._k_buffer.shape[2] < length + new:
            capacity = max(2 * length, length + new, 16)
            self._k_buffer = self._grown(self.k, capacity)
            self._v_buffer = self._grown(self.v, capacity)
        self._k_buffer[:, :, length : length + new] = k
        self._v_buffer[:, :, length : length + new] = v
        self.k = self._k_buffer[:, :, : length + new]  # (B, H, Tk + T, D)
        self.v = self._v_buffer[:, :, : length + new]  # (B, H, Tk + T, D)
        return self.k, self.v

    @staticmethod
    def _grown(cached: Tensor, capacity: int) -> Tensor:
        buffer = cached.new_empty(*cached.shape[:2], capacity, cached.shape[3])
        buffer[:, :, : cached.shape[2]] = cached
        return buffer

    def reorder(self, index: Tensor) -> None:
        """Pick batch rows in place with ``index_select`` (beam search reordering).

        ``index`` is a LongTensor (B',): row ``i`` of the new cache is row
        ``index[i]`` of the old one.
        """
        if self.k is not None:
            self.k = self.k.index_select(0, index)  # (B', H, Tk, D)
            self.v = self.v.index_select(0, index)  # (B', H, Tk, D)
            self._k_buffer = self._v_buffer = None  # the next append makes new room

    def __repr__(self) -> str:
        shape = None if self.k is None else tuple(self.k.shape)
        return f"KVCache(static={self.static}, shape={shape})"


class MultiHeadAttention(nn.Module):
    """Multi-head attention with separate Q, K, V projections.

    ``MultiHead(Q, K, V) = Concat(head_1, ..., head_H) W^O`` with
    ``head_h = softmax(Q W^Q_h (K W^K_h)^T / sqrt(D)) V W^V_h``
    (Vaswani et al., 2017, "Attention Is All You Need", section 3.2.2).

    The default path calls the fused
    :func:`torch.nn.functional.scaled_dot_product_attention`. With
    ``need_weights=True`` a readable manual path runs instead and also returns
    the per-head attention weights (for plots). Both paths give the same output.

    Parameters
    ----------
    d_model : int
        Model width ``C``; must be divisible by ``n_heads``.
    n_heads : int
        Number of heads ``H``; each head has size ``D = C // H``.
    dropout : float, default=0.0
        Dropout on the attention weights, applied only in training mode.
    bias : bool, default=True
        Whether the four projections have a bias.

    Examples
    --------
    >>> mha = MultiHeadAttention(d_model=8, n_heads=2)
    >>> x = torch.randn(3, 5, 8)  # (B, T, C)
    >>> out, weights = mha(x, need_weights=True)
    >>> out.shape, weights.shape  # (B, T, C), (B, H, Tq, Tk)
    (torch.Size([3, 5, 8]), torch.Size([3, 2, 5, 5]))
    """

    def __init__(self, d_model: int, n_heads: int, *, dropout: float = 0.0, bias: bool = True):
        super().__init__()
        if d_model < 1 or n_heads < 1:
            raise ValueError(f"{d_model=} and {n_heads=} must both be positive integers.")
        if d_model % n_heads != 0:
            raise ValueError(f"{n_heads=} must divide {d_model=}; pick e.g. n_heads=1, 2 or 4.")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"{dropout=} must be in [0, 1).")
        self.d_model = d_model
        self.n_heads = n_heads
        self.d_head = d_model // n_heads
        self.dropout = dropout
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def _split_heads(self, x: Tensor) -> Tensor:
        B, T, _ = x.shape
        return x.view(B, T, self.n_heads, self.d_head).transpose(1, 2)  # (B, H, T, D)

    def forward(
        self,
        query: Tensor,
        key: Optional[Tensor] = None,
        value: Optional[Tensor] = None,
        *,
        key_padding_mask: Optional[Tensor] = None,
        causal: bool = False,
        need_weights: bool = False,
        cache: Optional[KVCache] = None,
    ) -> tuple[Tensor, Optional[Tensor]]:
        """Attend from ``query`` (B, Tq, C) to ``key``/``value`` (B, Tk, C).

        ``key`` defaults to ``query`` (self-attention) and ``value`` to ``key``.
        Returns ``(out, weights)``: ``out`` is (B, Tq, C); ``weights`` is
        (B, H, Tq, Tk) when ``need_weights`` else None.

        With a ``cache``, ``Tk`` counts every key the cache holds after this
        call (cached and new), and ``key_padding_mask`` must cover them all:
        (B, Tk).
        """
        key = query if key is None else key
        value = key if value is None else value
        if query.ndim != 3 or query.shape[-1] != self.d_model:
            raise ValueError(
                f"query must have shape (B, T, d_model={self.d_model}), got {tuple(query.shape)}."
            )
        B, Tq, C = query.shape

        # 1) Project and split into heads; a cache supplies or extends K and V.
        q = self._split_heads(self.q_proj(query))  # (B, H, Tq, D)
        k, v = self._keys_values(key, value, cache, B)  # (B, H, Tk, D) each
        Tk = k.shape[2]

        # 2) Build the "may attend" mask; a row with no allowed key is "dead".
        if causal and key_padding_mask is None and Tq == 1:
            # One new query (incremental decoding) comes after every key it is
            # given: it may see them all, so there is nothing to mask.
            causal = False
        mask = attention_mask(
            key_padding_mask, causal=causal, q_len=Tq, k_len=Tk, device=query.device
        )
        alive = None
        if mask is not None:
            alive = mask.any(dim=-1, keepdim=True)  # (B or 1, 1, Tq, 1)
            if query.device.type == "cpu" and not capturing_graph() and bool(alive.all()):
                # No dead row (the usual case): nothing to repair. Only asked on
                # the CPU, where the answer costs no device synchronisation, and
                # not under torch.compile, whose graph the question would break.
                alive = None
            else:
                # NOTE[DIFF]: a query that may attend nothing would softmax over
                # all -inf and give NaN. Let it attend everywhere (keeps the
                # kernels finite), then zero its weights and output below.
                mask = mask | ~alive

        # 3) Scaled dot-product attention, fused or manual.
        dropout_p = self.dropout if self.training else 0.0
        weights = None
        if need_weights or (dropout_p > 0 and query.is_cpu and not capturing_graph()):
            # The fused CPU kernels have no dropout (torch then runs its own
            # unfused math path): the manual path, with sktfm's cheaper mask.
            ctx, weights = self._manual_attention(q, k, v, mask, dropout_p)
        elif q.dtype == torch.bfloat16 and Tq > 1 and cpu_inference(q):
            # torch's fused CPU kernel is slower in bfloat16 than in float32;
            # two bfloat16 matmuls and a softmax take half its time.
            ctx, _ = self._manual_attention(q, k, v, mask, 0.0)
        elif causal and key_padding_mask is None and Tq == Tk:
            # Square causal mask: let the kernel build it (enables flash attention).
            ctx = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, is_causal=True)
        else:
            ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)
        # ctx: (B, H, Tq, D)

        # 4) Merge heads and project out.
        out = self.out_proj(ctx.transpose(1, 2).reshape(B, Tq, C))  # (B, Tq, C)
        if alive is not None:
            # Dead rows: zero weights and zero output (no out_proj bias either),
            # so padded queries carry no signal in any path.
            out = out.masked_fill(~alive[:, 0], 0.0)  # alive[:, 0]: (B or 1, Tq, 1)
            if weights is not None:
                weights = weights.masked_fill(~alive, 0.0)
        return out, weights

    def _keys_values(
        self, key: Tensor, value: Tensor, cache: Optional[KVCache], batch_size: int
    ) -> tuple[Tensor, Tensor]:
        """Projected keys and values (B, H, Tk, D), through ``cache`` when given."""
        if cache is not None and cache.static and cache.k is not None:
            # Cross-attention: the memory was projected on the first step.
            if cache.k.shape[0] != batch_size:
                raise ValueError(
                    f"the cross-attention cache holds batch size {cache.k.shape[0]}, "
                    f"the query has B={batch_size}; reorder the cache with "
                    "`cache.reorder(index)` or start a new one."
                )
            return cache.k, cache.v
        k = self._split_heads(self.k_proj(key))  # (B, H, T, D)
        v = self._split_heads(self.v_proj(value))  # (B, H, T, D)
        return (k, v) if cache is None else cache.update(k, v)

    def _manual_attention(
        self, q: Tensor, k: Tensor, v: Tensor, mask: Optional[Tensor], dropout_p: float
    ) -> tuple[Tensor, Tensor]:
        """softmax(Q K^T / sqrt(D)) V, also returning the pre-dropout weights."""
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.d_head)  # (B, H, Tq, Tk)
        if mask is not None:
            # -inf (not a large negative) so masked keys get exactly zero weight.
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = scores.softmax(dim=-1)  # (B, H, Tq, Tk)
        attn = dropout(weights, dropout_p) if dropout_p > 0 else weights
        return attn @ v, weights  # (B, H, Tq, D), (B, H, Tq, Tk)

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, n_heads={self.n_heads}, dropout={self.dropout}"
