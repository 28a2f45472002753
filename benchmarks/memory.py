"""Benchmark: peak memory and throughput transforming 1,000,000 short strings.

Fits a ``TransformerEncoder`` (defaults: d_model 128, 2 layers) on generated
topic texts, then transforms 1,000,000 short strings (1-7 words) in a fresh
process, measuring how much the peak resident memory rises over the memory
before ``transform`` (the float32 output alone is 512 MB). Also times the
word tokenizer alone on the same strings. Target: < 1.5 GB. Records its
section of benchmarks/RESULTS.md (earlier runs: benchmarks/history/).

    python benchmarks/memory.py
"""

import os
import platform
import resource
import subprocess
import sys
import time

import numpy as np
from _results import record_section

N_STRINGS = 1_000_000
TARGET_GB = 1.5


def strings(n, seed=0):
    from sktfm.datasets import make_topic_texts

    words = " ".join(make_topic_texts(2000, random_state=seed)[0]).split()
    rng = np.random.RandomState(seed)
    return [
        " ".join(words[i : i + k])
        for i, k in zip(rng.randint(0, len(words) - 10, n), rng.randint(1, 8, n))
    ]


def child():
    """Run in a fresh process: report peak-RSS growth of transform, and timings."""
    from sktfm import Tokenizer, TransformerEncoder
    from sktfm.datasets import make_topic_texts

    X, _ = make_topic_texts(2000, random_state=0)
    encoder = TransformerEncoder(max_epochs=1, device="cpu", random_state=0).fit(X)
    texts = strings(N_STRINGS)
    # The rise is measured from the peak so far, which is where the process
    # stands (nothing bigger ran before), up to the peak after transform.
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    out = encoder.transform(texts)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tokenizer = Tokenizer().fit(X)  # timed after, so its memory is not counted
    start = time.perf_counter()
    tokenizer.transform(texts)
    tokenize_seconds = time.perf_counter() - start
    print(
        (peak - before) / 2**20,
        peak / 2**20,
        seconds,
        tokenize_seconds,
        out.shape[1],
        out.nbytes / 2**30,
    )


def main():
    result = subprocess.run(
        [sys.executable, __file__, "--child"], capture_output=True, text=True, check=True
    )
    rise, peak, seconds, tokenize_seconds, width, out_gb = map(float, result.stdout.split()[-6:])
    verdict = "meets" if rise < TARGET_GB else "MISSES"
    lines = [
        "## Transforming 1,000,000 short strings",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores. `benchmarks/memory.py`: "
        f"`TransformerEncoder()` defaults (d_model {int(width)}), 1-7 words per string, in a "
        "fresh process.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| peak resident memory rise during transform | {rise:.2f} GB |",
        f"| of which the float32 output | {out_gb:.2f} GB |",
        f"| process peak | {peak:.2f} GB |",
        f"| transform time | {seconds:.1f} s ({N_STRINGS / seconds:,.0f} strings/s) |",
        f"| word tokenizer alone | {tokenize_seconds:.1f} s "
        f"({N_STRINGS / tokenize_seconds:,.0f} strings/s) |",
        "",
        f"Target rise < {TARGET_GB} GB: {verdict} it. Output rows are in input order "
        "(`tests/test_batch_invariance.py`).",
        "",
    ]
    record_section("memory", lines)


if __name__ == "__main__":
    child() if "--child" in sys.argv else main()
