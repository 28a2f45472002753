"""Token vectors from co-occurrence statistics: PPMI and a truncated SVD.

A vocabulary-sized embedding table learned from a few thousand labelled texts
starts from noise, and the rarer tokens barely move from it. The same texts
say, without labels, which tokens keep company: a positive pointwise mutual
information (PPMI) matrix of nearby tokens, reduced by a truncated SVD, gives
every seen token a vector whose neighbours are its distributional neighbours
(Levy, Goldberg & Dagan, 2015, "Improving distributional similarity with
lessons learned from word embeddings"). It takes seconds, where masked-token
pre-training on the same texts takes longer than the fit itself.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state
from sklearn.utils.extmath import randomized_svd

__all__ = ["cooccurrence_vectors"]


def cooccurrence_matrix(sequences, vocab_size, *, window=5):
    """Symmetric counts of token pairs at most ``window`` apart, weighted by 1 / distance.

    Parameters
    ----------
    sequences : iterable of 1-D int arrays
        Token ids, each below ``vocab_size``.
    vocab_size : int
    window : int, default=5

    Returns
    -------
    scipy.sparse.csr_matrix of shape (vocab_size, vocab_size)
    """
    rows, cols, weights = [], [], []
    for ids in sequences:
        ids = np.asarray(ids, dtype=np.int64)
        for distance in range(1, min(window, len(ids) - 1) + 1):
            left, right = ids[:-distance], ids[distance:]
            weight = np.full(len(left), 1.0 / distance)
            rows += [left, right]
            cols += [right, left]
            weights += [weight, weight]
    if not rows:
        return sp.csr_matrix((vocab_size, vocab_size))
    counts = sp.coo_matrix(
        (np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))),
        shape=(vocab_size, vocab_size),
    )
    return counts.tocsr()  # sums the duplicates


def cooccurrence_vectors(
    sequences,
    vocab_size,
    n_components,
    *,
    window=5,
    context_smoothing=0.75,
    eigenvalue_weight=0.5,
    random_state=None,
):
    """Vectors of the tokens seen in ``sequences``, from their PPMI matrix.

    ``PPMI(i, j) = max(0, log P(i, j) / (P(i) P_s(j)))`` over pairs at most
    ``window`` tokens apart, with the context distribution smoothed
    (``P_s(j)`` proportional to ``count(j) ** context_smoothing``), then the
    rank-``n_components`` SVD ``U S V^T`` gives the vectors ``U S **
    eigenvalue_weight`` (the settings Levy et al. 2015 recommend).

    Parameters
    ----------
    sequences : iterable of 1-D int arrays
        Token ids, each below ``vocab_size``.
    vocab_size : int
        Rows of the result.
    n_components : int
        Columns of the result (the embedding width).
    window : int, default=5
        Largest distance between two tokens counted as a pair.
    context_smoothing : float, default=0.75
    eigenvalue_weight : float, default=0.5
    random_state : int, RandomState instance or None
        Seeds the randomized SVD.

    Returns
    -------
    vectors : ndarray of shape (vocab_size, n_components), float32
        Scaled to a standard deviation of 1 over the seen rows; the other
        rows, and any columns beyond the rank the data allows, are 0.
    seen : ndarray of shape (vocab_size,), bool
        The tokens that have at least one neighbour in ``sequences``.

    Examples
    --------
    >>> rng = np.random.RandomState(0)
    >>> sequences = [rng.randint(1, 50, size=20) for _ in range(200)]
    >>> vectors, seen = cooccurrence_vectors(sequences, 60, 8, random_state=0)
    >>> vectors.shape, int(seen.sum()), round(float(vectors[seen].std()), 3)
    ((60, 8), 49, 1.0)
    """
    counts = cooccurrence_matrix(sequences, vocab_size, window=window).tocoo()
    vectors = np.zeros((vocab_size, n_components), dtype=np.float32)
    token_counts = np.asarray(counts.sum(axis=1)).ravel()
    seen = token_counts > 0
    if counts.nnz == 0:
        return vectors, seen
    context = token_counts**context_smoothing
    # log P(i, j) / (P(i) P_s(j)), every probability a count over its total
    pmi = np.log(counts.data * context.sum() / token_counts[counts.row] / context[counts.col])
    positive = pmi > 0
    ppmi = sp.csr_matrix(
        (pmi[positive], (counts.row[positive], counts.col[positive])),
        shape=(vocab_size, vocab_size),
    )
    rank = min(n_components, int(seen.sum()) - 1)
    if rank < 1 or ppmi.nnz == 0:
        return vectors, seen
    u, s, _ = randomized_svd(ppmi, rank, random_state=check_random_state(random_state))
    vectors[seen, :rank] = (u * s**eigenvalue_weight)[seen]  # unseen rows: 0, not round-off
    vectors /= vectors[seen].std()
    return vectors, seen
