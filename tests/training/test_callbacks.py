"""sktfm.training.callbacks: the skorch callbacks of the training options."""

import numpy as np
import pytest
import sacrebleu
import torch
from skorch.callbacks import (
    Callback,
    Checkpoint,
    EarlyStopping,
    GradientNormClipping,
    LRScheduler,
    ProgressBar,
)
from skorch.dataset import Dataset
from skorch.helper import predefined_split
from torch import nn

from sktfm import Seq2SeqTranslator
from sktfm.training import inference
from sktfm.training.callbacks import (
    NonFiniteLoss,
    StopOnNonFiniteLoss,
    StopTraining,
    StopWhenConverged,
    TimeBudget,
    ValidationBLEU,
    WeightAverage,
    checkpoint_callbacks,
    make_callbacks,
)
from sktfm.training.nets import TransformerNet
from sktfm.training.schedules import InverseSqrtWarmup, LinearWarmup

OFF = dict(grad_clip=None, verbose=0, callbacks=None)


def _names(callbacks):
    return [name for name, _ in callbacks]


class _User(Callback):
    pass


def test_make_callbacks_with_every_option_off_is_the_nan_guard_only():
    callbacks = make_callbacks(**OFF)
    assert _names(callbacks) == ["non_finite"]
    assert isinstance(callbacks[0][1], StopOnNonFiniteLoss)
    assert _names(make_callbacks(**{**OFF, "grad_clip": 0.0})) == ["non_finite"]


def test_make_callbacks_with_every_option_on(tmp_path):
    user, extra = _User(), ("first", _User())
    callbacks = make_callbacks(
        grad_clip=0.5,
        monitor="valid_loss",
        patience=3,
        lr_schedule=InverseSqrtWarmup(7),
        deadline=123.0,
        verbose=1,
        callbacks=[user],
        extra=[extra],
        checkpoint_dir=tmp_path / "ckpt",
        ema_decay=0.99,
    )
    # The NaN guard first, the weight average (before everything that reads the
    # weights at an epoch's end), the extra callbacks, the options, the user's last.
    assert _names(callbacks[:-1]) == [
        "non_finite",
        "weight_average",
        "first",
        "checkpoint_best",
        "checkpoint_last",
        "grad_clip",
        "early_stopping",
        "max_time",
        "lr_schedule",
        "progress_bar",
    ]
    assert callbacks[-1] is user
    by_name = dict(callbacks[:-1])
    assert by_name["first"] is extra[1]
    clip = by_name["grad_clip"]
    assert isinstance(clip, GradientNormClipping) and clip.gradient_clip_value == 0.5
    stopping = by_name["early_stopping"]
    assert isinstance(stopping, StopWhenConverged) and isinstance(stopping, EarlyStopping)
    assert (stopping.threshold, stopping.threshold_mode) == (1e-4, "abs")
    assert isinstance(by_name["max_time"], TimeBudget) and by_name["max_time"].deadline == 123.0
    assert (stopping.monitor, stopping.patience, stopping.lower_is_better, stopping.load_best) == (
        "valid_loss",
        3,
        True,
        True,
    )
    warmup = by_name["lr_schedule"]
    assert isinstance(warmup, LRScheduler) and warmup.step_every == "batch"
    assert warmup.policy is torch.optim.lr_scheduler.LambdaLR
    assert isinstance(warmup.lr_lambda, InverseSqrtWarmup) and warmup.lr_lambda.warmup_steps == 7
    assert isinstance(by_name["progress_bar"], ProgressBar)
    assert isinstance(by_name["weight_average"], WeightAverage)
    assert by_name["weight_average"].decay == 0.99
    best, last = by_name["checkpoint_best"], by_name["checkpoint_last"]
    assert isinstance(best, Checkpoint) and isinstance(last, Checkpoint)
    assert best.monitor == "valid_loss_best" and last.monitor is None  # validation: valid loss
    assert (best.f_params, last.f_params) == ("best.safetensors", "last.safetensors")
    assert best.dirname == str(tmp_path / "ckpt") and best.f_optimizer is None


@pytest.mark.parametrize(
    "option, value, name",
    [
        ("grad_clip", 1.0, "grad_clip"),
        ("monitor", "train_loss", "early_stopping"),
        ("lr_schedule", LinearWarmup(4), "lr_schedule"),
        ("deadline", 1.0, "max_time"),
        ("verbose", 1, "progress_bar"),
        ("ema_decay", 0.999, "weight_average"),
    ],
)
def test_each_option_adds_its_own_callback_only(option, value, name):
    assert _names(make_callbacks(**{**OFF, option: value})) == ["non_finite", name]


def test_make_callbacks_details(tmp_path):
    bleu = dict(make_callbacks(**OFF, monitor="valid_bleu"))
    assert bleu["early_stopping"].monitor == "valid_bleu"
    assert bleu["early_stopping"].lower_is_better is False  # a score, not a loss
    # Without validation the best checkpoint follows the training loss.
    best = dict(make_callbacks(**OFF, checkpoint_dir=tmp_path))["checkpoint_best"]
    assert best.monitor == "train_loss_best"
    best = dict(make_callbacks(**OFF, monitor="train_loss", checkpoint_dir=tmp_path))
    assert best["checkpoint_best"].monitor == "train_loss_best"
    # Pairs and bare instances are both accepted as user callbacks.
    user = _User()
    assert make_callbacks(**{**OFF, "callbacks": [("mine", user)]})[-1] == ("mine", user)


class _NaNAtCall(nn.MSELoss):
    """Squared error that turns NaN at its ``at``-th call (training calls only here)."""

    def __init__(self, at):
        super().__init__()
        self.at, self.calls = at, 0

    def forward(self, prediction, target):
        self.calls += 1
        loss = super().forward(prediction, target)
        return loss * float("nan") if self.calls == self.at else loss


class _KeepEpochWeights(Callback):
    def initialize(self):
        self.states = []
        return self

    def on_epoch_end(self, net, **kwargs):
        self.states.append({k: v.clone() for k, v in net.module_.state_dict().items()})


def _regression_net(**kwargs):
    options = dict(
        criterion=nn.MSELoss,
        module__in_features=3,
        module__out_features=1,
        optimizer=torch.optim.SGD,
        lr=0.1,
        batch_size=10,
        max_epochs=3,
        train_split=None,
        device="cpu",
        verbose=0,
    )
    return TransformerNet(nn.Linear, **{**options, **kwargs})


def _regression_data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 3)).astype(np.float32)
    return X, X @ np.float32([[1], [-2], [0.5]])


def test_stop_on_non_finite_loss_restores_the_last_good_epoch():
    X, y = _regression_data()
    keep = _KeepEpochWeights()
    # 4 batches per epoch: the 7th loss is epoch 2, batch 3.
    net = _regression_net(
        criterion=_NaNAtCall,
        criterion__at=7,
        callbacks=[("non_finite", StopOnNonFiniteLoss()), ("keep", keep)],
    )
    with pytest.raises(
        NonFiniteLoss,
        match=r"became nan at epoch 2, batch 3.*weights of "
        r"epoch 1 were restored",
    ):
        net.fit(X, y)
    assert len(keep.states) == 1  # epoch 2 never ended
    # Two SGD steps of epoch 2 and the NaN step are undone.
    for name, value in net.module_.state_dict().items():
        assert torch.isfinite(value).all()
        torch.testing.assert_close(value, keep.states[0][name], rtol=0, atol=0)


def test_a_first_epoch_nan_restores_the_initial_weights():
    X, y = _regression_data()
    net = _regression_net(
        criterion=_NaNAtCall, criterion__at=2, callbacks=[("non_finite", StopOnNonFiniteLoss())]
    )
    net.initialize()
    initial = {k: v.clone() for k, v in net.module_.state_dict().items()}
    with pytest.raises(NonFiniteLoss, match="epoch 1, batch 2"):
        net.partial_fit(X, y)
    for name, value in net.module_.state_dict().items():
        torch.testing.assert_close(value, initial[name], rtol=0, atol=0)


def test_a_finite_fit_keeps_no_copy_of_the_weights():
    X, y = _regression_data()
    guard = StopOnNonFiniteLoss()
    net = _regression_net(criterion=nn.MSELoss, callbacks=[("non_finite", guard)]).fit(X, y)
    assert len(net.history) == 3
    assert guard._good_state is None  # not carried into pickles


@pytest.fixture(scope="module")
def translator():
    # Four words or more: corpus BLEU counts up to 4-grams.
    X = [
        "one two three one",
        "two three one two",
        "three one two two one",
        "one one two three",
        "two two one three three",
    ] * 6
    y = [s.replace("one", "un").replace("two", "deux").replace("three", "trois") for s in X]
    model = Seq2SeqTranslator(
        d_model=16,
        n_heads=2,
        n_layers=1,
        dim_feedforward=32,
        dropout=0.0,
        max_epochs=1,
        batch_size=8,
        vocab_size=50,
        max_len=16,
        device="cpu",
        random_state=0,
    ).fit(X, y)
    return model, X[:5], y[:5]


def test_validation_bleu_records_the_corpus_bleu_of_greedy_translations(translator):
    model, X, references = translator
    net, sources = model.net_, model._sources(X)[0]
    decode = model.target_tokenizer_.decode
    ValidationBLEU(sources, references, decode).on_epoch_end(net)
    hypotheses = list(decode(inference.generate(net, sources, batch_size=1)))
    expected = sacrebleu.metrics.BLEU().corpus_score(hypotheses, [references]).score
    assert net.history[-1, "valid_bleu"] == pytest.approx(expected)
    # Perfect hypotheses (in the order of the references) score 100.
    ValidationBLEU(sources, references, lambda ids: references[: len(ids)]).on_epoch_end(net)
    assert net.history[-1, "valid_bleu"] == pytest.approx(100.0)


def test_early_stopping_ends_training_with_its_reason_and_the_best_weights():
    X, y = _regression_data()
    keep = _KeepEpochWeights()
    stopping = StopWhenConverged("train_loss", patience=2)
    net = _regression_net(max_epochs=50, callbacks=[("keep", keep), ("stop", stopping)])
    net.fit(X, y)
    losses = net.history[:, "train_loss"]
    assert net.stop_reason_ == "early_stopping" and not net.interrupted_
    best = stopping.best_epoch_ - 1
    assert len(losses) == best + 1 + 2  # stopped after 2 epochs without improvement
    # Later losses were lower, but by less than the absolute tolerance.
    assert min(losses[best + 1 :]) < losses[best] < min(losses[best + 1 :]) + 1e-4
    for name, value in net.module_.state_dict().items():
        torch.testing.assert_close(value, keep.states[best][name], rtol=0, atol=0)


def test_time_budget_stops_after_the_batch_past_the_deadline():
    X, y = _regression_data()
    net = _regression_net(max_epochs=50, callbacks=[("max_time", TimeBudget(deadline=0.0))])
    net.fit(X, y)  # every batch ends past a deadline in the past
    assert net.stop_reason_ == "max_time" and not net.interrupted_
    assert len(net.history) == 1 and len(net.history[-1]["batches"]) == 1


def test_a_users_interrupt_is_told_apart_from_a_budget():
    class _CtrlC(Callback):
        def on_epoch_end(self, net, **kwargs):
            raise KeyboardInterrupt

    X, y = _regression_data()
    net = _regression_net(callbacks=[("ctrl_c", _CtrlC())])
    net.fit(X, y)
    assert net.stop_reason_ == "interrupted" and net.interrupted_
    assert issubclass(StopTraining, KeyboardInterrupt)  # what skorch's loop catches


class _StepWeights(Callback):
    """Weights at the start and at the end of every training step."""

    def initialize(self):
        self.before, self.after = [], []
        return self

    def on_batch_begin(self, net, training=False, **kwargs):
        if training:
            self.before.append({k: v.clone() for k, v in net.module_.state_dict().items()})

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            self.after.append({k: v.clone() for k, v in net.module_.state_dict().items()})


def _moving_average(states, decay):
    """The average :class:`WeightAverage` documents, step by step."""
    average = dict(states[0])
    for step, state in enumerate(states[1:], start=2):
        weight = 1 - min(decay, 1 - 2 / (step + 1))
        average = {k: average[k] + weight * (state[k] - average[k]) for k in state}
    return average


def test_weight_average_ends_on_the_average_and_trains_on_the_weights():
    X, y = _regression_data()
    steps = _StepWeights()
    average = WeightAverage(0.5)
    net = _regression_net(callbacks=[("steps", steps), ("average", average)]).fit(X, y)
    assert len(steps.after) == 12  # 3 epochs of 4 batches
    expected = _moving_average(steps.after, 0.5)
    for name, value in net.module_.state_dict().items():
        torch.testing.assert_close(value, expected[name])
        assert not torch.allclose(value, steps.after[-1][name])  # not the last weights
    # Each step starts from the weights the previous one ended on, also across
    # the epochs whose end swapped the average in.
    for before, after in zip(steps.before[1:], steps.after[:-1]):
        for name in before:
            torch.testing.assert_close(before[name], after[name], rtol=0, atol=0)
    assert average._average is None and average._weights is None  # no copies kept


def test_validation_scores_the_average():
    X, y = _regression_data()
    valid_X, valid_y = X[:10] + 1.0, y[:10]
    steps = _StepWeights()
    net = _regression_net(
        max_epochs=2,
        train_split=predefined_split(Dataset(valid_X, valid_y)),
        callbacks=[("steps", steps), ("average", WeightAverage(0.9))],
    ).fit(X, y)
    for epoch in (1, 2):
        average = _moving_average(steps.after[: 4 * epoch], 0.9)
        prediction = torch.from_numpy(valid_X) @ average["weight"].T + average["bias"]
        expected = nn.functional.mse_loss(prediction, torch.from_numpy(valid_y)).item()
        assert net.history[epoch - 1, "valid_loss"] == pytest.approx(expected, rel=1e-5)


def test_a_fit_cut_short_ends_on_the_average_and_a_stop_keeps_the_best_average():
    X, y = _regression_data()
    steps = _StepWeights()
    net = _regression_net(
        max_epochs=50,
        callbacks=[
            ("steps", steps),
            ("average", WeightAverage(0.9)),
            ("max_time", TimeBudget(deadline=0.0)),
        ],
    ).fit(X, y)
    assert net.stop_reason_ == "max_time" and len(steps.after) == 1
    for name, value in net.module_.state_dict().items():
        torch.testing.assert_close(value, steps.after[0][name], rtol=0, atol=0)
    keep, steps = _KeepEpochWeights(), _StepWeights()
    stopping = StopWhenConverged("train_loss", patience=2)
    net = _regression_net(
        max_epochs=50,
        callbacks=[
            ("steps", steps),
            ("average", WeightAverage(0.9)),
            ("keep", keep),
            ("stop", stopping),
        ],
    ).fit(X, y)
    best = stopping.best_epoch_ - 1
    expected = _moving_average(steps.after[: 4 * (best + 1)], 0.9)
    for name, value in net.module_.state_dict().items():
        torch.testing.assert_close(value, keep.states[best][name], rtol=0, atol=0)
        torch.testing.assert_close(value, expected[name])


def test_a_failed_checkpoint_save_leaves_the_previous_file_whole(tmp_path, monkeypatch):
    # skorch's Checkpoint writes in place: a crash mid-write truncates the
    # only copy of the best weights. AtomicCheckpoint writes beside it first.
    import safetensors.torch
    from safetensors.torch import load_file
    from skorch import NeuralNetRegressor

    net = NeuralNetRegressor(nn.Linear(3, 2), max_epochs=1, train_split=None)
    data = torch.randn(8, 3, generator=torch.Generator().manual_seed(0))
    net.fit(data, data[:, :2])
    (name, checkpoint) = checkpoint_callbacks(tmp_path, validation=False)[1]
    checkpoint.initialize()
    checkpoint.save_model(net)
    saved = load_file(str(tmp_path / "last.safetensors"))

    def crash(state, path, **kwargs):
        with open(path, "wb") as file:
            file.write(b"\x00" * 5)  # half a file, then the disk is full
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(safetensors.torch, "save_file", crash)
    with torch.no_grad():
        net.module_.weight.add_(1.0)
    checkpoint.save_model(net)
    after = load_file(str(tmp_path / "last.safetensors"))
    assert after.keys() == saved.keys()
    for key in saved:
        torch.testing.assert_close(after[key], saved[key], rtol=0, atol=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.safetensors", "last_history.json"]
