"""Saving is atomic: a process killed at any moment of a save leaves the old or the new model.

A child process saves two fitted models in turn over one folder; it is
SIGKILLed at random moments, and each time the folder it leaves must load as
exactly one of the two models. The child forks a saver per trial, so the
cost of importing torch is paid once.
"""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import sktfm
from sktfm import TransformerClassifier
from sktfm.datasets import make_topic_texts

N_TRIALS = 60

CHILD = textwrap.dedent(
    """
    import os, random, shutil, signal, sys, time
    import torch

    torch.set_num_threads(1)  # no worker threads: forking below is safe
    import sktfm

    old_src, new_src, target, out, n_trials = sys.argv[1:6]
    models = [sktfm.load(old_src), sktfm.load(new_src)]
    models[0].save(target)
    start = time.perf_counter()
    for model in models * 3:
        model.save(target)
    duration = (time.perf_counter() - start) / 6
    rng = random.Random(0)
    for trial in range(int(n_trials)):
        pid = os.fork()
        if pid == 0:  # the saver: old, new, old, new... until killed
            i = trial
            while True:
                models[i % 2].save(target)
                i += 1
        time.sleep(rng.uniform(0.0, 3.0 * duration))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        shutil.copytree(target, os.path.join(out, f"trial{trial}"), symlinks=True)
    print(f"save takes {duration * 1000:.1f} ms")
    """
)


@pytest.fixture(scope="module")
def two_models(tmp_path_factory):
    """Two fitted classifiers that disagree: different classes, different weights."""
    X, y = make_topic_texts(60, random_state=0)
    tiny = dict(d_model=8, n_heads=2, n_layers=1, dim_feedforward=16, max_epochs=1)
    old = TransformerClassifier(**tiny, random_state=0).fit(X, y)
    new = TransformerClassifier(**tiny, random_state=1).fit(X, np.asarray(y) == y[0])
    folder = tmp_path_factory.mktemp("models")
    old.save(folder / "old")
    new.save(folder / "new")
    return folder, X[:20], old, new


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the saver processes are forked (POSIX)")
def test_a_killed_save_leaves_exactly_the_old_or_the_new_model(tmp_path, two_models):
    folder, X, old, new = two_models
    out = tmp_path / "snapshots"
    out.mkdir()
    target = tmp_path / "model"
    result = subprocess.run(
        [sys.executable, "-c", CHILD, folder / "old", folder / "new", target, out, str(N_TRIALS)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    expected = {
        "old": (list(old.classes_), old.predict_proba(X)),
        "new": (list(new.classes_), new.predict_proba(X)),
    }
    seen = []
    for trial in range(N_TRIALS):
        loaded = sktfm.load(out / f"trial{trial}")  # never half-written: no error
        proba = loaded.predict_proba(X)
        matches = [
            name
            for name, (classes, reference) in expected.items()
            if list(loaded.classes_) == classes and np.array_equal(proba, reference)
        ]
        assert len(matches) == 1, f"trial {trial} is neither the old nor the new model"
        seen.append(matches[0])
    # The kills landed both before and after the swap, not always at one point.
    assert set(seen) == {"old", "new"}, seen
    # What killed saves leave is beside the folder, named as sktfm's own.
    assert all(p.name.startswith(".model.sktfm-") for p in tmp_path.iterdir() if p.name[0] == ".")
