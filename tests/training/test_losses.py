"""sktfm.training.losses: one criterion per objective."""

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from sktfm.text.special_tokens import PAD_ID
from sktfm.training.builder import OBJECTIVES
from sktfm.training.losses import (
    ClassificationLoss,
    MaskedModelingLoss,
    RegressionLoss,
    TokenCrossEntropy,
    criterion_for,
    is_sample_mean,
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


def test_is_sample_mean_only_for_classification_and_regression():
    sample_means = {ClassificationLoss(), RegressionLoss()}
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
            objective in ("classification", "regression")
        )


def test_class_weights_make_a_weighted_mean_that_is_never_split():
    criterion, kwargs = criterion_for("classification", class_weight=(1.0, 3.0))
    loss = criterion(**kwargs)
    logits = torch.randn(6, 2, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([0, 1, 1, 0, 0, 1])
    each = nn.functional.cross_entropy(logits, labels, reduction="none")
    weights = torch.tensor([1.0, 3.0])[labels]
    torch.testing.assert_close(loss(logits, labels), (weights * each).sum() / weights.sum())
    # Halves of a batch, averaged by their share of the samples, would not
    # give this loss: a weighted batch is never cut into micro-batches.
    assert not is_sample_mean(loss)
