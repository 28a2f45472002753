"""Predictions do not depend on the inference batch size.

Text batches are padded to their longest sample (dynamic padding), so the
same text sits next to different amounts of padding at batch sizes 1, 7 and
64. Padding must not leak into attention or pooling: embeddings agree within
1e-5 (float32 reductions over padded widths may differ in the last bits),
class labels and translations (greedy and beam) are identical.
"""

import numpy as np
import pytest

from sktfm import (
    Seq2SeqTranslator,
    TransformerClassifier,
    TransformerEncoder,
    TransformerRegressor,
)
from sktfm.datasets import make_number_translation, make_topic_texts

BATCH_SIZES = (1, 7, 64)
TINY = dict(
    d_model=16,
    n_heads=2,
    n_layers=1,
    dim_feedforward=32,
    dropout=0.0,
    max_epochs=2,
    lr=1e-2,
    batch_size=32,
    vocab_size=300,
    ema_decay=None,
    device="cpu",
    random_state=0,
)
#: TINY for a classifier or regressor: one model, not "auto"'s pair for text.
TINY_HEAD = dict(TINY, ensemble_size=1)


def _with_batch_size(model, batch_size):
    """Change the inference batch size of a fitted model.

    The estimator's ``batch_size`` is read at fit; the fitted skorch net
    reads its own, so both are set.
    """
    model.set_params(batch_size=batch_size)
    model.net_.set_params(batch_size=batch_size)
    return model


@pytest.fixture(scope="module")
def texts():
    X, y = make_topic_texts(200, random_state=0)
    lengths = {len(text.split()) for text in X}
    assert len(lengths) > 5, "the set must mix lengths so that padding varies"
    return list(X), np.asarray(y)


@pytest.fixture(scope="module")
def translation():
    X, y = make_number_translation(300, max_value=999, random_state=0)
    return list(X), list(y)


def test_encoder_transform_is_batch_size_invariant(texts):
    X, _ = texts
    model = TransformerEncoder(**TINY).fit(X)
    out = {b: _with_batch_size(model, b).transform(X) for b in BATCH_SIZES}
    for b in BATCH_SIZES[1:]:
        np.testing.assert_allclose(
            out[b], out[1], rtol=0, atol=1e-5, err_msg=f"batch_size={b} vs 1"
        )


@pytest.mark.parametrize(
    "estimator", [TransformerEncoder, TransformerClassifier, TransformerRegressor]
)
def test_tabular_rows_predicted_alone_match_the_batch(estimator):
    # The intent of scikit-learn's check_methods_subset_invariance, at a float32
    # tolerance (see test_sklearn_checks.py for why not bit for bit).
    rng = np.random.RandomState(0)
    X = rng.normal(size=(30, 4))
    y = rng.randint(0, 3, 30) if estimator is TransformerClassifier else rng.normal(size=30)
    model = estimator(**TINY).fit(X, y)
    method = {
        TransformerEncoder: "transform",
        TransformerClassifier: "predict_proba",
        TransformerRegressor: "predict",
    }[estimator]
    together = getattr(model, method)(X)
    alone = np.concatenate([getattr(model, method)(X[i : i + 1]) for i in range(len(X))])
    np.testing.assert_allclose(alone, together, rtol=1e-5, atol=1e-6)
    assert np.ptp(together) > 1e-3  # the outputs vary, so the comparison has teeth


@pytest.mark.parametrize("pooling", ["cls", "max"])
def test_encoder_pooling_ignores_padding(texts, pooling):
    X, _ = texts
    model = TransformerEncoder(**TINY, pooling=pooling).fit(X[:100])
    out = {b: _with_batch_size(model, b).transform(X) for b in (1, 64)}
    np.testing.assert_allclose(out[64], out[1], rtol=0, atol=1e-5)


def test_classifier_labels_are_batch_size_invariant(texts):
    X, y = texts
    model = TransformerClassifier(**{**TINY_HEAD, "max_epochs": 5}).fit(X, y)
    labels, proba = {}, {}
    for b in BATCH_SIZES:
        _with_batch_size(model, b)
        labels[b], proba[b] = model.predict(X), model.predict_proba(X)
    for b in BATCH_SIZES[1:]:
        np.testing.assert_array_equal(labels[b], labels[1])
        np.testing.assert_allclose(proba[b], proba[1], rtol=0, atol=1e-5)
    assert len(set(labels[1])) > 1, "a trained model predicts several classes"


# Its tests share an xdist_group: one worker fits it, once.
@pytest.fixture(scope="module")
def translator(translation):
    X, y = translation
    params = {key: value for key, value in TINY.items() if key != "n_layers"}
    params.update(
        n_encoder_layers=1,
        n_decoder_layers=1,
        max_len=32,
        warmup_steps=0,
        max_epochs=8,
        max_output_len=24,
        # A constant rate (no warm-up, no decay) over word tokens: enough
        # training in 8 epochs for varied translations.
        lr_schedule="inverse_sqrt",
        tokenizer="word",
    )
    return Seq2SeqTranslator(**params).fit(X, y)


@pytest.mark.xdist_group("batch-invariance-translator")
@pytest.mark.parametrize("beam_size", [1, 3])
def test_translator_is_batch_size_invariant(translator, translation, beam_size):
    X, _ = translation
    model = translator.set_params(beam_size=beam_size)
    X_test = X[:200]
    out = {b: _with_batch_size(model, b).predict(X_test) for b in BATCH_SIZES}
    for b in BATCH_SIZES[1:]:
        assert out[b].tolist() == out[1].tolist(), f"batch_size={b} vs 1"
    assert len(set(out[1])) > 20, "a trained model gives varied translations"
    states = {b: _with_batch_size(model, b).transform(X_test) for b in (1, 64)}
    np.testing.assert_allclose(states[64], states[1], rtol=0, atol=1e-5)


def test_estimator_batch_size_alone_sets_inference_batches(texts):
    X, _ = texts
    model = TransformerEncoder(**{**TINY, "max_epochs": 1}).fit(X[:50])
    seen = []
    collate = model.net_.iterator_valid__collate_fn

    def spy(batch):
        seen.append(len(batch))
        return collate(batch)

    model.net_.iterator_valid__collate_fn = spy
    model.set_params(batch_size=7).transform(X[:50])
    assert max(seen) == 7, seen


def test_outputs_follow_input_order_across_chunks(texts):
    """Inference sorts by length and works chunk by chunk; rows stay in input order."""
    X, y = texts
    classifier = _with_batch_size(TransformerClassifier(**TINY_HEAD).fit(X, y), 1)  # 64-row chunks
    encoder = _with_batch_size(TransformerEncoder(**TINY).fit(X), 1)
    permutation = np.random.RandomState(0).permutation(len(X))
    shuffled = [X[i] for i in permutation]
    np.testing.assert_array_equal(classifier.predict(shuffled), classifier.predict(X)[permutation])
    np.testing.assert_allclose(
        encoder.transform(shuffled), encoder.transform(X)[permutation], atol=1e-5
    )
    # Each row is the sample's own embedding, not a neighbour's.
    for i in (0, 57, 199):
        np.testing.assert_allclose(encoder.transform([X[i]])[0], encoder.transform(X)[i], atol=1e-5)


@pytest.mark.filterwarnings("ignore:precision='bfloat16' on a CPU without native")
def test_bf16_precision_stays_within_bf16_tolerance_of_float32(texts):
    """``precision="bf16"`` (autocast) changes speed, not what the model says."""
    X, y = texts
    plain = TransformerEncoder(**TINY).fit(X)
    bf16 = TransformerEncoder(**TINY).fit(X)
    bf16.net_.precision = "bfloat16"  # the same weights, inference under autocast
    a, b = plain.transform(X), bf16.transform(X)
    assert b.dtype == np.float32
    assert np.abs(a - b).max() <= 0.05 * np.abs(a).max()  # bf16 keeps ~3 significant digits
    classifier = TransformerClassifier(**TINY_HEAD, precision="bf16").fit(X, y)
    assert classifier.net_.precision == "bfloat16"
    assert (
        np.mean(classifier.predict(X) == TransformerClassifier(**TINY_HEAD).fit(X, y).predict(X))
        > 0.9
    )


def test_compiled_model_gives_the_plain_results(texts):
    """``compile=True`` runs the same model through torch.compile: same fit, same outputs."""
    X, y = texts
    X, y = X[:64], y[:64]
    options = dict(TINY_HEAD, max_epochs=1)
    plain = TransformerClassifier(**options).fit(X, y)
    from torch._dynamo.utils import counters

    counters.clear()
    compiled = TransformerClassifier(**options, compile=True).fit(X, y)
    np.testing.assert_allclose(compiled.predict_proba(X), plain.predict_proba(X), atol=1e-4)
    # One graph per shape: no data-dependent branch (packing, dead-row checks)
    # splits the compiled forward.
    assert not counters["graph_break"], dict(counters["graph_break"])
    assert "compiled_module_" in compiled.net_.__dict__  # the compiled path did run
    import pickle

    restored = pickle.loads(pickle.dumps(compiled))
    assert "compiled_module_" not in restored.net_.__dict__
    np.testing.assert_allclose(restored.predict_proba(X), plain.predict_proba(X), atol=1e-4)


def test_compiled_encoder_transform_runs_compiled_with_the_plain_results(texts):
    X, _ = texts
    X = X[:64]
    model = TransformerEncoder(**dict(TINY, max_epochs=1)).fit(X)
    plain = model.transform(X)
    model.net_.compiled = True  # the same weights, embeddings through torch.compile
    np.testing.assert_allclose(model.transform(X), plain, atol=1e-4)
    compiled_twins = {"compiled_module_", "compiled_embed_"}
    assert compiled_twins & set(model.net_.__dict__)  # the compiled path did run
    import pickle

    restored = pickle.loads(pickle.dumps(model))
    assert not compiled_twins & set(restored.net_.__dict__)
    np.testing.assert_allclose(restored.transform(X), plain, atol=1e-4)
