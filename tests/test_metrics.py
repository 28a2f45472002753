"""sktfm.metrics: sacrebleu's figures, scikit-learn scorers and input errors."""

import numpy as np
import pandas as pd
import pytest
import sacrebleu
from sklearn.base import BaseEstimator
from sklearn.model_selection import GridSearchCV, cross_val_score

from sktfm.metrics import (
    bleu_score,
    bleu_scorer,
    chrf_score,
    chrf_scorer,
    exact_match_score,
    exact_match_scorer,
)

REFERENCES = [
    "the cat sat on the mat",
    "trois cent quarante-deux",
    "a quick brown fox jumps over the lazy dog",
    "vingt et un",
]
HYPOTHESES = [
    "the cat sat on a mat",
    "trois cent quarante deux",
    "a quick brown fox jumped over the dog",
    "vingt et un",
]


@pytest.mark.parametrize(
    "metric, sacrebleu_metric",
    [
        (bleu_score, sacrebleu.metrics.BLEU),
        (chrf_score, sacrebleu.metrics.CHRF),
    ],
)
def test_equals_sacrebleu_corpus_score(metric, sacrebleu_metric):
    expected = sacrebleu_metric().corpus_score(HYPOTHESES, [REFERENCES]).score
    score = metric(REFERENCES, HYPOTHESES)
    assert isinstance(score, float)
    assert score == pytest.approx(expected)
    assert 0 < score < 100


@pytest.mark.parametrize("metric", [bleu_score, chrf_score])
def test_identical_corpora_score_100(metric):
    assert metric(REFERENCES, list(REFERENCES)) == pytest.approx(100.0)


@pytest.mark.parametrize(
    "container",
    [
        list,
        tuple,
        lambda t: np.array(t, dtype=object),
        np.array,
        pd.Series,
        lambda t: pd.DataFrame({"text": t}),
    ],
)
def test_accepts_sequences_of_strings(container):
    expected = bleu_score(REFERENCES, HYPOTHESES)
    assert bleu_score(container(REFERENCES), container(HYPOTHESES)) == pytest.approx(expected)


def test_empty_predictions_are_valid():
    assert bleu_score(["un deux", "trois"], ["", ""]) == 0.0
    assert exact_match_score(["", "x"], ["", "y"]) == 0.5


def test_exact_match_strips_surrounding_whitespace_only():
    y_true = ["vingt et un", "mille", "cent", "Deux"]
    y_pred = ["  vingt et un\n", "mille", "cent un", "deux"]
    assert exact_match_score(y_true, y_pred) == 0.5
    assert exact_match_score(["a  b"], ["a b"]) == 0.0


@pytest.mark.parametrize("metric", [bleu_score, chrf_score, exact_match_score])
class TestErrors:
    def test_different_lengths(self, metric):
        with pytest.raises(ValueError, match=r"different lengths \(2 and 1\)"):
            metric(["a", "b"], ["a"])

    def test_empty(self, metric):
        with pytest.raises(ValueError, match="y_true has 0 samples"):
            metric([], [])

    @pytest.mark.parametrize("missing", [None, np.nan, pd.NA])
    def test_missing_value_names_the_index(self, metric, missing):
        with pytest.raises(ValueError, match="y_pred contains None/NaN at row 1"):
            metric(["a", "b", "c"], ["a", missing, "c"])
        with pytest.raises(ValueError, match="y_true contains None/NaN at row 0"):
            metric(pd.Series([missing, "b"]), ["a", "b"])

    @pytest.mark.parametrize("value", [3, 2.5, b"bytes", ["a", "list"]])
    def test_non_string_entry(self, metric, value):
        with pytest.raises(TypeError, match=r"y_true\[2\] is \w+, expected str"):
            metric(["a", "b", value], ["a", "b", "c"])

    def test_single_string(self, metric):
        with pytest.raises(TypeError, match=r"wrap it in a list: \[y_pred\]"):
            metric(["a"], "a")

    def test_two_dimensional(self, metric):
        with pytest.raises(ValueError, match=r"must be 1-D .* shape \(2, 2\)"):
            metric(np.array([["a", "b"], ["c", "d"]]), ["a", "c"])


class EchoTranslator(BaseEstimator):
    """Predicts the source text, upper-cased when ``upper=True``."""

    def __init__(self, upper=False):
        self.upper = upper

    def fit(self, X, y=None):
        self.is_fitted_ = True
        return self

    def predict(self, X):
        return np.array([x.upper() if self.upper else x for x in X], dtype=object)


def _echo_task(n=40):
    X = np.array([f"number {i} is here" for i in range(n)], dtype=object)
    return X, X.copy()  # the identity is the perfect translation


@pytest.mark.parametrize("scorer", [bleu_scorer, chrf_scorer, exact_match_scorer])
def test_scorer_in_cross_val_score(scorer):
    X, y = _echo_task()
    perfect = cross_val_score(EchoTranslator(), X, y, cv=3, scoring=scorer)
    wrong = cross_val_score(EchoTranslator(upper=True), X, y, cv=3, scoring=scorer)
    assert perfect.shape == (3,)
    assert perfect.max() <= 100 + 1e-9 and perfect.min() > wrong.max()


def test_scorer_equals_score_function():
    X, y = _echo_task()
    model = EchoTranslator(upper=True).fit(X, y)
    expected = chrf_score(y, model.predict(X))
    assert chrf_scorer(model, X, y) == pytest.approx(expected)


def test_bleu_scorer_in_grid_search_picks_the_better_model():
    X, y = _echo_task()
    search = GridSearchCV(
        EchoTranslator(), {"upper": [True, False]}, cv=2, scoring=bleu_scorer, n_jobs=2
    ).fit(X, y)
    assert search.best_params_ == {"upper": False}
    assert search.best_score_ == pytest.approx(100.0)
