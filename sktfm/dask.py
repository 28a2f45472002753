"""Dask support: torch threads on workers, and inference per partition.

Needs the ``distributed`` extra (``pip install "sktfm[distributed]"``).

Searches need nothing from this module: scikit-learn's ``GridSearchCV`` and
``RandomizedSearchCV`` run their fits on a Dask cluster under
``joblib.parallel_backend("dask")``. Two things are torch's own:

- :class:`TorchWorker` sizes torch's thread pool on every worker, so that
  workers sharing a machine do not oversubscribe its cores, and undoes an
  allocator setting of Dask's that halves torch's speed;
- :func:`predict_partitions` applies a fitted estimator to every partition of
  a Dask DataFrame or Series on the workers, keeping the index and order.
  (``dask_ml.wrappers.ParallelPostFit`` does this for Dask arrays, but with
  the query-planning DataFrames of current Dask it computes the whole frame in
  the client instead.)
"""

import pandas as pd
from distributed import WorkerPlugin

from ._allocator import tune_glibc_allocator

__all__ = ["TorchWorker", "predict_partitions", "tune_glibc_allocator"]


class TorchWorker(WorkerPlugin):
    """Worker plugin that prepares every Dask worker to run torch models.

    Register it once per client; workers that join later run it too::

        client.register_plugin(TorchWorker())

    It does two things on each worker process:

    - sets torch's intra-op thread count. A Dask worker runs one task per
      thread at a time; with one torch thread per task (the default), a worker
      started with ``threads_per_worker=k`` keeps to ``k`` cores, as Dask
      intends;
    - gives glibc's allocator back thresholds that suit tensors. Dask's
      nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which also
      pins the threshold above which ``malloc`` maps fresh pages to 128 KiB:
      every activation tensor is then mapped, faulted in and unmapped again,
      and a training step runs up to twice as slowly (measured here). Blocks
      up to 32 MiB are reused from the heap instead, and memory above
      256 MiB of free heap is still returned to the system.

    Parameters
    ----------
    n_threads : int, default=1
        Torch threads per worker process. Raise it for workers that run one
        task at a time on several cores.
    tune_allocator : bool, default=True
        Set the allocator thresholds (glibc only; elsewhere nothing to do).
    """

    name = "sktfm-torch-worker"

    def __init__(self, n_threads=1, tune_allocator=True):
        if isinstance(n_threads, bool) or not isinstance(n_threads, int) or n_threads < 1:
            raise ValueError(f"n_threads must be a positive int, got {n_threads!r}.")
        self.n_threads = n_threads
        self.tune_allocator = tune_allocator

    def setup(self, worker):
        import torch

        torch.set_num_threads(self.n_threads)
        if self.tune_allocator:
            tune_glibc_allocator()


METHODS = ("predict", "predict_proba", "transform", "decision_function")


def _apply(partition, estimator, method):
    """``method`` on one pandas partition, as a pandas object on its index."""
    output = getattr(estimator, method)(partition)
    if isinstance(output, (pd.Series, pd.DataFrame)):  # set_output(transform="pandas")
        return output.set_axis(partition.index, axis=0)
    if getattr(output, "ndim", 1) == 1:
        return pd.Series(output, index=partition.index, name=method)
    if method == "predict_proba" and hasattr(estimator, "classes_"):
        columns = [str(label) for label in estimator.classes_]
    elif method == "transform" and hasattr(estimator, "get_feature_names_out"):
        columns = list(estimator.get_feature_names_out())
    else:
        columns = [f"{method}{i}" for i in range(output.shape[1])]
    return pd.DataFrame(output, index=partition.index, columns=columns)


def _stand_in(empty):
    """Two rows shaped like the empty pandas object ``empty``, text filled in.

    Dask's own stand-in puts a missing value in text columns, which text
    models rightly refuse.
    """
    from dask.dataframe.utils import meta_nonempty

    sample = meta_nonempty(empty)
    columns = [sample] if isinstance(sample, pd.Series) else [sample[c] for c in sample]
    for column in columns:
        if not pd.api.types.is_numeric_dtype(column.dtype):
            column.iloc[:] = "text"
    return sample


def predict_partitions(estimator, X, method="predict", *, meta=None):
    """Apply a fitted estimator to each partition of a Dask DataFrame or Series.

    The estimator travels to each worker once (a single node of the task
    graph) and ``method`` runs there on every partition; outputs keep the
    input's index, order and partitions.

    Parameters
    ----------
    estimator : fitted estimator
        Any fitted scikit-learn estimator or pipeline, sktfm's or not.
    X : dask.dataframe.DataFrame or dask.dataframe.Series
        The samples (a Series of text, or a DataFrame of features or of one
        text column).
    method : {"predict", "predict_proba", "transform", "decision_function"}, \
            default="predict"
        The method to apply.
    meta : pandas object or None, default=None
        Empty output of the right type, as for ``map_partitions``; None finds
        it by running ``method`` on Dask's two-row stand-in for ``X``.

    Returns
    -------
    dask.dataframe.Series or dask.dataframe.DataFrame
        A Series for one value per sample (``predict``), else a DataFrame
        (columns named by ``classes_`` or ``get_feature_names_out()``). Call
        ``.compute()`` for the pandas result.

    Examples
    --------
    Without a ``Client`` Dask runs on local threads; with one, on its workers.

    >>> import dask.dataframe as dd
    >>> import pandas as pd
    >>> from sktfm import TransformerClassifier
    >>> texts = pd.Series(["good film", "bad film", "fine plot", "awful plot"] * 5)
    >>> model = TransformerClassifier(d_model=8, n_heads=2, n_layers=1,
    ...                               dim_feedforward=16, max_epochs=1, random_state=0)
    >>> model = model.fit(texts, ["pos", "neg", "pos", "neg"] * 5)
    >>> labels = predict_partitions(model, dd.from_pandas(texts, npartitions=2))
    >>> labels.compute().index.equals(texts.index)
    True
    """
    import dask

    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}.")
    if not hasattr(estimator, method):
        raise TypeError(f"{type(estimator).__name__} has no method {method!r}.")
    if not (hasattr(X, "map_partitions") and hasattr(X, "npartitions")):
        raise TypeError(
            "X must be a Dask DataFrame or Series; for in-memory data call "
            f"estimator.{method}(X) directly. Got {type(X).__name__}."
        )
    if meta is None:
        # What Dask would do, done here: its own inference cannot see through
        # the delayed estimator.
        meta = _apply(_stand_in(X._meta), estimator, method).iloc[:0]
    shared = dask.delayed(estimator, pure=True)
    return X.map_partitions(_apply, shared, method, meta=meta)
