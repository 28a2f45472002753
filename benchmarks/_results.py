"""Where every benchmark script records its table: benchmarks/RESULTS.md."""

from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def append_section(lines):
    """Print a dated section (a list of Markdown lines) and append it to RESULTS.md."""
    print("\n".join(lines))
    with open(RESULTS, "a") as out:
        out.write("\n" + "\n".join(lines))
