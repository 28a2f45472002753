"""Training losses, one per objective, as criterion modules for skorch.

The supervised losses are weighted means over the *samples* of a batch:
``sum_i w_i * loss_i / sum_i w_i``, with ``w_i`` the sample's weight (1
without ``sample_weight``) times its class's weight (``class_weight``), as
scikit-learn's ``LogisticRegression`` multiplies them. Sample weights travel
inside the targets (see :func:`weighted_targets`), so that every path a batch
takes (validation splits, ensemble members, data-parallel ranks) carries them.

Each criterion says whether it is such a mean (``sample_mean``): only then can
a batch be split into micro-batches whose losses, each scaled by its share of
the batch's total weight (:func:`batch_weight`), add up to the batch's loss
(see :meth:`~sktfm.training.nets.TransformerNet.train_step_single`).
"""

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ..text.special_tokens import PAD_ID

__all__ = [
    "ClassificationLoss",
    "MaskedModelingLoss",
    "MultilabelLoss",
    "RegressionLoss",
    "TokenCrossEntropy",
    "batch_weight",
    "criterion_for",
    "is_sample_mean",
    "split_weights",
    "weighted_targets",
]


def weighted_targets(y, sample_weight):
    """Targets that carry each sample's weight: float64 ``(n, k + 1)``, weights last.

    Plain targets are int64 labels or float32 values; float64 marks the
    weighted layout, which :func:`split_weights` takes apart batch by batch.

    >>> weighted_targets(np.array([2, 0]), [0.5, 3.0])
    array([[2. , 0.5],
           [0. , 3. ]])
    """
    y = np.asarray(y)
    columns = y.reshape(len(y), -1).astype(np.float64)
    return np.column_stack([columns, np.asarray(sample_weight, dtype=np.float64)])


def split_weights(target: Tensor):
    """``(targets (B, k), weights (B,))`` of weighted targets; ``(target, None)`` otherwise."""
    if target.dtype != torch.float64:
        return target, None
    return target[:, :-1], target[:, -1]


class _WeightedMean:
    """A loss that is a weighted mean over samples: ``sum w_i l_i / sum w_i``."""

    sample_mean = True

    def _weights(self, labels, weights):
        """Each sample's weight in the loss's denominator (class weights included)."""
        return weights

    def total_weight(self, target: Tensor) -> Tensor:
        """The batch's total weight, the denominator of its loss."""
        labels, weights = split_weights(target)
        if weights is None:
            weights = torch.ones(len(target), device=target.device)
        return self._weights(labels, weights).sum()

    @staticmethod
    def _mean(each: Tensor, weights: Tensor, norm: Tensor) -> Tensor:
        # A batch whose weights are all 0 has no say: a zero loss, not 0 / 0.
        weights, norm = weights.to(each.dtype), norm.to(each.dtype)
        return (each * weights).sum() / norm.sum().clamp_min(torch.finfo(each.dtype).tiny)


class ClassificationLoss(_WeightedMean, nn.CrossEntropyLoss):
    """Cross-entropy of the class logits (B, K) against labels (B,).

    With class ``weight``, the loss is the weighted mean (the sum of each
    sample's weighted loss over the sum of the weights); sample weights, in
    weighted targets (B, 2), multiply the class weights.
    """

    def __init__(self, weight=None, label_smoothing=0.0):
        super().__init__(weight=weight, label_smoothing=label_smoothing)

    def _weights(self, labels, weights):
        if self.weight is None:
            return weights
        return weights * self.weight.to(weights.device)[labels.reshape(-1).long()]

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        labels, weights = split_weights(target)
        if weights is None:
            return super().forward(logits, labels)
        labels = labels[:, 0].long()
        each = F.cross_entropy(
            logits,
            labels,
            weight=self.weight,
            reduction="none",
            label_smoothing=self.label_smoothing,
        )  # (B,), class weights already in
        return self._mean(each, weights, self._weights(labels, weights))


class MultilabelLoss(_WeightedMean, nn.BCEWithLogitsLoss):
    """Binary cross-entropy of label logits (B, L) against 0/1 indicators (B, L).

    Each sample's loss is the mean over its labels; weighted targets
    (B, L + 1) make the batch's loss the weighted mean of those.
    """

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        labels, weights = split_weights(target)
        labels = labels.to(logits.dtype)
        if weights is None:
            return super().forward(logits, labels)
        each = F.binary_cross_entropy_with_logits(logits, labels, reduction="none").mean(dim=1)
        return self._mean(each, weights, weights)


class RegressionLoss(_WeightedMean, nn.MSELoss):
    """Mean squared error of the standardised targets (B, n_outputs).

    Each sample's loss is the mean over its outputs; weighted targets
    (B, n_outputs + 1) make the batch's loss the weighted mean of those.
    """

    def forward(self, prediction: Tensor, target: Tensor) -> Tensor:
        values, weights = split_weights(target)
        values = values.to(prediction.dtype)
        if weights is None:
            return super().forward(prediction, values)
        each = ((prediction - values) ** 2).reshape(len(values), -1).mean(dim=1)
        return self._mean(each, weights, weights)


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
    of the logits. Label smoothing applies to classification and translation.
    """
    if objective == "translation":
        return TokenCrossEntropy, {"label_smoothing": label_smoothing}
    if objective == "classification":
        kwargs = {"label_smoothing": label_smoothing}
        if class_weight is not None:
            kwargs["weight"] = torch.tensor(class_weight, dtype=torch.float32)
        return ClassificationLoss, kwargs
    if objective == "multilabel":
        return MultilabelLoss, {}
    if objective == "regression":
        return RegressionLoss, {}
    if objective in ("masked_tokens", "masked_features"):
        return MaskedModelingLoss, {"kind": objective.removeprefix("masked_")}
    raise ValueError(f"No loss for {objective=}.")


def is_sample_mean(criterion):
    """Whether ``criterion``'s loss is a (weighted) mean over the samples of a batch."""
    return bool(getattr(criterion, "sample_mean", False))


def batch_weight(criterion, target):
    """The total weight of ``target``'s samples in ``criterion``'s loss (a tensor).

    A sample-mean loss of a batch is the sum of its micro-batches' losses,
    each times its :func:`batch_weight` over the batch's.
    """
    return criterion.total_weight(target)
