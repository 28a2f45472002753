"""Multilabel TransformerClassifier: an indicator y, sigmoid outputs, as MLPClassifier."""

import pickle
import warnings

import numpy as np
import pytest
from scipy import sparse
from sklearn.metrics import f1_score

import sktfm
from sktfm import TransformerClassifier

SMALL = dict(
    d_model=16,
    n_heads=2,
    n_layers=1,
    dim_feedforward=32,
    dropout=0.0,
    max_epochs=30,
    batch_size=32,
    lr=1e-2,
    ensemble_size=1,
    device="cpu",
    random_state=0,
)


def _labels(X):
    """Three labels, each switched on by one feature; rows may have none or all."""
    return np.column_stack([X[:, 0] > 0, X[:, 1] > 0.5, X[:, 2] < -0.3]).astype(int)


RNG = np.random.RandomState(0)
X_TRAIN, X_TEST = RNG.normal(size=(300, 5)), RNG.normal(size=(200, 5))
Y_TRAIN, Y_TEST = _labels(X_TRAIN), _labels(X_TEST)


def quietly(fit, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short fits warn that they still improve
        return fit(*args, **kwargs)


@pytest.fixture(scope="module")
def fitted():
    return quietly(TransformerClassifier(**SMALL).fit, X_TRAIN, Y_TRAIN)


def test_each_label_is_learned(fitted):
    predicted = fitted.predict(X_TEST)
    assert f1_score(Y_TEST, predicted, average="samples", zero_division=1.0) > 0.8
    assert fitted.score(X_TEST, Y_TEST) > 0.6  # subset accuracy: every label right
    assert fitted.history_[-1, "train_loss"] < fitted.history_[0, "train_loss"] / 1.3


def test_outputs_are_shaped_as_mlp_classifiers(fitted):
    np.testing.assert_array_equal(fitted.classes_, [0, 1, 2])
    predicted, proba = fitted.predict(X_TEST), fitted.predict_proba(X_TEST)
    assert predicted.shape == proba.shape == (200, 3)
    assert predicted.dtype == np.int64 and set(np.unique(predicted)) <= {0, 1}
    assert proba.dtype == np.float64 and ((proba >= 0) & (proba <= 1)).all()
    np.testing.assert_array_equal(predicted, (proba > 0.5).astype(int))
    assert not np.allclose(proba.sum(axis=1), 1.0)  # labels, not one distribution
    assert fitted._module_spec["objective"] == "multilabel"
    tags = fitted.__sklearn_tags__()
    assert tags.target_tags.multi_output and tags.classifier_tags.multi_label


@pytest.mark.parametrize(
    "convert",
    [
        lambda y: y.astype(bool),
        lambda y: y.tolist(),
        sparse.csr_matrix,
        sparse.csr_array,
    ],
    ids=["bool", "lists", "csr_matrix", "csr_array"],
)
def test_every_indicator_form_trains_the_same_model(fitted, convert):
    other = quietly(
        TransformerClassifier(**dict(SMALL, max_epochs=2)).fit, X_TRAIN, convert(Y_TRAIN)
    )
    same = quietly(TransformerClassifier(**dict(SMALL, max_epochs=2)).fit, X_TRAIN, Y_TRAIN)
    np.testing.assert_array_equal(other.predict_proba(X_TEST), same.predict_proba(X_TEST))


def test_a_model_saves_loads_and_pickles_with_its_labels(fitted, tmp_path):
    fitted.save(tmp_path / "model")
    loaded = sktfm.load(tmp_path / "model")
    np.testing.assert_array_equal(loaded.predict_proba(X_TEST), fitted.predict_proba(X_TEST))
    np.testing.assert_array_equal(loaded.predict(X_TEST), fitted.predict(X_TEST))
    copy = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(copy.predict(X_TEST), fitted.predict(X_TEST))


def test_an_ensemble_averages_each_labels_probability():
    model = quietly(
        TransformerClassifier(**dict(SMALL, ensemble_size=2, max_epochs=10)).fit,
        X_TRAIN,
        Y_TRAIN,
    )
    proba = model.predict_proba(X_TEST)
    assert proba.shape == (200, 3)
    assert f1_score(Y_TEST, model.predict(X_TEST), average="samples", zero_division=1.0) > 0.7
    assert model._module_spec["head_kwargs"]["n_members"] == 2


def test_early_stopping_holds_out_rows_without_stratifying():
    model = quietly(
        TransformerClassifier(**dict(SMALL, max_epochs=3), early_stopping=True).fit,
        X_TRAIN,
        Y_TRAIN,
    )
    assert np.isfinite(model.history_[:, "valid_loss"]).all()


def test_sample_weight_and_partial_fit_take_an_indicator():
    weights = RNG.randint(0, 4, len(X_TRAIN))
    model = TransformerClassifier(**SMALL)
    for _ in range(3):
        model.partial_fit(X_TRAIN, Y_TRAIN, sample_weight=weights)
    assert model.n_iter_ == 3 and model.predict(X_TEST).shape == (200, 3)
    with pytest.raises(ValueError, match="y has 2 labels, but TransformerClassifier was fitted"):
        model.partial_fit(X_TRAIN, Y_TRAIN[:, :2])
    with pytest.raises(ValueError, match="y is class labels, but this TransformerClassifier"):
        model.partial_fit(X_TRAIN, Y_TRAIN[:, 0])


def test_class_weight_is_refused_with_an_indicator():
    with pytest.raises(ValueError, match="class_weight is not supported with a multilabel"):
        TransformerClassifier(**SMALL, class_weight="balanced").fit(X_TRAIN, Y_TRAIN)


@pytest.mark.parametrize("ensemble_size", [1, 2])
def test_onnx_export_predicts_the_indicator_and_probabilities(tmp_path, ensemble_size):
    pytest.importorskip("onnxruntime")
    from sktfm.onnx import OnnxPredictor

    model = quietly(
        TransformerClassifier(**dict(SMALL, max_epochs=2, ensemble_size=ensemble_size)).fit,
        X_TRAIN,
        Y_TRAIN,
    )
    predictor = OnnxPredictor(model.export_onnx(tmp_path / "onnx"))
    assert predictor.task == "multilabel"
    np.testing.assert_array_equal(predictor.classes_, model.classes_)
    np.testing.assert_allclose(
        predictor.predict_proba(X_TEST), model.predict_proba(X_TEST), atol=1e-4
    )
    predicted = predictor.predict(X_TEST)
    assert predicted.dtype == np.int64
    np.testing.assert_array_equal(predicted, model.predict(X_TEST))
