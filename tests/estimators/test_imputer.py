"""TransformerImputer: a Transformer that fills a table's gaps (#33)."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

import sktfm
from sktfm import TransformerImputer

SMALL = dict(
    d_model=16,
    n_heads=2,
    n_layers=1,
    dim_feedforward=32,
    max_epochs=3,
    device="cpu",
    random_state=0,
)


def _quiet(call, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short fits warn that they still improve
        return call(*args)


def _mixed_table(n=200, seed=0):
    """Numbers, a category that sets another column's level, ints, text; gaps everywhere."""
    rng = np.random.default_rng(seed)
    city = rng.choice(["rome", "paris", "oslo"], n)
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "city": pd.Categorical(city),
            "level": np.where(city == "rome", 5.0, -5.0) + rng.normal(scale=0.3, size=n),
            "count": pd.array(rng.integers(0, 5, n), dtype="Int64"),
            "note": [" ".join(rng.choice(list("abcdefg"), 4)) for _ in range(n)],
            "flag": rng.choice(["yes", "no"], n).astype(object),
        }
    )
    complete = frame.copy()
    hide = rng.random(frame.shape) < 0.15
    for j, name in enumerate(frame.columns):
        frame.loc[hide[:, j], name] = None
    return frame, complete, hide


def test_fills_every_gap_keeps_observed_cells_and_dtypes():
    frame, _, hide = _mixed_table()
    filled = _quiet(TransformerImputer(**SMALL).fit_transform, frame)
    assert isinstance(filled, pd.DataFrame)
    assert list(filled.columns) == list(frame.columns)
    assert filled.isna().sum().sum() == 0
    assert filled.dtypes.to_dict() == frame.dtypes.to_dict()
    for j, name in enumerate(frame.columns):
        observed = ~hide[:, j]
        assert (filled[name][observed] == frame[name][observed]).all(), name
    assert set(filled["city"]) <= {"rome", "paris", "oslo"}
    assert set(filled["flag"]) <= {"yes", "no"}


def test_learns_a_column_from_the_rest_of_its_row():
    """``level`` is set by ``city``: filled from it, far better than the column mean."""
    frame, complete, hide = _mixed_table(n=600)
    imputer = TransformerImputer(**{**SMALL, "max_epochs": 80})
    filled = _quiet(imputer.fit_transform, frame)
    rows = hide[:, 2] & ~hide[:, 1]  # level missing, city seen
    error = np.abs(filled["level"][rows] - complete["level"][rows]).mean()
    mean_error = np.abs(frame["level"].mean() - complete["level"][rows]).mean()
    assert error < 0.4 * mean_error


def test_numeric_array_in_array_out():
    rng = np.random.default_rng(0)
    a = rng.normal(size=100)
    X = np.column_stack([a, 2 * a, -a]).astype(np.float32)
    X[::7, 1] = np.nan
    filled = _quiet(TransformerImputer(**SMALL).fit_transform, X)
    assert isinstance(filled, np.ndarray) and filled.dtype == np.float32
    assert not np.isnan(filled).any()
    np.testing.assert_array_equal(filled[~np.isnan(X)], X[~np.isnan(X)])


def test_missing_values_placeholder_and_indicator():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 9, size=(80, 3)).astype(float)
    X[::5, 0] = -1
    imputer = TransformerImputer(missing_values=-1, add_indicator=True, **SMALL)
    filled = _quiet(imputer.fit_transform, X)
    assert filled.shape == (80, 4)  # one indicator: only column 0 had gaps
    np.testing.assert_array_equal(filled[:, 3], (X[:, 0] == -1).astype(float))
    assert (filled[::5, 0] != -1).all()
    names = imputer.get_feature_names_out()
    assert names.tolist() == ["x0", "x1", "x2", "missingindicator_x0"]


def test_string_placeholder_in_an_object_table():
    frame = pd.DataFrame({"a": np.arange(60.0), "kind": ["x", "y", "?"] * 20})
    filled = _quiet(TransformerImputer(missing_values="?", **SMALL).fit_transform, frame)
    assert set(filled["kind"]) <= {"x", "y"}


def test_set_output_pandas_on_arrays():
    X = np.random.default_rng(0).normal(size=(60, 3))
    X[::4, 2] = np.nan
    imputer = TransformerImputer(**SMALL).set_output(transform="pandas")
    filled = _quiet(imputer.fit_transform, X)
    assert isinstance(filled, pd.DataFrame)
    assert filled.columns.tolist() == ["x0", "x1", "x2"]


def test_in_a_pipeline_before_a_model():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = (X[:, 0] > 0).astype(int)
    X[rng.random(X.shape) < 0.2] = np.nan
    pipe = make_pipeline(TransformerImputer(**SMALL), LogisticRegression())
    _quiet(pipe.fit, X, y)
    assert pipe.score(X, y) > 0.7


def test_save_load_and_pickle_give_the_same_fill(tmp_path):
    frame, _, _ = _mixed_table(n=120)
    imputer = _quiet(TransformerImputer(**SMALL).fit, frame)
    expected = imputer.transform(frame)
    sktfm.save(imputer, tmp_path / "imputer")
    pd.testing.assert_frame_equal(sktfm.load(tmp_path / "imputer").transform(frame), expected)
    pd.testing.assert_frame_equal(pickle.loads(pickle.dumps(imputer)).transform(frame), expected)


def test_unseen_category_at_transform_is_no_error():
    frame, _, _ = _mixed_table(n=120)
    imputer = _quiet(TransformerImputer(**SMALL).fit, frame)
    other = frame.head(5).copy()
    other["flag"] = ["maybe"] * 5
    assert (imputer.transform(other)["flag"] == "maybe").all()


def test_errors_name_the_problem():
    X = np.random.default_rng(0).normal(size=(30, 3))
    imputer = _quiet(TransformerImputer(**SMALL).fit, X)
    with pytest.raises(ValueError, match="3 features"):
        imputer.transform(X[:, :2])
    X_inf = X.copy()
    X_inf[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        TransformerImputer(**SMALL).fit(X_inf)


def test_simple_imputer_interface_matches():
    """The parameters a SimpleImputer user knows are there, with its defaults."""
    ours, theirs = TransformerImputer().get_params(), SimpleImputer().get_params()
    assert np.isnan(ours["missing_values"]) and np.isnan(theirs["missing_values"])
    assert ours["add_indicator"] is theirs["add_indicator"] is False
