"""Tokenizer(output="ids"): what the xfailed scikit-learn checks test.

With its default output, Tokenizer returns a 1-D object array of int64 id
arrays of varying lengths; scikit-learn's checks compare outputs with
assert_allclose, which cannot compare arrays of arrays (see
tests/test_sklearn_checks.py). The same properties are tested here sequence
by sequence, on the numeric table those checks feed and on text, whose
sequences differ in length.
"""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.pipeline import FunctionTransformer, make_pipeline
from sklearn.utils.estimator_checks import _NotAnArray

from sktfm.text import TOKENIZER_KINDS, Tokenizer

from .conftest import CORPUS

TABLE = np.random.RandomState(0).uniform(size=(12, 3)).round(2)
TEXTS = np.asarray(CORPUS, dtype=object)


def assert_same_ids(actual, expected):
    assert isinstance(actual, np.ndarray) and actual.dtype == object
    assert actual.shape == expected.shape == (len(expected),)
    for got, want in zip(actual, expected):
        assert got.dtype == np.int64 and got.ndim == 1
        np.testing.assert_array_equal(got, want)


@pytest.fixture(params=["table", "text"])
def X(request):
    return TABLE if request.param == "table" else TEXTS


@pytest.mark.parametrize("kind", TOKENIZER_KINDS)
class TestIdsOutputCheckIntent:
    def test_fit_transform_matches_transform_and_refit(self, X, kind):
        tok = Tokenizer(kind).fit(X)
        expected = tok.transform(X)
        assert_same_ids(clone(tok).fit_transform(X), expected)
        assert_same_ids(tok.fit(X).transform(X), expected)  # fit is idempotent
        if X is TEXTS:
            assert len({len(ids) for ids in expected}) > 1  # really ragged

    def test_not_an_array_and_list(self, X, kind):
        expected = Tokenizer(kind).fit_transform(X)
        assert_same_ids(Tokenizer(kind).fit_transform(X.tolist()), expected)
        if X is TABLE:
            assert_same_ids(Tokenizer(kind).fit_transform(_NotAnArray(X)), expected)

    def test_subset_and_order_invariance(self, X, kind):
        tok = Tokenizer(kind).fit(X)
        full = tok.transform(X)
        for i in range(len(X)):
            assert_same_ids(tok.transform(X[i : i + 1]), full[i : i + 1])
        order = np.random.RandomState(1).permutation(len(X))
        assert_same_ids(tok.transform(X[order]), full[order])

    def test_pickle_and_pipeline(self, X, kind):
        tok = Tokenizer(kind).fit(X)
        restored = pickle.loads(pickle.dumps(tok))
        assert_same_ids(restored.transform(X), tok.transform(X))
        pipe = make_pipeline(Tokenizer(kind), FunctionTransformer())
        assert_same_ids(pipe.fit_transform(X), tok.transform(X))
