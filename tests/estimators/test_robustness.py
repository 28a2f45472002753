"""Training that goes wrong: divergence, interruption, checkpoints."""

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from skorch.callbacks import Callback

from sktfm import TransformerClassifier, TransformerRegressor
from sktfm.training import NonFiniteLoss


class _PoisonWeights(Callback):
    """Turns one weight into NaN at the first batch of ``epoch`` (1-based)."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, net, **kwargs):
        self.net = net
        if len(net.history) == self.epoch - 1:  # the last good epoch
            self.good_state = {k: v.clone() for k, v in net.module_.state_dict().items()}

    def on_batch_begin(self, net, training=False, **kwargs):
        if training and len(net.history) == self.epoch:
            with torch.no_grad():
                next(net.module_.parameters()).fill_(float("nan"))


def test_non_finite_loss_stops_with_epoch_and_batch(tiny_head, tabular_xy):
    X, y = tabular_xy
    model = TransformerRegressor(**{**tiny_head, "max_epochs": 4}).fit(X, y)
    expected = model.predict(X)
    model.set_params(callbacks=[_PoisonWeights(epoch=2)])
    with pytest.raises(NonFiniteLoss, match=r"epoch 2, batch 1.*restored.*lr"):
        model.fit(X, y)
    # The failed refit leaves the earlier fit as it was, weights finite.
    np.testing.assert_array_equal(model.predict(X), expected)
    assert all(torch.isfinite(p).all() for p in model.module_.parameters())


def test_non_finite_loss_restores_last_good_weights_in_the_net(tiny_head, tabular_xy):
    X, y = tabular_xy
    poison = _PoisonWeights(epoch=3)
    model = TransformerRegressor(**{**tiny_head, "max_epochs": 5}, callbacks=[poison])
    with pytest.raises(NonFiniteLoss, match="epoch 3"):
        model.fit(X, y)
    assert not hasattr(model, "net_")  # a fresh fit that failed leaves no model
    restored = poison.net.module_.state_dict()  # the net itself holds epoch 2
    for name, tensor in poison.good_state.items():
        torch.testing.assert_close(restored[name], tensor)


def test_keyboard_interrupt_keeps_a_usable_estimator(tiny_head, tabular_xy, interrupt_after):
    X, y = tabular_xy
    labels = (y > 0).astype(int)
    model = TransformerClassifier(
        **{**tiny_head, "max_epochs": 10}, callbacks=[interrupt_after(epoch=2)]
    )
    with pytest.warns(UserWarning, match="interrupted after 2 epoch"):
        model.fit(X, labels)
    assert len(model.history_) == 2
    assert model.predict(X).shape == (64,)


def test_checkpoints_hold_best_and_last_weights(tiny_head, tmp_path, tabular_xy):
    X, y = tabular_xy
    model = TransformerRegressor(
        **{**tiny_head, "max_epochs": 3}, checkpoint_dir=tmp_path / "ckpt"
    ).fit(X, y)
    files = {path.name for path in (tmp_path / "ckpt").iterdir()}
    assert {
        "best.safetensors",
        "last.safetensors",
        "best_history.json",
        "last_history.json",
    } <= files
    last = load_file(tmp_path / "ckpt" / "last.safetensors")
    for name, tensor in model.module_.state_dict().items():
        torch.testing.assert_close(last[name], tensor)
    assert not any(name.endswith((".pt", ".pkl")) for name in files)  # no pickle


def test_model_fitted_on_cuda_unpickles_on_cpu(tiny_head, monkeypatch, tabular_xy):
    import pickle

    X, y = tabular_xy
    model = TransformerRegressor(**tiny_head).fit(X, y)
    expected = model.predict(X)
    # Pretend the fit ran on a GPU: the pickle then asks for CUDA tensors.
    model.net_.device = "cuda"
    model.device_ = "cuda"
    payload = pickle.dumps(model)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(UserWarning, match="no CUDA devices are available"):
        restored = pickle.loads(payload)
    assert restored.device_ == "cpu" and str(restored.net_.device) == "cpu"
    np.testing.assert_array_equal(restored.predict(X), expected)
