"""Continuing training: warm_start, partial_fit, and resuming after an interrupt."""

import numpy as np
import pytest

from sktfm import (
    Seq2SeqTranslator,
    TransformerClassifier,
    TransformerEncoder,
    TransformerRegressor,
)


def test_warm_start_continues_history_and_keeps_state(tiny_head, tabular_xy):
    X, y = tabular_xy
    labels = np.where(y > 0, "up", "down")
    model = TransformerClassifier(**{**tiny_head, "max_epochs": 2}, warm_start=True)
    model.fit(X, labels)
    first_net, first_losses = model.net_, list(model.history_[:, "train_loss"])
    model.fit(X, labels)
    assert model.net_ is first_net and len(model.history_) == 4
    assert list(model.history_[:2, "train_loss"]) == first_losses
    assert model.n_iter_ == 4
    with pytest.raises(ValueError, match="labels not in classes_"):
        model.fit(X, np.where(y > 0, "up", "sideways"))
    cold = TransformerClassifier(**{**tiny_head, "max_epochs": 2}).fit(X, labels)
    assert cold.fit(X, labels).n_iter_ == 2  # without warm_start, fit starts afresh


def test_partial_fit_adds_one_epoch_and_takes_classes(tiny_head, tabular_xy):
    X, y = tabular_xy
    labels = (y > 0).astype(int) + (y > 1)
    model = TransformerClassifier(**tiny_head)
    model.partial_fit(X[:32], labels[:32] % 2, classes=[0, 1, 2])
    assert list(model.classes_) == [0, 1, 2] and model.n_iter_ == 1
    model.partial_fit(X[32:], labels[32:])
    assert model.n_iter_ == 2
    assert model.predict_proba(X).shape == (64, 3)
    with pytest.raises(ValueError, match="X has 3 features"):
        model.partial_fit(X[:, :3], labels)


def test_resume_after_interrupt_continues_the_history(tiny_head, tabular_xy, interrupt_after):
    X, y = tabular_xy
    model = TransformerRegressor(
        **{**tiny_head, "max_epochs": 6}, warm_start=True, callbacks=[interrupt_after(epoch=2)]
    )
    with pytest.warns(UserWarning, match="interrupted after 2 epoch"):
        model.fit(X, y)
    model.set_params(callbacks=None)
    model.partial_fit(X, y)
    assert len(model.history_) == 3
    model.fit(X, y)  # warm start: six more epochs
    assert len(model.history_) == 9
    assert np.isfinite(model.predict(X)).all()


def test_encoder_continues_its_own_objective(tiny, tabular_xy):
    X, y = tabular_xy
    encoder = TransformerEncoder(**tiny).fit(X)
    before = encoder.transform(X)
    encoder.partial_fit(X)
    assert encoder.n_iter_ == tiny["max_epochs"] + 1
    assert encoder.module_ is encoder.net_.module_  # still the bare backbone
    assert not np.array_equal(encoder.transform(X), before)
    with pytest.raises(ValueError, match="first fitted without y"):
        encoder.partial_fit(X, y)
    supervised = TransformerEncoder(**tiny).fit(X, y)
    supervised.partial_fit(X, y)
    assert supervised.n_iter_ == tiny["max_epochs"] + 1


def test_translator_partial_fit_keeps_vocabularies():
    X = ["one two", "two one", "one one", "two two"] * 8
    y = ["un deux", "deux un", "un un", "deux deux"] * 8
    model = Seq2SeqTranslator(
        d_model=16,
        n_heads=2,
        n_encoder_layers=1,
        n_decoder_layers=1,
        dim_feedforward=32,
        max_epochs=2,
        device="cpu",
        random_state=0,
    ).fit(X, y)
    vocabulary = dict(model.target_tokenizer_.vocabulary_)
    model.partial_fit(X + ["three"], y + ["trois"])
    assert model.n_iter_ == 3
    assert model.target_tokenizer_.vocabulary_ == vocabulary  # unseen words -> [UNK]


def test_pickles_leave_out_optimizer_state_and_still_resume(tiny, tiny_head, tabular_xy):
    import pickle

    X, y = tabular_xy
    # Wide enough that weights, not bookkeeping, dominate the pickle.
    model = TransformerRegressor(**{**tiny_head, "d_model": 64, "dim_feedforward": 256}).fit(X, y)
    restored = pickle.loads(pickle.dumps(model))
    assert restored.net_.optimizer_ is None
    assert model.net_.optimizer_ is not None  # pickling did not change the model
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))
    n_weights = sum(p.numel() for p in model.module_.parameters())
    # float32 weights once (AdamW's two moments would triple it), plus bookkeeping.
    assert len(pickle.dumps(model)) < 4 * n_weights * 1.5
    restored.partial_fit(X, y)
    assert restored.n_iter_ == tiny["max_epochs"] + 1
