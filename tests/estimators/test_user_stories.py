"""The user stories of the foundation issue, end to end on tiny models."""

import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA, TruncatedSVD
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import FeatureUnion, make_pipeline
from sklearn.preprocessing import StandardScaler

from sktfm import (
    TextCleaner,
    TransformerClassifier,
    TransformerEncoder,
    TransformerRegressor,
)


def test_text_pipeline_with_reducer_and_linear_model(tiny, topic_texts):
    X, y = topic_texts
    pipe = make_pipeline(
        TextCleaner(lowercase=True),
        TransformerEncoder(**{**tiny, "max_epochs": 8}),
        TruncatedSVD(n_components=8, random_state=0),
        LogisticRegression(max_iter=500),
    )
    pipe.fit(X, y)
    predictions = pipe.predict(X)
    assert predictions.shape == (len(X),)
    assert set(predictions) <= set(y)
    # y reaches the encoder through the pipeline, so it trains a topic head:
    # the reduced embeddings must separate the four topics well.
    assert np.mean(predictions == y) > 0.8


def test_column_transformer_mixes_text_and_numeric_columns(tiny, topic_texts):
    X_text, y = topic_texts
    rng = np.random.RandomState(0)
    frame = pd.DataFrame(
        {
            "review": X_text,
            "price": rng.normal(size=len(X_text)),
            "stars": rng.randint(1, 6, size=len(X_text)),
        }
    )
    columns = ColumnTransformer(
        [
            ("text", make_pipeline(TextCleaner(), TransformerEncoder(**tiny)), "review"),
            ("numeric", StandardScaler(), ["price", "stars"]),
        ]
    )
    features = columns.fit_transform(frame, y)
    assert features.shape == (len(frame), tiny["d_model"] + 2)
    assert np.isfinite(features).all()
    model = make_pipeline(columns, LogisticRegression(max_iter=500)).fit(frame, y)
    assert model.predict(frame.head(5)).shape == (5,)


def test_grid_search_over_encoder_hyperparameters_in_parallel(tiny, topic_texts):
    X, y = topic_texts
    pipe = make_pipeline(
        TextCleaner(), TransformerEncoder(**tiny), LogisticRegression(max_iter=300)
    )
    search = GridSearchCV(
        pipe,
        {"transformerencoder__d_model": [8, 16], "transformerencoder__pooling": ["mean", "cls"]},
        cv=2,
        n_jobs=2,
    )
    search.fit(X[:120], y[:120])
    assert len(search.cv_results_["params"]) == 4
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    best = search.best_estimator_.named_steps["transformerencoder"]
    assert best.d_model in (8, 16)
    assert best.transform(X[:3]).shape == (3, best.d_model)


def test_cross_val_score_and_feature_union(tiny, tiny_head):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(90, 5))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    scores = cross_val_score(TransformerClassifier(**tiny_head), X, y, cv=3)
    assert scores.shape == (3,)
    union = FeatureUnion([("tfm", TransformerEncoder(**tiny)), ("pca", PCA(2))])
    assert union.fit_transform(X).shape == (90, tiny["d_model"] + 2)


def _fitted_models(tiny, tiny_head, topic_texts):
    X_text, y_text = topic_texts
    rng = np.random.RandomState(1)
    X_tab = rng.normal(size=(60, 4))
    y_reg = X_tab @ [1.0, -1.0, 0.5, 0.0]
    return [
        (TransformerEncoder(**tiny).fit(X_text[:60]), X_text[:60], "transform"),
        (
            TransformerClassifier(**tiny_head).fit(X_text[:60], y_text[:60]),
            X_text[:60],
            "predict_proba",
        ),
        (TransformerRegressor(**tiny_head).fit(X_tab, y_reg), X_tab, "predict"),
        (
            make_pipeline(
                TextCleaner(), TransformerEncoder(**tiny), PCA(3), LogisticRegression()
            ).fit(X_text[:60], y_text[:60]),
            X_text[:60],
            "predict_proba",
        ),
    ]


@pytest.mark.parametrize("dump", ["pickle", "joblib"])
def test_fitted_models_round_trip_and_predict_identically(
    tiny, tiny_head, topic_texts, tmp_path, dump
):
    for model, X, method in _fitted_models(tiny, tiny_head, topic_texts):
        before = getattr(model, method)(X)
        if dump == "pickle":
            restored = pickle.loads(pickle.dumps(model))
        else:
            path = tmp_path / "model.joblib"
            joblib.dump(model, path)
            restored = joblib.load(path)
        np.testing.assert_array_equal(getattr(restored, method)(X), before)


def test_set_output_pandas_names_columns(tiny, topic_texts):
    X, _ = topic_texts
    series = pd.Series(X[:40], index=np.arange(100, 140), name="text")
    encoder = TransformerEncoder(**tiny).set_output(transform="pandas")
    out = encoder.fit_transform(series)
    assert isinstance(out, pd.DataFrame)
    names = encoder.get_feature_names_out()
    assert list(out.columns) == list(names)
    assert names[0] == "transformerencoder0" and len(names) == tiny["d_model"]
    assert list(out.index) == list(series.index)


def test_clone_and_nested_params(tiny):
    pipe = make_pipeline(TextCleaner(), TransformerEncoder(**tiny))
    pipe.set_params(transformerencoder__n_layers=2, textcleaner__lowercase=True)
    copy = clone(pipe)
    assert copy.get_params()["transformerencoder__n_layers"] == 2
    assert copy.get_params()["textcleaner__lowercase"] is True
