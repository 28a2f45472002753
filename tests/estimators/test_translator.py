"""Seq2SeqTranslator: learning, generation, scoring and the scikit-learn contract."""

import pickle

import joblib
import numpy as np
import pytest
import sacrebleu
import torch
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV

from sktfm import Seq2SeqTranslator
from sktfm.metrics import bleu_scorer

WORDS = {"one": "un", "two": "deux", "three": "trois", "four": "quatre", "five": "cinq"}

TINY_TRANSLATOR = dict(
    d_model=32,
    n_heads=4,
    n_encoder_layers=1,
    n_decoder_layers=1,
    dim_feedforward=64,
    dropout=0.0,
    max_epochs=25,
    batch_size=32,
    lr=5e-3,
    warmup_steps=20,
    label_smoothing=0.0,
    max_len=16,
    vocab_size=100,
    device="cpu",
    random_state=0,
)


def _word_pairs(n, seed=0):
    """Word-by-word translation of random 2-4 word sentences."""
    rng = np.random.RandomState(seed)
    english = list(WORDS)
    X, y = [], []
    for _ in range(n):
        sentence = list(rng.choice(english, size=rng.randint(2, 5)))
        X.append(" ".join(sentence))
        y.append(" ".join(WORDS[w] for w in sentence))
    return X, y


# Its tests share an xdist_group: one worker fits it, once.
@pytest.fixture(scope="module")
def fitted():
    X, y = _word_pairs(300)
    return Seq2SeqTranslator(**TINY_TRANSLATOR).fit(X, y), X, y


@pytest.mark.xdist_group("translator-fitted")
def test_learns_to_translate(fitted):
    model, X, y = fitted
    losses = model.history_[:, "train_loss"]
    assert losses[0] > 3 * losses[-1]
    X_test, y_test = _word_pairs(60, seed=1)
    predictions = model.predict(X_test)
    assert isinstance(predictions, np.ndarray) and predictions.dtype == object
    assert predictions.shape == (60,)
    assert np.mean(predictions == np.array(y_test, dtype=object)) >= 0.9
    assert model.score(X_test, y_test) > 80


@pytest.mark.xdist_group("translator-fitted")
def test_score_is_sacrebleu_corpus_bleu(fitted):
    model, X, y = fitted
    X_test, y_test = _word_pairs(40, seed=2)
    hypotheses = list(model.predict(X_test))
    expected = sacrebleu.metrics.BLEU().corpus_score(hypotheses, [y_test]).score
    assert model.score(X_test, y_test) == pytest.approx(expected)


@pytest.mark.xdist_group("translator-fitted")
def test_beam_size_is_a_predict_time_setting(fitted):
    model, X, y = fitted
    greedy = pickle.loads(pickle.dumps(model)).set_params(beam_size=1)
    wide = pickle.loads(pickle.dumps(model)).set_params(beam_size=6, length_penalty=0.0)
    for variant in (greedy, wide):
        assert np.mean(variant.predict(X[:40]) == np.array(y[:40], dtype=object)) > 0.9


@pytest.mark.xdist_group("translator-fitted")
def test_empty_and_unseen_sources_translate(fitted):
    model, _, _ = fitted
    out = model.predict(["", "six seven", "one " * 40])
    assert out.shape == (3,) and all(isinstance(text, str) for text in out)


@pytest.mark.xdist_group("translator-fitted")
def test_transform_and_attention_weights(fitted):
    model, X, y = fitted
    states = model.transform(X[:5])
    assert states.shape == (5, TINY_TRANSLATOR["d_model"]) and states.dtype == np.float32
    maps = model.attention_weights(X[:3], y[:3])
    for source, target, weights in zip(X[:3], y[:3], maps):
        n_src, n_tgt = len(source.split()), len(target.split()) + 1  # + [BOS]
        assert weights.shape == (1, 4, n_tgt, n_src)
        np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-5)
    assert len(model.attention_weights(X[:2])) == 2  # on its own translations


@pytest.mark.xdist_group("translator-fitted")
@pytest.mark.parametrize("dump", ["pickle", "joblib"])
def test_round_trips_translate_identically(fitted, tmp_path, dump):
    model, X, _ = fitted
    if dump == "pickle":
        restored = pickle.loads(pickle.dumps(model))
    else:
        joblib.dump(model, tmp_path / "translator.joblib")
        restored = joblib.load(tmp_path / "translator.joblib")
    assert restored.predict(X[:20]).tolist() == model.predict(X[:20]).tolist()


def test_grid_search_with_bleu_scorer():
    X, y = _word_pairs(120)
    search = GridSearchCV(
        Seq2SeqTranslator(**{**TINY_TRANSLATOR, "max_epochs": 3}),
        {"beam_size": [1, 2]},
        scoring=bleu_scorer,
        cv=2,
    )
    search.fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_tokenizer_pair_digits_to_words():
    rng = np.random.RandomState(0)
    numbers = rng.randint(0, 10, size=(200, 2))
    names = list(WORDS) + ["six", "seven", "eight", "nine", "zero"]
    X = ["".join(map(str, row)) for row in numbers]
    y = [" ".join(names[(d - 1) % 10] for d in row) for row in numbers]
    model = Seq2SeqTranslator(**TINY_TRANSLATOR, tokenizer=("char", "word")).fit(X, y)
    assert model.source_tokenizer_.kind == "char"
    assert model.target_tokenizer_.kind == "word"
    assert model.predict(X[:3]).shape == (3,)


def test_share_vocab_shares_one_tokenizer():
    X, y = _word_pairs(60)
    model = Seq2SeqTranslator(**{**TINY_TRANSLATOR, "max_epochs": 1}, share_vocab=True).fit(X, y)
    assert model.source_tokenizer_ is model.target_tokenizer_
    with pytest.raises(ValueError, match="share_vocab"):
        Seq2SeqTranslator(share_vocab=True, tokenizer=("char", "word")).fit(X, y)


def test_early_stopping_on_bleu_records_it():
    X, y = _word_pairs(120)
    model = Seq2SeqTranslator(**{**TINY_TRANSLATOR, "max_epochs": 3}, early_stopping="bleu").fit(
        X, y
    )
    assert all(0 <= row["valid_bleu"] <= 100 for row in model.history_)


def test_random_state_repeats_fit():
    X, y = _word_pairs(80)
    params = {**TINY_TRANSLATOR, "max_epochs": 2, "dropout": 0.1}
    first = Seq2SeqTranslator(**params).fit(X, y).transform(X)
    second = Seq2SeqTranslator(**params).fit(X, y).transform(X)
    np.testing.assert_array_equal(first, second)


def test_bad_input_raises_clear_errors():
    X, y = _word_pairs(10)
    model = Seq2SeqTranslator(**TINY_TRANSLATOR)
    with pytest.raises(ValueError, match="X has 10 samples but y has 9"):
        model.fit(X, y[:9])
    with pytest.raises(ValueError, match="None"):
        model.fit(X[:-1] + [None], y)
    with pytest.raises(ValueError, match="None"):
        model.fit(X, y[:-1] + [None])
    with pytest.raises(ValueError, match="0 sample|empty"):
        model.fit([], [])
    with pytest.raises(ValueError, match="requires y"):
        model.fit(X, None)
    with pytest.raises(NotFittedError):
        model.predict(X)


def test_fit_contract_on_text():
    """The properties scikit-learn's data checks test, on text input."""
    X, y = _word_pairs(60)
    model = Seq2SeqTranslator(**{**TINY_TRANSLATOR, "max_epochs": 2})
    params_before = joblib.hash(model.get_params())
    attrs_before = set(vars(model))
    assert model.fit(X, y) is model
    assert joblib.hash(model.get_params()) == params_before
    added = set(vars(model)) - attrs_before
    assert all(name.endswith("_") or name.startswith("_") for name in added)
    full = model.predict(X)
    assert model.predict(X[:7]).tolist() == full[:7].tolist()
    assert model.predict(X[::-1]).tolist() == full[::-1].tolist()


SHAPE_ONLY = dict(
    d_model=16,
    n_heads=2,
    dim_feedforward=32,
    dropout=0.0,
    max_epochs=1,
    max_len=16,
    vocab_size=100,
    device="cpu",
    random_state=0,
)


@pytest.mark.parametrize(
    "params, stacks",
    [
        ({"n_layers": 2}, (2, 2)),
        ({"n_layers": 2, "n_decoder_layers": 1}, (2, 1)),
        ({"n_layers": 1, "n_encoder_layers": 3}, (3, 1)),
    ],
)
def test_n_layers_sets_both_stacks_unless_overridden(params, stacks):
    X, y = _word_pairs(20)
    model = Seq2SeqTranslator(**SHAPE_ONLY, **params).fit(X, y)
    assert (len(model.module_.encoder.layers), len(model.module_.decoder.layers)) == stacks
    assert model.get_params()["n_encoder_layers"] == params.get("n_encoder_layers")


def test_pooling_decides_what_transform_returns():
    X, y = _word_pairs(20)
    states = {}
    for pooling in ("mean", "max", "cls"):
        model = Seq2SeqTranslator(**SHAPE_ONLY, n_layers=1, pooling=pooling).fit(X, y)
        assert model.module_.pooling.mode == pooling
        states[pooling] = model.transform(X[:4])
        ids = torch.as_tensor(model.source_tokenizer_.transform(X[:1])[0][None])
        with torch.inference_mode():
            memory, _ = model.module_.eval().encode(ids)  # one source: no padding
        reference = {"mean": memory.mean(1), "max": memory.max(1).values, "cls": memory[:, 0]}[
            pooling
        ]
        np.testing.assert_allclose(
            states[pooling][:1], reference.detach().numpy(), rtol=1e-5, atol=1e-6
        )
    assert not np.allclose(states["mean"], states["max"])
    assert not np.allclose(states["mean"], states["cls"])
