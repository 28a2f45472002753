"""sktfm.training.budget: what the "auto" training parameters resolve to."""

import dataclasses

import pytest

from sktfm.training import budget
from sktfm.training.budget import (
    resolve_budget,
    resolve_ensemble_size,
    resolve_regularisation,
    steps_per_epoch,
    use_validation_split,
)
from sktfm.training.schedules import InverseSqrtWarmup, LinearWarmup, LinearWarmupDecay

AUTO = dict(max_epochs="auto", patience="auto", lr="auto", warmup_steps="auto")


def test_small_data_gets_many_short_epochs_to_reach_the_step_budget():
    plan = resolve_budget(**AUTO, n_train=50, batch_size=64, pretrained=False)
    assert plan.steps_per_epoch == 1
    assert plan.max_epochs * plan.steps_per_epoch == budget.MIN_STEPS
    assert plan.patience == budget.PATIENCE_STEPS  # patience counted in steps, too
    assert (plan.lr, plan.warmup_steps, plan.decay) == (budget.LR_FROM_SCRATCH, 0, False)
    assert plan.lr_schedule() is None  # constant lr from scratch


def test_large_data_gets_the_minimum_number_of_epochs():
    plan = resolve_budget(**AUTO, n_train=400_000, batch_size=64, pretrained=False)
    assert plan.max_epochs == budget.MIN_EPOCHS
    assert plan.patience == budget.MIN_PATIENCE_EPOCHS


def test_fine_tuning_warms_up_and_decays_a_small_learning_rate():
    plan = resolve_budget(**AUTO, n_train=6400, batch_size=64, pretrained=True)
    assert plan.lr == budget.LR_PRETRAINED < budget.LR_FROM_SCRATCH
    assert plan.max_epochs == budget.MIN_EPOCHS_PRETRAINED
    total = plan.max_epochs * plan.steps_per_epoch
    assert plan.warmup_steps == round(budget.WARMUP_SHARE_PRETRAINED * total)
    schedule = plan.lr_schedule()
    assert isinstance(schedule, LinearWarmupDecay) and schedule.total_steps == total
    assert schedule(0) < schedule(plan.warmup_steps - 1) == 1.0 > schedule(total // 2)
    assert schedule(total - 1) == 0.0


def test_explicit_values_pass_through():
    plan = resolve_budget(
        max_epochs=7, patience=2, lr=0.01, warmup_steps=4, n_train=50, batch_size=8, pretrained=True
    )
    assert (plan.max_epochs, plan.patience, plan.lr, plan.warmup_steps) == (7, 2, 0.01, 4)
    assert not plan.decay  # a user-chosen warm-up keeps its own schedule
    assert isinstance(plan.lr_schedule(), LinearWarmup)
    assert isinstance(plan.lr_schedule(InverseSqrtWarmup), InverseSqrtWarmup)


@pytest.mark.parametrize(
    "early_stopping, n_samples, expected",
    [("auto", 999, False), ("auto", 1000, True), (True, 20, True), (False, 10**6, False)],
)
def test_auto_holds_out_a_validation_split_only_when_it_is_large_enough(
    early_stopping, n_samples, expected
):
    assert use_validation_split(early_stopping, n_samples, 0.1) is expected


def test_steps_per_epoch_counts_the_last_partial_batch():
    assert [steps_per_epoch(n, 64) for n in (1, 64, 65)] == [1, 1, 2]


REGULARISATION = dict(dropout="auto", pooling="auto", label_smoothing="auto", ema_decay="auto")


def test_text_from_scratch_is_regularised_more_than_other_input():
    text = resolve_regularisation(**REGULARISATION, text_from_scratch=True)
    other = resolve_regularisation(**REGULARISATION, text_from_scratch=False)
    assert text == dict(
        dropout=budget.TEXT_DROPOUT,
        pooling=budget.TEXT_POOLING,
        label_smoothing=budget.TEXT_LABEL_SMOOTHING,
        ema_decay=budget.TEXT_EMA_DECAY,
        attention_dropout=budget.TEXT_ATTENTION_DROPOUT,
    )
    assert other == dict(
        dropout=0.1, pooling="mean", label_smoothing=0.0, ema_decay=None, attention_dropout=0.1
    )
    assert text["dropout"] > other["dropout"] and text["label_smoothing"] > 0


def test_a_checkpoint_keeps_its_dropout_and_explicit_values_pass_through():
    tuned = resolve_regularisation(
        **REGULARISATION, text_from_scratch=False, checkpoint_dropout=0.25
    )
    assert tuned["dropout"] == tuned["attention_dropout"] == 0.25
    given = dict(
        dropout=0.0, pooling="cls", label_smoothing=0.2, ema_decay=None, attention_dropout=0.1
    )
    assert resolve_regularisation(**given, text_from_scratch=True) == given


def test_ensemble_size_auto_is_two_models_for_text_from_scratch_only():
    assert resolve_ensemble_size("auto", text_from_scratch=True) == budget.TEXT_ENSEMBLE_SIZE == 2
    assert resolve_ensemble_size("auto", text_from_scratch=False) == 1
    assert resolve_ensemble_size(3, text_from_scratch=True) == 3


def test_a_deadline_ends_the_decay_before_the_planned_steps(monkeypatch):
    clock = iter([100.0, 105.0, 110.0, 125.0])  # time.monotonic() of each call
    monkeypatch.setattr("sktfm.training.schedules.time.monotonic", lambda: next(clock))
    plan = resolve_budget(
        max_epochs=10,
        patience=2,
        lr=1e-3,
        warmup_steps=2,
        n_train=640,
        batch_size=64,
        pretrained=False,
    )
    plan = dataclasses.replace(plan, decay=True)
    schedule = plan.lr_schedule(deadline=120.0)
    assert schedule(0) == 0.5  # warm-up reads no clock
    # Decay starts at t=100 and must reach 0 by t=120, far before step 100 of 100.
    assert schedule(2) == pytest.approx(1.0 - 1 / 98)  # t=100: the step count rules
    assert schedule(3) == pytest.approx(0.75)  # t=105: a quarter of the time gone
    assert schedule(4) == pytest.approx(0.5)  # t=110
    assert schedule(5) == 0.0  # t=125: past the deadline


def test_without_a_deadline_the_decay_follows_the_steps():
    schedule = LinearWarmupDecay(warmup_steps=0, total_steps=4)
    assert [schedule(step) for step in range(5)] == [0.75, 0.5, 0.25, 0.0, 0.0]
