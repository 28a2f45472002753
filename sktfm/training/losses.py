"""Training losses, one per objective, as criterion modules for skorch.

Each criterion says whether it is a mean over the *samples* of a batch
(``sample_mean``): only then can a batch be split into micro-batches whose
losses, weighted by their share of the samples, add up to the batch's loss
(see :meth:`~sktfm.training.nets.TransformerNet.train_step_single`).
"""

import torch
from torch import Tensor, nn

from ..text.special_tokens import PAD_ID

__all__ = [
    "ClassificationLoss",
    "MaskedModelingLoss",
    "RegressionLoss",
    "TokenCrossEntropy",
    "criterion_for",
    "is_sample_mean",
]


class ClassificationLoss(nn.CrossEntropyLoss):
    """Cross-entropy of the class logits (B, K) against labels (B,).

    With class ``weight``, the loss is the weighted mean (the sum of each
    sample's weighted loss over the sum of the weights), which is not a mean
    over the samples: such a batch is never split into micro-batches.
    """

    def __init__(self, weight=None, label_smoothing=0.0):
        super().__init__(weight=weight, label_smoothing=label_smoothing)
        self.sample_mean = weight is None


class RegressionLoss(nn.MSELoss):
    """Mean squared error of the standardised targets (B, n_outputs)."""

    sample_mean = True


class TokenCrossEntropy(nn.CrossEntropyLoss):
    """Label-smoothed cross-entropy over target tokens, padding left out.

    The translation model returns log-probabilities ``(B, T, V)``; cross-entropy
    over them equals the NLL (log-softmax is idempotent).
    """

    sample_mean = False  # a mean over the target tokens

    def __init__(self, label_smoothing=0.0, ignore_index=PAD_ID):
        super().__init__(label_smoothing=label_smoothing, ignore_index=ignore_index)

    def forward(self, log_probs: Tensor, target: Tensor) -> Tensor:
        target = target.to(log_probs.device)
        return super().forward(log_probs.reshape(-1, log_probs.shape[-1]), target.reshape(-1))


class MaskedModelingLoss(nn.Module):
    """Loss of a self-supervised model that returns ``(prediction, target)`` itself.

    Parameters
    ----------
    kind : {"tokens", "features"}
        Cross-entropy over the masked tokens' ids, or squared error of the
        masked features' values.
    """

    sample_mean = False  # a mean over the masked positions

    def __init__(self, kind="tokens"):
        super().__init__()
        if kind not in ("tokens", "features"):
            raise ValueError(f"{kind=} is not supported; use 'tokens' or 'features'.")
        self.kind = kind
        self.loss = nn.CrossEntropyLoss() if kind == "tokens" else nn.MSELoss()

    def forward(self, output: tuple[Tensor, ...], _unused=None) -> Tensor:
        prediction, target = output[:2]
        loss = self._mean(self.loss, prediction, target)
        if len(output) == 4:
            # A mixed table: the hidden categorical cells' cross-entropy too.
            logits, codes = output[2:]
            loss = loss + self._mean(nn.functional.cross_entropy, logits, codes)
        return loss

    @staticmethod
    def _mean(loss, prediction, target):
        if target.numel() == 0:
            # A batch with nothing to mask (e.g. only empty strings) still
            # needs a differentiable zero so the training loop carries on.
            return prediction.sum() * 0.0
        return loss(prediction, target)


def criterion_for(objective, *, label_smoothing=0.0, class_weight=None):
    """The criterion class and its keyword arguments for a training objective.

    ``class_weight`` (classification only): each class's weight, in the order
    of the logits.
    """
    if objective == "translation":
        return TokenCrossEntropy, {"label_smoothing": label_smoothing}
    if objective == "classification":
        kwargs = {"label_smoothing": label_smoothing}
        if class_weight is not None:
            kwargs["weight"] = torch.tensor(class_weight, dtype=torch.float32)
        return ClassificationLoss, kwargs
    if objective == "regression":
        return RegressionLoss, {}
    if objective in ("masked_tokens", "masked_features"):
        return MaskedModelingLoss, {"kind": objective.removeprefix("masked_")}
    raise ValueError(f"No loss for {objective=}.")


def is_sample_mean(criterion):
    """Whether ``criterion``'s loss is a mean over the samples of a batch."""
    return bool(getattr(criterion, "sample_mean", False))
