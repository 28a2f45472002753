"""Seq2SeqTranslator(protected_tokens=...): placeholders come out exactly as they went in."""

import pickle

import numpy as np
import pytest

from sktfm import Seq2SeqTranslator
from sktfm.metrics import placeholder_fidelity
from sktfm.text.protection import sentinel_counts

WORDS = ["file", "folder", "disk", "user", "line", "page"]
GERMAN = dict(zip(WORDS, ["Datei", "Ordner", "Platte", "Nutzer", "Zeile", "Seite"]))
HOLES = ["%s", "%d", "%1$s", "%.*s", "{name}", "{0}", "%lu"]


def _messages(n, seed):
    """English -> German-ish messages with one or two placeholders, and some without."""
    rng = np.random.default_rng(seed)
    X, y = [], []
    for i in range(n):
        word = WORDS[rng.integers(len(WORDS))]
        holes = list(rng.choice(HOLES, size=i % 3, replace=False))
        X.append(" ".join(["open", word, *holes]).strip())
        y.append(" ".join([*holes[::-1], GERMAN[word], "öffnen"]).strip())
    return X, y


TINY = dict(
    tokenizer="bpe",
    vocab_size=200,
    d_model=16,
    n_heads=2,
    n_layers=1,
    dim_feedforward=32,
    max_epochs=2,
    batch_size=32,
    random_state=0,
    beam_size=2,
)


@pytest.fixture(scope="module")
def fitted():
    X, y = _messages(300, seed=0)
    return Seq2SeqTranslator(protected_tokens=["printf", "brace"], **TINY).fit(X, y)


def test_every_placeholder_comes_out_once_even_from_a_barely_trained_model(fitted):
    X, _ = _messages(60, seed=1)
    X.append("open file {never_seen} %5.2f")  # placeholders the training data never had
    predictions = fitted.predict(X)
    assert placeholder_fidelity(X, predictions) == 1.0
    assert "{never_seen}" in predictions[-1] and "%5.2f" in predictions[-1]


def test_greedy_search_keeps_them_too(fitted):
    X, _ = _messages(30, seed=2)
    model = pickle.loads(pickle.dumps(fitted)).set_params(beam_size=1)
    assert placeholder_fidelity(X, model.predict(X)) == 1.0


def test_pickled_model_translates_the_same(fitted):
    X, _ = _messages(20, seed=3)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict(X), fitted.predict(X))


def test_a_custom_regex_protects_option_names():
    X = [f"use --opt-{i} now" for i in range(40)]
    y = [f"nutze --opt-{i} jetzt" for i in range(40)]
    model = Seq2SeqTranslator(protected_tokens=r"--[a-z0-9-]+", **TINY).fit(X, y)
    assert "--brand-new" in model.predict(["use --brand-new now"])[0]


def test_token_input_and_bad_patterns_are_rejected():
    with pytest.raises(ValueError, match="protected_tokens works on text"):
        Seq2SeqTranslator(protected_tokens="printf", **TINY).fit([["a", "b"]] * 4, [["c"]] * 4)
    with pytest.raises(ValueError, match="invalid regular expression"):
        Seq2SeqTranslator(protected_tokens="(oops", **TINY).fit(["a %s"] * 4, ["b %s"] * 4)


def test_auto_protects_only_when_the_training_sources_have_placeholders():
    X, y = _messages(60, seed=4)
    auto = {k: v for k, v in TINY.items() if k != "max_epochs"}
    model = Seq2SeqTranslator(**auto, max_epochs=1).fit(X, y)
    assert model.get_params()["protected_tokens"] == "auto"
    assert model.protected_tokens_ == ("printf", "brace")
    plain = [x.split(" %")[0].split(" {")[0] for x in X]  # no placeholder left
    model = Seq2SeqTranslator(**auto, max_epochs=1).fit(plain, plain)
    assert model.protected_tokens_ is None
    assert not sentinel_counts(list(model.target_tokenizer_.tokenizer_.get_vocab()))
    model = Seq2SeqTranslator(**auto, max_epochs=1).fit([["a", "%s"]] * 8, [["b", "%s"]] * 8)
    assert model.protected_tokens_ is None  # token input: nothing to protect, no error


def test_a_vocabulary_without_some_sentinels_still_translates():
    X, y = _messages(120, seed=5)
    model = Seq2SeqTranslator(
        **{**TINY, "tokenizer": "word", "vocab_size": 20}, protected_tokens="printf"
    ).fit(X, y)
    vocab = list(model.target_tokenizer_.tokenizer_.get_vocab())
    writable = {k for counts in sentinel_counts(vocab).values() for k, _ in counts}
    assert len(writable) < 16  # the cap cut some sentinels
    spans = ["%s", "%d", "%lu", "%.*s", "%x", "%c", "%u", "%o", "%e", "%g", "%f", "%i"]
    assert set(range(len(spans))) - writable  # at least one of these cannot be written
    [translation] = model.predict(["open " + " ".join(spans)])
    for k, span in enumerate(spans):
        if k in writable:
            assert translation.split().count(span) == 1, (span, translation)
    assert not any(chr(0xE000 + k) in translation for k in range(16))
