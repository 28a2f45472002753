"""Input embeddings: tokens, positions and numeric sequences (table rows: :mod:`.table_embedding`).

Every module here maps raw input to a sequence of ``C``-wide vectors (B, T, C)
for the encoder (shape vocabulary: see :mod:`sktfm.nn.attention`).
"""

import math
from typing import Optional

import torch
from torch import Tensor, nn

from ._checks import check_positive

__all__ = [
    "TokenEmbedding",
    "SinusoidalPositionalEncoding",
    "LearnedPositionalEncoding",
    "SequenceEmbedding",
]


def _init_rsqrt_uniform_(x: Tensor, d: int, generator: Optional[torch.Generator] = None) -> Tensor:
    # rtdl's FT-Transformer init: U(-1/sqrt(d), 1/sqrt(d)).
    bound = 1 / math.sqrt(d)
    return nn.init.uniform_(x, -bound, bound, generator=generator)


class TokenEmbedding(nn.Module):
    """Token-id lookup scaled by ``sqrt(d_model)`` (Vaswani et al., 2017, section 3.4).

    Parameters
    ----------
    vocab_size : int
        Number of token ids.
    d_model : int
        Embedding width ``C``.
    padding_idx : int or None, default=0
        Id whose vector stays zero and gets no gradient.

    Notes
    -----
    Weights start from N(0, 1/d_model), as in tensor2tensor, so that after the
    ``sqrt(d_model)`` scale the embeddings have unit variance, the same scale
    as the positional encoding they are added to.

    Examples
    --------
    >>> emb = TokenEmbedding(100, 8)
    >>> emb(torch.tensor([[5, 7, 0]])).shape  # (B, T) -> (B, T, C)
    torch.Size([1, 3, 8])
    """

    def __init__(self, vocab_size: int, d_model: int, *, padding_idx: Optional[int] = 0):
        super().__init__()
        check_positive(vocab_size=vocab_size)
        self.d_model = d_model
        self.embedding = nn.Embedding(vocab_size, d_model, padding_idx=padding_idx)
        nn.init.normal_(self.embedding.weight, std=d_model**-0.5)
        if padding_idx is not None:
            with torch.no_grad():
                self.embedding.weight[padding_idx].zero_()

    @torch.no_grad()
    def initialize_from(self, vectors: Tensor, rows: Tensor) -> None:
        """Start the ``rows`` of the table from ``vectors`` instead of noise.

        Parameters
        ----------
        vectors : Tensor of shape (vocab_size, d_model)
            Token vectors of unit variance (e.g. from
            :func:`sktfm.text.cooccurrence_vectors`); they are
            scaled to the variance of the default initialisation.
        rows : Tensor of shape (vocab_size,), bool
            The ids to take from ``vectors``; the others (and the padding
            id) keep their initial values.
        """
        weight = self.embedding.weight
        if vectors.shape != weight.shape or rows.shape != weight.shape[:1]:
            raise ValueError(
                f"vectors of shape {tuple(vectors.shape)} and rows of shape "
                f"{tuple(rows.shape)} do not fit an embedding table of shape "
                f"{tuple(weight.shape)}."
            )
        rows = rows.to(device=weight.device, dtype=torch.bool).clone()
        if self.embedding.padding_idx is not None:
            rows[self.embedding.padding_idx] = False
        scaled = vectors.to(weight) * self.d_model**-0.5
        weight[rows] = scaled[rows]

    def forward(self, ids: Tensor) -> Tensor:
        return self.embedding(ids) * math.sqrt(self.d_model)  # (B, T, C)


def _check_span(offset: int, length: int, max_len: int) -> None:
    if offset < 0 or offset + length > max_len:
        raise ValueError(
            f"positions {offset}..{offset + length - 1} do not fit in {max_len=}; "
            f"shorten the input (T={length}, {offset=}) or raise max_len."
        )


class SinusoidalPositionalEncoding(nn.Module):
    """Fixed sine/cosine positional encoding (Vaswani et al., 2017, section 3.5).

    ``PE[pos, 2i] = sin(pos / 10000^(2i / C))`` and
    ``PE[pos, 2i + 1] = cos(pos / 10000^(2i / C))``. An odd ``C`` has one more
    sine column than cosine columns.

    Parameters
    ----------
    d_model : int
        Width ``C``.
    max_len : int
        Number of positions in the table.

    Examples
    --------
    >>> pe = SinusoidalPositionalEncoding(8, max_len=16)
    >>> x = torch.randn(2, 5, 8)  # (B, T, C)
    >>> pe(x, offset=3).shape  # adds PE[3:8]
    torch.Size([2, 5, 8])
    """

    def __init__(self, d_model: int, max_len: int):
        super().__init__()
        check_positive(max_len=max_len)
        self.max_len = max_len
        # Built in float64 so large positions keep their precision, stored float32.
        pos = torch.arange(max_len, dtype=torch.float64)[:, None]  # (max_len, 1)
        two_i = torch.arange(0, d_model, 2, dtype=torch.float64)  # (ceil(C/2),)
        angle = pos / 10000.0 ** (two_i / d_model)  # (max_len, ceil(C/2))
        pe = torch.zeros(max_len, d_model, dtype=torch.float64)
        pe[:, 0::2] = torch.sin(angle)
        pe[:, 1::2] = torch.cos(angle[:, : d_model // 2])
        # Non-persistent: a pure function of (d_model, max_len), so it stays out
        # of saved state dicts.
        self.register_buffer("pe", pe.float(), persistent=False)

    def forward(self, x: Tensor, offset: int = 0) -> Tensor:
        _check_span(offset, x.shape[1], self.max_len)
        return x + self.pe[offset : offset + x.shape[1]].to(x.dtype)  # (B, T, C)


class LearnedPositionalEncoding(nn.Module):
    """Learned absolute position embeddings (as in BERT).

    NOTE[DIFF]: the paper found these on par with sinusoids (section 3.5, Table 3
    row E) but used sinusoids; here they are an option (``positional="learned"``).

    Parameters
    ----------
    d_model : int
        Width ``C``.
    max_len : int
        Number of positions that can be embedded.

    Examples
    --------
    >>> pe = LearnedPositionalEncoding(8, max_len=16)
    >>> pe(torch.randn(2, 5, 8)).shape  # (B, T, C)
    torch.Size([2, 5, 8])
    """

    def __init__(self, d_model: int, max_len: int):
        super().__init__()
        check_positive(max_len=max_len)
        self.max_len = max_len
        self.embedding = nn.Embedding(max_len, d_model)
        nn.init.normal_(self.embedding.weight, std=0.02)  # BERT's init

    def forward(self, x: Tensor, offset: int = 0) -> Tensor:
        _check_span(offset, x.shape[1], self.max_len)
        return x + self.embedding.weight[offset : offset + x.shape[1]]  # (B, T, C)


class SequenceEmbedding(nn.Module):
    """Cut a numeric sequence into patches and project each patch to ``d_model``.

    ``x`` (B, T, F) -> patches of ``patch_size`` steps every ``stride`` steps,
    each flattened over steps and channels (B, N, patch_size * F) ->
    ``Linear(patch_size * F, C)`` -> (B, N, C). With ``patch_size=1`` every
    step is one token. Patches are the tokens of ViT (Dosovitskiy et al.,
    2021) and PatchTST (Nie et al., 2023); here the channels of a patch are
    embedded together, as ViT embeds a patch's colour channels.

    Padding: steps whose values are all NaN end a series (trailing padding).
    They are zeroed, and a patch that starts on one, or follows a patch that
    reached the end, is padding; so a series gives the same tokens whatever
    length it is padded to. Hidden patches (``mask``) are replaced by a
    learned mask vector, for masked-patch pretraining.

    Parameters
    ----------
    n_features : int
        Channels per step ``F``.
    d_model : int
        Output width ``C``.
    patch_size : int, default=1
        Steps per patch.
    stride : int, optional
        Steps between patch starts; ``patch_size`` (no overlap) when None.

    Examples
    --------
    >>> emb = SequenceEmbedding(n_features=3, d_model=8, patch_size=4)
    >>> tokens, padding = emb(torch.randn(2, 10, 3))  # (B, T, F)
    >>> tokens.shape, padding.shape  # 10 steps -> 3 patches of 4 (the last zero-filled)
    (torch.Size([2, 3, 8]), torch.Size([2, 3]))
    """

    def __init__(
        self, n_features: int, d_model: int, *, patch_size: int = 1, stride: Optional[int] = None
    ):
        super().__init__()
        stride = patch_size if stride is None else stride
        check_positive(n_features=n_features, patch_size=patch_size, stride=stride)
        self.n_features = n_features
        self.patch_size = patch_size
        self.stride = stride
        self.proj = nn.Linear(patch_size * n_features, d_model)
        self.mask_embedding = nn.Parameter(_init_rsqrt_uniform_(torch.empty(d_model), d_model))

    def n_patches(self, n_steps: int) -> int:
        """Patches cut from ``n_steps`` steps (the last one zero-filled if partial)."""
        if n_steps <= self.patch_size:
            return 1
        # ceil((T - P) / stride) on non-negative numbers: ONNX's integer
        # division truncates, so -(-a // b) would export wrong.
        return (n_steps - self.patch_size + self.stride - 1) // self.stride + 1

    def patchify(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Patches (B, N, patch_size * F) of ``x`` (B, T, F) and their padding mask (B, N)."""
        if x.ndim != 3 or x.shape[-1] != self.n_features:
            raise ValueError(
                f"expected x of shape (B, T, n_features={self.n_features}), got {tuple(x.shape)}."
            )
        B, T, F = x.shape
        missing = torch.isnan(x)
        step_padding = missing.all(dim=-1)  # (B, T)
        x = x.masked_fill(missing, 0.0)
        n = self.n_patches(T)
        extra = (n - 1) * self.stride + self.patch_size - T
        if extra > 0:  # fill the last patch with zeros (padding steps)
            x = nn.functional.pad(x, (0, 0, 0, extra))
            step_padding = nn.functional.pad(step_padding, (0, extra), value=True)
        starts = torch.arange(n, device=x.device) * self.stride  # (N,)
        # Gathered rather than Tensor.unfold: the same patches, and a graph
        # that ONNX export can trace for any T.
        steps = starts[:, None] + torch.arange(self.patch_size, device=x.device)  # (N, P)
        patches = x[:, steps].reshape(B, n, self.patch_size * F)  # (B, N, P, F), step-major
        # Patch j is padding when it starts on padding, or when patch j - 1
        # already reached the series' end (overlapping patches): the valid
        # patches of a series are then the same whatever it is padded to.
        previous_end = (starts - self.stride + self.patch_size).clamp(min=0)  # (N,)
        padding = step_padding[:, starts] | step_padding[:, previous_end]
        padding[:, 0] = step_padding[:, 0]
        return patches, padding

    def forward(self, x: Tensor, *, mask: Optional[Tensor] = None) -> tuple[Tensor, Tensor]:
        """Embed ``x`` (B, T, F); return tokens (B, N, C) and padding (B, N), True = padding.

        ``mask`` (B, N) bool, True = hide that patch.
        """
        patches, padding = self.patchify(x)
        patches = patches.to(self.proj.weight.dtype)
        if mask is None:
            return self.proj(patches), padding  # (B, N, C)
        if mask.shape != patches.shape[:2]:
            raise ValueError(
                f"mask must have shape (B, N)={tuple(patches.shape[:2])} (one per patch), "
                f"got {tuple(mask.shape)}."
            )
        patches = patches.masked_fill(mask[..., None], 0.0)  # hidden values must not leak
        tokens = torch.where(mask[..., None], self.mask_embedding, self.proj(patches))
        return tokens, padding  # (B, N, C)

    def extra_repr(self) -> str:
        return f"n_features={self.n_features}, patch_size={self.patch_size}, stride={self.stride}"
