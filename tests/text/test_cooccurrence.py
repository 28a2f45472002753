"""Token vectors from co-occurrence counts (PPMI + truncated SVD)."""

import numpy as np
import pytest

from sktfm.text.cooccurrence import cooccurrence_matrix, cooccurrence_vectors


def _topic_sequences(rng, n=400, length=12):
    """Ids 1-10 only ever appear among themselves, ids 11-20 likewise."""
    topics = [np.arange(1, 11), np.arange(11, 21)]
    return [rng.choice(topics[i % 2], size=length) for i in range(n)]


def _cosine(a, b):
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def test_counts_pairs_within_the_window_weighted_by_distance():
    counts = cooccurrence_matrix([np.array([1, 2, 3])], 5, window=2).toarray()
    expected = np.zeros((5, 5))
    expected[1, 2] = expected[2, 1] = expected[2, 3] = expected[3, 2] = 1.0
    expected[1, 3] = expected[3, 1] = 0.5
    np.testing.assert_allclose(counts, expected)


def test_tokens_that_keep_company_get_similar_vectors():
    sequences = _topic_sequences(np.random.RandomState(0))
    vectors, seen = cooccurrence_vectors(sequences, 25, 6, random_state=0)
    assert vectors.shape == (25, 6) and vectors.dtype == np.float32
    np.testing.assert_array_equal(seen, np.isin(np.arange(25), np.arange(1, 21)))
    first, second = range(1, 11), range(11, 21)
    same = np.mean([_cosine(vectors[i], vectors[j]) for i in first for j in first if i != j])
    other = np.mean([_cosine(vectors[i], vectors[j]) for i in first for j in second])
    assert same > 0.5 > other + 0.5
    assert np.all(vectors[~seen] == 0)
    assert vectors[seen].std() == pytest.approx(1.0, rel=1e-4)


def test_same_seed_same_vectors():
    sequences = _topic_sequences(np.random.RandomState(1))
    first, _ = cooccurrence_vectors(sequences, 25, 6, random_state=3)
    second, _ = cooccurrence_vectors(sequences, 25, 6, random_state=3)
    np.testing.assert_array_equal(first, second)


def test_rank_is_capped_by_the_tokens_seen():
    sequences = [np.array([1, 2, 3, 1, 2, 3])] * 5
    vectors, seen = cooccurrence_vectors(sequences, 10, 8, random_state=0)
    assert seen.sum() == 3
    assert np.all(vectors[:, 2:] == 0)  # at most 2 components from 3 tokens
    assert np.isfinite(vectors).all()


@pytest.mark.parametrize("sequences", [[], [np.array([4])], [np.array([], dtype=np.int64)]])
def test_no_pairs_gives_no_vectors(sequences):
    vectors, seen = cooccurrence_vectors(sequences, 10, 4, random_state=0)
    assert not seen.any() and np.all(vectors == 0)
