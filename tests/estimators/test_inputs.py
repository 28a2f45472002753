"""Every input type the contract lists, odd-but-valid text, and clear errors."""

import pickle
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from sktfm import (
    Seq2SeqTranslator,
    TransformerClassifier,
    TransformerEncoder,
    TransformerRegressor,
)
from sktfm.data import infer_input_type

ESTIMATORS = [TransformerEncoder, TransformerClassifier, TransformerRegressor]


def _inputs():
    rng = np.random.RandomState(0)
    words = ["alpha", "beta", "gamma", "delta"]
    text = [" ".join(rng.choice(words, size=rng.randint(1, 6))) for _ in range(24)]
    return {
        "text": text,
        "tokens": [sentence.split() for sentence in text],
        "tabular": rng.normal(size=(24, 5)),
        "sequence": rng.normal(size=(24, 7, 3)),
    }


def _target(Estimator, n):
    if Estimator is TransformerRegressor:
        return np.linspace(-1, 1, n)
    return np.array(["no", "yes"] * (n // 2), dtype=object)


@pytest.mark.parametrize("input_type", ["text", "tokens", "tabular", "sequence"])
@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_every_input_type_fits_and_predicts(tiny, tiny_head, Estimator, input_type):
    X = _inputs()[input_type]
    assert infer_input_type(X) == input_type
    y = None if Estimator is TransformerEncoder else _target(Estimator, len(X))
    params = tiny if Estimator is TransformerEncoder else tiny_head
    model = Estimator(**params).fit(X, y)
    assert model.input_type_ == input_type
    if Estimator is TransformerEncoder:
        out = model.transform(X)
        assert out.shape == (len(X), tiny["d_model"]) and out.dtype == np.float32
    else:
        assert model.predict(X).shape == (len(X),)
    explicit = Estimator(**params, input_type=input_type).fit(X, y)
    assert explicit.input_type_ == input_type


@pytest.mark.parametrize("container", [np.array, pd.Series, lambda X: pd.DataFrame({"t": X})])
def test_text_containers(tiny, container):
    X = _inputs()["text"]
    model = TransformerEncoder(**tiny).fit(container(X))
    assert model.input_type_ == "text"
    np.testing.assert_allclose(model.transform(container(X)), model.transform(X))


def test_multi_output_regression(tiny_head):
    # Two different linear functions of the features (nearly uncorrelated:
    # their weight vectors are almost orthogonal), on scales 100x apart.
    rng = np.random.RandomState(1)
    weights = np.array([[1.0, -2.0, 0.5], [-0.5, 0.0, 1.5]]).T  # (3 features, 2 outputs)
    X, X_test = rng.normal(size=(256, 3)), rng.normal(size=(200, 3))
    scale, offset = np.array([1.0, 100.0]), np.array([0.0, 10.0])
    y, y_test = X @ weights * scale + offset, X_test @ weights * scale + offset
    model = TransformerRegressor(**{**tiny_head, "max_epochs": 10, "lr": 1e-2}).fit(X, y)
    pred = model.predict(X_test)
    assert pred.shape == (200, 2)
    r2 = 1 - ((pred - y_test) ** 2).sum(axis=0) / ((y_test - y_test.mean(axis=0)) ** 2).sum(axis=0)
    assert (r2 > 0.9).all(), r2
    # Output i follows target i, not the other one (not the same function twice).
    corr = np.corrcoef(pred.T, y_test.T)[:2, 2:]  # corr[i, j]: prediction i vs target j
    assert corr[0, 0] > abs(corr[0, 1]) + 0.5 and corr[1, 1] > abs(corr[1, 0]) + 0.5, corr


def test_odd_but_valid_text_works(tiny_head):
    train = ["the cat sat", "a dog ran", "", "emoji 🙂 fun", "中文 文本 测试"] * 4
    model = TransformerClassifier(**tiny_head).fit(train, [0, 1, 0, 1, 0] * 4)
    odd = [
        "",
        "completely unseen vocabulary here",
        "word " * 2000,  # 10,000 characters, truncated to max_len tokens
        "🙂🙃 漢字 ひらがな",
        "\t\n  ",
    ]
    assert len(odd[2]) == 10_000
    proba = model.predict_proba(odd)
    assert proba.shape == (5, 2) and np.isfinite(proba).all()


def test_too_long_sequences_without_truncation_raise(tiny):
    model = TransformerEncoder(**tiny, truncation=False)
    with pytest.raises(ValueError, match="max_len"):
        model.fit(["word " * 100] * 4)
    with pytest.raises(ValueError, match="max_len"):
        model.set_params(patch_size=1).fit(np.zeros((4, tiny["max_len"] + 1, 2)) + 1.0)
    with pytest.raises(ValueError, match="max_len"):  # max_len counts patches
        model.set_params(patch_size=2).fit(np.ones((4, 2 * tiny["max_len"] + 1, 2)))


@pytest.mark.parametrize("bad", [["ok", None, "fine"], ["ok", float("nan"), "fine"]])
def test_none_or_nan_in_text_raise(tiny, bad):
    with pytest.raises(ValueError, match="None|NaN"):
        TransformerEncoder(**tiny).fit(bad)


@pytest.mark.parametrize("empty", [[], np.empty((0, 3)), pd.Series([], dtype=object)])
def test_empty_input_raises(tiny, empty):
    with pytest.raises(ValueError, match="0 sample|empty"):
        TransformerEncoder(**tiny).fit(empty)


def test_feature_count_mismatch_raises(tiny, tiny_head):
    X = _inputs()["tabular"]
    model = TransformerClassifier(**tiny_head).fit(X, np.arange(24) % 2)
    with pytest.raises(
        ValueError, match="X has 4 features, but TransformerClassifier is expecting 5"
    ):
        model.predict(X[:, :4])
    seq = TransformerEncoder(**tiny).fit(_inputs()["sequence"])
    with pytest.raises(ValueError, match="X has 2 features"):
        seq.transform(np.ones((3, 7, 2)))


def test_input_of_another_type_than_fit_raises(tiny):
    model = TransformerEncoder(**tiny).fit(_inputs()["tabular"])
    with pytest.raises(ValueError, match="fitted on tabular input"):
        model.transform(["some text"])


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_unfitted_use_raises_not_fitted(Estimator):
    method = "transform" if Estimator is TransformerEncoder else "predict"
    with pytest.raises(NotFittedError):
        getattr(Estimator(), method)(["text"])


def test_bad_parameters_raise_at_fit(tiny):
    X = _inputs()["tabular"]
    with pytest.raises(ValueError, match="n_heads"):
        TransformerEncoder(**{**tiny, "n_heads": 3}).fit(X)
    with pytest.raises(ValueError, match="input_type"):
        TransformerEncoder(**tiny, input_type="images").fit(X)
    with pytest.raises(ValueError, match="pooling"):
        TransformerEncoder(**tiny, pooling="median").fit(X)


def test_one_d_numeric_and_scalars_raise(tiny):
    with pytest.raises(ValueError, match="Expected 2D array"):
        TransformerEncoder(**tiny).fit(np.arange(10.0))
    with pytest.raises(TypeError, match="Expected an array-like"):
        TransformerEncoder(**tiny).fit("just one string")


def test_failed_refit_keeps_the_fitted_model(tiny_head):
    X = _inputs()["tabular"]
    y = np.arange(24) % 2
    model = TransformerClassifier(**tiny_head).fit(X, y)
    before = pickle.dumps(model)
    expected = model.predict_proba(X)
    with pytest.raises(ValueError, match="at least 2 classes"):
        model.fit(np.c_[X, X], np.zeros(24))
    with pytest.raises(ValueError, match="None/NaN at row 1"):
        model.fit(["text", None] * 12, y)
    np.testing.assert_array_equal(model.predict_proba(X), expected)
    assert model.n_features_in_ == 5
    assert pickle.loads(before).predict(X).tolist() == model.predict(X).tolist()


def test_classifier_any_label_type(tiny_head):
    X = _inputs()["tabular"]
    for labels in (
        np.array(["cat", "dog", "eel"] * 8),
        np.array([10, 20, 30] * 8),
        np.array([True, False] * 12),
    ):
        model = TransformerClassifier(**tiny_head).fit(X, labels)
        assert set(model.predict(X)) <= set(labels)
        assert list(model.classes_) == sorted(set(labels))
        assert model.predict_proba(X).shape == (24, len(set(labels)))


@pytest.mark.parametrize("tokenizer", ["word", "char", "bpe", "instance"])
def test_tokenizer_kinds_and_instances(tiny, tokenizer):
    from sktfm import Tokenizer

    if tokenizer == "instance":
        tokenizer = Tokenizer(kind="char", vocab_size=50, max_len=999)
    X = _inputs()["text"]
    model = TransformerEncoder(**tiny, tokenizer=tokenizer).fit(X)
    assert model.transform(X).shape == (len(X), tiny["d_model"])
    # The estimator's max_len governs, whatever the tokenizer instance says.
    assert model.tokenizer_.max_len == tiny["max_len"]
    if not isinstance(model.tokenizer, str):
        assert model.tokenizer.max_len == 999  # the parameter is left unchanged
        assert model.tokenizer_.kind == "char"


@pytest.mark.parametrize(
    "X, position",
    [
        (["a b", 3, "c"], "X[1] is int"),
        (pd.Series(["a", "b", 2.5]), "X.iloc[2] is float"),
        (np.array(["a", None, b"c"], dtype=object)[[0, 2, 0]], "X[1] is bytes"),
    ],
)
def test_text_mixed_with_other_values_is_a_type_error(tiny, tiny_head, X, position):
    for model in (TransformerClassifier(**tiny_head), Seq2SeqTranslator(**{**tiny, "n_layers": 1})):
        with pytest.raises(TypeError, match=re.escape(position)):
            model.fit(X, ["x", "y", "z"])
        assert not hasattr(model, "net_")
