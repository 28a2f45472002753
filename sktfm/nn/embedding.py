"""Input embeddings: tokens, positions, tabular rows and numeric sequences.

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
    "FeatureTokenizer",
    "SequenceEmbedding",
]


def _init_rsqrt_uniform_(x: Tensor, d: int) -> Tensor:
    # rtdl's FT-Transformer init: U(-1/sqrt(d), 1/sqrt(d)).
    bound = 1 / math.sqrt(d)
    return nn.init.uniform_(x, -bound, bound)


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


class FeatureTokenizer(nn.Module):
    """Turn a numeric row into one token per feature plus a leading [CLS] token.

    ``token_f = x_f * value_weight[f] + feature_embedding[f]``, after
    FT-Transformer (Gorishniy et al., 2021, "Revisiting Deep Learning Models for
    Tabular Data"). The feature-id embedding plays the role of a positional
    encoding. A hidden feature (``mask``) becomes
    ``mask_embedding + feature_embedding[f]``: the model knows *which* feature
    it must reconstruct but not its value.

    Parameters
    ----------
    n_features : int
        Number of input columns ``F``.
    d_model : int
        Token width ``C``.

    Examples
    --------
    >>> tok = FeatureTokenizer(n_features=3, d_model=8)
    >>> tok(torch.randn(4, 3)).shape  # (B, F) -> (B, F + 1, C), [CLS] first
    torch.Size([4, 4, 8])
    """

    def __init__(self, n_features: int, d_model: int):
        super().__init__()
        check_positive(n_features=n_features)
        self.n_features = n_features
        self.value_weight = nn.Parameter(torch.empty(n_features, d_model))
        self.feature_embedding = nn.Embedding(n_features, d_model)
        self.cls = nn.Parameter(torch.empty(d_model))
        self.mask_embedding = nn.Parameter(torch.empty(d_model))
        for p in (self.value_weight, self.feature_embedding.weight, self.cls, self.mask_embedding):
            _init_rsqrt_uniform_(p, d_model)

    def forward(self, x: Tensor, *, mask: Optional[Tensor] = None) -> Tensor:
        """Tokenize ``x`` (B, F); ``mask`` (B, F) bool, True = hide that feature."""
        if x.ndim != 2 or x.shape[-1] != self.n_features:
            raise ValueError(
                f"expected x of shape (B, n_features={self.n_features}), got {tuple(x.shape)}."
            )
        x = x.to(self.value_weight.dtype)
        if mask is not None:
            if mask.shape != x.shape:
                raise ValueError(
                    f"mask must have x's shape {tuple(x.shape)}, got {tuple(mask.shape)}."
                )
            # Zero hidden values first so neither they nor their gradient (even a
            # NaN) can leak through the discarded branch of `where`.
            x = x.masked_fill(mask, 0.0)
        feature = self.feature_embedding.weight  # (F, C)
        tokens = x[..., None] * self.value_weight + feature  # (B, F, C)
        if mask is not None:
            hidden = self.mask_embedding + feature  # (F, C)
            tokens = torch.where(mask[..., None], hidden, tokens)  # (B, F, C)
        cls = self.cls.expand(x.shape[0], 1, -1)  # (B, 1, C)
        return torch.cat([cls, tokens], dim=1)  # (B, F + 1, C)


class SequenceEmbedding(nn.Module):
    """Project each step of a numeric sequence to ``d_model``.

    ``x`` (B, T, F) -> ``Linear(F, C)`` -> (B, T, C). Hidden steps (``mask``)
    are replaced by a learned mask vector, for masked-step pretraining.

    Parameters
    ----------
    n_features : int
        Channels per step ``F``.
    d_model : int
        Output width ``C``.

    Examples
    --------
    >>> emb = SequenceEmbedding(n_features=3, d_model=8)
    >>> emb(torch.randn(2, 5, 3)).shape  # (B, T, F) -> (B, T, C)
    torch.Size([2, 5, 8])
    """

    def __init__(self, n_features: int, d_model: int):
        super().__init__()
        check_positive(n_features=n_features)
        self.n_features = n_features
        self.proj = nn.Linear(n_features, d_model)
        self.mask_embedding = nn.Parameter(_init_rsqrt_uniform_(torch.empty(d_model), d_model))

    def forward(self, x: Tensor, *, mask: Optional[Tensor] = None) -> Tensor:
        """Embed ``x`` (B, T, F); ``mask`` (B, T) bool, True = hide that step."""
        if x.ndim != 3 or x.shape[-1] != self.n_features:
            raise ValueError(
                f"expected x of shape (B, T, n_features={self.n_features}), got {tuple(x.shape)}."
            )
        x = x.to(self.proj.weight.dtype)
        if mask is None:
            return self.proj(x)  # (B, T, C)
        if mask.shape != x.shape[:2]:
            raise ValueError(
                f"mask must have shape (B, T)={tuple(x.shape[:2])}, got {tuple(mask.shape)}."
            )
        x = x.masked_fill(mask[..., None], 0.0)  # hidden values must not leak
        return torch.where(mask[..., None], self.mask_embedding, self.proj(x))  # (B, T, C)
