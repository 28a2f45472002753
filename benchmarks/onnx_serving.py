"""Benchmark: serving an encoder through ONNX Runtime (CPU) vs sktfm's ``transform``.

Reference size as benchmarks/encode.py: d_model 256, 4 heads, 4 layers,
feed-forward 1024, vocab 8000, batch 64, N_SEQUENCES sequences, (a) every
sequence 128 tokens, (b) lengths uniform in 8-128. The model is exported with
:func:`sktfm.export_onnx` and served by :class:`sktfm.onnx.OnnxPredictor`
(ONNX Runtime's CPU provider, default threads, spinning off; batches in order of length
as sktfm does), from the same token lists. Both paths run in this one process
and alternate within each repetition after a warm-up; the ratio is the median
of the per-repetition ratios. The largest difference between the two
outputs is reported too. Records its
section of benchmarks/RESULTS.md (earlier runs: benchmarks/history/).

    python benchmarks/onnx_serving.py
"""

import os
import platform
import tempfile
import time

import numpy as np
import onnxruntime
from _results import paired_ratio, record_section
from encode import (
    BATCH,
    FF,
    HEADS,
    LAYERS,
    N_SEQUENCES,
    REFERENCE_OPTIONS,
    REPEATS,
    VOCAB,
    WORDS,
    D,
    reference_fit_tokens,
    time_modules,
)

from sktfm import TransformerEncoder, export_onnx
from sktfm.onnx import OnnxPredictor


def main():
    rng = np.random.RandomState(0)
    encoder = TransformerEncoder(**REFERENCE_OPTIONS).fit(reference_fit_tokens(rng))
    folder = tempfile.mkdtemp(prefix="sktfm-onnx-")
    start = time.perf_counter()
    export_onnx(encoder, folder)
    export_seconds = time.perf_counter() - start
    options = onnxruntime.SessionOptions()
    # ONNX Runtime's threads spin after each call by default, which would
    # take the cores from the torch pass that follows it in this process.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    predictor = OnnxPredictor(folder, batch_size=BATCH, session_options=options)

    cases = {
        "fixed 128": [list(WORDS[rng.randint(7, VOCAB, size=128)]) for _ in range(N_SEQUENCES)],
        "variable 8-128": [
            list(WORDS[rng.randint(7, VOCAB, size=rng.randint(8, 129))]) for _ in range(N_SEQUENCES)
        ],
    }
    rows = []
    for case, tokens in cases.items():
        error = float(np.abs(predictor.transform(tokens) - encoder.transform(tokens)).max())
        times = time_modules(
            {
                "sktfm": lambda t=tokens: encoder.transform(t),
                "onnx": lambda t=tokens: predictor.transform(t),
            }
        )
        sktfm_s, onnx_s = np.median(times["sktfm"]), np.median(times["onnx"])
        ratio = paired_ratio(times["sktfm"], times["onnx"])
        print(f"{case}: sktfm {sktfm_s:.2f} s, ONNX Runtime {onnx_s:.2f} s, ratio {ratio:.2f}")
        rows.append(
            f"| {case} | {N_SEQUENCES / sktfm_s:.0f} | {N_SEQUENCES / onnx_s:.0f} "
            f"| {ratio:.2f}x | {error:.1e} |"
        )

    record_section(
        "onnx_serving",
        [
            "## ONNX Runtime serving vs sktfm transform",
            "",
            f"`python benchmarks/onnx_serving.py`: {platform.processor() or platform.machine()}, "
            f"{os.cpu_count()} cores, torch threads default, onnxruntime "
            f"{onnxruntime.__version__} (CPUExecutionProvider, default threads, spinning off so "
            "that the two paths alternate fairly). "
            f"Encoder d_model {D}, {HEADS} "
            f"heads, {LAYERS} layers, feed-forward {FF}, vocab {VOCAB}; {N_SEQUENCES} "
            f"sequences in batches of {BATCH}, in order of length on both sides; median of "
            f"{REPEATS} alternating repetitions after a warm-up. Export took "
            f"{export_seconds:.1f} s. Ratio = sktfm time / ONNX Runtime time (above 1: ONNX "
            "Runtime faster), the median of the per-repetition ratios; no speed target.",
            "",
            "| lengths | sktfm `transform` (seq/s) | `OnnxPredictor.transform` (seq/s) "
            "| ratio | largest output difference |",
            "|---|---|---|---|---|",
            *rows,
            "",
        ],
    )


if __name__ == "__main__":
    main()
