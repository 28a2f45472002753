"""Pool a sequence of token states (B, T, C) into one vector per sample (B, C)."""

from typing import Optional

from torch import Tensor, nn

__all__ = ["POOLINGS", "Pooling"]

#: The pooling modes, in the order the docs list them.
POOLINGS = ("mean", "cls", "max")


class Pooling(nn.Module):
    """Sequence pooling that ignores padding.

    Not part of Vaswani et al. (a sequence-to-sequence model needs no pooling);
    ``"cls"`` follows BERT (Devlin et al., 2019), ``"mean"`` and ``"max"`` are the
    usual sentence-embedding poolings (Reimers & Gurevych, 2019).

    Parameters
    ----------
    mode : {"mean", "cls", "max"}
        ``"mean"``: average over non-padding positions; ``"cls"``: the state at
        position 0; ``"max"``: element-wise max over non-padding positions.

    Examples
    --------
    >>> import torch
    >>> x = torch.randn(2, 4, 8)  # (B, T, C)
    >>> padding = torch.tensor([[False, False, True, True]] * 2)  # (B, T)
    >>> Pooling("mean")(x, padding).shape
    torch.Size([2, 8])
    """

    def __init__(self, mode: str):
        super().__init__()
        if mode not in POOLINGS:
            raise ValueError(f"pooling {mode=} is not supported; use one of {POOLINGS}.")
        self.mode = mode

    def forward(self, x: Tensor, key_padding_mask: Optional[Tensor] = None) -> Tensor:
        """Pool ``x`` (B, T, C); ``key_padding_mask`` (B, T) bool, True = padding."""
        if self.mode == "cls":
            if x.shape[1] == 0:
                raise ValueError("pooling='cls' needs at least one position, got T=0.")
            return x[:, 0]  # (B, C)
        B, T, C = x.shape
        if T == 0:
            return x.new_zeros(B, C)
        if key_padding_mask is None:
            return x.mean(dim=1) if self.mode == "mean" else x.amax(dim=1)
        pad = key_padding_mask[..., None]  # (B, T, 1)
        # A row that is all padding pools to zeros rather than NaN / -inf.
        n_valid = (~pad).sum(dim=1).clamp(min=1).to(x.dtype)  # (B, 1)
        if self.mode == "mean":
            return x.masked_fill(pad, 0.0).sum(dim=1) / n_valid  # (B, C)
        pooled = x.masked_fill(pad, float("-inf")).amax(dim=1)  # (B, C)
        return pooled.masked_fill(pad.all(dim=1), 0.0)

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}"
