"""Missing cells in numeric tables: each column's own token, not an error (#33)."""

import warnings

import numpy as np
import pytest
import torch

import sktfm
from sktfm import TransformerClassifier, TransformerEncoder, TransformerRegressor
from sktfm.nn import FeatureTokenizer, MaskedFeatureModel, TransformerBackbone

SMALL = dict(
    d_model=16,
    n_heads=2,
    n_layers=1,
    dim_feedforward=32,
    max_epochs=3,
    device="cpu",
    random_state=0,
)


def _table(n=200, share=0.2, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    X[rng.rand(*X.shape) < share] = np.nan
    return X, y


def _quiet(fit, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short fits warn that they still improve
        return fit(*args)


@pytest.mark.parametrize(
    "make, method",
    [
        (lambda: TransformerClassifier(**SMALL, ensemble_size=1), "predict_proba"),
        (lambda: TransformerRegressor(**SMALL, ensemble_size=1), "predict"),
        (lambda: TransformerEncoder(**SMALL), "transform"),  # masked cells, no y
    ],
    ids=["classifier", "regressor", "encoder"],
)
def test_a_table_with_missing_cells_fits_and_predicts(make, method):
    X, y = _table()
    model = make()
    _quiet(model.fit, X, None if method == "transform" else y.astype(float))
    assert np.isfinite(getattr(model, method)(X)).all()
    assert np.isfinite(model.history_[-1]["train_loss"])


def test_missingness_is_information():
    # The label is whether the first column is missing: only its missing
    # token tells the rows apart (an imputed mean would not).
    rng = np.random.RandomState(0)
    X = rng.normal(size=(400, 3))
    y = (rng.rand(400) < 0.5).astype(int)
    X[y == 1, 0] = np.nan
    model = _quiet(
        TransformerClassifier(**dict(SMALL, max_epochs=20), ensemble_size=1).fit, X[:300], y[:300]
    )
    assert model.score(X[300:], y[300:]) > 0.95


def test_a_column_never_observed_at_fit_still_works():
    X, y = _table()
    X[:, 2] = np.nan
    model = _quiet(TransformerClassifier(**SMALL, ensemble_size=1).fit, X, y)
    assert np.isfinite(model.predict_proba(X)).all()


def test_infinity_is_still_an_error():
    X, y = _table()
    X[0, 1] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        TransformerClassifier(**SMALL).fit(X, y)


def test_missing_tokens_are_saved(tmp_path):
    X, y = _table()
    model = _quiet(TransformerClassifier(**SMALL, ensemble_size=1).fit, X, y)
    model.save(tmp_path / "model")
    loaded = sktfm.load(tmp_path / "model")
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X), atol=1e-6)


def test_a_model_fitted_before_missing_tokens_refuses_nan():
    # Written by tests/fixtures/make_saved_format1.py: a regressor of 3 columns.
    from pathlib import Path

    folder = Path(__file__).parents[1] / "fixtures" / "saved_format2" / "regressor_tabular"
    model = sktfm.load(folder)
    X = np.ones((2, 3))
    assert np.isfinite(model.predict(X)).all()
    X[0, 1] = np.nan
    with pytest.raises(ValueError, match="no missing-value tokens"):
        model.predict(X)


def test_complete_rows_are_tokenized_as_without_missing_tokens():
    # The missing tokens come from a generator of their own: every other
    # weight starts as before, and a complete row gives the same tokens.
    torch.manual_seed(3)
    plain = FeatureTokenizer(5, 8)
    torch.manual_seed(3)
    with_missing = FeatureTokenizer(5, 8, missing=True)
    for name, value in plain.state_dict().items():
        torch.testing.assert_close(with_missing.state_dict()[name], value, rtol=0, atol=0)
    x = torch.randn(4, 5)
    torch.testing.assert_close(with_missing(x), plain(x), rtol=0, atol=0)
    x[1, 2] = float("nan")
    tokens = with_missing(x)
    assert torch.isfinite(tokens).all()
    expected = with_missing.missing_embedding[2] + with_missing.feature_embedding.weight[2]
    torch.testing.assert_close(tokens[1, 3], expected)  # [CLS] first: column 2 is token 3


def test_masked_cell_pretraining_reconstructs_observed_cells_only():
    torch.manual_seed(0)
    backbone = TransformerBackbone(
        input_kind="features", n_features=6, d_model=8, n_heads=2, n_layers=1,
        dim_feedforward=16, missing=True,
    )  # fmt: skip
    x = torch.randn(64, 6)
    x[torch.rand(64, 6) < 0.3] = float("nan")
    prediction, target = MaskedFeatureModel(backbone, mask_prob=0.5)(x)
    assert len(target) > 0 and torch.isfinite(target).all() and torch.isfinite(prediction).all()
