"""Regressions of #31: empty texts, partial_fit validation, inference and global RNG."""

import numpy as np
import pytest
import torch

from sktfm import TransformerClassifier, TransformerEncoder, TransformerRegressor

# One model, one epoch: a fit of these takes well under a second on 2 cores.
FAST = dict(ensemble_size=1, max_epochs=1)

# More empty strings than one batch of 32 holds: batches are length-bucketed,
# so the empty texts fill at least one batch with no token at all.
N_EMPTY = 40


def _with_empty_texts(topic_texts, n_train=120):
    X, y = topic_texts
    X = [""] * N_EMPTY + list(X[N_EMPTY:n_train])
    return X, np.asarray(y[:n_train])


def _finite_weights(model):
    return all(torch.isfinite(p).all() for p in model.module_.parameters())


# ------------------------------------------------------------ empty texts
def test_classifier_trains_and_predicts_on_a_batch_of_only_empty_texts(topic_texts, tiny):
    X, y = _with_empty_texts(topic_texts)
    model = TransformerClassifier(**{**tiny, **FAST}).fit(X, y)
    assert np.isfinite(model.history_[:, "train_loss"]).all()
    assert _finite_weights(model)
    proba = model.predict_proba([""] * 5)
    assert proba.shape == (5, len(model.classes_))
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert set(model.predict([""] * 5)) <= set(model.classes_)


def test_regressor_trains_and_predicts_on_a_batch_of_only_empty_texts(topic_texts, tiny):
    X, _ = _with_empty_texts(topic_texts)
    y = np.linspace(0.0, 1.0, len(X))
    model = TransformerRegressor(**{**tiny, **FAST}).fit(X, y)
    assert np.isfinite(model.history_[:, "train_loss"]).all()
    assert _finite_weights(model)
    prediction = model.predict([""] * 5)
    assert prediction.shape == (5,)
    assert np.isfinite(prediction).all()


@pytest.mark.parametrize("supervised", [False, True], ids=["without_y", "with_y"])
def test_encoder_trains_and_transforms_only_empty_texts(topic_texts, tiny, supervised):
    X, y = _with_empty_texts(topic_texts)
    model = TransformerEncoder(**{**tiny, "max_epochs": 1}).fit(X, y if supervised else None)
    assert np.isfinite(model.history_[:, "train_loss"]).all()
    assert _finite_weights(model)
    embeddings = model.transform([""] * 5)
    assert embeddings.shape == (5, tiny["d_model"])
    assert np.isfinite(embeddings).all()
