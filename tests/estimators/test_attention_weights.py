"""attention_weights(X): per layer and head, per sample, on every sequence estimator."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from sktfm import TransformerClassifier, TransformerEncoder, TransformerRegressor


def _check_maps(maps, n_samples, n_layers, n_heads, lengths):
    assert len(maps) == n_samples
    for weights, length in zip(maps, lengths):
        assert weights.dtype == np.float32
        assert weights.shape == (n_layers, n_heads, length, length)
        np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-5)


def test_text_maps_cover_cls_and_the_real_tokens(tiny, tiny_head, topic_texts):
    X, y = topic_texts
    model = TransformerClassifier(**{**tiny_head, "n_layers": 2}).fit(X, y)
    texts = ["", X[0], X[1] + " " + X[2]]  # very different lengths: padding in a batch
    maps = model.attention_weights(texts)
    lengths = [len(ids) + 1 for ids in model.tokenizer_.transform(texts)]  # + [CLS]
    _check_maps(maps, 3, 2, tiny["n_heads"], lengths)
    # Padding is masked: a sample's maps do not depend on its batch mates.
    alone = model.attention_weights([texts[1]])[0]
    np.testing.assert_allclose(maps[1], alone, rtol=1e-5, atol=1e-6)


def test_tabular_maps_have_one_token_per_feature(tiny, tiny_head, tabular_xy):
    X, y = tabular_xy
    model = TransformerRegressor(**tiny_head).fit(X, y)
    _check_maps(model.attention_weights(X[:5]), 5, 1, tiny["n_heads"], [X.shape[1] + 1] * 5)


def test_sequence_maps_and_unfitted_error(tiny):
    X = np.random.RandomState(0).normal(size=(12, 6, 2))
    model = TransformerEncoder(**tiny)
    with pytest.raises(NotFittedError):
        model.attention_weights(X)
    model.fit(X)
    _check_maps(model.attention_weights(X[:2]), 2, 1, tiny["n_heads"], [7, 7])


def test_maps_come_from_the_fitted_weights(tiny_head, tabular_xy):
    # Two models trained differently attend differently: the maps are not a
    # fixed pattern (e.g. uniform), they read the fitted attention.
    X, y = tabular_xy
    first = TransformerRegressor(**tiny_head).fit(X, y).attention_weights(X[:3])
    second = (
        TransformerRegressor(**{**tiny_head, "random_state": 1}).fit(X, y).attention_weights(X[:3])
    )
    assert not np.allclose(first[0], second[0])
    assert not np.allclose(first[0], 1.0 / first[0].shape[-1])
