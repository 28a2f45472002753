"""Parameters that the input kind ignores: fit warns once, naming them; defaults never warn."""

import warnings

import numpy as np
import pytest

from sktfm import TransformerClassifier, TransformerEncoder, TransformerRegressor
from sktfm.datasets import make_topic_texts

TINY = dict(d_model=8, n_heads=2, n_layers=1, dim_feedforward=16, max_epochs=1, random_state=0)
TEXTS, LABELS = make_topic_texts(40, random_state=0)
ROWS = np.random.default_rng(0).normal(size=(40, 3))
SERIES = np.random.default_rng(0).normal(size=(40, 16, 2))


def _fit_warnings(model, X, y=None):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=Warning, message=".*still improving.*")
        model.fit(X, y)
    return [str(w.message) for w in caught if "do nothing here" in str(w.message)]


def test_a_series_parameter_set_on_text_warns_once_naming_it():
    messages = _fit_warnings(TransformerClassifier(**TINY, patch_size=8), TEXTS, LABELS)
    assert len(messages) == 1
    assert "patch_size=8" in messages[0] and "text" in messages[0]


def test_every_ignored_parameter_is_named_in_the_one_warning():
    model = TransformerRegressor(**TINY, vocab_size=300, series_scaling="instance")
    (message,) = _fit_warnings(model, ROWS, ROWS[:, 0])
    assert "vocab_size=300" in message and "series_scaling='instance'" in message


def test_a_text_parameter_set_on_series_warns():
    (message,) = _fit_warnings(TransformerEncoder(**TINY, tokenizer="word"), SERIES)
    assert "tokenizer='word'" in message and "sequence" in message


@pytest.mark.parametrize(
    "model, X, y",
    [
        (TransformerClassifier(**TINY, patch_size=8), SERIES, LABELS),
        (TransformerClassifier(**TINY, vocab_size=300, tokenizer="word"), TEXTS, LABELS),
        (TransformerClassifier(**TINY), TEXTS, LABELS),
        (TransformerRegressor(**TINY), ROWS, ROWS[:, 0]),
        (TransformerEncoder(**TINY), SERIES, None),
    ],
    ids=["series-param-on-series", "text-params-on-text", "text", "table", "series"],
)
def test_parameters_that_apply_and_defaults_never_warn(model, X, y):
    assert _fit_warnings(model, X, y) == []


def test_continued_training_does_not_warn_again():
    model = TransformerClassifier(**TINY, patch_size=8, warm_start=True)
    assert len(_fit_warnings(model, TEXTS, LABELS)) == 1
    assert _fit_warnings(model, TEXTS, LABELS) == []
