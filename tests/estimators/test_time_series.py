"""Time series on the encoder estimators: unequal lengths, patches, layout, scaling, bad input.

One model per estimator is fitted once (module fixture) on a list of
unequal-length series and shared by the tests that only predict; the tests
that fit their own keep to one or two tiny epochs.
"""

import copy
import pickle

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError

from sktfm import TransformerClassifier, TransformerEncoder, TransformerRegressor
from sktfm.series import auto_patch_size

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

SMALL = dict(
    d_model=16,
    n_heads=2,
    n_layers=1,
    dim_feedforward=32,
    dropout=0.0,
    max_epochs=2,
    batch_size=16,
    lr=3e-3,
    device="cpu",
    random_state=0,
)
ESTIMATORS = [TransformerClassifier, TransformerRegressor, TransformerEncoder]
N_CHANNELS = 2
LONGEST = 40  # longest training series: patch_size="auto" -> ceil(40 / 32) = 2


def make_series(n=24, *, min_len=5, max_len=LONGEST, n_channels=N_CHANNELS, seed=0):
    """Unequal-length (length_i, n_channels) series, two classes, a continuous target."""
    rng = np.random.RandomState(seed)
    lengths = rng.randint(min_len, max_len + 1, size=n)
    lengths[0] = max_len
    y = np.arange(n) % 2
    series = []
    for n_steps, label in zip(lengths, y):
        t = np.arange(n_steps)[:, None]
        freq = 0.3 if label else 0.9
        wave = np.sin(freq * t + rng.uniform(0, 6, size=n_channels))
        series.append(2.0 * wave + rng.normal(0.5, 0.3, size=(n_steps, n_channels)))
    target = np.array([s.mean() for s in series]) + y
    return series, y, target


def padded(series, width=None):
    """The series as one NaN-padded 3-D array, ``width`` steps wide (default the longest)."""
    width = width or max(len(s) for s in series)
    X = np.full((len(series), width, series[0].shape[1]), np.nan)
    for i, s in enumerate(series):
        X[i, : len(s)] = s
    return X


def outputs(model, X):
    """What the model serves: probabilities, predictions or features."""
    if isinstance(model, TransformerClassifier):
        return model.predict_proba(X)
    if isinstance(model, TransformerRegressor):
        return model.predict(X)
    return model.transform(X)


def fit(model, series, y, target):
    """Fit each estimator on its task (the encoder without y: masked-patch pretraining)."""
    if isinstance(model, TransformerClassifier):
        return model.fit(series, y)
    if isinstance(model, TransformerRegressor):
        return model.fit(series, target)
    return model.fit(series)


@pytest.fixture(scope="module")
def data():
    return make_series()


@pytest.fixture(scope="module")
def test_series():
    series, _, _ = make_series(12, min_len=1, max_len=LONGEST + 8, seed=1)
    return series


@pytest.fixture(scope="module")
def shared_model(data):
    """``shared_model(cls)``: one model per estimator for the module, fitted on first use."""
    cache = {}

    def get(cls):
        if cls not in cache:
            cache[cls] = fit(cls(**SMALL), *data)
        return cache[cls]

    return get


@pytest.fixture(params=ESTIMATORS, ids=lambda cls: cls.__name__)
def fitted(request, shared_model):
    """A fitted model of each estimator; tests must not change it."""
    return shared_model(request.param)


# ------------------------------------------------------ padding invariance
def test_the_three_forms_of_a_collection_give_the_same_outputs(fitted, test_series):
    from_list = outputs(fitted, test_series)
    assert np.isfinite(from_list).all()
    np.testing.assert_allclose(outputs(fitted, padded(test_series)), from_list, atol=1e-5)
    longer = padded(test_series, width=LONGEST + 30)
    np.testing.assert_allclose(outputs(fitted, longer), from_list, atol=1e-5)
    np.testing.assert_allclose(outputs(fitted, tuple(test_series)), from_list, atol=1e-5)


def test_a_series_alone_equals_its_row_in_a_batch(fitted, test_series):
    batch = outputs(fitted, test_series)
    for i in (0, 3, 7):
        np.testing.assert_allclose(outputs(fitted, [test_series[i]])[0], batch[i], atol=1e-5)
    # A 3-D array of one series, exactly as long as it is.
    np.testing.assert_allclose(outputs(fitted, test_series[5][None])[0], batch[5], atol=1e-5)


def test_classifier_predict_is_padding_invariant(shared_model, test_series):
    fitted = shared_model(TransformerClassifier)
    labels = fitted.predict(test_series)
    np.testing.assert_array_equal(fitted.predict(padded(test_series, LONGEST + 30)), labels)
    assert set(labels) <= set(fitted.classes_)


def test_batch_size_does_not_change_the_outputs(fitted, test_series):
    model = copy.deepcopy(fitted).set_params(batch_size=3)
    np.testing.assert_allclose(outputs(model, test_series), outputs(fitted, test_series), atol=1e-5)


# -------------------------------------------------------------- patches
def test_patch_size_auto_resolves_from_the_longest_training_series(fitted):
    assert fitted.get_params()["patch_size"] == "auto"
    assert fitted.patch_size_ == auto_patch_size(LONGEST) == 2
    assert clone(fitted).get_params()["patch_size"] == "auto"
    assert fitted.n_features_in_ == N_CHANNELS


def test_auto_patch_size_grows_with_the_series(data):
    series, y, _ = data
    long = [np.repeat(s, 4, axis=0) for s in series]  # up to 160 steps
    model = TransformerClassifier(**{**SMALL, "max_epochs": 1}).fit(long, y)
    assert model.patch_size_ == auto_patch_size(4 * LONGEST) == 5
    lengths = [len(s) for s in long[:3]]
    maps = model.attention_weights(long[:3])
    assert [m.shape[-1] for m in maps] == [-(-n // 5) + 1 for n in lengths]


def test_tokens_are_patches_plus_cls(fitted, test_series):
    maps = fitted.attention_weights(test_series[:4])
    expected = [-(-len(s) // fitted.patch_size_) + 1 for s in test_series[:4]]
    assert [m.shape for m in maps] == [(1, 2, n, n) for n in expected]


def test_patch_size_1_trains_with_one_token_per_step(data):
    series, y, _ = data
    model = TransformerClassifier(**SMALL, patch_size=1).fit(series, y)
    assert model.n_iter_ == 2
    assert all(np.isfinite(row["train_loss"]) for row in model.history_)
    assert model.patch_size_ == 1  # set whether given or "auto"
    maps = model.attention_weights(series[:3])
    assert [m.shape[-1] for m in maps] == [len(s) + 1 for s in series[:3]]  # + [CLS]
    for m in maps:
        np.testing.assert_allclose(m.sum(axis=-1), 1.0, rtol=1e-5)


def test_max_len_counts_patches_and_truncates(data):
    series, y, _ = data
    params = dict(SMALL, max_epochs=1, patch_size=2, max_len=4)  # 4 patches: 8 steps
    with pytest.raises(ValueError, match=r"max_len=4 patches of 2.*truncation=True"):
        TransformerClassifier(**params, truncation=False).fit(series, y)
    model = TransformerClassifier(**params, truncation=True).fit(series, y)
    long = series[0]  # 40 steps
    assert [m.shape[-1] for m in model.attention_weights([long, long[:3]])] == [5, 3]
    # The model reads the first 8 steps only (cut before per-series scaling).
    np.testing.assert_allclose(
        model.predict_proba([long]), model.predict_proba([long[:8]]), atol=1e-6
    )
    assert not np.allclose(model.predict_proba([long[:8]]), model.predict_proba([long[8:16]]))
    model.set_params(truncation=False)
    model.predict_proba([long[:8]])  # fits: no error
    with pytest.raises(ValueError, match=r"up to 9 steps, over the 8 steps"):
        model.predict_proba([long[:9]])


# ------------------------------------------------------------- scaling
def test_global_scaling_is_the_default_and_keeps_level_and_scale(fitted, test_series):
    assert fitted.get_params()["series_scaling"] == "global"
    moved = [3.0 * s + 10.0 for s in test_series]
    assert not np.allclose(outputs(fitted, moved), outputs(fitted, test_series), atol=1e-3)


def test_instance_scaling_ignores_level_and_scale(data):
    series, _, target = data
    model = TransformerRegressor(**{**SMALL, "max_epochs": 1}, series_scaling="instance")
    model.fit(series, target)
    np.testing.assert_allclose(
        model.predict([5.0 * series[1] - 2.0]), model.predict([series[1]]), atol=1e-5
    )


# -------------------------------------------------------------- layout
def test_channels_first_list_equals_transposing_by_hand(fitted, data, test_series):
    # ``fitted`` read the same series channels last (the default).
    series, y, target = data
    first = fit(
        clone(fitted).set_params(sequence_layout="channels_first"), [s.T for s in series], y, target
    )
    assert first.n_features_in_ == fitted.n_features_in_ == N_CHANNELS
    assert first.patch_size_ == fitted.patch_size_
    expected = outputs(fitted, test_series)
    np.testing.assert_allclose(outputs(first, [s.T for s in test_series]), expected, atol=1e-6)
    # A channels-first 3-D array (n, channels, steps) with NaN padding reads the same.
    padded_first = padded(test_series).transpose(0, 2, 1)
    np.testing.assert_allclose(outputs(first, padded_first), expected, atol=1e-5)
    # Channels-last series given to the channels-first model: read transposed, an error.
    with pytest.raises(ValueError, match="different channel counts"):
        outputs(first, test_series)


# ---------------------------------------------------------- bad input
def _interior_nan(series):
    bad = [s.copy() for s in series]
    bad[1][2] = np.nan
    return bad


def _partial_nan(series):
    bad = [s.copy() for s in series]
    bad[2][3, 0] = np.nan
    return bad


def _one_d(series):
    return [series[0], series[1][:, 0]]


def _mixed_channels(series):
    return [series[0], np.column_stack([series[1], series[1][:, 0]])]


def _three_channels(series):
    return [np.column_stack([s, s[:, 0]]) for s in series]


def _ragged_one_d(series):
    return [s[:, 0] for s in series]


def _infinite(series):
    bad = [s.copy() for s in series]
    bad[0][1, 1] = np.inf
    return bad


def _empty(series):
    return [series[0], np.full((4, N_CHANNELS), np.nan)]


BAD_INPUTS = [
    (_interior_nan, r"Series 1 has NaN at step 2"),
    (_partial_nan, r"Series 2 has NaN at step 3"),
    (_one_d, r"Series 1 has shape \(\d+,\)"),
    (_mixed_channels, r"different channel counts \[2, 3\]"),
    (_three_channels, r"X has 3 features, but \w+ is expecting 2 features"),
    (_ragged_one_d, r"1-D numeric arrays of different lengths"),
    (_infinite, r"infinity"),
    (_empty, r"Series 1 is empty"),
]
BAD_IDS = [make.__name__.strip("_") for make, _ in BAD_INPUTS]


def _state(model):
    return {k: v for k, v in vars(model).items() if not k.startswith("_")}


@pytest.mark.parametrize(("make_bad", "message"), BAD_INPUTS, ids=BAD_IDS)
def test_bad_input_at_predict_is_a_clear_error_and_changes_nothing(
    fitted, test_series, make_bad, message
):
    before = outputs(fitted, test_series)
    attributes = set(vars(fitted))
    public = {k: v for k, v in _state(fitted).items() if isinstance(v, (int, str, float))}
    with pytest.raises(ValueError, match=message):
        outputs(fitted, make_bad(test_series))
    np.testing.assert_array_equal(outputs(fitted, test_series), before)
    assert set(vars(fitted)) == attributes
    assert {k: getattr(fitted, k) for k in public} == public


@pytest.mark.parametrize(("make_bad", "message"), BAD_INPUTS[:4], ids=BAD_IDS[:4])
def test_failed_fit_on_bad_series_keeps_the_previous_fit(fitted, data, make_bad, message):
    series, y, target = data
    model = copy.deepcopy(fitted)
    before = outputs(model, series)
    bad = make_bad(series)
    with pytest.raises(ValueError, match=message):
        fit(model, bad, y[: len(bad)], target[: len(bad)])
    np.testing.assert_array_equal(outputs(model, series), before)
    assert model.n_features_in_ == N_CHANNELS and model.patch_size_ == 2


def test_fit_failing_after_reading_new_series_keeps_the_previous_fit(fitted, data):
    # Valid series of another width and length are read (n_features_in_,
    # patch_size_ and the scaling relearned) before the targets fail.
    series, y, target = data
    model = copy.deepcopy(fitted)
    before = outputs(model, series)
    other = [np.tile(s, (3, 2)) for s in series]  # 4 channels, up to 120 steps
    targets = target[:-1] if isinstance(model, TransformerRegressor) else y[:-1]
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        model.fit(other, targets)  # one target short
    assert model.n_features_in_ == N_CHANNELS and model.patch_size_ == 2
    np.testing.assert_array_equal(outputs(model, series), before)


# ------------------------------------------------- encoder as a feature step
def test_self_supervised_encoder_features_feed_a_linear_model(data, test_series):
    series, y, _ = data
    encoder = TransformerEncoder(**SMALL)
    pipe = make_pipeline(encoder, LogisticRegression(max_iter=500)).fit(series, y)
    features = encoder.transform(test_series)
    assert features.shape == (len(test_series), SMALL["d_model"])
    assert features.dtype == np.float32 and np.isfinite(features).all()
    assert features.std(axis=0).max() > 0  # not a constant
    assert set(pipe.predict(test_series)) <= {0, 1}
    proba = pipe.predict_proba(padded(test_series, LONGEST + 20))
    np.testing.assert_allclose(proba, pipe.predict_proba(test_series), atol=1e-5)
    assert encoder.history_[-1]["train_loss"] > 0  # masked-patch reconstruction ran


# -------------------------------------------------------------- persistence
def test_pickle_and_joblib_round_trips_keep_predictions(fitted, test_series, tmp_path):
    expected = outputs(fitted, test_series)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_allclose(outputs(restored, test_series), expected, atol=1e-6)
    joblib.dump(fitted, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_allclose(outputs(loaded, test_series), expected, atol=1e-6)
    assert loaded.patch_size_ == fitted.patch_size_
    np.testing.assert_allclose(outputs(loaded, padded(test_series)), expected, atol=1e-5)


# ----------------------------------------------------------- regressions
def test_overlapping_patches_are_padding_invariant(data, test_series):
    series, y, _ = data
    model = TransformerClassifier(**{**SMALL, "max_epochs": 1}, patch_size=4, patch_stride=2)
    model.fit(series, y)
    batch = model.predict_proba(test_series)
    alone = np.vstack([model.predict_proba([s]) for s in test_series])
    np.testing.assert_allclose(alone, batch, atol=1e-5)


def test_regressor_fit_validates_its_parameters(data):
    _, _, target = data
    X = np.random.RandomState(0).normal(size=(20, 3))
    with pytest.raises(InvalidParameterError, match="pooling"):
        TransformerRegressor(**SMALL, pooling="bogus").fit(X, target[:20])


def test_patch_size_attribute_follows_a_refit_with_new_params(data):
    series, y, _ = data
    model = TransformerClassifier(**{**SMALL, "max_epochs": 1}).fit(series, y)
    assert model.patch_size_ == auto_patch_size(max(len(s) for s in series))
    model.set_params(patch_size=3).fit(series, y)
    assert model.patch_size_ == 3
    assert model.module_.backbone.embedding.patch_size == 3
