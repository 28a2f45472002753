"""Search and inference on a Dask cluster that the tests start and stop.

A ``LocalCluster`` of two single-threaded worker processes stands in for a
real cluster: the same code runs against a remote scheduler's ``Client``.
"""

import inspect
import os
import subprocess
import sys

import dask.array as da
import dask.dataframe as dd
import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from dask_ml.wrappers import ParallelPostFit
from distributed import Client, LocalCluster
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
from sklearn.pipeline import make_pipeline

from sktfm import TextCleaner, TransformerClassifier, TransformerEncoder
from sktfm.dask import TorchWorker, predict_partitions, tune_glibc_allocator
from sktfm.training.runtime import ParallelWorker, parallel_worker

# One cluster for the module: keep its tests on one pytest-xdist worker.
pytestmark = pytest.mark.xdist_group("dask")


@pytest.fixture(scope="module")
def client():
    # Dask's nannies write their workers' settings into this process's
    # environment and leave them there (MALLOC_TRIM_THRESHOLD_=65536,
    # OMP_NUM_THREADS=1, ...): every process that this pytest worker starts
    # later would inherit them, and glibc's trim threshold alone makes torch
    # train 2x slower there (see sktfm._allocator). Put the environment back.
    environ = dict(os.environ)
    try:
        with (
            LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            Client(cluster) as client,
        ):
            client.register_plugin(TorchWorker())
            yield client
    finally:
        os.environ.clear()
        os.environ.update(environ)


@pytest.fixture
def one_torch_thread():
    """The workers' thread count here too, so float sums run in the same order."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:240], y[:240]


def _search_both_ways(search, X, y):
    """The same search in this process, then on the cluster."""
    local = clone(search).set_params(n_jobs=1).fit(X, y)
    with joblib.parallel_backend("dask"):
        search.fit(X, y)
    return local, search


def _assert_same_search(local, on_dask):
    assert on_dask.best_params_ == local.best_params_
    for key in local.cv_results_:
        if key.startswith(("split", "mean_test", "rank_test", "param")):
            np.testing.assert_array_equal(
                on_dask.cv_results_[key], local.cv_results_[key], err_msg=key
            )


def test_plugin_sets_torch_threads_on_every_worker(client):
    client.register_plugin(TorchWorker(2))
    assert set(client.run(torch.get_num_threads).values()) == {2}
    client.register_plugin(TorchWorker())  # the default: one per Dask thread
    assert set(client.run(torch.get_num_threads).values()) == {1}


def test_plugin_tunes_the_allocator_on_every_worker(client):
    assert set(client.run(tune_glibc_allocator).values()) == {True}


# The probe loads the module that defines sktfm.dask.tune_glibc_allocator by
# itself (its path is the argument): it needs glibc, not the seconds that
# importing torch and the rest of sktfm would take.
ALLOCATOR_PROBE = """
import ctypes, importlib.util, os, re, sys, tempfile
spec = importlib.util.spec_from_file_location("allocator", sys.argv[1])
allocator = importlib.util.module_from_spec(spec)
spec.loader.exec_module(allocator)
tune_glibc_allocator = getattr(allocator, sys.argv[2])
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = libc.fopen.restype = ctypes.c_void_p

def mapped_blocks():
    path = tempfile.mktemp()
    stream = ctypes.c_void_p(libc.fopen(path.encode(), b"w"))
    libc.malloc_info(0, stream)
    libc.fclose(stream)
    with open(path) as report:
        text = report.read()
    os.remove(path)
    return int(re.search(r'<total type="mmap" count="(\\d+)"', text).group(1))

before = mapped_blocks()
libc.malloc(1 << 20)
untuned = mapped_blocks() - before
assert tune_glibc_allocator()
before = mapped_blocks()
libc.malloc(1 << 20)
print(untuned, mapped_blocks() - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_tuned_allocator_serves_tensor_sized_blocks_from_the_heap():
    # Under Dask's worker setting, a 1 MiB block is mapped afresh; tuned, it is not.
    env = {**os.environ, "MALLOC_TRIM_THRESHOLD_": "65536"}
    source = inspect.getsourcefile(tune_glibc_allocator)
    result = subprocess.run(
        [sys.executable, "-c", ALLOCATOR_PROBE, source, tune_glibc_allocator.__name__],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    assert result.stdout.split() == ["1", "0"]


@pytest.mark.parametrize("n_threads", [0, 1.5, True])
def test_plugin_rejects_bad_thread_counts(n_threads):
    with pytest.raises(ValueError, match="n_threads"):
        TorchWorker(n_threads)


def test_grid_search_on_dask_equals_single_process(client, one_torch_thread, digits, tiny_head):
    X, y = digits
    search = GridSearchCV(
        TransformerClassifier(**tiny_head),
        {"lr": [1e-3, 3e-3], "d_model": [8, 16]},
        cv=2,
        n_jobs=-1,
    )
    local, on_dask = _search_both_ways(search, X, y)
    _assert_same_search(local, on_dask)
    np.testing.assert_array_equal(on_dask.predict(X), local.predict(X))


def test_pipeline_search_on_dask_equals_single_process(client, one_torch_thread, topic_texts, tiny):
    X, y = topic_texts
    pipeline = make_pipeline(
        TextCleaner(), TransformerEncoder(**tiny), LogisticRegression(max_iter=200)
    )
    search = RandomizedSearchCV(
        pipeline,
        {
            "transformerencoder__d_model": [8, 16],
            "transformerencoder__max_epochs": [1, 2],
            "logisticregression__C": [0.1, 1.0],
        },
        n_iter=3,
        cv=2,
        random_state=0,
        n_jobs=-1,
    )
    local, on_dask = _search_both_ways(search, X, y)
    _assert_same_search(local, on_dask)


@pytest.fixture(scope="module")
def fitted_text_models(topic_texts):
    X, y = topic_texts
    small = dict(
        d_model=16,
        n_heads=2,
        n_layers=1,
        dim_feedforward=32,
        max_epochs=2,
        vocab_size=200,
        max_len=64,
        device="cpu",
        random_state=0,
    )
    return (TransformerClassifier(**small).fit(X, y), TransformerEncoder(**small).fit(X))


def _shuffled_series(texts):
    # A non-trivial index: outputs must keep it, whatever order the workers finish in.
    index = np.random.RandomState(1).permutation(len(texts)) * 7
    return pd.Series(list(texts), index=index, name="text")


def test_predict_partitions_equals_in_memory(client, fitted_text_models, topic_texts):
    classifier, encoder = fitted_text_models
    texts = _shuffled_series(topic_texts[0])
    lazy = dd.from_pandas(texts, npartitions=4, sort=False)

    labels = predict_partitions(classifier, lazy).compute()
    assert labels.index.equals(texts.index)
    np.testing.assert_array_equal(labels.to_numpy(), classifier.predict(texts))

    proba = predict_partitions(classifier, lazy, "predict_proba").compute()
    assert proba.columns.tolist() == [str(c) for c in classifier.classes_]
    np.testing.assert_allclose(proba.to_numpy(), classifier.predict_proba(texts), atol=1e-5)

    embeddings = predict_partitions(encoder, lazy, "transform").compute()
    assert embeddings.index.equals(texts.index)
    assert embeddings.columns.tolist() == encoder.get_feature_names_out().tolist()
    np.testing.assert_allclose(embeddings.to_numpy(), encoder.transform(texts), atol=1e-5)


def test_predict_partitions_on_a_dataframe(client, digits, tiny_head):
    X, y = digits
    frame = pd.DataFrame(X, columns=[f"pixel{i}" for i in range(X.shape[1])])
    model = TransformerClassifier(**tiny_head).fit(frame, y)
    lazy = dd.from_pandas(frame, npartitions=3)
    np.testing.assert_array_equal(
        predict_partitions(model, lazy).compute().to_numpy(), model.predict(frame)
    )


def test_parallel_post_fit_on_a_dask_array(client, digits, tiny_head):
    X, y = digits
    model = TransformerClassifier(**tiny_head).fit(X, y)
    wrapped = ParallelPostFit(model, predict_meta=np.array([], dtype=model.classes_.dtype))
    lazy = wrapped.predict(da.from_array(X, chunks=(60, X.shape[1])))
    assert isinstance(lazy, da.Array)
    np.testing.assert_array_equal(lazy.compute(), model.predict(X))


def test_predict_partitions_rejects_what_it_cannot_do(fitted_text_models, topic_texts):
    classifier, encoder = fitted_text_models
    lazy = dd.from_pandas(pd.Series(topic_texts[0][:10]), npartitions=2)
    with pytest.raises(TypeError, match="Dask DataFrame or Series"):
        predict_partitions(classifier, list(topic_texts[0][:10]))
    with pytest.raises(ValueError, match="method must be one of"):
        predict_partitions(classifier, lazy, "fit")
    with pytest.raises(TypeError, match="has no method 'predict'"):
        predict_partitions(encoder, lazy, "predict")


def test_dask_workers_are_numbered_for_device_placement(client):
    workers = sorted(client.scheduler_info()["workers"])
    found = {
        client.submit(parallel_worker, workers=[address], pure=False).result()
        for address in workers
    }
    assert found == {ParallelWorker("dask", 0), ParallelWorker("dask", 1)}
