"""aeon/sktime's channels-first series: ``sequence_layout`` and its warning."""

import warnings

import numpy as np
import pytest

from sktfm import TransformerClassifier, TransformerEncoder

SMALL = dict(
    d_model=8, n_heads=2, n_layers=1, dim_feedforward=16, max_epochs=2, device="cpu", random_state=0
)


def _channels_first(n=24, n_channels=2, n_timepoints=9, seed=0):
    """aeon's layout: (n_cases, n_channels, n_timepoints), two classes."""
    rng = np.random.RandomState(seed)
    y = np.arange(n) % 2
    X = rng.normal(size=(n, n_channels, n_timepoints)) + y[:, None, None]
    return X, y


def test_channels_first_equals_transposing_by_hand():
    X, y = _channels_first()
    X_test, _ = _channels_first(seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        first = TransformerClassifier(**SMALL, sequence_layout="channels_first").fit(X, y)
        last = TransformerClassifier(**SMALL, sequence_layout="channels_last")
        last.fit(X.transpose(0, 2, 1), y)
    assert first.n_features_in_ == last.n_features_in_ == 2
    np.testing.assert_allclose(
        first.predict_proba(X_test), last.predict_proba(X_test.transpose(0, 2, 1)), atol=1e-6
    )


def test_encoder_transform_takes_the_same_layout_as_fit():
    X, _ = _channels_first()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        first = TransformerEncoder(**SMALL, sequence_layout="channels_first").fit(X)
        last = TransformerEncoder(**SMALL, sequence_layout="channels_last")
        last.fit(X.transpose(0, 2, 1))
    np.testing.assert_allclose(first.transform(X), last.transform(X.transpose(0, 2, 1)), atol=1e-6)


def test_auto_warns_when_features_outnumber_steps():
    X, y = _channels_first()  # 2 "steps" of 9 "features" when read channels last
    model = TransformerClassifier(**SMALL)
    with pytest.warns(UserWarning, match="sequence_layout='channels_first'"):
        model.fit(X, y)
    assert model.get_params()["sequence_layout"] == "auto"
    assert model.n_features_in_ == 9


@pytest.mark.parametrize("layout", ["auto", "channels_last"])
def test_no_warning_when_the_layout_is_plausible_or_set(layout):
    X, y = _channels_first()
    if layout == "auto":
        X = X.transpose(0, 2, 1)  # 9 steps of 2 features
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        TransformerClassifier(**SMALL, sequence_layout=layout).fit(X, y)
    assert not [w for w in caught if "sequence_layout" in str(w.message)]


def test_unknown_layout_is_a_clear_error():
    X, y = _channels_first()
    with pytest.raises(ValueError, match="sequence_layout"):
        TransformerClassifier(**SMALL, sequence_layout="nct").fit(X, y)
