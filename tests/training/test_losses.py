"""sktfm.training.losses: one criterion per objective."""

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from sktfm.text.special_tokens import PAD_ID
from sktfm.training.builder import OBJECTIVES
from sktfm.training.losses import (
    ClassificationLoss,
    MaskedModelingLoss,
    MultilabelLoss,
    RegressionLoss,
    TokenCrossEntropy,
    batch_weight,
    criterion_for,
    is_sample_mean,
    weighted_targets,
)

B, T, V = 3, 6, 11


@pytest.fixture
def log_probs_and_targets():
    """Fresh random log-probabilities (B, T, V) and targets with padded tails."""
    generator = torch.Generator().manual_seed(42)
    log_probs = torch.randn(B, T, V, generator=generator).log_softmax(-1)
    targets = torch.randint(PAD_ID + 1, V, (B, T), generator=generator)
    targets[0, 4:] = PAD_ID
    targets[2, 1:] = PAD_ID
    return log_probs.requires_grad_(), targets


def _reference(log_probs, targets, smoothing=0.0):
    """Label-smoothed NLL averaged over the non-padding targets, in float64, by hand."""
    log_probs = log_probs.detach().double()
    total, count = 0.0, 0
    for b in range(B):
        for t in range(T):
            target = int(targets[b, t])
            if target == PAD_ID:
                continue
            row = log_probs[b, t]
            total += -(1 - smoothing) * float(row[target]) - smoothing * float(row.mean())
            count += 1
    return total / count


def test_token_cross_entropy_leaves_padding_out(log_probs_and_targets):
    log_probs, targets = log_probs_and_targets
    loss = TokenCrossEntropy()(log_probs, targets)
    assert loss.dtype == torch.float32 and loss.ndim == 0
    assert loss.item() == pytest.approx(_reference(log_probs, targets), rel=1e-6)
    # The padded positions get no gradient: they do not count at all.
    loss.backward()
    padded = targets == PAD_ID
    assert (log_probs.grad[padded] == 0).all()
    assert (log_probs.grad[~padded].abs().sum(-1) > 0).all()


def test_token_cross_entropy_label_smoothing_matches_torch(log_probs_and_targets):
    log_probs, targets = log_probs_and_targets
    loss = TokenCrossEntropy(label_smoothing=0.1)(log_probs, targets)
    expected = F.cross_entropy(
        log_probs.reshape(-1, V), targets.reshape(-1), ignore_index=PAD_ID, label_smoothing=0.1
    )
    torch.testing.assert_close(loss, expected)
    assert loss.item() == pytest.approx(_reference(log_probs, targets, 0.1), rel=1e-6)
    assert loss.item() != pytest.approx(TokenCrossEntropy()(log_probs, targets).item())


def test_masked_modeling_loss_of_nothing_masked_is_a_differentiable_zero():
    prediction = torch.randn(0, V, requires_grad=True)
    weight = torch.randn(4, requires_grad=True)
    for kind, target in [
        ("tokens", torch.zeros(0, dtype=torch.long)),
        ("features", torch.zeros(0, 1)),
    ]:
        # The model's prediction depends on weights even when it is empty.
        output = (prediction * weight.sum(), target)
        loss = MaskedModelingLoss(kind)(output)
        assert loss.ndim == 0 and loss.item() == 0.0 and loss.requires_grad
        loss.backward()
        assert torch.isfinite(weight.grad).all() and (weight.grad == 0).all()


def test_masked_modeling_loss_is_cross_entropy_or_squared_error():
    logits, ids = torch.randn(7, V), torch.randint(0, V, (7,))
    torch.testing.assert_close(
        MaskedModelingLoss("tokens")((logits, ids)), F.cross_entropy(logits, ids)
    )
    values, targets = torch.randn(5, 1), torch.randn(5, 1)
    torch.testing.assert_close(
        MaskedModelingLoss("features")((values, targets), None), F.mse_loss(values, targets)
    )
    with pytest.raises(ValueError, match="kind='ids'"):
        MaskedModelingLoss("ids")


EXPECTED_CRITERIA = {
    "classification": (ClassificationLoss, {"label_smoothing": 0.2}),
    "multilabel": (MultilabelLoss, {}),
    "regression": (RegressionLoss, {}),
    "masked_tokens": (MaskedModelingLoss, {"kind": "tokens"}),
    "masked_features": (MaskedModelingLoss, {"kind": "features"}),
    "translation": (TokenCrossEntropy, {"label_smoothing": 0.2}),
}


def test_criterion_for_covers_every_trained_objective():
    assert set(EXPECTED_CRITERIA) == set(OBJECTIVES) - {"backbone"}
    for objective, expected in EXPECTED_CRITERIA.items():
        criterion, kwargs = criterion_for(objective, label_smoothing=0.2)
        assert (criterion, kwargs) == expected, objective
        criterion(**kwargs)  # the keywords are the criterion's own


@pytest.mark.parametrize("objective", ["backbone", "ranking", ""])
def test_criterion_for_refuses_other_objectives(objective):
    with pytest.raises(ValueError, match="No loss for objective="):
        criterion_for(objective)


def test_is_sample_mean_only_for_the_task_heads():
    sample_means = {ClassificationLoss(), RegressionLoss(), MultilabelLoss()}
    others = {
        TokenCrossEntropy(),
        MaskedModelingLoss("tokens"),
        MaskedModelingLoss("features"),
        nn.CrossEntropyLoss(),
        nn.MSELoss(),
    }
    assert all(is_sample_mean(c) for c in sample_means)
    assert not any(is_sample_mean(c) for c in others)
    for objective in EXPECTED_CRITERIA:
        criterion, kwargs = criterion_for(objective)
        assert is_sample_mean(criterion(**kwargs)) is (
            objective in ("classification", "multilabel", "regression")
        )


def _split_sum(loss, prediction, target, size):
    """The loss as micro-batches add it up: each part's times its share of the weight."""
    total = batch_weight(loss, target)
    parts = zip(prediction.split(size), target.split(size))
    return sum(loss(p, t) * (batch_weight(loss, t) / total).float() for p, t in parts)


def test_class_weights_make_a_weighted_mean_that_splits_by_weight():
    criterion, kwargs = criterion_for("classification", class_weight=(1.0, 3.0))
    loss = criterion(**kwargs)
    logits = torch.randn(6, 2, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([0, 1, 1, 0, 0, 1])
    each = nn.functional.cross_entropy(logits, labels, reduction="none")
    weights = torch.tensor([1.0, 3.0])[labels]
    torch.testing.assert_close(loss(logits, labels), (weights * each).sum() / weights.sum())
    # Halves of a batch, each scaled by its share of the weights (not of the
    # samples), add up to the batch's loss: micro-batches may split it.
    assert is_sample_mean(loss)
    torch.testing.assert_close(_split_sum(loss, logits, labels, 4), loss(logits, labels))


def _weighted(target, weights):
    return torch.as_tensor(weighted_targets(target.numpy(), weights))


SAMPLE_WEIGHTS = [0.0, 2.0, 1.0, 0.5, 3.0, 1.0]


@pytest.mark.parametrize("class_weight", [None, (1.0, 4.0, 0.5)])
def test_sample_weights_multiply_class_weights_as_logistic_regression(class_weight):
    criterion, kwargs = criterion_for(
        "classification", label_smoothing=0.1, class_weight=class_weight
    )
    loss = criterion(**kwargs)
    logits = torch.randn(6, 3, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([0, 1, 2, 2, 0, 1])
    w = torch.tensor(SAMPLE_WEIGHTS)
    cw = torch.ones(3) if class_weight is None else torch.tensor(class_weight)
    each = F.cross_entropy(
        logits, labels, weight=cw, reduction="none", label_smoothing=0.1
    )  # class weights in
    expected = (w * each).sum() / (w * cw[labels]).sum()
    target = _weighted(labels, SAMPLE_WEIGHTS)
    torch.testing.assert_close(loss(logits, target), expected)
    torch.testing.assert_close(_split_sum(loss, logits, target, 4), expected)
    # Weights of one are no weights.
    ones = _weighted(labels, np.ones(6))
    torch.testing.assert_close(loss(logits, ones), loss(logits, labels))


@pytest.mark.parametrize("loss", [RegressionLoss(), MultilabelLoss()], ids=type)
def test_regression_and_multilabel_losses_weigh_samples(loss):
    generator = torch.Generator().manual_seed(0)
    prediction = torch.randn(6, 3, generator=generator)
    target = (torch.rand(6, 3, generator=generator) > 0.5).float()
    w = torch.tensor(SAMPLE_WEIGHTS)
    each = (
        (prediction - target) ** 2
        if isinstance(loss, RegressionLoss)
        else F.binary_cross_entropy_with_logits(prediction, target, reduction="none")
    ).mean(dim=1)
    weighted = _weighted(target, SAMPLE_WEIGHTS)
    torch.testing.assert_close(loss(prediction, weighted), (w * each).sum() / w.sum())
    torch.testing.assert_close(
        _split_sum(loss, prediction, weighted, 4), loss(prediction, weighted)
    )
    torch.testing.assert_close(
        loss(prediction, _weighted(target, np.ones(6))), loss(prediction, target)
    )


def test_a_batch_of_zero_weights_has_a_zero_loss_not_nan():
    loss = ClassificationLoss()
    logits = torch.randn(3, 2, requires_grad=True)
    value = loss(logits, _weighted(torch.tensor([0, 1, 1]), np.zeros(3)))
    value.backward()
    assert value.item() == 0.0 and torch.equal(logits.grad, torch.zeros(3, 2))
