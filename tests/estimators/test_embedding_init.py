"""embedding_init: text from scratch starts its token table from co-occurrence vectors."""

import numpy as np
import pytest
import torch
from sklearn.utils._param_validation import InvalidParameterError
from skorch.callbacks import Callback

from sktfm import TransformerClassifier, TransformerEncoder, TransformerRegressor
from sktfm.training import budget

SMALL = dict(
    d_model=8,
    n_heads=2,
    n_layers=1,
    dim_feedforward=16,
    max_epochs=1,
    ensemble_size=1,
    tokenizer="word",
    device="cpu",
    random_state=0,
)
# Fruit words only ever meet fruit words, weather words weather words.
TEXTS = [
    "red apple pie sweet",
    "green apple pie tart",
    "blue sky storm rain",
    "grey sky storm wind",
] * 8
LABELS = [0, 0, 1, 1] * 8


class InitialTable(Callback):
    """Keeps the token embedding table as training starts."""

    def on_train_begin(self, net, **kwargs):
        self.table_ = net.module_.backbone.embedding.embedding.weight.detach().clone()


def _initial_table(**params):
    capture = InitialTable()
    model = TransformerClassifier(**SMALL, callbacks=[capture], **params).fit(TEXTS, LABELS)
    vocabulary = model.tokenizer_.vocabulary_
    return model, capture.table_, vocabulary


def _cosine(table, vocabulary, a, b):
    # Word tokens carry the Metaspace marker of a preceding space.
    u, v = table[vocabulary["▁" + a]], table[vocabulary["▁" + b]]
    return float(u @ v / u.norm() / v.norm())


FRUIT = ("red", "green", "apple", "pie", "sweet", "tart")
WEATHER = ("blue", "grey", "sky", "storm", "rain", "wind")


def _similarities(table, vocabulary):
    """Mean cosine of two words of one kind of text, and of two words of different kinds."""
    same = [
        _cosine(table, vocabulary, a, b)
        for words in (FRUIT, WEATHER)
        for a in words
        for b in words
        if a != b
    ]
    different = [_cosine(table, vocabulary, a, b) for a in FRUIT for b in WEATHER]
    return np.mean(same), np.mean(different)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_enough_text_from_scratch_starts_from_cooccurrence_vectors(monkeypatch):
    monkeypatch.setattr(budget, "MIN_COOCCURRENCE_TEXTS", len(TEXTS))
    model, table, vocabulary = _initial_table()
    assert model.get_params()["embedding_init"] == "auto"
    assert model.embedding_init_ == "cooccurrence"
    same, different = _similarities(table, vocabulary)
    assert same > different + 0.3 and abs(different) < 0.1
    assert torch.all(table[0] == 0)  # the padding id
    # At the scale of the random initialisation: N(0, 1 / d_model).
    seen = table[[vocabulary["▁" + word] for word in FRUIT + WEATHER]]
    assert 0.5 < float(seen.std() * np.sqrt(SMALL["d_model"])) < 2.0


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_few_texts_start_from_noise_unless_asked(monkeypatch):
    monkeypatch.setattr(budget, "MIN_COOCCURRENCE_TEXTS", len(TEXTS) + 1)
    model, table, vocabulary = _initial_table()
    assert model.embedding_init_ == "normal"
    model, table, vocabulary = _initial_table(embedding_init="cooccurrence")
    assert model.embedding_init_ == "cooccurrence"
    same, different = _similarities(table, vocabulary)
    assert same > different + 0.3


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_normal_starts_from_noise():
    model, table, vocabulary = _initial_table(embedding_init="normal")
    assert model.embedding_init_ == "normal"
    same, different = _similarities(table, vocabulary)
    assert abs(same - different) < 0.2


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_numbers_resolve_to_normal():
    X = np.random.RandomState(0).normal(size=(24, 3))
    model = TransformerRegressor(**SMALL).fit(X, X[:, 0])
    assert model.embedding_init_ == "normal"


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_self_supervised_encoder_takes_it_too(monkeypatch):
    monkeypatch.setattr(budget, "MIN_COOCCURRENCE_TEXTS", len(TEXTS))
    model = TransformerEncoder(**{k: v for k, v in SMALL.items() if k != "ensemble_size"})
    model.fit(TEXTS)
    assert model.embedding_init_ == "cooccurrence"


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_cooccurrence_on_numbers_is_refused_and_the_fitted_model_kept():
    X = np.random.RandomState(0).normal(size=(24, 3))
    model = TransformerRegressor(**SMALL).fit(X, X[:, 0])
    before = model.predict(X)
    model.set_params(embedding_init="cooccurrence")
    with pytest.raises(ValueError, match="embedding_init='cooccurrence' needs text or tokens"):
        model.fit(X, X[:, 1])
    np.testing.assert_array_equal(model.predict(X), before)


def test_unknown_value_is_refused_by_name():
    with pytest.raises(InvalidParameterError, match="embedding_init"):
        TransformerClassifier(embedding_init="glove").fit(TEXTS, LABELS)


def test_auto_resolves_as_documented():
    enough = budget.MIN_COOCCURRENCE_TEXTS
    resolve = budget.resolve_embedding_init
    assert resolve("auto", text_from_scratch=True, n_samples=enough) == "cooccurrence"
    assert resolve("auto", text_from_scratch=True, n_samples=enough - 1) == "normal"
    assert resolve("auto", text_from_scratch=False, n_samples=enough) == "normal"
    assert resolve("normal", text_from_scratch=True, n_samples=enough) == "normal"
    assert resolve("cooccurrence", text_from_scratch=True, n_samples=10) == "cooccurrence"
