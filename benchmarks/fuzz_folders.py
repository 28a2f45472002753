"""Long run of the saved-folder fuzzer (the test suite runs 400 mutations).

Runs tests/folder_fuzzer.py with many more mutations and several seeds, each
in a child process under its 6 GiB address-space cap and audit hook, and
records the outcome counts in benchmarks/RESULTS.md. Exits non-zero when a
mutated folder was loaded unfaithfully, read a file outside itself, ran
pickle, or failed with anything but a ValueError.

    python benchmarks/fuzz_folders.py [--mutations 5000] [--seeds 1 2 3]
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _results import record_section

FUZZER = Path(__file__).resolve().parent.parent / "tests" / "folder_fuzzer.py"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutations", type=int, default=5000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args()
    rows, failures = [], []
    for seed in args.seeds:
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as workdir:
            result = subprocess.run(
                [sys.executable, str(FUZZER), workdir, str(args.mutations), str(seed)],
                capture_output=True,
                text=True,
            )
        if not result.stdout:
            sys.exit(f"The fuzzer died (seed {seed}):\n{result.stderr[-3000:]}")
        summary = json.loads(result.stdout.splitlines()[-1])
        failures += summary["failures"]
        rows.append(
            f"| {seed} | {summary['mutations']} | {summary['refused']} | "
            f"{summary['loaded_same']} | {summary['loaded_other']} | "
            f"{len(summary['failures'])} | {time.perf_counter() - start:.0f} s |"
        )
    record_section(
        "fuzz_folders",
        [
            "## Saved-folder fuzzing",
            "",
            "Mutated copies of saved estimators, a tokenizer, a cleaner, a pipeline and an",
            "ONNX export (tests/folder_fuzzer.py). *Refused*: a ValueError. *Same*: loads",
            "and predicts exactly as the original. *Other*: a re-signed edit that makes a",
            "different but valid model. *Failures*: anything else, a read outside the",
            "folder or a pickle call.",
            "",
            "| seed | mutations | refused | same | other | failures | time |",
            "|---|---|---|---|---|---|---|",
            *rows,
            "",
        ],
    )
    for failure in failures[:20]:
        print(failure, file=sys.stderr)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
