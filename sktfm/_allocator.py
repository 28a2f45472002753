"""glibc ``malloc`` thresholds that suit tensor workloads.

glibc adapts the size above which ``malloc`` maps fresh pages to the blocks a
program frees, unless an environment variable such as
``MALLOC_TRIM_THRESHOLD_`` pins it at 128 KiB. Dask sets that variable for its
workers (and leaves it in the environment of the process that started them,
so later child processes inherit it); torch then maps, faults in and unmaps
every activation tensor, and training runs up to twice as slowly.
"""

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # from glibc's <malloc.h>


def tune_glibc_allocator(mmap_threshold=32 << 20, trim_threshold=256 << 20):
    """Set glibc's ``malloc`` thresholds for this process; False where not glibc."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, mmap_threshold)) and bool(
        mallopt(_M_TRIM_THRESHOLD, trim_threshold)
    )
