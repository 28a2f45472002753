"""Where every benchmark script records its figures: benchmarks/RESULTS.md.

RESULTS.md holds the latest run of each benchmark only, one section each,
between two markers::

    <!-- benchmark: encode -->
    ## Encoder inference: sktfm vs torch fast path vs HF BertModel

    Run 2026-12-09 at commit abc1234, x86_64 with 2 CPU cores: `python benchmarks/encode.py`.
    ...
    <!-- end: encode -->

``record_section(name, lines)`` replaces the section ``name`` in place (or adds
it at the end, the first time) and appends the run it replaces to
``benchmarks/history/<script>.md``, where ``<script>`` is ``name`` up to its
first ``/``: ``real_data/ts`` and ``real_data/text`` are two sections of one
script, with one history file. Nothing measured is lost; RESULTS.md stays a
page of current figures. Its table of contents, between ``<!-- contents -->``
and ``<!-- end: contents -->``, is rewritten from the section headings at
every record.
"""

import datetime
import os
import platform
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
HISTORY = HERE / "history"

# A section: its opening marker, its text, its closing marker.
SECTION = re.compile(
    r"^<!-- benchmark: (?P<name>[\w./-]+) -->\n(?P<body>.*?)^<!-- end: (?P=name) -->\n?",
    flags=re.DOTALL | re.MULTILINE,
)
CONTENTS = re.compile(
    r"^<!-- contents -->\n.*?^<!-- end: contents -->\n?", flags=re.DOTALL | re.MULTILINE
)
# A date the heading used to carry, "(2026-12-02)" or "(2026-12-03, partial)".
HEADING_DATE = re.compile(r"\s*\(\d{4}-\d{2}-\d{2}[^)]*\)\s*$")
NEW_PAGE = """# Benchmark results

The latest run of each benchmark in `benchmarks/`; earlier runs are in
`benchmarks/history/`, one file per script.

<!-- contents -->
<!-- end: contents -->
"""


def slug(heading):
    """The anchor GitHub and MyST give a heading: lower case, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower().replace(" ", "-"))


def sections(text):
    """``{name: body}`` of the sections of a RESULTS page, in page order."""
    return {match["name"]: match["body"] for match in SECTION.finditer(text)}


def heading(body):
    """The ``##`` heading of a section's body, without the hashes."""
    for line in body.splitlines():
        if line.startswith("## "):
            return line[3:].strip()
    return ""


def contents(text):
    """The table of contents of a page: one link per section heading."""
    entries = [f"- [{heading(body)}](#{slug(heading(body))})" for body in sections(text).values()]
    return "\n".join(["<!-- contents -->", *entries, "<!-- end: contents -->", ""])


def _git(*args):
    """What ``git *args`` prints in this checkout, stripped."""
    done = subprocess.run(["git", *args], cwd=HERE, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _commit():
    """The checkout's short commit, noting uncommitted changes; None outside git."""
    try:
        commit = _git("rev-parse", "--short", "HEAD")
        changed = _git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return None
    return f"{commit} (with uncommitted changes)" if changed else commit


def _command():
    """The command line that runs this process's script, from the repository root."""
    script = Path(sys.argv[0])
    shown = f"benchmarks/{script.name}" if script.suffix == ".py" else script.name
    return " ".join(["python", shown, *(shlex.quote(arg) for arg in sys.argv[1:])])


def run_line(date=None, commit=None, command=None, machine=None):
    """``Run <date> at commit <commit>, <machine>: `<command>`.``"""
    date = date or datetime.date.today().isoformat()
    commit = commit or _commit()
    machine = machine or f"{platform.machine()} with {os.cpu_count()} CPU cores"
    command = command or _command()
    at = f"at commit {commit}" if commit else "at an unknown commit"
    return f"Run {date} {at}, {machine}: `{command}`."


def _section(name, lines, run):
    """The marked section for ``lines``: heading without its date, then the run line."""
    lines = list(lines)
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None or not lines[first].startswith("## "):
        raise ValueError(f"a section starts with a '## ' heading, not {lines[first:1]!r}")
    title = HEADING_DATE.sub("", lines[first])
    rest = lines[first + 1 :]
    while rest and not rest[0].strip():
        rest.pop(0)
    while rest and not rest[-1].strip():
        rest.pop()
    body = "\n".join([title, "", run, "", *rest])
    # The blank line ends a table the section may end with, before the marker.
    return f"<!-- benchmark: {name} -->\n{body}\n\n<!-- end: {name} -->\n"


def _append_history(history, name, body):
    """Append a replaced section's body to ``history/<script>.md``, made if new."""
    script = name.split("/")[0]
    path = Path(history) / f"{script}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(
            f"# Earlier runs of `benchmarks/{script}.py`\n\n"
            "Oldest first, as RESULTS.md showed them; the latest run is in "
            "[RESULTS.md](../RESULTS.md).\n",
            encoding="utf-8",
        )
    with path.open("a", encoding="utf-8") as out:
        out.write("\n" + body.strip("\n") + "\n")
    return path


def record_section(name, lines, *, command=None, results=None, history=None, run=None):
    """Print a run's section and make it the current ``name`` section of RESULTS.md.

    Parameters
    ----------
    name : str
        The section's stable name: the script's (``"encode"``), or the script's
        and a part's (``"real_data/ts"``).
    lines : list of str
        Markdown lines, a ``## `` heading first (a date at its end is dropped:
        the run line under it gives the date).
    command : str, optional
        The command shown in the run line; default: this process's command line.
    results, history : path, optional
        The page and the history folder (tests); default: benchmarks/RESULTS.md
        and benchmarks/history/.
    run : str, optional
        The run line itself (tests); default: date, commit, machine and command.

    Returns
    -------
    Path or None
        The history file the replaced run went to; None for a first run.
    """
    results = Path(results or RESULTS)
    history = Path(history or HISTORY)
    block = _section(name, lines, run or run_line(command=command))
    print(block)
    text = results.read_text(encoding="utf-8") if results.exists() else NEW_PAGE
    old = next((m for m in SECTION.finditer(text) if m["name"] == name), None)
    moved = None
    if old is None:
        text = text.rstrip("\n") + "\n\n" + block
    else:
        moved = _append_history(history, name, old["body"])
        text = text[: old.start()] + block + text[old.end() :]
    if CONTENTS.search(text):
        text = CONTENTS.sub(lambda _: contents(text), text, count=1)
    results.write_text(text, encoding="utf-8")
    return moved


def paired_ratio(times, base_times):
    """Median over repetitions of ``times`` over ``base_times`` in the same repetition.

    The machine's speed drifts between repetitions (a shared host); systems
    timed back to back within one repetition see the same conditions.
    """
    return float(np.median(np.asarray(times) / np.asarray(base_times)))
