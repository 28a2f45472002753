"""class_weight on TransformerClassifier, as LogisticRegression defines it."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.metrics import recall_score

import sktfm
from sktfm import TransformerClassifier

SMALL = dict(
    d_model=16,
    n_heads=2,
    n_layers=1,
    dim_feedforward=32,
    max_epochs=30,
    ensemble_size=1,
    device="cpu",
    random_state=0,
)


@pytest.fixture(scope="module")
def imbalanced():
    """A two-class table whose class 1 is 8% of the rows: (train, test) pairs."""
    X, y = make_classification(
        600, n_features=6, weights=[0.92, 0.08], class_sep=0.6, random_state=0
    )
    return (X[:400], y[:400]), (X[400:], y[400:])


def _fit(train, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short fits warn that they still improve
        return TransformerClassifier(**{**SMALL, **params}).fit(*train)


def test_balanced_weights_find_more_of_the_rare_class(imbalanced):
    # 10 epochs: long enough to learn, short of fitting 400 rows by heart (after
    # 30, the periodic numeric tokens find every training row of both classes).
    train, (X_test, y_test) = imbalanced
    plain = recall_score(y_test, _fit(train, max_epochs=10).predict(X_test))
    balanced = _fit(train, max_epochs=10, class_weight="balanced").predict(X_test)
    assert recall_score(y_test, balanced) > plain


def test_weights_follow_the_classes_in_the_order_of_the_outputs():
    X = np.random.RandomState(0).normal(size=(60, 3))
    y = np.array(["rare"] * 10 + ["common"] * 50)
    balanced = TransformerClassifier(**dict(SMALL, max_epochs=1), class_weight="balanced")
    balanced.fit(X, y)
    assert list(balanced.classes_) == ["common", "rare"]
    assert balanced._fit_plan.net.class_weight == (60 / (2 * 50), 60 / (2 * 10))
    given = TransformerClassifier(**dict(SMALL, max_epochs=1), class_weight={"rare": 4})
    assert given.fit(X, y)._fit_plan.net.class_weight == (1.0, 4.0)  # unlisted: 1
    weight = given.net_.criterion_.weight
    assert weight.tolist() == [1.0, 4.0]


def test_a_weight_for_a_label_that_is_not_there_is_refused():
    # As scikit-learn's compute_class_weight: a dict naming a label that y
    # lacks, while leaving a label of y out, is a mistake.
    X = np.random.RandomState(0).normal(size=(20, 3))
    y = np.array([0, 1] * 10)
    model = TransformerClassifier(**dict(SMALL, max_epochs=1), class_weight={0: 1, 7: 2})
    with pytest.raises(ValueError, match=r"The classes, \[1\], are not in class_weight"):
        model.fit(X, y)
    with pytest.raises(ValueError, match="class_weight"):
        TransformerClassifier(class_weight="heavy").fit(X, y)


def test_partial_fit_takes_a_dict_but_not_balanced():
    X = np.random.RandomState(0).normal(size=(20, 3))
    y = np.array([0, 1] * 10)
    with pytest.raises(ValueError, match="not supported by partial_fit"):
        TransformerClassifier(**SMALL, class_weight="balanced").partial_fit(X, y)
    model = TransformerClassifier(**SMALL, class_weight={1: 3.0}).partial_fit(X, y)
    assert model._fit_plan.net.class_weight == (1.0, 3.0)
    model.partial_fit(X, y)  # a later call keeps the first call's weights
    assert model.net_.criterion_.weight.tolist() == [1.0, 3.0]


def test_saved_weights_come_back_and_keep_training(tmp_path, imbalanced):
    train, (X_test, _) = imbalanced
    model = _fit(train, class_weight="balanced")
    model.save(tmp_path / "model")
    loaded = sktfm.load(tmp_path / "model")
    assert loaded._fit_plan.net.class_weight == model._fit_plan.net.class_weight
    np.testing.assert_allclose(loaded.predict_proba(X_test), model.predict_proba(X_test), atol=1e-6)
    assert loaded.net_.criterion_.weight.tolist() == pytest.approx(
        list(model._fit_plan.net.class_weight)
    )
