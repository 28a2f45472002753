"""Training behaviour users rely on: objectives learn, fits repeat, options work."""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from skorch.callbacks import Callback

from sktfm import TransformerClassifier, TransformerEncoder, TransformerRegressor
from sktfm.data import collate


def _losses(model):
    return [row["train_loss"] for row in model.history_]


def test_masked_token_modelling_learns(tiny):
    # Windows of a fixed word order: a hidden word is predictable from context.
    words = "zero one two three four five six seven eight nine ten eleven".split()
    rng = np.random.RandomState(0)
    X = []
    for start, length in zip(rng.randint(0, 6, 300), rng.randint(4, 7, 300)):
        X.append(" ".join(words[start : start + length]))
    encoder = TransformerEncoder(**{**tiny, "max_epochs": 12, "lr": 5e-3}).fit(X)
    losses = _losses(encoder)
    assert losses[0] > 1.3 * losses[-1]
    assert encoder.transform(X[:5]).dtype == np.float32


def test_masked_feature_reconstruction_learns(tiny):
    rng = np.random.RandomState(0)
    latent = rng.normal(size=(300, 2))
    X = latent @ rng.normal(size=(2, 6))  # features predictable from each other
    encoder = TransformerEncoder(**{**tiny, "max_epochs": 15, "lr": 5e-3}).fit(X)
    losses = _losses(encoder)
    assert losses[0] > 1.3 * losses[-1]
    assert encoder.transform(X).shape == (300, tiny["d_model"])


def test_supervised_encoder_drops_its_head(tiny, topic_texts):
    X, y = topic_texts
    encoder = TransformerEncoder(**tiny).fit(X, y)
    assert not hasattr(encoder.module_, "head")
    assert encoder.net_.module_ is encoder.module_
    assert encoder.transform(X[:4]).shape == (4, tiny["d_model"])


@pytest.mark.parametrize("Estimator", [TransformerClassifier, TransformerRegressor])
def test_supervised_losses_fall(tiny_head, Estimator):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 5))
    y = X[:, 0] - 2 * X[:, 1]
    if Estimator is TransformerClassifier:
        y = (y > 0).astype(int)
    model = Estimator(**{**tiny_head, "max_epochs": 10}).fit(X, y)
    losses = _losses(model)
    assert losses[0] > 1.3 * losses[-1]
    assert model.score(X, y) > 0.8


def test_random_state_gives_bit_identical_fits(tiny_head, topic_texts):
    X, y = topic_texts
    params = {**tiny_head, "dropout": 0.1}
    first = TransformerClassifier(**params).fit(X[:80], y[:80]).predict_proba(X[:80])
    torch.manual_seed(123)  # the user's global RNG state must not matter
    second = TransformerClassifier(**params).fit(X[:80], y[:80]).predict_proba(X[:80])
    np.testing.assert_array_equal(first, second)
    other = TransformerClassifier(**{**params, "random_state": 1}).fit(X[:80], y[:80])
    assert not np.array_equal(first, other.predict_proba(X[:80]))


def test_fit_leaves_global_torch_rng_alone(tiny):
    X = np.random.RandomState(0).normal(size=(20, 3))
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    TransformerEncoder(**tiny).fit(X)
    torch.testing.assert_close(torch.rand(3), expected)


class _RecordInputs(Callback):
    """Records the shape of every batch the module sees, and inference mode."""

    def __init__(self):
        self.shapes = []
        self.inference = []

    def on_train_begin(self, net, **kwargs):
        def hook(module, args, kwargs):
            self.shapes.append(tuple(kwargs["x"].shape))
            self.inference.append(torch.is_inference_mode_enabled())

        net.module_.register_forward_pre_hook(hook, with_kwargs=True)


def test_batches_are_padded_to_their_longest_sequence(tiny, tiny_head):
    X = ["a b", "a b c d e f g h", "c d", "e"] * 4
    recorder = _RecordInputs()
    TransformerClassifier(
        **{**tiny_head, "batch_size": 4, "max_epochs": 1}, callbacks=[recorder]
    ).fit(X, [0, 1, 0, 1] * 4)
    widths = {shape[1] for shape in recorder.shapes}
    assert max(widths) <= 8 < tiny["max_len"]
    batch = collate([(np.array([5, 6]), None), (np.array([7, 8, 9, 10]), None)])
    assert batch[0]["x"].tolist() == [[5, 6, 0, 0], [7, 8, 9, 10]]


def test_inference_runs_batched_in_inference_mode(tiny_head):
    X = np.random.RandomState(0).normal(size=(50, 3))
    recorder = _RecordInputs()
    model = TransformerClassifier(
        **{**tiny_head, "batch_size": 8, "max_epochs": 1}, callbacks=[recorder]
    ).fit(X, np.arange(50) % 2)
    recorder.shapes.clear()
    recorder.inference.clear()
    model.predict(X)
    assert max(shape[0] for shape in recorder.shapes) == 8
    assert len(recorder.shapes) == 7
    assert all(recorder.inference)


def test_verbose_prints_progress_and_epoch_table(tiny_head, capsys):
    X = np.random.RandomState(0).normal(size=(40, 3))
    TransformerRegressor(**{**tiny_head, "max_epochs": 2}, verbose=1).fit(X, X[:, 0])
    out = capsys.readouterr()
    assert "train_loss" in out.out and "epoch" in out.out
    TransformerRegressor(**{**tiny_head, "max_epochs": 2}, verbose=0).fit(X, X[:, 0])
    assert "train_loss" not in capsys.readouterr().out


def test_early_stopping_holds_out_validation_and_stops(tiny_head):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(120, 4))
    y = rng.normal(size=120)  # noise: validation loss cannot keep improving
    model = TransformerRegressor(
        **{**tiny_head, "max_epochs": 60, "lr": 1e-2},
        early_stopping=True,
        validation_fraction=0.25,
        patience=2,
    ).fit(X, y)
    assert "valid_loss" in model.history_[0]
    assert model.n_iter_ < 60
    best = min(model.history_[:, "valid_loss"])
    assert model.history_[-1, "valid_loss"] >= best


def test_user_callbacks_run(tiny):
    class CountEpochs(Callback):
        def initialize(self):
            self.epochs = 0
            return self

        def on_epoch_end(self, net, **kwargs):
            self.epochs += 1

    counter = CountEpochs()
    X = np.random.RandomState(0).normal(size=(30, 3))
    TransformerEncoder(**tiny, callbacks=[counter]).fit(X)
    assert counter.epochs == tiny["max_epochs"]


def test_device_auto_resolves_to_available_device(tiny):
    X = np.random.RandomState(0).normal(size=(20, 3))
    model = TransformerEncoder(**{**tiny, "device": "auto"}).fit(X)
    assert model.device == "auto"  # the parameter is stored unchanged
    assert model.device_ == ("cuda" if torch.cuda.is_available() else "cpu")


def test_warmup_schedule_raises_learning_rate(tiny):
    X = np.random.RandomState(0).normal(size=(64, 3))
    model = TransformerEncoder(**{**tiny, "max_epochs": 2, "batch_size": 8}, warmup_steps=8).fit(X)
    lrs = [
        lr for epoch in model.history_ for lr in (batch["event_lr"] for batch in epoch["batches"])
    ]
    assert lrs[0] == pytest.approx(tiny["lr"] / 8)
    assert lrs[:8] == sorted(lrs[:8])
    assert lrs[8:] == [pytest.approx(tiny["lr"])] * 8


_OPTION_X = [["a", "b", "c"], ["b", "c"], ["c", "a", "b", "a"]] * 5
_OTHER_VALUE = {
    "pooling": {"mean": "cls", "cls": "max", "max": "mean"},
    "positional": {"sinusoidal": "learned", "learned": "sinusoidal"},
    "norm_first": {True: False, False: True},
}


def _fit_with_options(tiny, **options):
    """A seeded two-layer encoder fitted on ``_OPTION_X``: (model, transform output)."""
    model = TransformerEncoder(**{**tiny, "n_layers": 2}, activation="relu", **options)
    model.fit(_OPTION_X)
    return model, model.transform(_OPTION_X)


def _assert_options_reach_the_module(module, pooling, positional, norm_first):
    from sktfm.nn import LearnedPositionalEncoding, SinusoidalPositionalEncoding

    positional_class = {
        "sinusoidal": SinusoidalPositionalEncoding,
        "learned": LearnedPositionalEncoding,
    }[positional]
    assert module.pooling.mode == pooling
    assert type(module.positional) is positional_class
    layers = list(module.encoder.layers)
    assert len(layers) == 2
    assert [layer.norm_first for layer in layers] == [norm_first] * 2
    assert all(isinstance(layer.feedforward.activation, torch.nn.ReLU) for layer in layers)
    # Pre-norm stacks end with a LayerNorm, post-norm ones do not.
    assert isinstance(module.encoder.norm, torch.nn.LayerNorm) is norm_first


@pytest.mark.parametrize("pooling", ["mean", "cls", "max"])
@pytest.mark.parametrize("positional", ["sinusoidal", "learned"])
@pytest.mark.parametrize("norm_first", [True, False])
def test_architecture_options(tiny, pooling, positional, norm_first):
    options = dict(pooling=pooling, positional=positional, norm_first=norm_first)
    model, out = _fit_with_options(tiny, **options)
    assert np.isfinite(out).all()
    _assert_options_reach_the_module(model.module_, **options)
    # The same options and seed give the same output, so a difference below
    # comes from the one option changed, which must not be ignored.
    np.testing.assert_array_equal(_fit_with_options(tiny, **options)[1], out)
    for name, other in _OTHER_VALUE.items():
        changed = {**options, name: other[options[name]]}
        variant, variant_out = _fit_with_options(tiny, **changed)
        _assert_options_reach_the_module(variant.module_, **changed)
        assert np.abs(variant_out - out).max() > 1e-3, f"{name}={changed[name]!r} changed nothing"


@pytest.mark.filterwarnings("ignore:precision='bfloat16' on a CPU without native")
def test_bfloat16_precision_runs_and_returns_float32(tiny, tiny_head):
    X = np.random.RandomState(0).normal(size=(30, 3))
    model = TransformerClassifier(**tiny_head, precision="bfloat16").fit(X, np.arange(30) % 2)
    assert model.predict_proba(X).dtype == np.float64
    assert np.isfinite(model.predict_proba(X)).all()
    assert TransformerEncoder(**tiny, precision="bfloat16").fit(X).transform(X).dtype == np.float32


@pytest.mark.parametrize("native", [True, False])
def test_bfloat16_on_a_cpu_without_native_support_warns(tiny, monkeypatch, native):
    from sktfm.training import runtime

    monkeypatch.setattr(runtime, "cpu_has_native_bf16", lambda: native)
    X = np.random.RandomState(0).normal(size=(20, 3))
    del tiny["vocab_size"]  # a table has no vocabulary (setting one warns)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        TransformerEncoder(**{**tiny, "max_epochs": 1}, precision="bf16").fit(X)
    slow = [w for w in caught if "without native bfloat16" in str(w.message)]
    assert bool(slow) is not native
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # float32 and "auto" never warn
        TransformerEncoder(**{**tiny, "max_epochs": 1}, precision="auto").fit(X)


def test_dataframe_feature_names_are_kept(tiny):
    frame = pd.DataFrame(np.random.RandomState(0).normal(size=(30, 3)), columns=["a", "b", "c"])
    model = TransformerEncoder(**tiny).fit(frame)
    assert list(model.feature_names_in_) == ["a", "b", "c"]
    assert model.n_features_in_ == 3


@pytest.mark.parametrize(
    "changed, match",
    [
        (lambda frame: frame[["b", "a", "c"]], "must be in the same order"),
        (lambda frame: frame.rename(columns={"a": "z"}), "unseen at fit time"),
    ],
    ids=["reordered", "renamed"],
)
def test_a_frame_with_other_columns_at_predict_gets_scikit_learns_error(tiny_head, changed, match):
    frame = pd.DataFrame(np.random.RandomState(0).normal(size=(30, 3)), columns=["a", "b", "c"])
    y = (frame["a"] > 0).astype(int)
    model = TransformerClassifier(**tiny_head).fit(frame, y)
    with pytest.raises(ValueError, match=match):
        model.predict(changed(frame))


@pytest.mark.parametrize("Estimator", [TransformerClassifier, TransformerRegressor])
def test_micro_batches_give_the_whole_batch_gradient(
    tiny_head, topic_texts, monkeypatch, Estimator
):
    # On the CPU a batch of long sequences is trained as micro-batches whose
    # losses are weighted by their share of the samples: the same loss and
    # gradient as the whole batch at once (dropout off: it draws its masks per
    # micro-batch).
    from sktfm.training import nets

    X, y = topic_texts
    y = y if Estimator is TransformerClassifier else np.arange(len(y), dtype=float) % 7
    model = Estimator(**{**tiny_head, "max_epochs": 1}).fit(X, y)  # tiny: dropout=0
    net = model.net_
    # A batch of 32 samples as training collates it: token ids and targets
    # of the dtype and shape the loss takes (class indices, (n, 1) floats).
    ids = model._model_input(X[:32])
    targets = (
        np.arange(32) % 2
        if Estimator is TransformerClassifier
        else np.linspace(-1, 1, 32, dtype=np.float32).reshape(-1, 1)
    )
    batch = collate(list(zip(ids, targets)))

    def step(tokens_per_micro_batch):
        monkeypatch.setattr(nets, "_MICRO_BATCH_TOKENS", tokens_per_micro_batch)
        net.optimizer_.zero_grad()
        loss = net.train_step_single(batch)["loss"]
        return loss, [p.grad.clone() for p in net.module_.parameters()]

    length = batch[0]["x"].shape[1]
    monkeypatch.setattr(nets, "_MICRO_BATCH_TOKENS", 3 * length)
    assert len(net._micro_batches(*batch)) == 11  # 32 sequences, 3 per micro-batch
    whole_loss, whole_grads = step(10**9)
    micro_loss, micro_grads = step(3 * length)
    torch.testing.assert_close(micro_loss, whole_loss, rtol=1e-5, atol=1e-6)
    for whole_grad, micro_grad in zip(whole_grads, micro_grads):
        torch.testing.assert_close(micro_grad, whole_grad, rtol=1e-4, atol=1e-6)
