"""Mixed tables: numbers, categories and free text with gaps go straight in (#33).

Each test is a story of the issue: a DataFrame as people have it (a city, a
title, a nullable integer, gaps written as NaN, None or pd.NA) goes into the
estimators with their defaults, tiny sizes apart.
"""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

import sktfm
from sktfm import TransformerClassifier, TransformerEncoder, TransformerRegressor

SMALL = dict(
    d_model=16,
    n_heads=2,
    n_layers=1,
    dim_feedforward=32,
    max_epochs=2,
    device="cpu",
    random_state=0,
)
HEAD = dict(SMALL, ensemble_size=1)  # classifier, regressor: one model, not a pair
CITIES = np.array(["paris", "rome", "oslo", "lima"])
WORDS = np.array(["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"])


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One intra-op thread for these tiny models, then the setting restored: on
    2 shared cores, 2 threads per process made the file several times slower."""
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n_threads)


def _quiet(fit, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short fits warn that they still improve
        return fit(*args, **kwargs)


def _people(n=120, seed=0):
    """``age`` (numeric, 10% NaN) and ``city`` (strings, a few None); the label
    is the city alone (paris or oslo)."""
    rng = np.random.RandomState(seed)
    city = CITIES[rng.randint(0, len(CITIES), n)].astype(object)
    y = np.isin(city, ["paris", "oslo"]).astype(int)
    age = rng.normal(40, 12, n)
    age[rng.rand(n) < 0.1] = np.nan
    city[rng.rand(n) < 0.05] = None
    return pd.DataFrame({"age": age, "city": city}), y


def _posts(n=120, seed=0):
    """``title`` and ``body``: free text; the label is one word of ``body``."""
    rng = np.random.RandomState(seed)
    y = rng.randint(0, 2, n)
    title = [" ".join(rng.choice(WORDS, 4)) for _ in range(n)]
    body = [
        " ".join([*rng.choice(WORDS, rng.randint(3, 7)), "refund" if label else "thanks"])
        for label in y
    ]
    return pd.DataFrame({"title": title, "body": body}), y


# ------------------------------------------------------------ (a) numbers and categories


@pytest.mark.parametrize(
    "make, method, width",
    [
        (lambda: TransformerClassifier(**HEAD), "predict_proba", 2),
        (lambda: TransformerRegressor(**HEAD), "predict", None),
        (lambda: TransformerEncoder(**SMALL), "transform", 16),  # masked cells, no y
    ],
    ids=["classifier", "regressor", "encoder"],
)
def test_a_frame_of_numbers_and_strings_fits_and_predicts(make, method, width):
    X, y = _people(60)
    model = make()
    _quiet(model.fit, X, None if method == "transform" else y.astype(float))
    out = getattr(model, method)(X)
    assert out.shape == ((60,) if width is None else (60, width))
    assert np.isfinite(out).all()
    assert model.feature_types_ == ("numeric", "categorical")
    assert model.input_type_ == "tabular"
    assert list(model.feature_names_in_) == ["age", "city"]


def test_a_label_carried_by_the_category_alone_is_learned():
    X, y = _people(400)
    model = _quiet(TransformerClassifier(**dict(HEAD, max_epochs=10)).fit, X[:300], y[:300])
    assert model.score(X[300:], y[300:]) > 0.9


# ------------------------------------------------------------ (b) text columns


def test_two_text_columns_are_read_as_text_and_a_word_in_one_is_learned():
    X, y = _posts(400)
    model = _quiet(TransformerClassifier(**dict(HEAD, max_epochs=20)).fit, X[:300], y[:300])
    assert model.feature_types_ == ("text", "text")
    assert all(width > 0 for width in model._table_layout.text_widths)
    assert model.score(X[300:], y[300:]) > 0.9


# ------------------------------------------------------------ (c) column types


def test_feature_types_follow_dtypes_then_content():
    n = 40
    rng = np.random.RandomState(0)
    X = pd.DataFrame(
        {
            "category": pd.Series(["a", "b", None, "c"] * 10, dtype="category"),
            "bool": [True, False] * 20,
            "object": ["x", None, "y", np.nan] * 10,
            "string": pd.array(["u", "v", pd.NA, "w"] * 10, dtype="string"),
            "Int64": pd.array([1, 2, pd.NA, 4] * 10, dtype="Int64"),
            "Float64": pd.array([0.5, pd.NA, 1.5, 2.5] * 10, dtype="Float64"),
            "title": [" ".join(rng.choice(WORDS, 5)) for _ in range(n)],  # distinct, 5 words
            "plan": ["basic plan with phone", "premium plan with fibre"] * 20,  # 2 values
        }
    )
    model = _quiet(TransformerClassifier(**dict(HEAD, max_epochs=1)).fit, X, np.arange(n) % 2)
    assert model.feature_types_ == (
        "categorical",
        "categorical",
        "categorical",
        "categorical",
        "numeric",
        "numeric",
        "text",
        "categorical",
    )
    assert np.isfinite(model.predict_proba(X)).all()


@pytest.mark.parametrize(
    "spec",
    [["rooms", "city"], [1, 2], [False, True, True]],
    ids=["names", "indices", "mask"],
)
def test_categorical_features_by_name_index_or_mask_include_an_integer_column(spec):
    X, y = _people(40)
    X.insert(1, "rooms", pd.array([1, 2, 3, None] * 10, dtype="Int64"))
    model = TransformerClassifier(**dict(HEAD, max_epochs=1), categorical_features=spec)
    _quiet(model.fit, X, y)
    assert model.feature_types_ == ("numeric", "categorical", "categorical")
    # its gaps (pd.NA) are missing cells, not a category of their own
    assert model._table_layout.categories[1] == ("1", "2", "3")


def test_text_features_by_name_read_short_strings_as_text():
    X, y = _people(40)
    model = TransformerClassifier(**dict(HEAD, max_epochs=1), text_features=["city"])
    _quiet(model.fit, X, y)
    assert model.feature_types_ == ("numeric", "text")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(categorical_features=["town"]), "does not have: \\['town'\\]"),
        (dict(categorical_features=[2]), "out of range for 2 columns"),
        (dict(text_features=[True, False, True]), "one entry per column \\(2\\)"),
        (dict(categorical_features=["city"], text_features=[1]), "in both"),
        (dict(categorical_features=None), "categorical_features=None reads no column"),
    ],
    ids=["unknown-name", "index", "mask-length", "both", "none"],
)
def test_column_specs_are_checked_as_histgradientboosting_checks_them(kwargs, match):
    X, y = _people(20)
    with pytest.raises(ValueError, match=match):
        TransformerClassifier(**HEAD, **kwargs).fit(X, y)


def test_column_names_without_column_names_are_an_error():
    X, y = _people(20)
    with pytest.raises(ValueError, match="X has no column names"):
        TransformerClassifier(**HEAD, categorical_features=["city"]).fit(X.to_numpy(), y)


# ------------------------------------------------------------ (d) categories at predict


def test_unseen_categories_share_the_code_of_infrequent_ones():
    X, y = _people(60)
    X.loc[0, "city"] = "quito"  # once: rarer than min_frequency=5
    model = _quiet(TransformerClassifier(**HEAD).fit, X, y)
    assert "quito" not in model._table_layout.categories[1]
    rows = pd.DataFrame({"age": [30.0, 30.0, 30.0], "city": ["quito", "berlin", "paris"]})
    encoded = model._prepare_tabular(rows, reset=False)
    assert encoded[0, 1] == encoded[1, 1] == 0  # both the unseen code
    proba = model.predict_proba(rows)  # berlin: never seen, not an error
    np.testing.assert_allclose(proba[1], proba[0], rtol=0, atol=1e-6)
    assert not np.array_equal(proba[2], proba[0])


def test_missing_categories_none_nan_and_pd_na_are_one_missing_token():
    X, y = _people(60)
    model = _quiet(TransformerClassifier(**HEAD).fit, X, y)
    rows = pd.DataFrame({"age": [30.0] * 4, "city": ["paris", None, np.nan, pd.NA]})
    encoded = model._prepare_tabular(rows, reset=False)
    assert np.isnan(encoded[1:, 1]).all()  # a missing cell, not a category
    proba = model.predict_proba(rows)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba[2:], proba[[1, 1]], rtol=0, atol=1e-6)
    strings = rows.astype({"city": "string"})  # pd.NA in a StringDtype column
    np.testing.assert_allclose(model.predict_proba(strings), proba, rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    "min_frequency, kept",
    [(1, ("paris", "rome", "oslo", "lima")), (10, ("paris", "rome")), (0.4, ("paris",))],
)
def test_min_frequency_groups_rare_categories(min_frequency, kept):
    # 30 rows; 0.4 (a share of the rows, as OneHotEncoder's): at least 12 of them
    city = ["paris"] * 15 + ["rome"] * 10 + ["oslo"] * 3 + ["lima"] * 2
    X = pd.DataFrame({"age": np.arange(30.0), "city": city})
    model = TransformerClassifier(**dict(HEAD, max_epochs=1), min_frequency=min_frequency)
    _quiet(model.fit, X, np.arange(30) % 2)
    assert model._table_layout.categories == ((), kept)
    assert model._table_layout.cardinalities == (0, len(kept) + 1)


# ------------------------------------------------------------ (e) column names at predict


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda X: X[["city", "age"]], "same order"),
        (lambda X: X.rename(columns={"city": "town"}), "unseen at fit time"),
    ],
    ids=["reordered", "renamed"],
)
def test_renamed_or_reordered_columns_get_scikit_learns_error(change, match):
    X, y = _people(40)
    model = _quiet(TransformerClassifier(**dict(HEAD, max_epochs=1)).fit, X, y)
    with pytest.raises(ValueError, match=match):
        model.predict(change(X))


# ------------------------------------------------------------ (f) saving


def _shop(n=60, seed=0):
    X, y = _people(n, seed)
    posts, _ = _posts(n, seed)
    return X.assign(title=posts["title"], body=posts["body"]), y


def test_save_load_and_pickle_keep_a_mixed_tables_predictions(tmp_path):
    X, y = _shop()
    model = _quiet(TransformerClassifier(**HEAD).fit, X, y)
    assert model.feature_types_ == ("numeric", "categorical", "text", "text")
    X_new, _ = _shop(20, seed=1)
    X_new.loc[0, "city"] = "berlin"  # unseen
    expected = model.predict_proba(X_new)
    model.save(tmp_path / "model")
    loaded = sktfm.load(tmp_path / "model")
    np.testing.assert_array_equal(loaded.predict_proba(X_new), expected)
    assert loaded.feature_types_ == model.feature_types_
    assert loaded._table_layout == model._table_layout
    unpickled = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(unpickled.predict_proba(X_new), expected)


# ------------------------------------------------------------ (g) self-supervised


def test_the_encoder_pretrains_on_a_mixed_table_without_labels():
    X, _ = _shop(80)
    X.insert(2, "plan", pd.Series(["basic", "premium", None, "basic"] * 20, dtype="category"))
    encoder = _quiet(TransformerEncoder(**dict(SMALL, max_epochs=3)).fit, X)
    assert encoder.feature_types_ == ("numeric", "categorical", "categorical", "text", "text")
    losses = [epoch["train_loss"] for epoch in encoder.history_]
    assert np.isfinite(losses).all()
    Z = encoder.transform(X)
    assert Z.shape == (80, 16) and Z.dtype == np.float32 and np.isfinite(Z).all()


# ------------------------------------------------------------ (h) attention maps


def test_attention_maps_of_a_row_with_two_text_columns_drop_padding():
    X, y = _shop(40)
    model = _quiet(TransformerClassifier(**dict(HEAD, max_epochs=1)).fit, X, y)
    maps = model.attention_weights(X[:5])
    assert len(maps) == 5
    n_features = X.shape[1]
    for i, weights in enumerate(maps):
        words = sum(
            len(model.tokenizer_.transform([X[column].iloc[i]])[0]) for column in ("title", "body")
        )
        size = 1 + n_features + words
        assert weights.shape == (1, 2, size, size)  # layers, heads, tokens, tokens
        np.testing.assert_allclose(weights.sum(axis=-1), 1.0, atol=1e-5)
    assert len({weights.shape for weights in maps}) > 1  # bodies of different lengths


# ------------------------------------------------------------ (i), (j) arrays


def test_a_numpy_object_array_of_strings_works_without_column_names():
    X, y = _people(40)
    array = X.to_numpy(dtype=object)
    model = _quiet(TransformerClassifier(**dict(HEAD, max_epochs=1)).fit, array, y)
    assert model.feature_types_ == ("numeric", "categorical")
    assert not hasattr(model, "feature_names_in_")
    assert model.predict(array).shape == (40,)
    np.testing.assert_array_equal(
        model.predict_proba(array), model.predict_proba(array.astype(object))
    )


def test_a_numeric_frame_takes_the_numeric_path_and_fits_as_its_array():
    rng = np.random.RandomState(0)
    X = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
    X.loc[::7, "b"] = np.nan
    y = (X["a"] > 0).to_numpy().astype(int)
    from_frame = _quiet(TransformerClassifier(**HEAD).fit, X, y)
    from_array = _quiet(TransformerClassifier(**HEAD).fit, X.to_numpy(), y)
    assert from_frame._table_layout is None
    assert from_frame.feature_types_ == ("numeric",) * 3
    np.testing.assert_array_equal(
        from_frame.predict_proba(X), from_array.predict_proba(X.to_numpy())
    )


# ------------------------------------------------------------ (k), (l) model selection


def _tidy(X):
    """A user's own step before the model: city names tidied, the frame kept."""
    return X.assign(city=X["city"].str.strip().str.lower())


def test_in_a_pipeline_and_cross_val_score_on_a_frame():
    X, y = _people(90)
    X["city"] = X["city"].str.upper()
    pipeline = make_pipeline(
        FunctionTransformer(_tidy), TransformerClassifier(**dict(HEAD, max_epochs=1))
    )
    scores = _quiet(cross_val_score, pipeline, X, y, cv=3)
    assert scores.shape == (3,) and np.all((scores >= 0) & (scores <= 1))


def test_grid_search_over_min_frequency():
    X, y = _people(60)
    search = GridSearchCV(
        TransformerClassifier(**dict(HEAD, max_epochs=1)),
        {"min_frequency": [1, 0.3]},
        cv=2,
    )
    _quiet(search.fit, X, y)
    assert search.best_params_["min_frequency"] in (1, 0.3)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_.feature_types_ == ("numeric", "categorical")
