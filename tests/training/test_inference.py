"""sktfm.training.inference: batched outputs, embeddings, attention and generation."""

import numpy as np
import pytest
import torch

from sktfm import Seq2SeqTranslator, TransformerClassifier, TransformerEncoder
from sktfm.text.special_tokens import PAD_ID
from sktfm.training import inference

SMALL = dict(
    d_model=16,
    n_heads=2,
    n_layers=2,
    dim_feedforward=32,
    dropout=0.0,
    max_epochs=1,
    batch_size=16,
    vocab_size=200,
    device="cpu",
    random_state=0,
)


@pytest.fixture(scope="module")
def text_model(topic_texts):
    X, y = topic_texts
    # One model: embeddings are those of a backbone (an ensemble has two).
    model = TransformerClassifier(**SMALL, ensemble_size=1).fit(X[:120], y[:120])
    X_model = model._model_input(X[:40])
    assert isinstance(X_model, list) and len({len(ids) for ids in X_model}) > 3
    return model.net_, X_model


@pytest.fixture(scope="module")
def tabular_model():
    X = np.random.RandomState(0).normal(size=(40, 4))
    model = TransformerEncoder(**SMALL).fit(X)
    X_model = model._model_input(X)
    assert isinstance(X_model, np.ndarray)
    return model.net_, X_model


def _one_at_a_time(function, net, X):
    return np.concatenate([function(net, X[i : i + 1], batch_size=1) for i in range(len(X))])


@pytest.mark.parametrize("function", [inference.predict_outputs, inference.embed])
@pytest.mark.parametrize("model", ["text_model", "tabular_model"])
def test_rows_do_not_depend_on_the_batch_size(request, model, function):
    net, X = request.getfixturevalue(model)
    expected = _one_at_a_time(function, net, X)
    assert expected.dtype == np.float32 and len(expected) == len(X)
    for batch_size in (1, 3, 64):
        np.testing.assert_allclose(
            function(net, X, batch_size=batch_size),
            expected,
            rtol=1e-5,
            atol=1e-5,
            err_msg=f"{batch_size=}",
        )
        assert net.batch_size == SMALL["batch_size"]  # never changed


@pytest.mark.parametrize("function", [inference.predict_outputs, inference.embed])
def test_variable_lengths_come_back_in_input_order(text_model, function, monkeypatch):
    net, X = text_model
    X = sorted(X, key=len, reverse=True)  # the reverse of the order of computation
    expected = _one_at_a_time(function, net, X)
    np.testing.assert_allclose(function(net, X, batch_size=4), expected, rtol=1e-5, atol=1e-5)
    # Chunks of one batch: rows from many chunks land at their own positions.
    monkeypatch.setattr(inference, "_BATCHES_PER_CHUNK", 1)
    np.testing.assert_allclose(function(net, X, batch_size=3), expected, rtol=1e-5, atol=1e-5)


def test_embeddings_are_the_pooled_backbone_output(text_model):
    net, X = text_model
    embeddings = inference.embed(net, X, batch_size=8)
    assert embeddings.shape == (len(X), SMALL["d_model"])
    # The task model's output is its head applied to these embeddings.
    with torch.inference_mode():
        logits = net.module_.head(torch.as_tensor(embeddings)).numpy()
    np.testing.assert_allclose(
        inference.predict_outputs(net, X, batch_size=8), logits, rtol=1e-4, atol=1e-5
    )


@pytest.mark.parametrize("model", ["text_model", "tabular_model"])
def test_self_attention_per_sample_without_padding(request, model):
    net, X = request.getfixturevalue(model)
    maps = inference.self_attention(net, X, batch_size=5)
    assert len(maps) == len(X)
    for sample, weights in zip(X, maps):
        n = len(sample) + 1  # [CLS], then the tokens (or features)
        assert weights.shape == (SMALL["n_layers"], SMALL["n_heads"], n, n)
        assert weights.dtype == np.float32 and (weights >= 0).all()
        np.testing.assert_allclose(weights.sum(axis=-1), 1.0, atol=1e-5)
    # Padding is left out, so a sample's maps are those it has alone.
    for i in (0, len(X) - 1):
        np.testing.assert_allclose(
            maps[i], inference.self_attention(net, X[i : i + 1], batch_size=1)[0], atol=1e-5
        )
    assert net.batch_size == SMALL["batch_size"]


WORDS = {"one": "un", "two": "deux", "three": "trois"}


@pytest.fixture(scope="module")
def translator():
    rng = np.random.RandomState(0)
    X = [" ".join(rng.choice(list(WORDS), size=rng.randint(1, 6))) for _ in range(40)]
    y = [" ".join(WORDS[w] for w in sentence.split()) for sentence in X]
    model = Seq2SeqTranslator(
        **{
            **SMALL,
            "n_layers": 1,
            "vocab_size": 50,
            "max_len": 16,
            "max_epochs": 2,
            "batch_size": 8,
        }
    ).fit(X, y)
    return model, model._sources(X[:11])[0], y[:11]


def test_generate_returns_one_id_list_per_source_in_input_order(translator, monkeypatch):
    model, sources, _ = translator
    net = model.net_
    generated = inference.generate(net, sources, batch_size=3, max_output_len=6)
    assert len(generated) == len(sources)
    assert all(isinstance(ids, list) and len(ids) <= 6 for ids in generated)
    assert all(isinstance(i, int) for ids in generated for i in ids)
    assert generated == [
        inference.generate(net, [src], batch_size=1, max_output_len=6)[0] for src in sources
    ]
    assert net.batch_size == 8

    # A module that "translates" each source into its own ids shows where
    # every result lands, and how the batches were formed.
    batch_sizes = []

    def echo(src, **kwargs):
        batch_sizes.append(len(src))
        return [[int(i) for i in row if i != PAD_ID] for row in src]

    monkeypatch.setattr(net.module_, "generate", echo)
    echoed = inference.generate(net, sources, batch_size=4)
    assert echoed == [list(map(int, src)) for src in sources]
    assert batch_sizes == [4, 4, 3]


def test_cross_attention_maps_per_pair(translator):
    model, sources, references = translator
    targets = [model._wrap_target(ids) for ids in model.target_tokenizer_.transform(references)]
    maps = inference.cross_attention(model.net_, sources, targets, batch_size=4)
    assert len(maps) == len(sources)
    for source, target, weights in zip(sources, targets, maps):
        # Queries: [BOS] and the target tokens; keys: the source tokens.
        assert weights.shape == (1, SMALL["n_heads"], len(target) - 1, len(source))
        np.testing.assert_allclose(weights.sum(axis=-1), 1.0, atol=1e-5)
