"""How long estimators train: "auto" budgets, early stopping, max_time, ConvergenceWarning."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from sktfm import TransformerClassifier, TransformerRegressor
from sktfm.training import budget

SMALL = dict(d_model=8, n_heads=2, n_layers=1, dim_feedforward=16, device="cpu", random_state=0)


def _learnable(n=40, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 3))
    return X, X[:, 0] - 2 * X[:, 1]


def test_auto_parameters_stay_auto_and_resolve_to_fitted_attributes():
    X, y = _learnable()
    model = TransformerRegressor(**SMALL, max_epochs=4, batch_size=16)
    with pytest.warns(ConvergenceWarning):
        model.fit(X, y)
    params = model.get_params()
    assert [params[name] for name in ("lr", "patience", "warmup_steps", "early_stopping")] == [
        "auto"
    ] * 4
    assert (model.max_epochs_, model.lr_, model.warmup_steps_) == (4, budget.LR_FROM_SCRATCH, 0)
    assert model.patience_ == -(-budget.PATIENCE_STEPS // 3)  # 3 steps per epoch
    assert model.early_stopping_ == "train_loss"  # 40 samples: too few to hold 100 out


def test_budget_ending_while_improving_warns():
    X, y = _learnable()
    model = TransformerRegressor(**SMALL, max_epochs=3, early_stopping=False)
    with pytest.warns(ConvergenceWarning, match=r"after 3 epochs while train_loss"):
        model.fit(X, y)
    assert model.n_iter_ == 3 and model.early_stopping_ is None


def test_max_time_too_short_to_judge_warns(fake_clock):
    X, y = _learnable(n=40)  # an epoch of 40 one-sample steps ...
    clock = fake_clock(1 / 64)  # ... of which the 33rd ends past 0.5 s
    model = TransformerRegressor(**SMALL, max_epochs=100_000, max_time=0.5, batch_size=1)
    with pytest.warns(ConvergenceWarning, match="max_time=0.5 s, too soon to tell whether"):
        model.fit(X, y)
    assert model.n_iter_ == 1 and model.net_.stop_reason_ == "max_time"
    assert len(clock.readings) == 1 + 33  # the start, then one reading per batch


def test_a_plateau_ends_training_early_without_a_warning():
    X = np.random.RandomState(0).normal(size=(40, 3))
    y = np.full(40, 2.0)  # a constant: the loss reaches its floor within a few epochs
    model = TransformerRegressor(**SMALL, max_epochs=300, patience=3, lr=1e-2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model.fit(X, y)
    assert model.n_iter_ < 300
    assert model.net_.stop_reason_ == "early_stopping"


def test_enough_data_holds_out_a_validation_split():
    X, y = _learnable(n=1000)
    model = TransformerRegressor(**SMALL, max_epochs=1, batch_size=256)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    assert model.early_stopping_ == "valid_loss"
    assert "valid_loss" in model.history_[-1]


def test_max_time_ends_fit_within_the_limit_plus_a_batch(fake_clock):
    X, y = _learnable(n=40)  # 5 batches of 8 per epoch
    clock = fake_clock(1 / 32)  # every batch takes 1/32 s: the 33rd ends past 1 s
    model = TransformerRegressor(**SMALL, max_epochs=100_000, max_time=1.0, batch_size=8)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X, y)
    start, *batch_ends = clock.readings  # fit reads the clock once, then after every batch
    assert start == 0.0 and len(batch_ends) == 33
    # Training stopped after the first batch that ended past the limit, not later.
    assert all(end <= 1.0 for end in batch_ends[:-1]) and batch_ends[-1] > 1.0
    assert model.net_.stop_reason_ == "max_time" and model.n_iter_ == 7  # 6 epochs and 3 batches
    # The budget, not convergence, ended training: the warning names max_time.
    still_improving = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert len(still_improving) == 1, [str(w.message) for w in caught]
    assert "stopped after max_time=1.0 s while train_loss was still improving" in str(
        still_improving[0].message
    )


def test_max_time_is_validated():
    with pytest.raises(ValueError, match="max_time"):
        TransformerClassifier(max_time=0).fit([[0.0], [1.0]], [0, 1])


def test_partial_fit_runs_one_epoch_whatever_max_epochs_says():
    X, y = _learnable()
    model = TransformerRegressor(**SMALL)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # one epoch: nothing to judge
        model.partial_fit(X, y)
    assert model.n_iter_ == 1


def _texts(n=40):
    words = ["alpha beta gamma", "delta epsilon", "zeta eta theta iota", "kappa lambda"]
    return [words[i % 4] for i in range(n)], [i % 2 for i in range(n)]


def test_text_from_scratch_resolves_its_own_regularisation():
    X, y = _texts()
    model = TransformerClassifier(**SMALL, max_epochs=1).fit(X, y)
    params = model.get_params()
    names = ("dropout", "pooling", "label_smoothing", "ema_decay", "ensemble_size")
    assert [params[name] for name in names] == ["auto"] * 5
    assert [getattr(model, f"{name}_") for name in names] == [
        budget.TEXT_DROPOUT,
        budget.TEXT_POOLING,
        budget.TEXT_LABEL_SMOOTHING,
        budget.TEXT_EMA_DECAY,
        budget.TEXT_ENSEMBLE_SIZE,
    ]
    # The training callbacks and loss, as each member of the ensemble has them.
    model = TransformerClassifier(**SMALL, max_epochs=1, ensemble_size=1).fit(X, y)
    assert dict(model.net_.callbacks_)["weight_average"].decay == budget.TEXT_EMA_DECAY
    assert model.tokenizer_.kind == "bpe"
    assert model.net_.criterion_.label_smoothing == budget.TEXT_LABEL_SMOOTHING
    assert model.module_.backbone.pooling.mode == budget.TEXT_POOLING


def test_numeric_input_keeps_the_generic_regularisation_and_explicit_values_win():
    X, y = _learnable()
    model = TransformerRegressor(**SMALL, max_epochs=1).fit(X, y)
    assert (model.dropout_, model.pooling_, model.ema_decay_) == (0.1, "mean", None)
    assert "weight_average" not in dict(model.net_.callbacks_)
    X, y = _texts()
    model = TransformerClassifier(  # one model: an ensemble's net_ has no training callbacks
        **SMALL,
        max_epochs=1,
        dropout=0.0,
        pooling="mean",
        label_smoothing=0.0,
        ema_decay=None,
        ensemble_size=1,
    ).fit(X, y)
    assert (model.dropout_, model.pooling_, model.label_smoothing_) == (0.0, "mean", 0.0)
    assert model.ema_decay_ is None and "weight_average" not in dict(model.net_.callbacks_)
    assert model.net_.criterion_.label_smoothing == 0.0
