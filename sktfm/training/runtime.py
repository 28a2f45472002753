"""Where and how a net runs: device, precision and random-number seeding."""

import functools
import multiprocessing
import sys
import warnings
import zlib
from contextlib import contextmanager
from typing import NamedTuple

import torch

__all__ = [
    "PRECISIONS",
    "ParallelWorker",
    "available_device",
    "cpu_has_native_bf16",
    "get_threads",
    "parallel_worker",
    "resolve_device",
    "resolve_precision",
    "seeded",
    "set_threads",
]

PRECISIONS = ("auto", "float32", "bfloat16", "fp32", "bf16")
_PRECISION_ALIASES = {"fp32": "float32", "bf16": "bfloat16"}


def resolve_device(device):
    """Map ``"auto"`` to ``"cuda"`` when a GPU is visible, else ``"cpu"``.

    In a parallel worker (a Dask worker, or a process that joblib or
    multiprocessing started, as ``GridSearchCV(n_jobs=...)`` does) a bare
    ``"cuda"`` becomes ``"cuda:i"`` for a GPU chosen by the worker's number, so
    parallel jobs spread over the visible GPUs instead of piling onto the first.
    """
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and torch.cuda.is_available():
        worker = parallel_worker()
        n_gpus = torch.cuda.device_count()
        if worker is not None and n_gpus > 1:
            return f"cuda:{worker.index % n_gpus}"
        if worker is not None and worker.kind == "process":
            warnings.warn(
                "Parallel jobs are training on the one visible GPU and share its "
                "memory and compute. With one GPU, search with n_jobs=1 (the GPU "
                "already runs each fit in parallel); with several, make them "
                "visible (CUDA_VISIBLE_DEVICES) or use one Dask worker per GPU.",
                stacklevel=2,
            )
    return str(torch.device(device))


class ParallelWorker(NamedTuple):
    kind: str  # "dask" or "process"
    index: int


def parallel_worker():
    """Which parallel worker runs this code, or None in the main process.

    Dask workers are numbered by their name when it is a number
    (``LocalCluster`` names them 0, 1, ...), else by a hash of it; processes
    started by joblib (loky) or multiprocessing by their creation number.
    Threads are not told apart: they share one process and its device.
    """
    if "distributed" in sys.modules:
        from distributed import get_worker

        try:
            name = get_worker().name
        except ValueError:  # not inside a Dask worker
            pass
        else:
            if isinstance(name, int) or str(name).isdigit():
                return ParallelWorker("dask", int(name))
            return ParallelWorker("dask", zlib.crc32(str(name).encode()))
    identity = multiprocessing.current_process()._identity
    return ParallelWorker("process", identity[-1] - 1) if identity else None


def get_threads():
    """Intra-op threads torch uses in this process."""
    return torch.get_num_threads()


def set_threads(n_threads):
    """Make torch use ``n_threads`` intra-op threads in this process (a worker's share)."""
    torch.set_num_threads(n_threads)


def resolve_precision(precision, device):
    """Pick the autocast dtype: bfloat16 on capable GPUs for ``"auto"``.

    An explicit bfloat16 on a CPU without native bfloat16 instructions runs
    (emulated) but slower than float32: say so.
    """
    if precision == "auto":
        cuda = device.startswith("cuda") and torch.cuda.is_available()
        return "bfloat16" if cuda and torch.cuda.is_bf16_supported() else "float32"
    precision = _PRECISION_ALIASES.get(precision, precision)
    if precision == "bfloat16" and device.startswith("cpu") and not cpu_has_native_bf16():
        warnings.warn(
            "precision='bfloat16' on a CPU without native bfloat16 instructions (AVX512-BF16 "
            "or AMX) is emulated and slower than float32; use precision='float32' here.",
            UserWarning,
            stacklevel=3,
        )
    return precision


@functools.cache
def fused_adamw_supported(device_type):
    """Whether this torch has AdamW's fused kernel for ``device_type`` ("cpu", "cuda"...).

    The fused kernel updates every weight in one pass instead of a dozen
    small operations per weight tensor: on the CPU (torch >= 2.4) it took an
    optimizer step of a d_model-128 model from about 5 ms to about 1.5 ms.
    """
    try:
        weight = torch.zeros(1, device=device_type, requires_grad=True)
        torch.optim.AdamW([weight], fused=True)
    except (RuntimeError, AssertionError, ValueError, TypeError):
        return False
    return True


def cpu_has_native_bf16():
    """Whether this CPU computes bfloat16 natively (oneDNN's own check)."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


@contextmanager
def seeded(seed):
    """Run a block under a fixed torch seed without touching the caller's RNG.

    Weight init, dropout, masking and shuffling all draw from torch's global
    generator; forking it makes a fit repeatable *and* side-effect free.
    """
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def available_device(device):
    """:func:`resolve_device`, but a ValueError when CUDA is asked for and absent.

    Used where a fitted model is placed (loading a saved folder), so that the
    message says how to load on this machine.
    """
    device = resolve_device(device)
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} but CUDA is not available; load with device='cpu' or device='auto'."
        )
    return device
