"""Regressions of #31: empty texts, partial_fit validation, inference and global RNG."""

import random

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
def test_classifier_trains_and_predicts_on_a_batch_of_only_empty_texts(topic_texts, tiny_head):
    X, y = _with_empty_texts(topic_texts)
    model = TransformerClassifier(**{**tiny_head, **FAST}).fit(X, y)
    assert np.isfinite(model.history_[:, "train_loss"]).all()
    assert _finite_weights(model)
    proba = model.predict_proba([""] * 5)
    assert proba.shape == (5, len(model.classes_))
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert set(model.predict([""] * 5)) <= set(model.classes_)


def test_regressor_trains_and_predicts_on_a_batch_of_only_empty_texts(topic_texts, tiny_head):
    X, _ = _with_empty_texts(topic_texts)
    y = np.linspace(0.0, 1.0, len(X))
    model = TransformerRegressor(**{**tiny_head, **FAST}).fit(X, y)
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


# ------------------------------------------------- partial_fit validation
WORDS = {"one": "un", "two": "deux", "three": "trois"}

TINY_TRANSLATOR = dict(
    d_model=16,
    n_heads=2,
    n_encoder_layers=1,
    n_decoder_layers=1,
    dim_feedforward=32,
    dropout=0.0,
    max_epochs=1,
    batch_size=8,
    vocab_size=50,
    max_len=16,
    device="cpu",
    random_state=0,
)


def _word_pairs(n=24):
    rng = np.random.RandomState(0)
    X = [" ".join(rng.choice(list(WORDS), size=rng.randint(1, 5))) for _ in range(n)]
    return X, [" ".join(WORDS[word] for word in sentence.split()) for sentence in X]


def _fitted(kind, topic_texts, tiny, tiny_head):
    """A fitted tiny model of ``kind``, its training data and its inference method."""
    if kind == "translator":
        from sktfm import Seq2SeqTranslator

        X, y = _word_pairs()
        return Seq2SeqTranslator(**TINY_TRANSLATOR).fit(X, y), X, y, "predict"
    X, labels = topic_texts
    X, labels = list(X[:64]), np.asarray(labels[:64])
    if kind == "classifier":
        model, y, method = TransformerClassifier(**{**tiny_head, **FAST}), labels, "predict_proba"
    elif kind == "regressor":
        y = np.linspace(0.0, 1.0, len(X))
        model, method = TransformerRegressor(**{**tiny_head, **FAST}), "predict"
    else:
        model, y, method = TransformerEncoder(**{**tiny, "max_epochs": 1}), None, "transform"
    return model.fit(X, y), X, y, method


def _weights(model):
    return {name: value.detach().clone() for name, value in model.module_.state_dict().items()}


KINDS = ["classifier", "regressor", "encoder", "translator"]


@pytest.mark.parametrize("kind", KINDS)
def test_partial_fit_refuses_invalid_parameters_and_leaves_the_model_untouched(
    kind, topic_texts, tiny, tiny_head
):
    from sklearn.utils._param_validation import InvalidParameterError

    model, X, y, method = _fitted(kind, topic_texts, tiny, tiny_head)
    weights, before = _weights(model), getattr(model, method)(X[:8])
    n_iter = model.n_iter_
    model.set_params(lr=-1.0)
    with pytest.raises(InvalidParameterError, match="lr"):
        model.partial_fit(X, y)
    assert model.n_iter_ == n_iter and len(model.history_) == n_iter
    after = _weights(model)
    assert after.keys() == weights.keys()
    for name, value in weights.items():
        assert torch.equal(after[name], value), name
    np.testing.assert_array_equal(getattr(model, method)(X[:8]), before)
    # A valid value trains again, one epoch per call.
    model.set_params(lr=1e-3)
    model.partial_fit(X, y)
    assert model.n_iter_ == n_iter + 1


# ------------------------------------------ inference and the global RNG
def _global_rng_states():
    return torch.get_rng_state(), np.random.get_state(), random.getstate()


def _assert_same_rng_states(before, after):
    torch_before, numpy_before, python_before = before
    torch_after, numpy_after, python_after = after
    assert torch.equal(torch_before, torch_after), "torch's global generator moved"
    assert numpy_before[0] == numpy_after[0]
    np.testing.assert_array_equal(numpy_before[1], numpy_after[1])
    assert numpy_before[2:] == numpy_after[2:], "numpy's global generator moved"
    assert python_before == python_after, "Python's random module moved"


INFERENCE = {
    "classifier": ["predict", "predict_proba", "score"],
    "regressor": ["predict", "score"],
    "encoder": ["transform"],
    "translator": ["predict", "score", "transform"],
}


@pytest.mark.parametrize(
    "kind, method", [(kind, method) for kind, methods in INFERENCE.items() for method in methods]
)
def test_inference_leaves_every_global_generator_untouched(
    kind, method, topic_texts, tiny, tiny_head
):
    model, X, y, _ = _fitted(kind, topic_texts, tiny, tiny_head)
    args = (X[:16], y[:16]) if method == "score" else (X[:16],)
    random.seed(1)
    before = _global_rng_states()
    first = getattr(model, method)(*args)
    _assert_same_rng_states(before, _global_rng_states())
    # Deterministic: the same result whatever state the generators are in.
    torch.manual_seed(123)
    np.random.seed(123)
    random.seed(123)
    np.testing.assert_array_equal(getattr(model, method)(*args), first)
