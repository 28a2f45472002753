"""Fitting a deep ensemble: each member on its own seed and validation split, side by side.

A member is fitted exactly as a single model would be (``_train_net``), from
its own seed and its own validation split: the members then differ in their
initialisation, dropout draws, batch order and held-out samples, which is
what made two models average better than either on real text
(``benchmarks/RESULTS.md``). On the CPU the members train at the same time in
separate processes (joblib), each with its share of the cores: two one-thread
fits side by side took 1.35x the time of one two-thread fit, where one after
the other they take twice as long.
"""

import copy
import time
import warnings

import numpy as np
from joblib import Parallel, delayed

from ..training.builder import make_ensemble
from ..training.distributed import default_n_processes
from ..training.runtime import get_threads, parallel_worker, set_threads

__all__ = ["fit_members"]

# What a member must not carry into its worker: the previous fit.
_PREVIOUS_FIT = ("net_", "module_", "history_", "_training_module")


def _usable_cores():
    return default_n_processes("cpu")


def n_parallel_members(n_members, *, device, strategy, n_processes, threads):
    """How many members train at once: on the CPU, one per core up to ``n_members``.

    One at a time on a GPU, under data-parallel training, and inside a worker
    of a parallel search (joblib, Dask), which already keeps the cores busy.
    """
    if device != "cpu" or strategy is not None or parallel_worker() is not None:
        return 1
    cores = _usable_cores() if n_processes is None else n_processes
    return max(1, min(n_members, cores, threads))


def _fit_member(member, train, valid, *, threads, train_kwargs):
    """Worker: fit one member as a single model; return it with the warnings it raised."""
    if threads is not None:
        set_threads(threads)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        member._train_net(train=train, valid=valid, **train_kwargs)
    return member, [(str(w.message), w.category) for w in caught]


def fit_members(
    estimator, X_model, y, *, n_members, rng, stratify, objective, plan, **train_kwargs
):
    """Fit ``n_members`` models and set ``estimator``'s net to their :class:`DeepEnsemble`.

    Parameters
    ----------
    estimator : BaseEncoderEstimator
        The classifier or regressor being fitted (its "auto" parameters
        already resolved for this data).
    X_model, y : model-ready samples and targets (with their sample weights).
    n_members : int
        Members to fit (at least 2).
    rng : numpy.random.RandomState
        Draws each member's seed; the member's validation split comes from it.
    stratify : array-like or None
        Labels to stratify each validation split on.
    objective : {"classification", "multilabel", "regression"}
    plan : sktfm.training.plan.FitPlan
        The fit's plan, which every member follows (with its own share of
        ``max_time`` when they train one after the other).
    **train_kwargs
        ``module_kwargs``, ``head_kwargs`` and ``pretrained``, as
        :meth:`_train_net` takes them.
    """
    seeds = [estimator._seed(rng) for _ in range(n_members)]
    template = copy.copy(estimator)
    template.__dict__ = {
        key: value for key, value in estimator.__dict__.items() if key not in _PREVIOUS_FIT
    }
    jobs = []
    for seed in seeds:
        train, valid = estimator._split(X_model, y, np.random.RandomState(seed), stratify)
        jobs.append((seed, train, valid))

    device = plan.device
    threads = get_threads()  # this process's threads, shared among the members
    n_jobs = n_parallel_members(
        n_members,
        device=device,
        strategy=estimator.strategy,
        n_processes=estimator.n_processes,
        threads=threads,
    )
    if estimator.callbacks:
        # The user's callbacks see every member's training, here, as they
        # would see a single model's (in another process they would not).
        n_jobs = 1
    deadline = plan.deadline
    head_kwargs = dict(train_kwargs.pop("head_kwargs", None) or {})
    calls = []
    for k, (seed, train, valid) in enumerate(jobs):
        member_end = deadline
        if deadline is not None and n_jobs == 1:
            # One after the other: each member gets its share of the time left.
            now = time.monotonic()
            member_end = now + (deadline - now) * (k + 1) / n_members
        kwargs = dict(
            objective=objective,
            seed=seed,
            plan=plan.for_member(member_end),
            head_kwargs=head_kwargs,
            **train_kwargs,
        )
        calls.append(
            delayed(_fit_member)(
                copy.copy(template) if n_jobs == 1 else template,
                train,
                valid,
                threads=max(1, threads // n_jobs) if n_jobs > 1 else None,
                train_kwargs=kwargs,
            )
        )
    # Processes, never threads: a fit seeds torch's global generator.
    results = Parallel(n_jobs=n_jobs, backend="loky")(calls)
    _assemble(estimator, [member for member, _ in results], objective, head_kwargs, plan)
    seen = set()
    for _, caught in results:
        for message, category in caught:
            if message not in seen:  # the members often say the same thing
                seen.add(message)
                warnings.warn(message, category, stacklevel=5)
    return estimator


def _assemble(estimator, members, objective, head_kwargs, plan):
    """Set ``estimator``'s fitted state from its fitted ``members``."""
    first = members[0]
    estimator.early_stopping_ = first.early_stopping_
    module = make_ensemble(objective, [member.module_ for member in members])
    device = first.device_
    net = estimator._restored_net(
        module.to(device),
        objective=objective,
        settings=plan.net,
        device=device,
        history=first.history_,
    )
    net.stop_reason_ = first.net_.stop_reason_
    estimator._module_spec = {
        **first._module_spec,
        "head_kwargs": {**head_kwargs, "n_members": len(members)},
    }
    estimator._adopt_net(net, device=device, n_iter=max(len(member.history_) for member in members))
