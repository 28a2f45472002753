"""The README's code blocks and the examples run as users would run them."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _readme_blocks():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def test_readme_opens_with_the_two_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = re.search(r"```bash\n(.*?)```", text, flags=re.DOTALL).group(1)
    commands = [line.split("#")[0].strip() for line in first_block.splitlines()]
    assert commands == ["make demo", "make test"]


@pytest.mark.parametrize("index", range(len(_readme_blocks())))
def test_readme_code_block_runs(index, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # blocks may write files (saved models)
    # Run as a script: blocks that start processes sit under a __main__ guard.
    exec(compile(_readme_blocks()[index], f"README.md block {index}", "exec"),
         {"__name__": "__main__"})
    assert capsys.readouterr().out.strip()  # each block prints its result


def test_demo_example_prints_its_result():
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "text_pipeline.py")],
        capture_output=True, text=True, timeout=300, check=True,
    )
    match = re.search(r"TransformerClassifier test accuracy: ([0-9.]+)", result.stdout)
    assert match, result.stdout
    assert float(match.group(1)) > 0.9
