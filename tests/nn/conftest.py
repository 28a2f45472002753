"""Tiny presets for the PyTorch core tests (seeding is in tests/conftest.py)."""

import pytest

# Small enough that every test runs in milliseconds on 2 CPU cores.
TINY = dict(d_model=16, n_heads=2, n_layers=2, dim_feedforward=32, dropout=0.0)


@pytest.fixture
def tiny_nn():
    return dict(TINY)
