"""Table rows as tokens: numbers, categories, gaps and free text (FT-Transformer's tokenizer)."""

import math
from typing import Optional

import torch
from torch import Tensor, nn

from ._checks import check_positive
from .embedding import SinusoidalPositionalEncoding, _init_rsqrt_uniform_

__all__ = ["FeatureTokenizer", "NUMERIC_EMBEDDINGS"]

#: How a numeric cell's value becomes a vector: ``value * weight`` (FT-Transformer's
#: linear embedding), or periodic features through a linear map and ReLU (PLR).
NUMERIC_EMBEDDINGS = ("linear", "periodic")
# PLR's frequencies per column and their initial spread (values are standardised).
_N_FREQUENCIES = 16
_FREQUENCY_SCALE = 0.1


class FeatureTokenizer(nn.Module):
    """Turn a table row into one token per column (and per text token), after a [CLS] token.

    A numeric cell becomes ``x_f * value_weight[f] + feature_embedding[f]``
    (``periodic_columns``: ``PLR(x_f) + feature_embedding[f]``),
    after FT-Transformer (Gorishniy et al., 2021, "Revisiting Deep Learning
    Models for Tabular Data"); the feature-id embedding plays the role of a
    positional encoding. A categorical cell (``cardinalities[f] > 0``, ``x``
    holds the category's code ``0 .. cardinalities[f] - 1``) becomes
    ``category_embedding[f][code] + feature_embedding[f]``: numbers and
    categories are both tokens, FT-Transformer's defining trait. A hidden
    cell (``mask``) becomes ``mask_embedding + feature_embedding[f]``: the
    model knows *which* cell it must reconstruct but not its value. With
    ``missing``, a missing cell (NaN) becomes ``missing_embedding[f] +
    feature_embedding[f]``: a learned token per column, so that the model
    reads missingness as information instead of an imputed value.

    Text columns (``text_widths[f] > 0``) add their words: the row's input
    then continues, after its ``F`` cells, with ``text_widths[f]`` token ids
    per text column (``padding_idx`` pads them), each embedded as
    ``token_embedding[id] + feature_embedding[f] + position[j]``; the text
    column's own cell is 0 (present) or NaN (missing). :meth:`padding` marks
    the padding tokens for attention. Model input stays one float array, so
    every batch, split and export path of numeric tables serves mixed ones.

    Parameters
    ----------
    n_features : int
        Number of table columns ``F``.
    d_model : int
        Token width ``C``.
    missing : bool, default=False
        Whether NaN cells are missing values with their own tokens (without
        it, a NaN makes the outputs NaN).
    cardinalities : tuple of int, optional
        Per column, the number of category codes (0: not categorical). None:
        every column is numeric.
    text_widths : tuple of int, optional
        Per column, the token ids the row holds for it (0: not text).
    vocab_size : int, optional
        Token ids of the text columns; required with ``text_widths``.
    padding_idx : int, default=0
        The id that pads text columns.
    periodic_columns : tuple of bool, optional
        Per column, whether its numeric values are embedded by periodic
        features (PLR, see :meth:`_values`) rather than linearly. None: every
        column is linear.

    Examples
    --------
    >>> tok = FeatureTokenizer(n_features=3, d_model=8)
    >>> tok(torch.randn(4, 3)).shape  # (B, F) -> (B, F + 1, C), [CLS] first
    torch.Size([4, 4, 8])
    >>> mixed = FeatureTokenizer(2, 8, missing=True, cardinalities=(0, 3))
    >>> mixed(torch.tensor([[0.5, 2.0], [float("nan"), 0.0]])).shape  # column 1: codes
    torch.Size([2, 3, 8])
    """

    def __init__(
        self,
        n_features: int,
        d_model: int,
        *,
        missing: bool = False,
        cardinalities: Optional[tuple] = None,
        text_widths: Optional[tuple] = None,
        vocab_size: Optional[int] = None,
        padding_idx: int = 0,
        periodic_columns: Optional[tuple] = None,
    ):
        super().__init__()
        check_positive(n_features=n_features)
        self.periodic_columns = _per_column(periodic_columns, n_features, "periodic_columns")
        if max(self.periodic_columns, default=0) > 1:
            raise ValueError(f"periodic_columns must hold booleans, got {periodic_columns}.")
        self.n_features = n_features
        self.missing = missing
        self.cardinalities = _per_column(cardinalities, n_features, "cardinalities")
        self.text_widths = _per_column(text_widths, n_features, "text_widths")
        # The linear value weights, drawn first as always, where some column
        # is numeric and not periodic (no weight that nothing reads).
        linear = any(
            not (periodic or size or width)
            for periodic, size, width in zip(
                self.periodic_columns, self.cardinalities, self.text_widths
            )
        )
        self.value_weight = nn.Parameter(torch.empty(n_features, d_model)) if linear else None
        self.feature_embedding = nn.Embedding(n_features, d_model)
        self.cls = nn.Parameter(torch.empty(d_model))
        self.mask_embedding = nn.Parameter(torch.empty(d_model))
        for p in (self.value_weight, self.feature_embedding.weight, self.cls, self.mask_embedding):
            if p is not None:
                _init_rsqrt_uniform_(p, d_model)
        # Mixed-table weights are drawn from a generator of their own (seeded
        # from torch's), so the draws of every other weight, and so fits of
        # numeric tables, are what they were before these tokens existed.
        generator = torch.Generator().manual_seed(torch.initial_seed() % 2**63)
        if missing:
            self.missing_embedding = nn.Parameter(torch.empty(n_features, d_model))
            _init_rsqrt_uniform_(self.missing_embedding, d_model, generator)
        if any(self.periodic_columns):
            self.register_buffer(
                "periodic", torch.tensor(self.periodic_columns, dtype=torch.bool), False
            )
            k = _N_FREQUENCIES
            self.frequencies = nn.Parameter(torch.empty(n_features, k))
            nn.init.normal_(self.frequencies, std=_FREQUENCY_SCALE, generator=generator)
            self.periodic_weight = nn.Parameter(torch.empty(n_features, 2 * k, d_model))
            self.periodic_bias = nn.Parameter(torch.empty(n_features, d_model))
            _init_rsqrt_uniform_(self.periodic_weight, 2 * k, generator)
            _init_rsqrt_uniform_(self.periodic_bias, 2 * k, generator)
        self.n_inputs = n_features + sum(self.text_widths)
        self.padding_idx = padding_idx
        if any(self.cardinalities):
            sizes = torch.tensor(self.cardinalities)
            offsets = torch.cumsum(sizes, 0) - sizes  # first row of each column's table
            self.register_buffer("category_offset", offsets, persistent=False)
            self.register_buffer("categorical", sizes > 0, persistent=False)
            self.category_embedding = nn.Parameter(torch.empty(sum(self.cardinalities), d_model))
            _init_rsqrt_uniform_(self.category_embedding, d_model, generator)
        if any(self.text_widths):
            if vocab_size is None:
                raise ValueError("text_widths needs the vocab_size of the text columns.")
            check_positive(vocab_size=vocab_size)
            weight = torch.empty(vocab_size, d_model)  # drawn below: not from torch's generator
            nn.init.normal_(weight, std=d_model**-0.5, generator=generator)
            self.token_embedding = nn.Embedding(
                vocab_size, d_model, padding_idx=padding_idx, _weight=weight
            )
            with torch.no_grad():
                self.token_embedding.weight[padding_idx].zero_()
            columns = [f for f, width in enumerate(self.text_widths) for _ in range(width)]
            positions = [j for width in self.text_widths for j in range(width)]
            self.register_buffer("text_column", torch.tensor(columns), persistent=False)
            self.text_position = SinusoidalPositionalEncoding(d_model, max(self.text_widths))
            self.register_buffer("text_position_index", torch.tensor(positions), persistent=False)

    def _check_input(self, x: Tensor) -> None:
        if x.ndim != 2 or x.shape[-1] != self.n_inputs:
            expected = f"n_features={self.n_features}"
            if self.n_inputs != self.n_features:
                expected = f"{self.n_features} cells + {self.n_inputs - self.n_features} text ids"
            raise ValueError(f"expected x of shape (B, {expected}), got {tuple(x.shape)}.")

    def padding(self, x: Tensor) -> Optional[Tensor]:
        """Key padding mask (B, F + 1 + text ids) of ``x``, True = padding; None without text."""
        if not any(self.text_widths):
            return None
        ids = x[:, self.n_features :]
        cells = ids.new_zeros(x.shape[0], self.n_features + 1, dtype=torch.bool)  # [CLS], cells
        return torch.cat([cells, ids == self.padding_idx], dim=1)

    def forward(self, x: Tensor, *, mask: Optional[Tensor] = None) -> Tensor:
        """Tokenize ``x`` (B, F [+ text ids]); ``mask`` (B, F) bool, True = hide that cell."""
        self._check_input(x)
        text_ids = x[:, self.n_features :]
        x = x[:, : self.n_features].to(self.feature_embedding.weight.dtype)
        missing = None
        if self.missing:
            missing = torch.isnan(x)  # (B, F)
            x = x.masked_fill(missing, 0.0)  # no NaN in either branch of `where`
        if mask is not None:
            if mask.shape != x.shape:
                raise ValueError(
                    f"mask must have x's shape {tuple(x.shape)}, got {tuple(mask.shape)}."
                )
            # Zero hidden values first so neither they nor their gradient (even a
            # NaN) can leak through the discarded branch of `where`.
            x = x.masked_fill(mask, 0.0)
        feature = self.feature_embedding.weight  # (F, C)
        tokens = self._values(x) + feature  # (B, F, C)
        if any(self.cardinalities):
            # Numeric columns look up row 0 (discarded below): any valid row will do.
            codes = torch.where(self.categorical, x.long() + self.category_offset, 0)  # (B, F)
            category = self.category_embedding[codes] + feature  # (B, F, C)
            tokens = torch.where(self.categorical[:, None], category, tokens)
        if missing is not None:
            absent = self.missing_embedding + feature  # (F, C)
            tokens = torch.where(missing[..., None], absent, tokens)  # (B, F, C)
        if mask is not None:
            hidden = self.mask_embedding + feature  # (F, C)
            tokens = torch.where(mask[..., None], hidden, tokens)  # (B, F, C)
        cls = self.cls.expand(x.shape[0], 1, -1)  # (B, 1, C)
        parts = [cls, tokens]
        if any(self.text_widths):
            words = self.token_embedding(text_ids.long()) * math.sqrt(tokens.shape[-1])
            words = words + feature[self.text_column]  # (B, W, C): each word's column
            words = words + self.text_position.pe[self.text_position_index].to(words.dtype)
            parts.append(words.to(tokens.dtype))
        return torch.cat(parts, dim=1)  # (B, F + 1 [+ W], C)

    def _values(self, x: Tensor) -> Tensor:
        """The value part (B, F, C) of each numeric cell's token."""
        if self.value_weight is None and not any(self.periodic_columns):
            return x.new_zeros(*x.shape, self.feature_embedding.embedding_dim)  # no numbers
        linear = None if self.value_weight is None else x[..., None] * self.value_weight
        if not any(self.periodic_columns):
            return linear
        # Periodic features of learned frequencies, then a per-column
        # linear map and ReLU: "PLR" (Gorishniy et al., 2022, "On Embeddings
        # for Numerical Features in Tabular Deep Learning").
        angle = 2 * math.pi * x[..., None] * self.frequencies  # (B, F, k)
        periodic = torch.cat([torch.cos(angle), torch.sin(angle)], dim=-1)  # (B, F, 2k)
        plr = torch.relu(
            torch.einsum("bfk,fkc->bfc", periodic, self.periodic_weight) + self.periodic_bias
        )
        if linear is None:
            return plr
        return torch.where(self.periodic[:, None], plr, linear)  # (B, F, C)


def _per_column(values: Optional[tuple], n_features: int, name: str) -> tuple:
    """``values`` (one non-negative int per column) as a tuple; zeros when None."""
    if values is None:
        return (0,) * n_features
    values = tuple(int(v) for v in values)
    if len(values) != n_features or min(values) < 0:
        raise ValueError(
            f"{name} must hold one non-negative int per column ({n_features}), got {values}."
        )
    return values
