"""Tiny presets for the PyTorch core tests (seeding is in tests/conftest.py)."""

import pytest
import torch

# Small enough that every test runs in milliseconds on 2 CPU cores.
TINY = dict(d_model=16, n_heads=2, n_layers=2, dim_feedforward=32, dropout=0.0)


@pytest.fixture
def tiny_nn():
    return dict(TINY)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Run the core tests on one intra-op thread, then restore the setting.

    Their tiny tensors gain nothing from threads, and with 2 threads per process
    on 2 shared cores (another pytest, a build) torch's thread pool spins and the
    suite runs several times slower.
    """
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n_threads)
