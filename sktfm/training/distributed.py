"""Data-parallel training (``strategy="ddp"``) with ``torch.distributed``.

The calling process hands its skorch net and training set to ``n_processes``
processes that it starts itself with ``torch.multiprocessing`` (spawn). Each
process trains a replica wrapped in
:class:`~torch.nn.parallel.DistributedDataParallel` on its own shard of every
epoch (a :class:`~torch.utils.data.DistributedSampler`), so gradients are
all-reduced after every backward pass and the replicas stay identical. Rank 0
sends back its weights, optimizer state and history, which the calling process
loads into its own net: the caller ends up with an ordinary single-process net
that pickles, saves and predicts like any other.

Processes started by a launcher such as ``torchrun`` (which sets ``RANK`` and
``WORLD_SIZE``) train in place instead: every rank runs ``fit`` and every rank
ends with the same model.

``batch_size`` stays the global batch: each of the ``n`` processes takes
``batch_size / n`` samples per step, so the learning rate, warm-up and number of
steps mean what they mean in a single-process fit.
"""

import hashlib
import inspect
import math
import multiprocessing.connection
import os
import pickle
import tempfile
import traceback

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from skorch.callbacks import Checkpoint, PrintLog, ProgressBar
from skorch.history import History
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler

from .._allocator import tune_glibc_allocator
from .losses import batch_weight, is_sample_mean, split_weights
from .nets import TransformerNet
from .runtime import seeded

__all__ = [
    "DataParallelNet",
    "default_n_processes",
    "fit_data_parallel",
    "launched_world",
    "train_launched",
    "train_spawned",
    "weights_digest",
]

# Callbacks that write files or print: only rank 0 keeps them.
_RANK_ZERO_ONLY = (Checkpoint, PrintLog, ProgressBar)


# sktfm's buffers are constants (positional tables): no need to re-send them
# before every forward. torch >= 2.13 renamed the switch.
_NO_BUFFER_SYNC = (
    {"forward_sync_buffers": False}
    if "forward_sync_buffers" in inspect.signature(DistributedDataParallel).parameters
    else {"broadcast_buffers": False}
)


def launched_world():
    """``(rank, world_size, local_rank)`` when a launcher started this process.

    ``torchrun`` and ``torch.distributed.launch`` set ``RANK`` and
    ``WORLD_SIZE``; an already initialised default process group counts too.
    Returns None in an ordinary process.
    """
    if dist.is_available() and dist.is_initialized():
        rank = dist.get_rank()
        return rank, dist.get_world_size(), int(os.environ.get("LOCAL_RANK", rank))
    if "RANK" in os.environ and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        rank = int(os.environ["RANK"])
        return rank, int(os.environ["WORLD_SIZE"]), int(os.environ.get("LOCAL_RANK", rank))
    return None


def default_n_processes(device):
    """One process per visible GPU on CUDA, one per usable core on CPU."""
    if str(device).startswith("cuda"):
        return max(1, torch.cuda.device_count())
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def weights_digest(module):
    """SHA-256 of every tensor in ``module``'s state dict, in order."""
    digest = hashlib.sha256()
    for name, tensor in module.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


class DataParallelNet(TransformerNet):
    """The net of ``strategy="ddp"``: train steps run through the DDP wrapper.

    Outside a process group it is the plain :class:`TransformerNet`. Inside
    one (:func:`_train_rank` sets ``ddp_module_``), ``module_`` stays the plain
    module (validation, generation and state dicts use it unchanged); only the
    training forward goes through ``ddp_module_``, whose backward pass
    all-reduces the gradients, and the logged loss is the global mean.
    """

    def _replicated(self):
        return "ddp_module_" in self.__dict__

    def train_step_single(self, batch, **fit_params):
        if not self._replicated():
            return super().train_step_single(batch, **fit_params)
        module, self.module_ = self.module_, self.ddp_module_
        try:
            step = super().train_step_single(batch, **fit_params)
        finally:
            self.module_ = module
        # Every rank logs (and checks for NaN) the same loss: a non-finite loss
        # on one rank stops all of them at the same batch instead of leaving
        # the others waiting in a collective.
        loss = step["loss"].detach().clone()
        dist.all_reduce(loss)
        step["loss"] = loss / dist.get_world_size()
        return step

    def get_loss(self, y_pred, y_true, X=None, training=False):
        loss = super().get_loss(y_pred, y_true, X=X, training=training)
        if training and self._replicated() and self._weighted(y_true):
            # DDP averages the ranks' gradients, which is the whole batch's
            # only for plain means over equal shards: a weighted mean of a
            # shard counts as its share of the batch's total weight.
            local = batch_weight(self.criterion_, torch.as_tensor(y_true)).float()
            total = local.detach().clone()
            dist.all_reduce(total)
            share = local * dist.get_world_size() / total.clamp_min(torch.finfo(total.dtype).tiny)
            loss = loss * share.to(loss.device)
        return loss

    def _weighted(self, y_true):
        """Whether the loss of ``y_true`` is a weighted mean (the same on every rank)."""
        if y_true is None or not is_sample_mean(self.criterion_):
            return False
        weighted = split_weights(torch.as_tensor(y_true))[1] is not None
        return weighted or getattr(self.criterion_, "weight", None) is not None

    def _micro_batches(self, Xi, yi):
        # Gradients are all-reduced after every backward: one per batch.
        return None if self._replicated() else super()._micro_batches(Xi, yi)

    def forward_function(self):
        # DDP wraps the plain module; its ranks train uncompiled.
        return self.module_ if self._replicated() else super().forward_function()


def fit_data_parallel(net, dataset, *, n_processes=None, seed=0, epochs=None):
    """Train ``net`` data-parallel; the calling process ends with the fitted net.

    Under a launcher (``torchrun``) this process trains as its rank; otherwise
    ``n_processes`` processes are spawned (None: :func:`default_n_processes`),
    and one process is the plain training loop.
    """
    if launched_world() is not None:
        return train_launched(net, dataset, seed=seed, epochs=epochs)
    n_processes = n_processes or default_n_processes(net.device)
    if n_processes == 1:
        net.partial_fit(dataset, epochs=epochs)
        return net
    net, _ = train_spawned(net, dataset, n_processes=n_processes, seed=seed, epochs=epochs)
    return net


def _train_rank(net, dataset, *, rank, world_size, local_rank, seed, epochs, optimizer_state=None):
    """Train ``net`` as one rank of the default process group, in place."""
    if not isinstance(net, DataParallelNet):
        raise TypeError(
            f"Data-parallel training needs a DataParallelNet, got {type(net).__name__}."
        )
    saved = {
        key: net.__dict__.get(key)
        for key in ("batch_size", "iterator_train__shuffle", "iterator_train__sampler")
    }
    if str(net.device).startswith("cuda"):
        torch.cuda.set_device(local_rank)
        net.device = f"cuda:{local_rank}"
    net.batch_size = math.ceil(net.batch_size / world_size)
    net.iterator_train__shuffle = False  # the sampler shuffles, per epoch
    net.iterator_train__sampler = _EpochSampler(
        dataset, num_replicas=world_size, rank=rank, shuffle=True, seed=seed, net=net
    )
    with seeded(seed + rank):  # dropout and masking differ between ranks
        if not net.initialized_:
            net.initialize()
        elif net.optimizer_ is None:
            net.module_.to(net.device)
            net.initialize_optimizer()  # dropped when the net was pickled
            if optimizer_state is not None:
                net.optimizer_.load_state_dict(optimizer_state)
        net.module_.to(net.device)
        callbacks = net.callbacks_
        if rank != 0:
            net.callbacks_ = [
                (name, cb) for name, cb in callbacks if not isinstance(cb, _RANK_ZERO_ONLY)
            ]
        # Set past skorch's guard on module attributes: the wrapper is no
        # module of the net's own, only a view on ``module_`` for training.
        net.__dict__["ddp_module_"] = DistributedDataParallel(
            net.module_,
            device_ids=[local_rank] if str(net.device).startswith("cuda") else None,
            **_NO_BUFFER_SYNC,
            # Some parameters serve one objective only (the tabular mask
            # embedding, say); the others must not wait for their gradients.
            find_unused_parameters=True,
        )
        try:
            net.partial_fit(dataset, epochs=epochs)
        finally:
            net.callbacks_ = callbacks
            net.__dict__.pop("ddp_module_")
            for key, value in saved.items():  # put back, or remove what was not there
                if value is None:
                    net.__dict__.pop(key, None)
                else:
                    net.__dict__[key] = value
    return net


class _EpochSampler(DistributedSampler):
    """A ``DistributedSampler`` that reshuffles each epoch by the net's history."""

    def __init__(self, dataset, *, net, **kwargs):
        super().__init__(dataset, **kwargs)
        self.net = net

    def __iter__(self):
        self.set_epoch(len(self.net.history))
        return super().__iter__()


def _run_rank(rank, world_size, init_method, payload, seed, epochs, threads, folder, keep_state):
    """Entry point of one spawned process; reports through files in ``folder``."""
    try:
        net, dataset, optimizer_state = pickle.loads(payload)
        torch.set_num_threads(threads)
        tune_glibc_allocator()  # see sktfm._allocator: inherited settings can halve speed
        backend = "nccl" if str(net.device).startswith("cuda") else "gloo"
        dist.init_process_group(backend, init_method=init_method, rank=rank, world_size=world_size)
        try:
            _train_rank(
                net,
                dataset,
                rank=rank,
                world_size=world_size,
                local_rank=rank,
                seed=seed,
                epochs=epochs,
                optimizer_state=optimizer_state,
            )
        finally:
            dist.destroy_process_group()
        report = {"digest": weights_digest(net.module_)}
        if rank == 0 or keep_state:
            report["state"] = {key: value.cpu() for key, value in net.module_.state_dict().items()}
        if rank == 0:
            report["optimizer"] = net.optimizer_.state_dict()
            report["history"] = net.history.to_list()
        torch.save(report, os.path.join(folder, f"rank{rank}.pt"))
    except BaseException as error:
        _write_error(folder, rank, error)
        raise SystemExit(1) from None


def _write_error(folder, rank, error):
    text = "".join(traceback.format_exception(error))
    try:
        payload = pickle.dumps(error)
        pickle.loads(payload)
    except Exception:
        payload = pickle.dumps(RuntimeError(text))
    with open(os.path.join(folder, f"rank{rank}.error"), "wb") as file:
        pickle.dump((payload, text), file)


def _wait(processes):
    """Join ``processes``; returns the rank that failed first, or None."""
    pending = {process.sentinel: rank for rank, process in enumerate(processes)}
    first_failure = None
    while pending:
        for sentinel in multiprocessing.connection.wait(list(pending)):
            rank = pending.pop(sentinel)
            processes[rank].join()
            if processes[rank].exitcode != 0 and first_failure is None:
                first_failure = rank
                # The others may be blocked in a collective with the dead rank.
                for other in processes:
                    if other.is_alive():
                        other.terminate()
    return first_failure


def _raise_failure(folder, rank, exitcode):
    path = os.path.join(folder, f"rank{rank}.error")
    if not os.path.exists(path):
        raise RuntimeError(f"Data-parallel training process {rank} died with exit code {exitcode}.")
    with open(path, "rb") as file:
        payload, text = pickle.load(file)
    error = pickle.loads(payload)
    error.add_note(f"(raised in data-parallel training process {rank})")
    raise error


def train_spawned(net, dataset, *, n_processes, seed, epochs=None, keep_rank_states=False):
    """Train ``net`` on ``dataset`` in ``n_processes`` spawned processes.

    Parameters
    ----------
    net : DataParallelNet
        An unfitted net (trained from its initial weights) or a fitted one
        (training continues, as ``partial_fit``).
    dataset : torch.utils.data.Dataset
        The training set; validation comes from the net's ``train_split``.
    n_processes : int
        World size.
    seed : int
        Seeds the shuffling (shared) and dropout (per rank).
    epochs : int or None
        Epochs to run; None means ``net.max_epochs``.
    keep_rank_states : bool
        Also return every rank's final weights (for checks).

    Returns
    -------
    net : the same net, fitted with rank 0's result.
    rank_states : list of dict or None
        Every rank's state dict when ``keep_rank_states``.
    """
    cuda = str(net.device).startswith("cuda")
    if cuda and n_processes > torch.cuda.device_count():
        raise ValueError(
            f"n_processes={n_processes} exceeds the {torch.cuda.device_count()} visible "
            "GPU(s); data-parallel CUDA training uses one GPU per process."
        )
    # Split the caller's threads between the processes: no oversubscription.
    threads = max(1, torch.get_num_threads() // n_processes)
    # Pickled nets drop the optimizer; continued training needs its moments.
    optimizer = net.__dict__.get("optimizer_") if net.initialized_ else None
    optimizer_state = None if optimizer is None else optimizer.state_dict()
    # Plain pickle bytes give every process its own copy of the weights and
    # optimizer moments; passing tensors directly would put them in shared
    # memory, where every replica's optimizer step would land on one copy.
    payload = pickle.dumps((net, dataset, optimizer_state))
    context = mp.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="sktfm-ddp-") as folder:
        init_method = "file://" + os.path.join(folder, "rendezvous")
        processes = [
            context.Process(
                target=_run_rank,
                args=(
                    rank,
                    n_processes,
                    init_method,
                    payload,
                    seed,
                    epochs,
                    threads,
                    folder,
                    keep_rank_states,
                ),
            )
            for rank in range(n_processes)
        ]
        try:
            for process in processes:
                process.start()
            failed = _wait(processes)
        except BaseException:  # KeyboardInterrupt included: leave no orphans
            for process in processes:
                if process.is_alive():
                    process.terminate()
            raise
        if failed is not None:
            _raise_failure(folder, failed, processes[failed].exitcode)
        reports = [
            torch.load(os.path.join(folder, f"rank{rank}.pt"), weights_only=False)
            for rank in range(n_processes)
        ]
    digests = {report["digest"] for report in reports}
    if len(digests) != 1:
        raise RuntimeError("Data-parallel replicas ended with different weights.")
    _load_result(net, reports[0])
    rank_states = [report["state"] for report in reports] if keep_rank_states else None
    return net, rank_states


def _load_result(net, report):
    """Make the caller's ``net`` the fitted net that rank 0 ended with."""
    if not net.initialized_:
        net.initialize()
    elif net.optimizer_ is None:
        net.initialize_optimizer()
    net.module_.load_state_dict(report["state"])
    net.optimizer_.load_state_dict(report["optimizer"])
    net.history = History(report["history"])
    net.stop_reason_ = "max_epochs"


def train_launched(net, dataset, *, seed, epochs=None):
    """Train ``net`` as this process's rank of a launcher-started job (torchrun)."""
    rank, world_size, local_rank = launched_world()
    if not dist.is_initialized():
        backend = "nccl" if str(net.device).startswith("cuda") else "gloo"
        dist.init_process_group(backend, init_method="env://")
    _train_rank(
        net,
        dataset,
        rank=rank,
        world_size=world_size,
        local_rank=local_rank,
        seed=seed,
        epochs=epochs,
    )
    digests = [None] * world_size
    dist.all_gather_object(digests, weights_digest(net.module_))
    if len(set(digests)) != 1:
        raise RuntimeError("Data-parallel replicas ended with different weights.")
    net.stop_reason_ = "max_epochs"
    return net
