"""A deep ensemble trains as independent members: built apart, each fitted on its own loss."""

import numpy as np
import pytest
import torch

from sktfm.data import SequenceDataset
from sktfm.estimators import TransformerClassifier
from sktfm.nn import DeepEnsemble, TaskModel
from sktfm.text.special_tokens import N_SPECIAL
from sktfm.training import make_module, make_net
from sktfm.training.plan import NetSettings

TOKENS = dict(
    input_kind="tokens",
    vocab_size=30,
    d_model=16,
    n_heads=2,
    n_layers=1,
    dim_feedforward=32,
    dropout=0.0,
)


def _params(**overrides):
    params = TransformerClassifier(
        batch_size=8,
        max_epochs=2,
        lr=1e-3,
        patience=3,
        warmup_steps=0,
        early_stopping=False,
        label_smoothing=0.0,
        ema_decay=None,
        device="cpu",
    ).get_params(deep=False)
    return {**params, **overrides}


def _data(n=24, seed=0):
    rng = np.random.RandomState(seed)
    X = [rng.randint(N_SPECIAL, 30, size=rng.randint(2, 7)) for _ in range(n)]
    return X, rng.randint(0, 3, size=n)


@pytest.mark.parametrize(
    "objective, combine", [("classification", "probabilities"), ("regression", "mean")]
)
def test_make_module_builds_independently_initialised_members(objective, combine):
    torch.manual_seed(0)
    module = make_module(objective, TOKENS, n_outputs=3, n_members=3)
    assert isinstance(module, DeepEnsemble) and module.combine == combine
    assert len(module) == 3 and all(type(member) is TaskModel for member in module.members)
    first, second = (dict(member.named_parameters()) for member in module.members[:2])
    assert not torch.equal(first["head.1.weight"], second["head.1.weight"])
    assert type(make_module(objective, TOKENS, n_outputs=3, n_members=1)) is TaskModel


def test_the_loss_is_the_mean_of_the_members_losses_and_their_gradients_do_not_mix():
    torch.manual_seed(0)
    module = make_module("classification", TOKENS, n_outputs=3, n_members=2)
    net = make_net(
        module,
        objective="classification",
        settings=NetSettings.from_params(_params()),
        device="cpu",
    )
    net.initialize()
    X, y = _data(8)
    batch = next(iter(net.get_iterator(SequenceDataset(X, y), training=True)))
    Xi, yi = batch
    module.train()
    step = net.train_step_single(batch)
    members = [[p.grad.clone() for p in member.parameters()] for member in module.members]
    own_losses = []
    for k, member in enumerate(module.members):
        module.zero_grad()
        own = net.criterion_(member(Xi["x"]), yi)
        (own / 2).backward()  # the ensemble's loss is the mean over 2 members
        own_losses.append(own.item())
        for got, expected in zip(members[k], [p.grad for p in member.parameters()]):
            torch.testing.assert_close(got, expected)
    assert step["loss"].item() == pytest.approx(np.mean(own_losses), rel=1e-5)
    # What the step reports as its prediction is the ensemble's, one row per sample.
    assert step["y_pred"].shape == (len(yi), 3)


def test_a_net_trains_an_ensemble_and_validates_on_its_averaged_prediction():
    torch.manual_seed(0)
    module = make_module("classification", TOKENS, n_outputs=3, n_members=2)
    net = make_net(
        module,
        objective="classification",
        settings=NetSettings.from_params(_params()),
        device="cpu",
    )
    X, y = _data()
    net.fit(SequenceDataset(X, y), y=None)
    assert len(net.history) == 2 and np.isfinite(net.history[:, "train_loss"]).all()
    net.module_.eval()
    probs = net.predict_proba(SequenceDataset(X, y))
    assert probs.shape == (len(X), 3)
    member_probs = []
    with torch.no_grad():
        for member in module.members:
            member_probs.append(
                torch.cat(
                    [
                        member(batch["x"]).softmax(-1)
                        for batch, _ in net.get_iterator(SequenceDataset(X, y))
                    ]
                )
            )
    np.testing.assert_allclose(
        torch.softmax(torch.as_tensor(probs), -1).numpy(),
        torch.stack(member_probs).mean(0).numpy(),
        rtol=1e-5,
        atol=1e-6,
    )
