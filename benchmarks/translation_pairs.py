"""Benchmark: Seq2SeqTranslator's defaults on other language pairs, untuned.

The defaults were chosen on English -> French words (benchmarks/translation.py).
Here the same defaults translate English -> Spanish number words, and digits
("342") -> French words, where only the tokenizer follows the data: digits
are read character by character, ``tokenizer=("char", "word")``. Each pair
trains on 10,000 numbers and is tested on 500 others; BLEU, chrF and exact
match are printed and recorded in RESULTS.md.

    python benchmarks/translation_pairs.py
"""

import os
import platform
import time
from pathlib import Path

import torch
from _results import record_section

from sktfm import Seq2SeqTranslator
from sktfm.datasets import make_number_translation
from sktfm.metrics import chrf_score, exact_match_score

ROOT = Path(__file__).resolve().parents[1]
N_TRAIN, N_TEST = 10_000, 500

PAIRS = [
    ("English words -> Spanish words", dict(source_lang="en", target_lang="es"), {}),
    (
        "digits -> French words",
        dict(source_format="digits", target_lang="fr"),
        dict(tokenizer=("char", "word")),
    ),
]


def main():
    rows = ["| pair | BLEU | chrF | exact match | fit (s) | example |", "|---|---|---|---|---|---|"]
    for name, data_kwargs, model_kwargs in PAIRS:
        X, y = make_number_translation(N_TRAIN + N_TEST, random_state=0, **data_kwargs)
        model = Seq2SeqTranslator(random_state=0, **model_kwargs)
        start = time.perf_counter()
        model.fit(X[:N_TRAIN], y[:N_TRAIN])
        seconds = time.perf_counter() - start
        predictions = model.predict(X[N_TRAIN:])
        bleu = model.score(X[N_TRAIN:], y[N_TRAIN:])
        example = f"{X[N_TRAIN]!r} -> {predictions[0]!r}"
        rows.append(
            f"| {name} | {bleu:.1f} | {chrf_score(y[N_TRAIN:], predictions):.1f} | "
            f"{exact_match_score(y[N_TRAIN:], predictions):.3f} | {seconds:.0f} | {example} |"
        )
        print(rows[-1], flush=True)
    machine = f"{platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__}"
    text = "\n".join(
        [
            "## Translator defaults on other pairs",
            "",
            f"`Seq2SeqTranslator(random_state=0)` defaults, untuned; {N_TRAIN:,} training "
            f"numbers, {N_TEST} test numbers never seen in training. Machine: {machine}.",
            "",
            *rows,
            "",
        ]
    )
    record_section("translation_pairs", text.splitlines())


if __name__ == "__main__":
    main()
