"""Fuzzing saved folders: a few hundred mutations, each refused or loaded faithfully.

The fuzzer (tests/folder_fuzzer.py) runs in a child process under a 6 GiB
address-space cap, with an audit hook on every file opened and pickle
disabled; see its docstring for the mutations and the checks. A longer run:
``python benchmarks/fuzz_folders.py``.
"""

import json
import subprocess
import sys
from pathlib import Path

FUZZER = Path(__file__).parent / "folder_fuzzer.py"


def test_mutated_folders_are_refused_or_load_as_the_original(tmp_path):
    result = subprocess.run(
        [sys.executable, str(FUZZER), str(tmp_path), "400", "0"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.stdout, result.stderr[-3000:]
    summary = json.loads(result.stdout.splitlines()[-1])
    assert summary["failures"] == [], "\n\n".join(summary["failures"][:10])
    assert result.returncode == 0, result.stderr[-3000:]
    # The mutations reach every outcome: most are refused, some change nothing
    # that matters (a parameter no prediction reads) and load as the original.
    assert summary["refused"] > 200 and summary["loaded_same"] > 20
