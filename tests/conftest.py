"""Shared fixtures: every test starts from the same random state."""

import os
import sys
import time

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

if os.environ.get("PYTEST_XDIST_WORKER"):
    # One thread per worker: `pytest -n 2` on 2 cores, not 2 x 2 threads.
    torch.set_num_threads(1)


def pytest_collection_modifyitems(items):
    """Run the ``slow`` tests (whole example scripts, minutes each) first.

    Under ``pytest -n 2`` a worker then starts on one while the other works
    through the short tests, instead of one of them running alone at the end.
    """
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable


@pytest.fixture(autouse=True)
def _seed_everything():
    torch.manual_seed(0)
    np.random.seed(0)
    yield


# Tiny models keep the suite fast on 2 CPU cores; real sizes live in
# examples/ and benchmarks/. The "auto" extras of text learned from scratch
# are pinned off (tests about them set them, or leave them "auto"): no
# moving average of the weights ...
TINY = dict(
    d_model=16,
    n_heads=2,
    n_layers=1,
    dim_feedforward=32,
    dropout=0.0,
    max_epochs=3,
    batch_size=32,
    lr=3e-3,
    vocab_size=200,
    max_len=64,
    ema_decay=None,
    device="cpu",
    random_state=0,
)
#: ... and, for the supervised heads (classifier, regressor: the only
#: estimators with ``ensemble_size``), one model instead of a pair.
TINY_HEAD = dict(TINY, ensemble_size=1)


@pytest.fixture
def tiny():
    """Constructor arguments for a tiny, fast, seeded model (any estimator)."""
    return dict(TINY)


@pytest.fixture
def tiny_head():
    """:data:`TINY_HEAD`: ``tiny`` for a classifier or regressor (one model)."""
    return dict(TINY_HEAD)


class FakeClock:
    """``time.monotonic`` that moves ``tick`` seconds at every reading.

    ``max_time`` reads the clock once when ``fit`` starts and once after every
    training batch, so a fit on this clock stops after a known number of
    batches, whatever the machine's speed. ``readings`` lists what was read;
    :meth:`sleep` moves the clock without a reading.
    """

    def __init__(self, tick):
        self.tick = tick
        self.now = 0.0
        self.readings = []

    def monotonic(self):
        now = self.now
        self.readings.append(now)
        self.now += self.tick
        return now

    def sleep(self, seconds):
        self.now += seconds

    def __getattr__(self, name):  # everything else is the real time module
        return getattr(time, name)


@pytest.fixture
def fake_clock(monkeypatch):
    """``fake_clock(tick)``: put a :class:`FakeClock` behind sktfm's ``max_time``."""

    def install(tick):
        import sktfm  # noqa: F401  (every module that reads the clock imported)

        clock = FakeClock(tick)
        for name, module in list(sys.modules.items()):
            if name.startswith("sktfm.") and getattr(module, "time", None) is time:
                monkeypatch.setattr(module, "time", clock)
        return clock

    return install


@pytest.fixture(scope="session")
def topic_texts():
    """A small generated text-classification set: (X list of str, y labels)."""
    from sktfm.datasets import make_topic_texts

    return make_topic_texts(240, random_state=0)


@pytest.fixture
def tabular_xy():
    """64 rows of 4 standard-normal features and a linear target."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(64, 4))
    return X, X[:, 0] - X[:, 1]


class InterruptAfter(Callback):
    """Raises KeyboardInterrupt (a user's Ctrl-C) at the end of epoch ``epoch``."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            raise KeyboardInterrupt


@pytest.fixture
def interrupt_after():
    """The :class:`InterruptAfter` callback class."""
    return InterruptAfter
