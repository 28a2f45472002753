"""sktfm.datasets: generated data sets, repeatable and download-free."""

import sys

import numpy as np
import pytest
from num2words import num2words
from sklearn.model_selection import train_test_split

from sktfm.datasets import make_number_translation, make_topic_texts

TOPICS = {"food", "sports", "technology", "travel"}


# make_topic_texts ---------------------------------------------------------------


def test_topic_texts_shape_and_labels():
    X, y = make_topic_texts(50, random_state=0)
    assert isinstance(X, list) and len(X) == 50
    assert all(isinstance(text, str) and text for text in X)
    assert y.shape == (50,) and y.dtype == object
    assert set(y) <= TOPICS


def test_topic_texts_reproducible():
    X1, y1 = make_topic_texts(30, random_state=3)
    X2, y2 = make_topic_texts(30, random_state=np.random.RandomState(3))
    X3, _ = make_topic_texts(30, random_state=4)
    assert X1 == X2 and np.array_equal(y1, y2)
    assert X1 != X3


def test_topic_texts_markup_share():
    X, _ = make_topic_texts(200, markup=0.0, random_state=0)
    assert not any("<p>" in text for text in X)
    X, _ = make_topic_texts(200, markup=1.0, random_state=0)
    assert all(text.startswith("<p>") for text in X)


# make_number_translation -------------------------------------------------------


def test_number_translation_shapes_and_types():
    X, y = make_number_translation(100, random_state=0)
    for side in (X, y):
        assert isinstance(side, np.ndarray)
        assert side.shape == (100,) and side.dtype == object
        assert all(type(text) is str and text for text in side)


def test_number_translation_default_is_english_to_french():
    X, y = make_number_translation(50, max_value=999, source_format="digits", random_state=0)
    X_words, y_words = make_number_translation(50, max_value=999, random_state=0)
    for digits, words, target, target_again in zip(X, X_words, y, y_words):
        assert words == num2words(int(digits), lang="en")
        assert target == target_again == num2words(int(digits), lang="fr")


def test_number_translation_numbers_are_distinct():
    # 1000 of 1001 candidates: any duplicate would show.
    X, y = make_number_translation(1000, max_value=1000, source_format="digits", random_state=0)
    numbers = [int(x) for x in X]
    assert len(set(numbers)) == 1000
    assert min(numbers) >= 0 and max(numbers) <= 1000
    X_words, _ = make_number_translation(1000, max_value=1000, random_state=0)
    assert len(set(X_words)) == 1000


def test_number_translation_all_numbers_when_n_equals_range():
    X, _ = make_number_translation(11, max_value=10, source_format="digits", random_state=0)
    assert sorted(int(x) for x in X) == list(range(11))


def test_number_translation_train_and_test_share_no_number():
    X, y = make_number_translation(500, max_value=2000, random_state=0)
    X_train, X_test, _, _ = train_test_split(X, y, test_size=0.2, random_state=0)
    assert not set(X_train) & set(X_test)


def test_number_translation_large_range_draws_distinct_numbers():
    X, y = make_number_translation(
        300, max_value=10**12, source_format="digits", target_lang="en", random_state=0
    )
    numbers = [int(x) for x in X]
    assert len(set(numbers)) == 300 and max(numbers) <= 10**12
    assert max(numbers) > 10**9  # the whole range is used
    assert y[0] == num2words(numbers[0], lang="en")


@pytest.mark.parametrize("max_value", [999, 10**12])
def test_number_translation_reproducible(max_value):
    kwargs = dict(max_value=max_value, source_format="digits")
    X1, y1 = make_number_translation(40, random_state=7, **kwargs)
    X2, y2 = make_number_translation(40, random_state=np.random.RandomState(7), **kwargs)
    X3, _ = make_number_translation(40, random_state=8, **kwargs)
    assert np.array_equal(X1, X2) and np.array_equal(y1, y2)
    assert not np.array_equal(X1, X3)


def test_number_translation_digits_format():
    X, y = make_number_translation(30, source_format="digits", random_state=0)
    assert all(x.isdigit() and str(int(x)) == x for x in X)
    assert all(t == num2words(int(x), lang="fr") for x, t in zip(X, y))


@pytest.mark.parametrize("source_lang, target_lang", [("en", "de"), ("es", "en"), ("fr", "it")])
def test_number_translation_other_language_pairs(source_lang, target_lang):
    X, y = make_number_translation(20, max_value=100, source_format="digits", random_state=0)
    Xw, yw = make_number_translation(
        20, max_value=100, source_lang=source_lang, target_lang=target_lang, random_state=0
    )
    for digits, source, target in zip(X, Xw, yw):
        assert source == num2words(int(digits), lang=source_lang)
        assert target == num2words(int(digits), lang=target_lang)


def test_number_translation_known_spellings():
    X, y = make_number_translation(11, max_value=10, random_state=0)
    pairs = dict(zip(X, y))
    assert pairs["zero"] == "zéro" and pairs["seven"] == "sept"


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(n_samples=11, max_value=9), ValueError, r"n_samples=11 distinct .* max_value=9"),
        (dict(n_samples=0), ValueError, "n_samples=0 must be >= 1"),
        (dict(n_samples=2.5), TypeError, "n_samples must be an int"),
        (dict(max_value=-1), ValueError, "max_value=-1 must be >= 0"),
        (dict(source_format="roman"), ValueError, r"source_format='roman' is not one of"),
        (dict(target_lang="xx"), ValueError, r"target_lang='xx' is not a language .*'fr'"),
        (dict(source_lang="klingon"), ValueError, "source_lang='klingon'"),
        (dict(target_lang=None), ValueError, "target_lang=None"),
    ],
)
def test_number_translation_bad_arguments(kwargs, error, match):
    kwargs = {"n_samples": 5, **kwargs}
    with pytest.raises(error, match=match):
        make_number_translation(**kwargs, random_state=0)


def test_number_translation_source_lang_ignored_for_digits():
    X, _ = make_number_translation(3, source_lang="xx", source_format="digits", random_state=0)
    assert all(x.isdigit() for x in X)


def test_number_translation_without_num2words(monkeypatch):
    monkeypatch.setitem(sys.modules, "num2words", None)  # import now fails
    with pytest.raises(ImportError, match="pip install num2words"):
        make_number_translation(5)
