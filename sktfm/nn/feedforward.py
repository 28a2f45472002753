"""Position-wise feed-forward network (Vaswani et al., 2017, section 3.3)."""

from torch import Tensor, nn

from .linear import Linear

__all__ = ["FeedForward"]

_ACTIVATIONS = {"gelu": nn.GELU, "relu": nn.ReLU}


class FeedForward(nn.Module):
    """Two linear maps with a non-linearity in between, applied to each position.

    ``FFN(x) = W_2 dropout(act(W_1 x + b_1)) + b_2`` (Vaswani et al., 2017,
    section 3.3, which uses ReLU).

    Parameters
    ----------
    d_model : int
        Input and output width ``C``.
    dim_feedforward : int
        Hidden width (2048 for ``d_model=512`` in the paper).
    dropout : float, default=0.1
        Dropout on the hidden activations.
    activation : {"gelu", "relu"}, default="gelu"
        NOTE[DIFF]: GELU by default (BERT, GPT); the paper uses ReLU.

    Examples
    --------
    >>> import torch
    >>> ff = FeedForward(8, 32)
    >>> ff(torch.randn(2, 5, 8)).shape  # (B, T, C)
    torch.Size([2, 5, 8])
    """

    def __init__(
        self, d_model: int, dim_feedforward: int, *, dropout: float = 0.1, activation: str = "gelu"
    ):
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ValueError(f"{activation=} is not supported; use one of {sorted(_ACTIVATIONS)}.")
        if dim_feedforward < 1:
            raise ValueError(f"{dim_feedforward=} must be a positive integer.")
        self.linear1 = Linear(d_model, dim_feedforward)
        self.activation = _ACTIVATIONS[activation]()
        self.dropout = nn.Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model)

    def forward(self, x: Tensor) -> Tensor:
        # (B, T, C) -> (B, T, dim_feedforward) -> (B, T, C)
        return self.linear2(self.dropout(self.activation(self.linear1(x))))
