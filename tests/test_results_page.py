"""benchmarks/RESULTS.md: one current section per benchmark, earlier runs in history/.

``benchmarks/_results.py`` is loaded by path (benchmarks/ is not a package).
"""

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


results = _load("_results", BENCHMARKS / "_results.py")

RUN = "Run 2026-12-09 at commit abc1234, x86_64 with 2 CPU cores: `python benchmarks/x.py`."


def _record(tmp_path, name, lines, run=RUN):
    return results.record_section(
        name,
        lines,
        results=tmp_path / "RESULTS.md",
        history=tmp_path / "history",
        run=run,
    )


def _page(tmp_path):
    return (tmp_path / "RESULTS.md").read_text(encoding="utf-8")


@pytest.fixture
def page(tmp_path):
    """A page with two benchmarks, ``encode`` and ``decode``."""
    first = ["## Encoder inference (2026-12-01)", "", "| a |", "|---|", "| 1 |"]
    _record(tmp_path, "encode", first)
    _record(tmp_path, "decode", ["## Greedy decoding", "", "| b |", "|---|", "| 2 |", ""])
    return tmp_path


def test_first_run_of_a_benchmark_adds_its_section_and_a_contents_entry(tmp_path):
    moved = _record(tmp_path, "encode", ["## Encoder inference", "", "| a |", "|---|", "| 1 |"])
    text = _page(tmp_path)
    assert moved is None
    assert not (tmp_path / "history").exists()
    assert text.startswith("# Benchmark results\n")
    assert results.sections(text) == {
        "encode": f"## Encoder inference\n\n{RUN}\n\n| a |\n|---|\n| 1 |\n\n"
    }
    assert "- [Encoder inference](#encoder-inference)" in text


def test_a_new_benchmark_is_added_after_the_others(page):
    _record(page, "train", ["## Training throughput", "", "| c |"])
    assert list(results.sections(_page(page))) == ["encode", "decode", "train"]
    assert "- [Training throughput](#training-throughput)" in _page(page)


def test_a_rerun_replaces_its_section_in_place(page):
    run = RUN.replace("2026-12-09", "2026-12-10")
    rerun = ["## Encoder inference (2026-12-10)", "", "| a |", "|---|", "| 3 |"]
    _record(page, "encode", rerun, run)
    sections = results.sections(_page(page))
    assert list(sections) == ["encode", "decode"]  # same place, once
    assert "| 3 |" in sections["encode"] and "| 1 |" not in sections["encode"]
    assert "2026-12-10" in sections["encode"]
    assert _page(page).count("<!-- benchmark: encode -->") == 1


def test_the_replaced_run_is_appended_to_the_history_of_its_script(page):
    moved = _record(page, "encode", ["## Encoder inference", "", "| 3 |"])
    assert moved == page / "history" / "encode.md"
    history = moved.read_text(encoding="utf-8")
    assert history.startswith("# Earlier runs of `benchmarks/encode.py`")
    assert f"## Encoder inference\n\n{RUN}\n\n| a |\n|---|\n| 1 |\n" in history
    assert "<!--" not in history  # the markers stay on the page

    _record(page, "encode", ["## Encoder inference", "", "| 4 |"])
    history = moved.read_text(encoding="utf-8")
    assert history.index("| 1 |") < history.index("| 3 |")  # oldest first
    assert "| 4 |" not in history and "| 4 |" in _page(page)


def test_other_sections_are_left_untouched(page):
    before = results.sections(_page(page))["decode"]
    outside = _page(page).split("<!-- benchmark: encode -->")[0]
    _record(page, "encode", ["## Encoder inference", "", "| 3 |"])
    assert results.sections(_page(page))["decode"] == before
    assert not (page / "history" / "decode.md").exists()
    assert _page(page).split("<!-- benchmark: encode -->")[0] == outside  # intro, contents


def test_the_parts_of_one_script_share_its_history_file(tmp_path):
    _record(tmp_path, "real_data/ts", ["## Real data: time series", "", "| ts 1 |"])
    _record(tmp_path, "real_data/text", ["## Real data: text", "", "| text 1 |"])
    _record(tmp_path, "real_data/ts", ["## Real data: time series", "", "| ts 2 |"])
    sections = results.sections(_page(tmp_path))
    assert list(sections) == ["real_data/ts", "real_data/text"]
    assert "| text 1 |" in sections["real_data/text"]
    assert [path.name for path in (tmp_path / "history").iterdir()] == ["real_data.md"]
    assert "| ts 1 |" in (tmp_path / "history" / "real_data.md").read_text(encoding="utf-8")


def test_a_section_must_start_with_its_heading(tmp_path):
    with pytest.raises(ValueError, match="heading"):
        _record(tmp_path, "encode", ["| a |"])


def test_the_default_run_line_names_date_commit_machine_and_command():
    line = results.run_line(date="2026-12-09", commit="abc1234", command="python benchmarks/x.py")
    assert line.startswith("Run 2026-12-09 at commit abc1234, ")
    assert "CPU cores" in line and line.endswith(": `python benchmarks/x.py`.")


def test_slug_is_the_anchor_github_and_myst_make():
    assert results.slug("Number translation, English -> French words") == (
        "number-translation-english---french-words"
    )
    assert results.slug("Transforming 1,000,000 short strings") == (
        "transforming-1000000-short-strings"
    )


# ------------------------------------------------------------ the committed page

PAGE = (BENCHMARKS / "RESULTS.md").read_text(encoding="utf-8")


def test_the_committed_page_has_each_benchmark_section_once():
    opened = re.findall(r"^<!-- benchmark: (\S+) -->$", PAGE, flags=re.MULTILINE)
    closed = re.findall(r"^<!-- end: (\S+) -->$", PAGE, flags=re.MULTILINE)
    assert opened, "no marked section"
    twice = sorted({name for name in opened if opened.count(name) > 1})
    assert not twice, f"sections recorded twice: {twice}"
    assert sorted(closed) == sorted([*opened, "contents"])
    sections = results.sections(PAGE)
    assert list(sections) == opened  # every section closed before the next opens
    headings = [results.heading(body) for body in sections.values()]
    assert all(headings) and len(set(headings)) == len(headings)  # unique anchors
    assert all(re.search(r"^Run .*`python benchmarks/", body, re.M) for body in sections.values())


def test_the_committed_contents_list_every_section():
    assert results.CONTENTS.search(PAGE).group(0) == results.contents(PAGE)


def test_every_named_record_section_call_has_a_section():
    names = set()
    for script in BENCHMARKS.glob("*.py"):
        names |= set(re.findall(r'record_section\(\s*"([\w/.-]+)"', script.read_text()))
    assert names, "no record_section call found"
    assert names <= set(results.sections(PAGE))


def test_the_links_to_history_files_resolve():
    links = re.findall(r"\]\((history/[^)#]+)(?:#([\w-]+))?\)", PAGE)
    assert links
    for path, anchor in links:
        target = BENCHMARKS / path
        assert target.is_file(), path
        headings = [line.lstrip("#") for line in target.read_text().splitlines() if line[:1] == "#"]
        assert not anchor or anchor in {results.slug(h) for h in headings}, (path, anchor)


# ------------------------------------------------------------ the docs' charts

charts = _load("_charts", ROOT / "docs" / "_charts.py")


def test_every_chart_reads_its_figures_from_the_committed_page():
    drawn = {chart.name: chart for chart in charts.charts()}
    shown = re.findall(
        r"_build/results_charts/(\w+)\.png", (ROOT / "docs" / "results.md").read_text()
    )
    assert shown and set(shown) <= set(drawn), set(shown) - set(drawn)
    for chart in drawn.values():
        assert chart.main in chart.values, (chart.name, chart.main)
        assert chart.values[chart.main], chart.name  # sktfm has figures
        assert len(chart.values) >= 2, chart.name  # beside at least one alternative
        assert all(
            value is None or value > 0
            for series in chart.values.values()
            for value in series.values()
        )
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", chart.date), chart.name


def test_a_chart_follows_the_table_of_its_section(tmp_path):
    page = tmp_path / "RESULTS.md"
    results.record_section(
        "pretrained",
        [
            "## Pretrained",
            "",
            "| system | sentences/s |",
            "|---|---|",
            "| sktfm | 300 |",
            "| sentence-transformers | 150 |",
        ],
        results=page,
        history=tmp_path / "history",
        run=RUN,
    )
    (chart,) = charts.charts(page)
    assert chart.values == {"sktfm": {"": 300.0}, "sentence-transformers": {"": 150.0}}
    pytest.importorskip("matplotlib")
    (png,) = charts.write_charts(tmp_path / "charts", page)
    assert png.name == "pretrained.png" and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
