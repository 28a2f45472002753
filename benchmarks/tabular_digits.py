"""Benchmark: examples/tabular_digits.py, recorded in benchmarks/RESULTS.md.

Runs the example as a user would (same data split, same model), refits the
same model with two more seeds to show the figure is not one lucky draw,
checks the accuracy target of the foundation issue (>= 0.97 on the held-out
digits, every seed) and appends the figures, with the machine they came from,
to RESULTS.md.

    python benchmarks/tabular_digits.py
"""

import os
import platform
import runpy
from pathlib import Path

import torch
from _results import record_section
from sklearn.base import clone

ROOT = Path(__file__).resolve().parents[1]
TARGET = 0.97


def main():
    namespace = runpy.run_path(str(ROOT / "examples" / "tabular_digits.py"))
    accuracy = namespace["accuracy"]
    baseline = namespace["baseline_accuracy"]
    seconds = namespace["seconds"]
    model = namespace["model"]
    device = model.device_
    accuracies = {0: accuracy}
    for seed in (1, 2):
        refit = clone(model).set_params(random_state=seed)
        refit.fit(namespace["X_train"], namespace["y_train"])
        accuracies[seed] = refit.score(namespace["X_test"], namespace["y_test"])
    worst = min(accuracies.values())
    verdict = "meets" if worst >= TARGET else "MISSES"
    rows = [
        "| model | random_state | test accuracy | fit time (s) |",
        "|---|---|---|---|",
        *(
            f"| TransformerClassifier (d_model=64, 2 layers, 60 epochs) | {seed} | "
            f"{acc:.4f} | {seconds:.0f} |"
            if seed == 0
            else f"| TransformerClassifier, same | {seed} | {acc:.4f} | - |"
            for seed, acc in accuracies.items()
        ),
        f"| StandardScaler + LogisticRegression | - | {baseline:.4f} | - |",
    ]
    machine = (
        f"{platform.machine()}, {os.cpu_count()} CPU cores, torch "
        f"{torch.__version__}, device {device}"
    )
    section = "\n".join(
        [
            "## Tabular digits",
            "",
            f"scikit-learn `load_digits`, 80/20 stratified split (seed 0), each of "
            f"the 64 pixels one token. Machine: {machine}.",
            "",
            *rows,
            "",
            f"Target >= {TARGET} on every seed: {verdict} it (worst {worst:.4f}).",
            "",
        ]
    )
    record_section("tabular_digits", section.splitlines())
    if worst < TARGET:
        raise SystemExit(f"accuracy {worst:.4f} is below the {TARGET} target")


if __name__ == "__main__":
    main()
