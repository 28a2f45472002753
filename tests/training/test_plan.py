"""FitPlan: every "auto" of a fit resolved by one pure function, without fitting anything."""

import dataclasses

import pytest

from sktfm import Seq2SeqTranslator, TransformerClassifier, TransformerEncoder, TransformerRegressor
from sktfm.training import budget as rules
from sktfm.training.plan import (
    FitPlan,
    NetSettings,
    TranslationChoices,
    plan_fit,
    plan_regularisation,
    plan_translation,
)


def _params(estimator=TransformerClassifier, **overrides):
    return estimator(**overrides).get_params(deep=False)


def _plan(
    estimator=TransformerClassifier,
    *,
    kind="tabular",
    n=1000,
    pretrained=False,
    deadline=None,
    **kw,
):
    params = _params(estimator, **kw)
    regularisation = plan_regularisation(
        params,
        text_from_scratch=kind in ("text", "tokens") and not pretrained,
        n_samples=n,
        checkpoint_dropout=0.05 if pretrained else None,
        ensemble="ensemble_size" in params,
    )
    return plan_fit(
        params,
        n_train=int(n * 0.9),
        device="cpu",
        pretrained=pretrained,
        regularisation=regularisation,
        deadline=deadline,
    )


@pytest.mark.parametrize("kind", ["tabular", "sequence"])
def test_numbers_get_the_generic_regularisation(kind):
    reg = _plan(kind=kind).regularisation
    assert (reg.dropout, reg.pooling, reg.label_smoothing, reg.ema_decay) == (
        rules.DROPOUT,
        rules.POOLING,
        rules.LABEL_SMOOTHING,
        rules.EMA_DECAY,
    )
    assert reg.attention_dropout == rules.DROPOUT and reg.embedding_init == "normal"
    assert reg.ensemble_size == rules.ENSEMBLE_SIZE


@pytest.mark.parametrize("kind", ["text", "tokens"])
def test_text_from_scratch_gets_its_own_rules(kind):
    plan = _plan(kind=kind, n=rules.MIN_COOCCURRENCE_TEXTS)
    reg = plan.regularisation
    assert (reg.dropout, reg.pooling, reg.label_smoothing, reg.ema_decay) == (
        rules.TEXT_DROPOUT,
        rules.TEXT_POOLING,
        rules.TEXT_LABEL_SMOOTHING,
        rules.TEXT_EMA_DECAY,
    )
    assert reg.attention_dropout == rules.TEXT_ATTENTION_DROPOUT
    assert reg.embedding_init == "cooccurrence" and reg.ensemble_size == rules.TEXT_ENSEMBLE_SIZE
    # The net is built with what the plan resolved.
    assert plan.net.label_smoothing == rules.TEXT_LABEL_SMOOTHING
    assert plan.net.ema_decay == rules.TEXT_EMA_DECAY


def test_few_texts_start_from_random_embeddings():
    reg = _plan(kind="text", n=rules.MIN_COOCCURRENCE_TEXTS - 1).regularisation
    assert reg.embedding_init == "normal"


def test_a_pretrained_checkpoint_keeps_its_dropout_and_fine_tunes():
    plan = _plan(kind="text", pretrained=True)
    assert plan.regularisation.dropout == 0.05 and plan.regularisation.ensemble_size == 1
    assert plan.budget.lr == rules.LR_PRETRAINED and plan.budget.decay
    assert plan.budget.warmup_steps > 0


def test_the_budget_counts_steps_not_epochs():
    small, large = _plan(n=50), _plan(n=100_000)
    assert small.budget.max_epochs * small.budget.steps_per_epoch >= rules.MIN_STEPS
    assert large.budget.max_epochs == rules.MIN_EPOCHS
    assert small.net.max_epochs == small.budget.max_epochs == small.epochs
    assert small.budget.lr == small.net.lr == rules.LR_FROM_SCRATCH


def test_explicit_values_pass_through():
    plan = _plan(
        kind="text", max_epochs=7, lr=0.01, patience=3, dropout=0.2, pooling="cls", ensemble_size=3
    )
    assert (plan.budget.max_epochs, plan.net.lr, plan.net.patience) == (7, 0.01, 3)
    assert (plan.regularisation.dropout, plan.regularisation.pooling) == (0.2, "cls")
    assert plan.regularisation.ensemble_size == 3


def test_the_encoder_and_translator_have_no_ensemble_size():
    assert _plan(TransformerEncoder).regularisation.ensemble_size is None
    params = _params(Seq2SeqTranslator)
    plan = plan_fit(params, n_train=500, device="cpu", decay=True)
    assert plan.regularisation is None and plan.budget.decay
    assert plan.net.label_smoothing == params["label_smoothing"]
    assert set(plan.fitted_attributes()) == {"max_epochs_", "lr_", "patience_", "warmup_steps_"}


def test_a_partial_fit_plans_one_epoch_without_decay():
    params = _params(TransformerRegressor)
    plan = plan_fit(params, n_train=500, device="cpu", pretrained=True, epochs=1)
    assert plan.epochs == 1 and not plan.budget.decay


def test_the_plan_carries_the_deadline_fit_counted_from_its_start():
    # fit (_fit_guarded) counts max_time from its start; every part of the
    # fit (net, schedule, ensemble members) then reads it from the plan.
    plan = _plan(max_time=30, deadline=130.0)
    assert plan.deadline == 130.0 and plan.for_member(120.0).deadline == 120.0
    assert _plan().deadline is None


def test_the_plan_is_frozen_and_its_fitted_attributes_name_every_resolved_value():
    plan = _plan(kind="text", n=3000)
    assert isinstance(plan, FitPlan)
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.epochs = 3
    attributes = plan.fitted_attributes()
    assert attributes["dropout_"] == rules.TEXT_DROPOUT
    assert attributes["max_epochs_"] == plan.budget.max_epochs
    assert attributes["ensemble_size_"] == rules.TEXT_ENSEMBLE_SIZE


def test_planning_mutates_nothing():
    estimator = TransformerClassifier()
    before = dict(vars(estimator))
    params = estimator.get_params(deep=False)
    _ = plan_fit(params, n_train=10, device="cpu")
    assert vars(estimator) == before and params == estimator.get_params(deep=False)


def test_net_settings_take_the_auto_values_off_unless_resolved():
    settings = NetSettings.from_params(_params(), lr=1e-3, max_epochs=5, patience=2)
    assert settings.label_smoothing == 0.0 and settings.ema_decay is None


def test_a_plan_holds_resolved_values_only():
    # Every field is checked against its type: an "auto" left unresolved, or a
    # saved plan altered to hold a string, is refused when the plan is built.
    with pytest.raises(TypeError, match="NetSettings.lr must be"):
        NetSettings.from_params(_params())
    plan = _plan()
    with pytest.raises(TypeError, match="Budget.max_epochs must be"):
        dataclasses.replace(plan.budget, max_epochs="24")
    with pytest.raises(TypeError, match="FitPlan.net must be"):
        dataclasses.replace(plan, net=None)


# ------------------------------------------------------------------ translator
_PLACEHOLDERS = (
    ["Open the file %s", "Save {name} in the file"],
    ["Die Datei %s öffnen", "{name} in der Datei speichern"],
)


@pytest.mark.parametrize(
    "overrides, pairs, expected",
    [
        ({}, _PLACEHOLDERS, (("printf", "brace"), True)),  # placeholders: protected
        ({}, (["Open file"], ["Datei öffnen"]), (None, True)),  # nothing to protect
        ({}, (["Open file"], ["Открыть файл"]), (None, False)),  # another script
        ({"tokenizer": ("char", "word")}, _PLACEHOLDERS, (("printf", "brace"), False)),
        ({"protected_tokens": None}, _PLACEHOLDERS, (None, True)),
        ({"protected_tokens": "printf"}, (["Open file"], ["Datei öffnen"]), ("printf", True)),
        ({"share_vocab": False}, (["Open file"], ["Datei öffnen"]), (None, False)),
        ({"share_vocab": True}, (["Open file"], ["Открыть файл"]), (None, True)),
    ],
)
def test_the_translators_choices_follow_its_auto_rules(overrides, pairs, expected):
    params = _params(Seq2SeqTranslator, **overrides)
    sources, targets = pairs
    choices = plan_translation(params, input_type="text", sources=sources, targets=targets)
    assert choices == TranslationChoices(*expected)


def test_share_vocab_is_judged_on_the_protected_text():
    # The letters of the placeholders are not text: with them the targets
    # would share the sources' script, without them they do not.
    sources, targets = ["{abcdefghij} x"], ["{abcdefghij} файл"]
    params = _params(Seq2SeqTranslator, protected_tokens="brace")
    choices = plan_translation(params, input_type="text", sources=sources, targets=targets)
    assert not choices.share_vocab
    params = _params(Seq2SeqTranslator, protected_tokens=None)
    choices = plan_translation(params, input_type="text", sources=sources, targets=targets)
    assert choices.share_vocab


def test_tokens_are_never_protected_unless_asked_and_then_refused():
    tokens = ([["Open", "%s"]], [["%s", "öffnen"]])
    params = _params(Seq2SeqTranslator)
    choices = plan_translation(params, input_type="tokens", sources=tokens[0], targets=tokens[1])
    assert choices == TranslationChoices(None, True)
    params = _params(Seq2SeqTranslator, protected_tokens="printf")
    with pytest.raises(ValueError, match="protected_tokens works on text"):
        plan_translation(params, input_type="tokens", sources=tokens[0], targets=tokens[1])


def test_the_translators_plan_records_its_choices():
    params = _params(Seq2SeqTranslator)
    choices = TranslationChoices(("printf", "brace"), False)
    plan = plan_fit(params, n_train=100, device="cpu", translation=choices)
    attributes = plan.fitted_attributes()
    assert attributes["protected_tokens_"] == ("printf", "brace")
    assert attributes["share_vocab_"] is False
