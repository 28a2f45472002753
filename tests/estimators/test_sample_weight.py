"""sample_weight in fit and partial_fit, as scikit-learn users expect it."""

import pickle
import warnings

import numpy as np
import pytest
import sklearn
import torch
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import sktfm
from sktfm import TransformerClassifier, TransformerEncoder, TransformerRegressor

SMALL = dict(
    d_model=16,
    n_heads=2,
    n_layers=1,
    dim_feedforward=32,
    dropout=0.0,
    max_epochs=20,
    batch_size=32,
    lr=1e-2,
    device="cpu",
    random_state=0,
)
HEAD = dict(SMALL, ensemble_size=1)
# On features that tell nothing (below), periodic numeric tokens learn the
# training rows by heart within these few epochs, and their predictions on
# new noise scatter; linear tokens keep the comparison about the weights.
NOISE = dict(HEAD, numeric_embedding="linear")
RNG = np.random.RandomState(0)
X = RNG.normal(size=(120, 4))
Y_CLASS = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
Y_REG = X @ [1.0, -2.0, 0.5, 0.0]


def quietly(fit, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short fits warn that they still improve
        return fit(*args, **kwargs)


ESTIMATORS = {
    "classifier": (lambda **p: TransformerClassifier(**{**HEAD, **p}), Y_CLASS, "predict_proba"),
    "regressor": (lambda **p: TransformerRegressor(**{**HEAD, **p}), Y_REG, "predict"),
    "encoder": (lambda **p: TransformerEncoder(**{**SMALL, **p}), Y_CLASS, "transform"),
}


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_equal_weights_are_exactly_no_weights(name):
    make, y, method = ESTIMATORS[name]
    params = dict(max_epochs=3, early_stopping=True)  # a weighted validation split too
    plain = getattr(quietly(make(**params).fit, X, y), method)(X)
    for weights in (np.ones(len(X)), np.full(len(X), 3)):
        weighted = quietly(make(**params).fit, X, y, sample_weight=weights)
        np.testing.assert_array_equal(getattr(weighted, method)(X), plain)


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_bad_weights_are_refused_as_scikit_learn_refuses_them(name):
    make, y, _ = ESTIMATORS[name]
    model = make(max_epochs=1)
    with pytest.raises(ValueError, match="Negative values"):
        model.fit(X, y, sample_weight=np.r_[-1.0, np.ones(len(X) - 1)])
    with pytest.raises(ValueError, match=r"sample_weight.shape == \(3,\), expected \(120,\)"):
        model.fit(X, y, sample_weight=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="at least one non-zero"):
        model.fit(X, y, sample_weight=np.zeros(len(X)))
    with pytest.raises(ValueError, match="NaN"):
        model.fit(X, y, sample_weight=np.r_[np.nan, np.ones(len(X) - 1)])
    assert not hasattr(model, "net_")  # a failed fit leaves nothing behind


def test_the_encoder_takes_weights_with_y_only():
    with pytest.raises(ValueError, match="sample_weight with y only"):
        TransformerEncoder(**SMALL).fit(X, sample_weight=np.ones(len(X)))


def test_weights_that_leave_one_class_are_refused_naming_it():
    weights = (Y_CLASS == 1).astype(float)
    with pytest.raises(ValueError, match="2 classes with a positive sample_weight.*class 1"):
        TransformerClassifier(**HEAD).fit(X, Y_CLASS, sample_weight=weights)


def _noise(n, seed):
    """Features that tell nothing about the target."""
    return np.random.RandomState(seed).normal(size=(n, 4))


@pytest.mark.parametrize("ensemble_size", [1, 2])
def test_integer_weights_pull_the_regression_mean_as_repeated_rows_do(ensemble_size):
    # y is 0 or 10 whatever X: the best prediction is the (weighted) mean.
    X_train = _noise(80, 1)
    y = np.r_[np.zeros(40), np.full(40, 10.0)]
    weights = np.r_[np.ones(40), np.full(40, 4)]  # 4 times the 10s: a mean of 8
    params = dict(ensemble_size=ensemble_size, max_epochs=10)
    plain = quietly(TransformerRegressor(**dict(NOISE, **params)).fit, X_train, y)
    weighted = quietly(
        TransformerRegressor(**dict(NOISE, **params)).fit, X_train, y, sample_weight=weights
    )
    repeated = quietly(
        TransformerRegressor(**dict(NOISE, **params)).fit,
        np.repeat(X_train, weights.astype(int), axis=0),
        np.repeat(y, weights.astype(int)),
    )
    X_new = _noise(200, 2)
    means = [model.predict(X_new).mean() for model in (plain, weighted, repeated)]
    assert abs(means[0] - 5) < 1.5, means
    assert abs(means[1] - 8) < 1.5 and abs(means[2] - 8) < 1.5, means
    assert abs(means[1] - means[2]) < 1.5, means


def test_a_heavily_weighted_class_is_predicted_more():
    X_train = _noise(120, 3)
    y = np.r_[np.zeros(60, int), np.ones(60, int)]  # labels X cannot tell apart
    weights = np.where(y == 1, 5.0, 1.0)
    X_new = _noise(200, 4)
    plain = quietly(TransformerClassifier(**NOISE).fit, X_train, y).predict(X_new)
    weighted = quietly(TransformerClassifier(**NOISE).fit, X_train, y, sample_weight=weights)
    assert weighted.predict(X_new).mean() > max(0.8, plain.mean() + 0.2)


def test_zero_weight_rows_lose_their_say():
    # Rows with flipped labels: at weight 1 they teach the wrong rule, at
    # weight 0 the model learns as if they were not there.
    X_bad = RNG.normal(size=(240, 4))
    y_bad = 1 - (X_bad[:, 0] + 0.5 * X_bad[:, 1] > 0).astype(int)
    X_all, y_all = np.r_[X, X_bad], np.r_[Y_CLASS, y_bad]
    weights = np.r_[np.ones(len(X)), np.zeros(len(X_bad))]
    X_test = RNG.normal(size=(300, 4))
    y_test = (X_test[:, 0] + 0.5 * X_test[:, 1] > 0).astype(int)
    without = quietly(TransformerClassifier(**HEAD).fit, X, Y_CLASS).score(X_test, y_test)
    zeroed = quietly(TransformerClassifier(**HEAD).fit, X_all, y_all, sample_weight=weights)
    counted = quietly(TransformerClassifier(**HEAD).fit, X_all, y_all)
    assert zeroed.score(X_test, y_test) > 0.85 and without > 0.85
    assert abs(zeroed.score(X_test, y_test) - without) < 0.08
    assert counted.score(X_test, y_test) < 0.5


def test_the_validation_split_keeps_its_weights():
    weights = np.arange(1, len(X) + 1, dtype=float)
    model = quietly(
        TransformerClassifier(**dict(HEAD, max_epochs=2), early_stopping=True).fit,
        X,
        Y_CLASS,
        sample_weight=weights,
    )
    valid = model.net_.train_split.keywords["valid_ds"]
    targets = np.asarray(valid.y)
    assert targets.shape == (12, 2) and targets.dtype == np.float64
    rows = targets[:, 1].astype(int) - 1  # each row's weight names it
    np.testing.assert_array_equal(targets[:, 0], Y_CLASS[rows])
    np.testing.assert_allclose(valid.X, StandardScaler().fit(X).transform(X)[rows], rtol=1e-5)
    assert np.isfinite(model.history_[:, "valid_loss"]).all()


def test_partial_fit_and_warm_start_take_weights():
    X_train = _noise(120, 5)
    y = np.r_[np.zeros(60, int), np.ones(60, int)]
    weights = np.where(y == 1, 5.0, 1.0)
    model = TransformerClassifier(**HEAD)
    for _ in range(10):
        model.partial_fit(X_train, y, classes=[0, 1], sample_weight=weights)
    assert model.n_iter_ == 10
    assert model.predict(_noise(200, 6)).mean() > 0.8
    warm = TransformerRegressor(**dict(HEAD, warm_start=True, max_epochs=2))
    quietly(warm.fit, X, Y_REG)
    quietly(warm.fit, X, Y_REG, sample_weight=np.arange(len(X)) % 3)
    assert warm.n_iter_ == 4
    with pytest.raises(ValueError, match="Negative values"):
        warm.partial_fit(X, Y_REG, sample_weight=-np.ones(len(X)))
    assert warm.n_iter_ == 4


def test_max_time_stops_a_weighted_fit():
    model = quietly(
        TransformerClassifier(**dict(HEAD, max_epochs=10_000), max_time=1.0).fit,
        X,
        Y_CLASS,
        sample_weight=np.arange(len(X)) % 4,
    )
    assert model.n_iter_ < 10_000 and model.net_.stop_reason_ != "max_epochs"


def test_routing_through_a_pipeline_and_a_grid_search():
    HEAD = dict(globals()["HEAD"], max_epochs=3)  # the same fit either way: no need to learn
    weights = np.where(Y_CLASS == 1, 3.0, 1.0)
    X_scaled = StandardScaler().fit_transform(X)
    direct = TransformerClassifier(**HEAD).fit(X_scaled, Y_CLASS, sample_weight=weights)
    with sklearn.config_context(enable_metadata_routing=True):
        clf = TransformerClassifier(**HEAD).set_fit_request(sample_weight=True)
        scaler = StandardScaler().set_fit_request(sample_weight=False)
        pipe = make_pipeline(scaler, clf).fit(X, Y_CLASS, sample_weight=weights)
        search = GridSearchCV(
            TransformerClassifier(**HEAD)
            .set_fit_request(sample_weight=True)
            .set_score_request(sample_weight=True),
            {"lr": [1e-2, 3e-3]},
            cv=2,
        ).fit(X_scaled, Y_CLASS, sample_weight=weights)
        with pytest.raises(ValueError, match="sample_weight"):
            # Routing asks each consumer to say whether it wants the weights.
            make_pipeline(scaler, TransformerClassifier(**HEAD)).fit(
                X, Y_CLASS, sample_weight=weights
            )
    np.testing.assert_array_equal(pipe.predict_proba(X), direct.predict_proba(X_scaled))
    best = TransformerClassifier(**dict(HEAD, **search.best_params_))
    best.fit(X_scaled, Y_CLASS, sample_weight=weights)
    np.testing.assert_array_equal(search.predict_proba(X_scaled), best.predict_proba(X_scaled))
    # Without routing, the old spelling still reaches the step.
    old = make_pipeline(StandardScaler(), TransformerClassifier(**HEAD))
    old.fit(X, Y_CLASS, transformerclassifier__sample_weight=weights)
    np.testing.assert_array_equal(old.predict_proba(X), direct.predict_proba(X_scaled))


def test_a_weighted_model_saves_loads_and_pickles_as_any_other(tmp_path):
    model = quietly(
        TransformerRegressor(**dict(HEAD, max_epochs=3)).fit,
        X,
        Y_REG,
        sample_weight=np.arange(len(X)) % 3,
    )
    model.save(tmp_path / "model")
    loaded = sktfm.load(tmp_path / "model")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).predict(X), model.predict(X))
    loaded.partial_fit(X, Y_REG, sample_weight=np.arange(len(X)) % 3)  # continues, weighted


def test_data_parallel_ranks_make_the_step_of_the_whole_weighted_batch():
    # One batch of every sample, one step: two ranks, each with half the
    # batch and its own share of the weight, must move the weights as one
    # process does with the whole batch.
    params = dict(
        HEAD,
        max_epochs=1,
        batch_size=len(X),
        warmup_steps=0,
        early_stopping=False,
        grad_clip=None,
        lr=1e-3,
    )
    weights = np.where(Y_CLASS == 1, 9.0, 1.0) * (np.arange(len(X)) % 3)
    single = quietly(TransformerClassifier(**params).fit, X, Y_CLASS, sample_weight=weights)
    ddp = quietly(
        TransformerClassifier(**params, strategy="ddp", n_processes=2).fit,
        X,
        Y_CLASS,
        sample_weight=weights,
    )
    for (name, a), b in zip(single.module_.state_dict().items(), ddp.module_.state_dict().values()):
        if name.endswith("k_proj.bias"):
            continue  # softmax ignores it: a zero gradient up to rounding, whose sign Adam follows
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4, msg=name)
