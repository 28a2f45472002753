"""A deep ensemble: independently initialised copies of one model, averaged.

Lakshminarayanan et al. (2017), "Simple and Scalable Predictive Uncertainty
Estimation using Deep Ensembles": members that differ only in their random
initialisation (and dropout draws) make different errors, and the mean of
their predictions is more accurate than any one of them.
"""

import math

import torch
from torch import Tensor, nn

from ._checks import check_positive

__all__ = ["COMBINATIONS", "DeepEnsemble"]

#: How member outputs become one prediction: the mean of the class
#: probabilities (returned as its log, a valid set of logits), or the plain
#: mean (regression).
COMBINATIONS = ("probabilities", "mean")


class DeepEnsemble(nn.Module):
    """Members that predict together; fitted apart, or side by side on the same batches.

    In training mode ``forward`` returns every member's output stacked,
    ``(n_members, B, n_outputs)``, so that each member is fitted to the
    targets on its own (the loss is the mean of the members' losses; their
    gradients do not mix). In evaluation mode it returns the ensemble's
    prediction, ``(B, n_outputs)``: ``log(mean_k softmax(logits_k))`` for
    ``combine="probabilities"`` (its softmax is the mean of the members'
    probabilities) and ``mean_k output_k`` for ``combine="mean"``.

    Parameters
    ----------
    members : list of nn.Module
        Models with the same output shape, ``(B, n_outputs)``.
    combine : {"probabilities", "mean"}
        How evaluation combines the member outputs.

    Examples
    --------
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> ensemble = DeepEnsemble([nn.Linear(3, 4), nn.Linear(3, 4)], combine="probabilities")
    >>> x = torch.randn(5, 3)
    >>> ensemble.train()(x).shape  # each member's logits
    torch.Size([2, 5, 4])
    >>> mean_probs = (ensemble[0](x).softmax(-1) + ensemble[1](x).softmax(-1)) / 2
    >>> torch.allclose(ensemble.eval()(x).softmax(-1), mean_probs)
    True
    """

    def __init__(self, members: list[nn.Module], *, combine: str):
        super().__init__()
        check_positive(n_members=len(members))
        if combine not in COMBINATIONS:
            raise ValueError(f"{combine=} must be one of {COMBINATIONS}.")
        self.members = nn.ModuleList(members)
        self.combine = combine

    def __len__(self) -> int:
        return len(self.members)

    def __getitem__(self, index: int) -> nn.Module:
        return self.members[index]

    def forward(self, x: Tensor) -> Tensor:
        outputs = torch.stack([member(x) for member in self.members])  # (K, B, O)
        return outputs if self.training else self.combined(outputs)

    def combined(self, outputs: Tensor) -> Tensor:
        """The ensemble's prediction ``(B, O)`` from member outputs ``(K, B, O)``."""
        if self.combine == "mean":
            return outputs.mean(dim=0)
        # log of the mean probability, computed in log space (no underflow).
        return torch.logsumexp(outputs.log_softmax(dim=-1), dim=0) - math.log(len(outputs))

    @property
    def backbone(self) -> nn.Module:
        """The first member's backbone (what attention maps are drawn from)."""
        return self.members[0].backbone

    def extra_repr(self) -> str:
        return f"n_members={len(self)}, combine={self.combine!r}"
