"""Where every benchmark script records its table: benchmarks/RESULTS.md."""

from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def append_section(lines):
    """Print a dated section (a list of Markdown lines) and append it to RESULTS.md."""
    print("\n".join(lines))
    with open(RESULTS, "a") as out:
        out.write("\n" + "\n".join(lines))


def paired_ratio(times, base_times):
    """Median over repetitions of ``times`` over ``base_times`` in the same repetition.

    The machine's speed drifts between repetitions (a shared host); systems
    timed back to back within one repetition see the same conditions.
    """
    return float(np.median(np.asarray(times) / np.asarray(base_times)))
