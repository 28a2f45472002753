"""Benchmark: training throughput, TransformerClassifier vs a bare PyTorch loop.

The same module (``make_module("classification", ...)``: d_model 128, 4 heads,
2 layers, feed-forward 512), the same 4,096 token sequences, batch 64, AdamW.
The bare loop is what a user would write: a shuffled ``DataLoader`` padding
each batch to its longest sequence, forward, cross-entropy, backward, step.
sktfm runs with ``grad_clip=None`` so that both do the same work per step.
Cases: every sequence 128 tokens, and lengths uniform in 8-128 (sktfm buckets
by length; the bare loop does not); and sktfm with ``precision="bf16"`` where
the CPU computes bfloat16 natively (elsewhere it is emulated, slower, and
skipped). Both systems run the same module, so both skip padding in the
position-wise layers (:class:`sktfm.nn.Packing`); what differs is the
pipeline: bucketing, collation, skorch.

Throughput is real tokens per second over one full epoch, each system warmed
up first (a short fit, a few batches); runs alternate between systems,
``REPEATS`` rounds, medians reported.
Records its
section of benchmarks/RESULTS.md (earlier runs: benchmarks/history/).

    python benchmarks/train.py
"""

import itertools
import os
import platform
import time

import numpy as np
import torch
from _results import record_section
from torch.utils.data import DataLoader

from sktfm import TransformerClassifier
from sktfm.data import SequenceDataset, collate
from sktfm.training import make_module
from sktfm.training.runtime import cpu_has_native_bf16

N, BATCH, VOCAB = 4096, 64, 4000
MODEL = dict(d_model=128, n_heads=4, n_layers=2, dim_feedforward=512)
REPEATS = 2


WARM_UP_SEQUENCES = 8 * BATCH


def sktfm_epoch_seconds(tokens, y, **options):
    """Seconds of one training epoch of TransformerClassifier, after a short warm-up fit."""

    def classifier():
        return TransformerClassifier(
            input_type="tokens",
            **MODEL,
            max_len=128,
            vocab_size=VOCAB + 7,
            batch_size=BATCH,
            max_epochs=1,
            lr=1e-3,
            grad_clip=None,
            device="cpu",
            random_state=0,
            **options,
        )

    classifier().fit(tokens[:WARM_UP_SEQUENCES], y[:WARM_UP_SEQUENCES])
    model = classifier().fit(tokens, y)
    return model.history_[-1, "dur"], model


def bare_epoch_seconds(model, X_ids, y):
    """One epoch of a hand-written loop over a fresh copy of sktfm's module, after 8 batches."""
    spec = model._module_spec
    torch.manual_seed(0)
    module = make_module(spec["objective"], spec["module_kwargs"], **spec["head_kwargs"])
    optimizer = torch.optim.AdamW(module.parameters(), lr=1e-3, weight_decay=0.01)
    loss_fn = torch.nn.CrossEntropyLoss()
    loader = DataLoader(
        SequenceDataset(X_ids, y), batch_size=BATCH, shuffle=True, collate_fn=collate
    )
    module.train()

    def train_on(batches):
        for Xb, yb in batches:
            optimizer.zero_grad()
            loss = loss_fn(module(**Xb), yb)
            loss.backward()
            optimizer.step()

    train_on(itertools.islice(loader, WARM_UP_SEQUENCES // BATCH))
    start = time.perf_counter()
    train_on(loader)
    return time.perf_counter() - start


def main():
    rng = np.random.RandomState(0)
    words = np.array([f"w{i}" for i in range(VOCAB)], dtype=object)
    cases = {
        "fixed 128": [rng.randint(0, VOCAB, size=128) for _ in range(N)],
        "variable 8-128": [rng.randint(0, VOCAB, size=rng.randint(8, 129)) for _ in range(N)],
    }
    y = rng.randint(0, 4, size=N)
    rates = {}
    models = {}
    for round_ in range(REPEATS):
        for case, ids in cases.items():
            tokens = [list(words[x]) for x in ids]
            tokens[0] = list(words)  # every word seen: the vocabulary is full
            n_tokens = sum(min(len(t), 128) for t in tokens)
            # Who runs first alternates between rounds: neither system always
            # inherits the other's heap or caches.
            if round_ % 2 == 0:
                seconds, model = sktfm_epoch_seconds(tokens, y)
                bare = bare_epoch_seconds(model, model._model_input(tokens), y)
            else:  # the module and ids of the previous round's sktfm model
                bare = bare_epoch_seconds(models[case], models[case]._model_input(tokens), y)
                seconds, model = sktfm_epoch_seconds(tokens, y)
            models[case] = model
            runs = {"sktfm TransformerClassifier": seconds, "bare PyTorch loop": bare}
            if case == "fixed 128" and cpu_has_native_bf16():
                runs["sktfm, precision=bf16"] = sktfm_epoch_seconds(tokens, y, precision="bf16")[0]
            for name, s in runs.items():
                rates.setdefault((case, name), []).append(n_tokens / s)
                print(f"{case}: {name}: {n_tokens / s:,.0f} tokens/s")

    median = {key: float(np.median(v)) for key, v in rates.items()}
    spread = {key: float(np.ptp(v)) for key, v in rates.items()}
    fixed_ratio = (
        median[("fixed 128", "sktfm TransformerClassifier")]
        / median[("fixed 128", "bare PyTorch loop")]
    )
    var_ratio = (
        median[("variable 8-128", "sktfm TransformerClassifier")]
        / median[("variable 8-128", "bare PyTorch loop")]
    )
    bf16_key = ("fixed 128", "sktfm, precision=bf16")
    if bf16_key in median:
        bf16_ratio = median[bf16_key] / median[("fixed 128", "sktfm TransformerClassifier")]
        bf16_line = f"- bf16 autocast training: {bf16_ratio:.2f}x sktfm's float32 (target >= 1.3x)."
    else:
        bf16_line = (
            "- bf16 autocast training: not timed, this CPU has no native bfloat16 "
            "(emulated bfloat16 is slower than float32)."
        )
    machine = (
        f"{platform.machine()}, {os.cpu_count()} CPU cores, {torch.get_num_threads()} "
        f"torch threads, torch {torch.__version__}, cpu capability "
        f"{torch.backends.cpu.get_cpu_capability()}"
    )
    lines = [
        "## Training throughput: TransformerClassifier vs a bare PyTorch loop",
        "",
        f"Machine: {machine}. `benchmarks/train.py`: d_model 128, 4 heads, 2 layers, "
        f"{N:,} sequences, batch {BATCH}, AdamW; real tokens per second over one epoch after "
        f"a warm-up; median of {REPEATS} alternating rounds (spread in brackets).",
        "",
        "| case | system | tokens/s |",
        "|---|---|---|",
        *(
            f"| {case} | {name} | {median[(case, name)]:,.0f} ({spread[(case, name)]:,.0f}) |"
            for case, name in median
        ),
        "",
        f"- Fixed length: sktfm at {fixed_ratio:.2f}x the bare loop's throughput "
        f"(target: no more than 3% slower, i.e. >= 0.97x).",
        f"- Variable lengths: sktfm {var_ratio:.2f}x the bare unbucketed loop (target >= 1.5x).",
        bf16_line,
        "",
    ]
    record_section("train", lines)


if __name__ == "__main__":
    main()
