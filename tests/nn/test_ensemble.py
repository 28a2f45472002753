"""DeepEnsemble: member outputs while training, their average when predicting."""

import pytest
import torch
from torch import nn

from sktfm.nn import DeepEnsemble, TaskModel, TransformerBackbone


def _members(n=3, n_outputs=4):
    torch.manual_seed(0)
    return [nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, n_outputs)) for _ in range(n)]


def test_training_returns_each_members_output():
    members = _members()
    ensemble = DeepEnsemble(members, combine="probabilities").train()
    x = torch.randn(6, 5)
    stacked = ensemble(x)
    assert stacked.shape == (3, 6, 4)
    for k, member in enumerate(members):
        torch.testing.assert_close(stacked[k], member(x))


def test_classification_predicts_the_mean_of_the_members_probabilities():
    ensemble = DeepEnsemble(_members(), combine="probabilities").eval()
    x = torch.randn(6, 5)
    reference = torch.stack(
        [member.double()(x.double()).softmax(-1) for member in ensemble.members]
    ).mean(0)
    ensemble.float()
    logits = ensemble(x)
    assert logits.shape == (6, 4)
    torch.testing.assert_close(logits.softmax(-1).double(), reference, rtol=1e-5, atol=1e-6)
    # The output is a log-probability: no renormalisation hides a wrong scale.
    torch.testing.assert_close(logits.exp().sum(-1), torch.ones(6))


def test_confident_members_do_not_underflow():
    ensemble = DeepEnsemble(_members(2, 3), combine="probabilities").eval()
    outputs = torch.tensor([[[500.0, -500.0, 0.0]], [[-500.0, 500.0, 0.0]]])  # (K, B, O)
    combined = ensemble.combined(outputs)
    assert torch.isfinite(combined).all()
    torch.testing.assert_close(combined.exp(), torch.tensor([[0.5, 0.5, 0.0]]))


def test_regression_predicts_the_mean_output():
    ensemble = DeepEnsemble(_members(2, 1), combine="mean").eval()
    x = torch.randn(6, 5)
    expected = (ensemble[0](x) + ensemble[1](x)) / 2
    torch.testing.assert_close(ensemble(x), expected)


def test_one_member_predicts_like_the_member_alone():
    (member,) = _members(1)
    x = torch.randn(6, 5)
    ensemble = DeepEnsemble([member], combine="probabilities").eval()
    torch.testing.assert_close(ensemble(x).softmax(-1), member(x).softmax(-1))


def test_attention_maps_come_from_the_first_members_backbone():
    backbones = [
        TransformerBackbone(
            input_kind="tokens", vocab_size=20, d_model=8, n_heads=2, n_layers=1, dim_feedforward=16
        )
        for _ in range(2)
    ]
    ensemble = DeepEnsemble([TaskModel(b, 3) for b in backbones], combine="probabilities")
    assert ensemble.backbone is backbones[0] and len(ensemble) == 2


@pytest.mark.parametrize(
    "members, combine, message",
    [([], "mean", "n_members"), ([nn.Linear(2, 2)], "vote", "combine")],
)
def test_bad_arguments_are_refused(members, combine, message):
    with pytest.raises(ValueError, match=message):
        DeepEnsemble(members, combine=combine)
