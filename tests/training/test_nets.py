"""sktfm.training.nets: the one skorch net class that trains every model."""

import pickle

import numpy as np
import pytest
import torch
from torch import nn

from sktfm.data import SequenceDataset, collate
from sktfm.training import nets
from sktfm.training.losses import (
    ClassificationLoss,
    MaskedModelingLoss,
    TokenCrossEntropy,
    weighted_targets,
)
from sktfm.training.nets import TransformerNet


class _Bag(nn.Module):
    """Mean of token embeddings, then a linear layer: a stand-in for a task model."""

    def __init__(self, vocab_size=20, n_outputs=2):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, 4)
        self.linear = nn.Linear(4, n_outputs)

    def forward(self, x):
        return self.linear(self.embed(x))

    def embed(self, x):
        return self.embedding(x).mean(dim=1)


class _Recorder(nn.Module):
    """A criterion that remembers its arguments."""

    def forward(self, *args):
        self.args = args
        return args[0].sum()


def _net(module=_Bag, **kwargs):
    kwargs = {
        "criterion": ClassificationLoss,
        "optimizer": torch.optim.Adam,
        "lr": 0.05,
        "batch_size": 8,
        "max_epochs": 2,
        "train_split": None,
        "device": "cpu",
        "iterator_train__collate_fn": collate,
        "iterator_valid__collate_fn": collate,
        "verbose": 0,
        **kwargs,
    }
    return TransformerNet(module, **kwargs)


def _tokens(n=24, length=5, seed=0):
    rng = np.random.RandomState(seed)
    return torch.as_tensor(rng.randint(1, 20, size=(n, length))), torch.as_tensor(
        rng.randint(0, 2, size=n)
    )


def test_get_loss_without_y_passes_the_prediction_alone():
    net = _net(criterion=_Recorder).initialize()
    prediction = torch.randn(3, 2)
    net.get_loss(prediction, None)
    assert len(net.criterion_.args) == 1 and net.criterion_.args[0] is prediction
    net.get_loss(prediction, np.array([0, 1, 1]))
    prediction_arg, target = net.criterion_.args
    assert prediction_arg is prediction and torch.equal(target, torch.tensor([0, 1, 1]))


@pytest.fixture
def small_micro_batches(monkeypatch):
    """Micro-batches of 3 sequences of 5 tokens."""
    monkeypatch.setattr(nets, "_MICRO_BATCH_TOKENS", 15)


def test_micro_batches_split_long_batches_of_sample_mean_losses(small_micro_batches):
    net = _net().initialize()
    x, y = _tokens(10)
    parts = net._micro_batches({"x": x}, y)
    assert [len(part_y) for _, part_y in parts] == [3, 3, 3, 1]
    torch.testing.assert_close(torch.cat([part_x["x"] for part_x, _ in parts]), x)
    torch.testing.assert_close(torch.cat([part_y for _, part_y in parts]), y)


@pytest.mark.parametrize("criterion", [TokenCrossEntropy, MaskedModelingLoss])
def test_no_micro_batches_for_means_over_tokens(small_micro_batches, criterion):
    net = _net(criterion=criterion).initialize()
    assert net._micro_batches({"x": _tokens(10)[0]}, _tokens(10)[1]) is None


def test_no_micro_batches_when_the_batch_fits_or_cannot_be_split(small_micro_batches):
    net = _net().initialize()
    x, y = _tokens(10)
    assert net._micro_batches({"x": x[:3]}, y[:3]) is None  # one micro-batch holds it
    assert net._micro_batches(x, y) is None  # not a mapping of inputs
    assert net._micro_batches({"x": x, "lengths": torch.ones(10)}, y) is None
    assert net._micro_batches({"x": x}, None) is None  # self-supervised: no y
    net.device = "cuda"  # only the CPU trains in micro-batches
    assert net._micro_batches({"x": x}, y) is None


@pytest.mark.parametrize("weighting", ["none", "class", "sample", "both"])
def test_a_micro_batched_step_is_the_whole_batch_step(small_micro_batches, monkeypatch, weighting):
    class_weight = torch.tensor([1.0, 3.0]) if weighting in ("class", "both") else None
    net = _net(criterion__weight=class_weight).initialize()
    x, y = _tokens(10)
    if weighting in ("sample", "both"):
        # Weighted targets; the last micro-batch weighs nothing at all.
        weights = [0.5, 2.0, 1.0, 0.0, 3.0, 1.0, 2.0, 1.0, 4.0, 0.0]
        y = torch.as_tensor(weighted_targets(y.numpy(), weights))
    batch = ({"x": x}, y)

    def step():
        net.optimizer_.zero_grad()
        result = net.train_step_single(batch)
        return result, [p.grad.clone() for p in net.module_.parameters()]

    micro, micro_grads = step()
    monkeypatch.setattr(nets, "_MICRO_BATCH_TOKENS", 10**9)
    whole, whole_grads = step()
    torch.testing.assert_close(micro["loss"], whole["loss"])
    torch.testing.assert_close(micro["y_pred"], whole["y_pred"])
    for micro_grad, whole_grad in zip(micro_grads, whole_grads):
        torch.testing.assert_close(micro_grad, whole_grad)


def test_uncompiled_nets_run_the_module_itself():
    net = _net().initialize()
    assert net.forward_function() is net.module_
    assert net.embed_function() == net.module_.embed
    plain = _net(module=nn.Linear, module__in_features=2, module__out_features=1).initialize()
    assert plain.embed_function() is plain.module_  # no embed: the forward


# torch.compile's first use imports torch.jit code that warns about itself.
@pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")
def test_compiled_twins_are_cached_per_module_and_never_pickled():
    net = _net(compiled=True).initialize()
    twin = net.forward_function()
    assert twin is not net.module_ and net.forward_function() is twin
    restored = pickle.loads(pickle.dumps(net))
    assert not any(key in restored.__dict__ for key in nets._COMPILED)
    assert net.forward_function() is twin  # the pickled net keeps its own
    net.module_ = _Bag()
    assert net.forward_function() is not twin  # rebuilt for the new module


def _dataset(n, with_y=True):
    x, y = _tokens(n)
    return SequenceDataset(x.numpy(), y.numpy() if with_y else None)


def test_pickled_net_drops_the_optimizer_and_predicts_the_same():
    train, X = _dataset(24), _dataset(24, with_y=False)
    net = _net(module=_Bag()).fit(train, y=None)  # an instance, as make_net passes
    optimizer = net.optimizer_
    restored = pickle.loads(pickle.dumps(net))
    assert restored.optimizer_ is None and net.optimizer_ is optimizer
    assert restored.module is _Bag and isinstance(restored.module_, _Bag)  # one copy
    np.testing.assert_array_equal(restored.predict_proba(X), net.predict_proba(X))
    restored.partial_fit(train)  # continued training rebuilds the optimizer
    assert restored.optimizer_ is not None and len(restored.history) == 4


def test_evaluation_runs_in_inference_mode_and_returns_float32():
    net = _net(precision="bfloat16").fit(_dataset(16), y=None)
    x, _ = _tokens(16)
    output = net.evaluation_step(({"x": x}, None))
    assert torch.is_inference(output) and output.dtype == torch.float32
    assert net.predict_proba(_dataset(16, with_y=False)).dtype == np.float32


class _RandomlyMasked(nn.Module):
    """A self-supervised stand-in: hides random positions, returns (prediction, target)."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(1, 1)

    def forward(self, x):
        hide = torch.rand(x.shape) < 0.5
        values = x[hide].float()[:, None]
        return self.linear(values).squeeze(-1), values.squeeze(-1) ** 2


def test_validation_passes_draw_the_same_masks_each_epoch_and_leave_training_draws_alone():
    net = _net(_RandomlyMasked, criterion=MaskedModelingLoss, criterion__kind="features")
    X = torch.randn(40, 6)
    net.initialize()
    iterator = net.get_iterator(net.get_dataset(X), training=False)
    losses = []
    for _ in range(3):
        net.history.new_epoch()
        before = torch.random.get_rng_state()
        net.run_single_epoch(iterator, False, "valid", net.validation_step)
        assert torch.equal(torch.random.get_rng_state(), before)  # training draws unchanged
        losses.append([batch["valid_loss"] for batch in net.history[-1, "batches"]])
    assert losses[0] == losses[1] == losses[2]
    # Training passes still draw fresh masks: their losses differ between epochs.
    torch.manual_seed(0)
    train = [net.train_step(next(iter(iterator)))["loss"].item() for _ in range(2)]
    assert train[0] != train[1]
