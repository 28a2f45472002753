"""Grid search and batch inference on a Dask cluster
=================================================

Starts a ``LocalCluster`` of two single-threaded worker processes (on a real
cluster, connect with ``Client("tcp://scheduler:8786")`` instead; nothing else
changes), then:

1. runs scikit-learn's ``GridSearchCV`` over a text pipeline with a
   ``TransformerClassifier`` on the cluster, under
   ``joblib.parallel_backend("dask")``, and checks it against the same search
   run in this process;
2. labels 20,000 texts held in a Dask Series partition by partition on the
   workers with :func:`sktfm.dask.predict_partitions`, and checks the result
   and its order against in-memory ``predict``.

A figure shows the grid: the cross-validated accuracy and the fit time of
each candidate.

Needs the ``distributed`` extra: ``pip install "sktfm[distributed]"``. Run it
with::

    python examples/distributed_search.py
"""

import time

import dask.dataframe as dd
import joblib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from distributed import Client, LocalCluster
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline

from sktfm import TextCleaner, TransformerClassifier
from sktfm.dask import TorchWorker, predict_partitions
from sktfm.datasets import make_topic_texts


def plot_search(search):
    """Mean CV accuracy (+/- one std over the folds) and mean fit time per candidate."""
    results = search.cv_results_
    lrs = sorted(set(results["param_transformerclassifier__lr"]))
    d_models = sorted(set(results["param_transformerclassifier__d_model"]))
    fig, (ax_score, ax_time) = plt.subplots(1, 2, figsize=(11, 4.2))
    width = 0.8 / len(d_models)
    for i, d_model in enumerate(d_models):
        rows = [
            next(
                k
                for k, params in enumerate(results["params"])
                if params["transformerclassifier__lr"] == lr
                and params["transformerclassifier__d_model"] == d_model
            )
            for lr in lrs
        ]
        ax_score.errorbar(
            range(len(lrs)),
            results["mean_test_score"][rows],
            yerr=results["std_test_score"][rows],
            marker="o",
            capsize=4,
            label=f"d_model={d_model}",
        )
        ax_time.bar(
            np.arange(len(lrs)) + (i - (len(d_models) - 1) / 2) * width,
            results["mean_fit_time"][rows],
            width,
            yerr=results["std_fit_time"][rows],
            capsize=3,
            label=f"d_model={d_model}",
        )
    best = search.best_params_
    ax_score.plot(
        lrs.index(best["transformerclassifier__lr"]),
        search.best_score_,
        marker="*",
        markersize=16,
        color="gold",
        markeredgecolor="black",
        linestyle="none",
        label="best",
    )
    for ax in (ax_score, ax_time):
        ax.set_xticks(range(len(lrs)), [f"lr={lr:g}" for lr in lrs])
        ax.legend()
    ax_score.set(ylabel="mean CV accuracy (3 folds)", title="Grid search on Dask: CV accuracy")
    ax_score.margins(x=0.2)
    ax_time.set(ylabel="seconds per fit, on a worker", title="Mean fit time per candidate")
    fig.tight_layout()
    return fig


def main():
    torch.set_num_threads(1)  # as on each worker: the two searches then agree exactly
    X, y = make_topic_texts(1200, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y
    )
    pipeline = make_pipeline(
        TextCleaner(),
        TransformerClassifier(
            d_model=32,
            n_heads=2,
            n_layers=1,
            dim_feedforward=64,
            max_epochs=10,
            vocab_size=2000,
            max_len=64,
            device="cpu",
            random_state=0,
        ),
    )
    grid = {"transformerclassifier__lr": [1e-3, 3e-3], "transformerclassifier__d_model": [16, 32]}

    # The guard above (`if __name__ == "__main__"`) matters: worker processes
    # re-import this file.
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        client.register_plugin(TorchWorker())  # torch threads and allocator per worker
        client.run(lambda: __import__("sktfm") and None)  # import once, off the clock
        print(f"cluster: {len(client.scheduler_info()['workers'])} workers")

        search = GridSearchCV(pipeline, grid, cv=3, n_jobs=-1)
        start = time.perf_counter()
        with joblib.parallel_backend("dask"):
            search.fit(X_train, y_train)
        on_dask = time.perf_counter() - start
        print(
            f"grid search on Dask (refit in this process included): {on_dask:.1f} s, "
            f"best {search.best_params_}, "
            f"test accuracy {search.score(X_test, y_test):.3f}"
        )

        start = time.perf_counter()
        local = clone(search).set_params(n_jobs=1).fit(X_train, y_train)
        same_scores = np.array_equal(
            local.cv_results_["mean_test_score"], search.cv_results_["mean_test_score"]
        )
        print(
            f"same search in this process: {time.perf_counter() - start:.1f} s, "
            f"same best parameters: {local.best_params_ == search.best_params_}, "
            f"same cv scores: {same_scores}"
        )

        many, _ = make_topic_texts(20_000, random_state=1)
        texts = pd.Series(many, name="text")
        lazy = dd.from_pandas(texts, npartitions=8)
        start = time.perf_counter()
        labels = predict_partitions(search.best_estimator_, lazy).compute()
        seconds = time.perf_counter() - start
        in_memory = search.best_estimator_.predict(texts)
        print(
            f"labelled {len(labels):,} texts on the workers in {seconds:.1f} s "
            f"({len(labels) / seconds:,.0f}/s); equal to in-memory predict, in order: "
            f"{labels.index.equals(texts.index) and np.array_equal(labels, in_memory)}"
        )

    plot_search(search)
    plt.show()


if __name__ == "__main__":
    main()
