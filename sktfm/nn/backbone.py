"""One encoder backbone for every input kind: token ids, tabular rows, numeric sequences."""

from typing import Optional, Union

import torch
from torch import Tensor, nn

from ._capture import capturing_graph
from ._checks import check_positive
from .dropout import Dropout
from .embedding import (
    LearnedPositionalEncoding,
    SequenceEmbedding,
    SinusoidalPositionalEncoding,
    TokenEmbedding,
)
from .encoder import Encoder, encode_tokens
from .pooling import POOLINGS, Pooling
from .table_embedding import FeatureTokenizer

__all__ = ["POSITIONALS", "TransformerBackbone"]

_INPUT_KINDS = ("tokens", "features", "sequence")
_POSITIONAL_CLASSES = {
    "sinusoidal": SinusoidalPositionalEncoding,
    "learned": LearnedPositionalEncoding,
}
#: The positional encodings.
POSITIONALS = tuple(_POSITIONAL_CLASSES)


class TransformerBackbone(nn.Module):
    """Embedding + :class:`Encoder` + :class:`Pooling`, shared by every estimator.

    Input kinds:

    - ``"tokens"``: ``x`` LongTensor (B, T) of ids, ``padding_idx`` marks padding.
      :class:`TokenEmbedding`, a learned [CLS] vector prepended at position 0,
      positional encoding over the ``T + 1`` positions.
    - ``"features"``: ``x`` float (B, F), one token per feature via
      :class:`FeatureTokenizer` (which prepends [CLS]); no positional encoding,
      the feature-id embedding plays that role (Gorishniy et al., 2021).
    - ``"sequence"``: ``x`` float (B, T, F), cut into patches of ``patch_size``
      steps by :class:`SequenceEmbedding`, learned [CLS] prepended, positional
      encoding over the patches. Trailing all-NaN steps are padding, masked in
      attention and pooling.

    NOTE[DIFF]: the [CLS] token (Devlin et al., 2019) is not in Vaswani et al.;
    it guarantees every sequence at least one non-padding position (so an
    empty text still has a finite embedding) and makes ``pooling="cls"`` work.

    Parameters
    ----------
    input_kind : {"tokens", "features", "sequence"}
        What ``x`` holds (see above).
    vocab_size : int, optional
        Number of token ids; required for ``"tokens"``.
    n_features : int, optional
        ``F``; required for ``"features"`` and ``"sequence"``.
    d_model, n_heads, n_layers, dim_feedforward, dropout, activation, norm_first
        Encoder hyperparameters (see :class:`Encoder`); ``dropout`` also applies
        to the embeddings (paper, section 5.4).
    positional : {"sinusoidal", "learned"}, default="sinusoidal"
        Positional encoding for ``"tokens"`` and ``"sequence"``.
    max_len : int, default=256
        Longest ``T`` accepted (the table has ``max_len + 1`` rows, for [CLS]).
    pooling : {"mean", "cls", "max"}, default="mean"
        How :meth:`forward` reduces the states to one vector.
    padding_idx : int, default=0
        Padding id for ``"tokens"``.
    patch_size : int, default=1
        Steps per token for ``"sequence"`` (1: every step is a token).
    patch_stride : int, optional
        Steps between patch starts; ``patch_size`` (no overlap) when None.
    attention_dropout : float or None, default=None
        Dropout on the attention weights; None uses ``dropout``.
    missing : bool, default=False
        ``"features"`` only: NaN cells are missing values, each column with
        its own learned token (see :class:`FeatureTokenizer`).
    cardinalities, text_widths : tuple of int, optional
        ``"features"`` only: the categorical and the text columns of a mixed
        table (see :class:`FeatureTokenizer`; ``vocab_size`` is then the text
        columns' vocabulary).
    periodic_columns : tuple of bool, optional
        ``"features"`` only: the columns whose values are embedded by periodic
        features rather than linearly (see :class:`FeatureTokenizer`).

    Examples
    --------
    >>> bb = TransformerBackbone(input_kind="tokens", vocab_size=50, d_model=16, n_heads=2,
    ...                          n_layers=1, dim_feedforward=32)
    >>> ids = torch.tensor([[5, 6, 7], [8, 0, 0]])  # (B, T), 0 = padding
    >>> bb(ids).shape  # (B, C)
    torch.Size([2, 16])
    >>> states, padding = bb.encode(ids)
    >>> states.shape, padding.shape  # (B, T + 1, C), (B, T + 1)
    (torch.Size([2, 4, 16]), torch.Size([2, 4]))
    """

    def __init__(
        self,
        *,
        input_kind: str,
        vocab_size: Optional[int] = None,
        n_features: Optional[int] = None,
        d_model: int = 128,
        n_heads: int = 4,
        n_layers: int = 2,
        dim_feedforward: int = 512,
        dropout: float = 0.1,
        activation: str = "gelu",
        norm_first: bool = True,
        positional: str = "sinusoidal",
        max_len: int = 256,
        pooling: str = "mean",
        padding_idx: int = 0,
        patch_size: int = 1,
        patch_stride: Optional[int] = None,
        attention_dropout: Optional[float] = None,
        missing: bool = False,
        cardinalities: Optional[tuple] = None,
        text_widths: Optional[tuple] = None,
        periodic_columns: Optional[tuple] = None,
    ):
        super().__init__()
        _validate(
            input_kind, vocab_size, n_features, d_model, n_heads, positional, max_len, pooling
        )
        self.input_kind = input_kind
        self.vocab_size = vocab_size
        self.n_features = n_features
        self.d_model = d_model
        self.max_len = max_len
        self.padding_idx = padding_idx

        self.cls = None
        self.positional = None
        if input_kind == "tokens":
            self.embedding = TokenEmbedding(vocab_size, d_model, padding_idx=padding_idx)
        elif input_kind == "features":
            self.embedding = FeatureTokenizer(
                n_features,
                d_model,
                missing=missing,
                cardinalities=cardinalities,
                text_widths=text_widths,
                vocab_size=vocab_size,
                padding_idx=padding_idx,
                periodic_columns=periodic_columns,
            )
        else:
            self.embedding = SequenceEmbedding(
                n_features, d_model, patch_size=patch_size, stride=patch_stride
            )
        if input_kind != "features":
            self.cls = nn.Parameter(torch.randn(d_model) * 0.02)
            self.positional = _POSITIONAL_CLASSES[positional](d_model, max_len + 1)
        self.dropout = Dropout(dropout)
        layer_kw = dict(
            dropout=dropout,
            activation=activation,
            norm_first=norm_first,
            attention_dropout=attention_dropout,
        )
        self.encoder = Encoder(n_layers, d_model, n_heads, dim_feedforward, **layer_kw)
        self.pooling = Pooling(pooling)

    def _check_sequence(self, x: Tensor, mask: Optional[Tensor]) -> None:
        tokens = self.input_kind == "tokens"
        if x.ndim != (2 if tokens else 3):
            expected = "(B, T) of token ids" if tokens else "(B, T, F)"
            raise ValueError(
                f"input_kind={self.input_kind!r} expects x {expected}, got {tuple(x.shape)}."
            )
        n_tokens = x.shape[1] if tokens else self.embedding.n_patches(x.shape[1])
        if n_tokens > self.max_len:
            unit = "sequence length T" if tokens else f"number of patches of T={x.shape[1]} steps"
            raise ValueError(
                f"{unit}={n_tokens} exceeds max_len={self.max_len}; "
                "truncate the input or raise max_len."
            )
        if tokens and mask is not None:
            raise ValueError(
                "mask is not used for input_kind='tokens'; replace ids by mask_id instead."
            )
        if tokens and (x.is_floating_point() or x.is_complex()):
            raise TypeError(f"input_kind='tokens' expects integer token ids, got {x.dtype=}.")

    def _embed(self, x: Tensor, mask: Optional[Tensor]) -> tuple[Tensor, Optional[Tensor]]:
        """Embed ``x``; return tokens (B, T', C) and the key padding mask (B, T') or None."""
        if self.input_kind == "features":
            # (B, F + 1 [+ W], C); padding only where text columns pad their words
            return self.embedding(x, mask=mask), self.embedding.padding(x)
        self._check_sequence(x, mask)
        B = x.shape[0]
        padding = None
        if self.input_kind == "tokens":
            tokens = self.embedding(x)  # (B, T, C)
            if self.padding_idx is not None:
                padding = x == self.padding_idx  # (B, T)
        else:
            tokens, padding = self.embedding(x, mask=mask)  # (B, N, C), (B, N)
            if not capturing_graph() and not padding.any():
                padding = None  # equal lengths: attention's unmasked fast path
        if padding is not None:
            cls_slot = padding.new_zeros(B, 1)  # [CLS] is never padding
            padding = torch.cat([cls_slot, padding], dim=1)  # (B, T + 1)
        cls = self.cls.to(tokens.dtype).expand(B, 1, -1)  # (B, 1, C)
        tokens = self.positional(torch.cat([cls, tokens], dim=1))  # (B, T + 1, C)
        return tokens, padding

    def encode(
        self, x: Tensor, *, mask: Optional[Tensor] = None, need_weights: bool = False
    ) -> Union[tuple[Tensor, Optional[Tensor]], tuple[Tensor, Optional[Tensor], list[Tensor]]]:
        """Run embedding + encoder.

        Parameters
        ----------
        x : Tensor
            (B, T) ids, (B, F) rows or (B, T, F) sequences, per ``input_kind``.
        mask : bool Tensor, optional
            Corruption mask, True = hide: (B, F) for ``"features"``, (B, N) (one
            per patch) for ``"sequence"``; not accepted for ``"tokens"``.
        need_weights : bool, default=False
            Also return the attention weights, one (B, H, T', T') per layer.

        Returns
        -------
        states : Tensor (B, T', C)
            ``T' = T + 1`` (``F + 1``, or ``N + 1`` patches): position 0 is [CLS].
        key_padding_mask : bool Tensor (B, T') or None
            True = padding (tokens, and sequences of unequal lengths).
        weights : list of Tensor
            Only when ``need_weights``.
        """
        tokens, padding = self._embed(x, mask)
        tokens = self.dropout(tokens)
        return encode_tokens(self.encoder, tokens, padding, need_weights)

    def forward(self, x: Tensor) -> Tensor:
        """Pooled embedding (B, C) of ``x``."""
        states, padding = self.encode(x)
        return self.pooling(states, padding)


def _validate(input_kind, vocab_size, n_features, d_model, n_heads, positional, max_len, pooling):
    if input_kind not in _INPUT_KINDS:
        raise ValueError(f"{input_kind=} is not supported; use one of {_INPUT_KINDS}.")
    if input_kind == "tokens" and (vocab_size is None or vocab_size < 1):
        raise ValueError(f"input_kind='tokens' needs a positive vocab_size, got {vocab_size=}.")
    if input_kind != "tokens" and (n_features is None or n_features < 1):
        raise ValueError(f"{input_kind=} needs a positive n_features, got {n_features=}.")
    if positional not in POSITIONALS:
        raise ValueError(f"{positional=} is not supported; use one of {POSITIONALS}.")
    if pooling not in POOLINGS:
        raise ValueError(f"{pooling=} is not supported; use one of {POOLINGS}.")
    check_positive(max_len=max_len)
    if d_model < 1 or n_heads < 1 or d_model % n_heads != 0:
        raise ValueError(f"{n_heads=} must divide {d_model=}; pick e.g. n_heads=1, 2 or 4.")
