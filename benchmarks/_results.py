"""Where every benchmark script records its table: benchmarks/RESULTS.md."""

from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def append_section(lines):
    """Append a dated section (a list of Markdown lines) to RESULTS.md, newest last."""
    with open(RESULTS, "a") as out:
        out.write("\n" + "\n".join(lines))
