"""Bar charts of the headline comparisons, read from the tables of benchmarks/RESULTS.md.

The docs build calls :func:`write_charts` (``conf.py``, at ``builder-inited``)
and ``results.md`` shows the PNGs above the page itself, so a chart always
draws the figures of the current page: a benchmark that records a new run
changes its chart at the next build. Each chart is a grouped bar chart, sktfm
in blue (its main configuration dark, its variants light), the alternatives
in greys and ochre, every bar labelled with its value.

Run on its own to look at the charts::

    python docs/_charts.py [out_dir]
"""

import importlib.util
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
OUT = Path(__file__).resolve().parent / "_build" / "results_charts"

SKTFM = "#1f5fbf"  # sktfm's main configuration
SKTFM_VARIANTS = ["#8fb8ea", "#c4daf5"]  # sktfm otherwise configured (bf16, old defaults)
OTHERS = ["#8a8a8a", "#c8963e", "#4d4d4d", "#c9c9c9"]


def _results_module():
    """benchmarks/_results.py, loaded by path: the page's section and anchor rules."""
    spec = importlib.util.spec_from_file_location("_results", ROOT / "benchmarks" / "_results.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tables(body):
    """The Markdown tables of a section: a list of rows, each a ``{column: cell}``."""
    found, block = [], []
    for line in [*body.splitlines(), ""]:
        if line.startswith("|"):
            block.append([cell.strip() for cell in line.strip().strip("|").split("|")])
            continue
        if len(block) > 2:
            header = block[0]
            found.append([dict(zip(header, row)) for row in block[2:]])
        block = []
    return found


def number(cell):
    """The first number of a cell ("25,768 (161)" -> 25768.0); None where there is none."""
    match = re.search(r"-?\d[\d,]*(?:\.\d+)?", (cell or "").replace("**", ""))
    return float(match.group(0).replace(",", "")) if match else None


def run_date(body):
    """The date of a section's run line."""
    match = re.search(r"^Run (\d{4}-\d{2}-\d{2})", body, flags=re.MULTILINE)
    return match.group(1) if match else "date unknown"


class Chart:
    """One grouped bar chart: ``values[series][group]``, sktfm's series named first."""

    def __init__(
        self,
        name,
        title,
        ylabel,
        groups,
        values,
        *,
        section,
        date,
        main,
        variants=(),
        fmt="{:,.0f}",
    ):
        self.name, self.title, self.ylabel = name, title, ylabel
        self.groups, self.values = groups, values
        self.section, self.date = section, date
        self.main, self.variants = main, set(variants)
        self.fmt = fmt  # a bar's label, from its value

    def hatch(self, series):
        """Light-blue variants past the first are hatched, to tell them apart."""
        variants = [s for s in self.values if s in self.variants]
        return "///" if series in variants and variants.index(series) % 2 else None

    def colour(self, series):
        if series == self.main:
            return SKTFM
        if series in self.variants:
            variants = [s for s in self.values if s in self.variants]
            return SKTFM_VARIANTS[variants.index(series) % len(SKTFM_VARIANTS)]
        others = [s for s in self.values if s != self.main and s not in self.variants]
        return OTHERS[others.index(series) % len(OTHERS)]


# ------------------------------------------------------------ the charts


def _real_data_ts(sections):
    body = sections["real_data/ts"]
    rows = tables(body)[0]
    systems = {
        "sktfm TransformerClassifier (defaults)": "sktfm TransformerClassifier (defaults)",
        "aeon ROCKET": "aeon ROCKET (zero-padded where lengths differ)",
        "aeon 1-NN DTW": "aeon 1-NN DTW",
    }
    groups = list(dict.fromkeys(row["problem"] for row in rows))
    values = {label: {} for label in systems.values()}
    for row in rows:
        system = row["system"].replace(", zero-padded", "")
        accuracy = number(row["accuracy"])
        if system in systems and accuracy is not None:
            values[systems[system]][row["problem"]] = accuracy
    return Chart(
        "real_data_ts",
        "Time-series classification, UCR/UEA official splits",
        "test accuracy (higher is better)",
        groups,
        values,
        section="real_data/ts",
        date=run_date(body),
        main="sktfm TransformerClassifier (defaults)",
        fmt="{:.3f}",
    )


def _real_data_text(sections):
    body = sections["real_data/text"]
    short = {
        "TF-IDF": "TF-IDF + LogisticRegression",
        "frozen all-MiniLM": "frozen MiniLM embeddings + LogisticRegression",
        "(defaults, from scratch)": "sktfm from scratch (defaults)",
        "(the defaults before #16)": "sktfm from scratch, defaults before #16",
        "fine-tuned": "sktfm fine-tuned MiniLM (pretrained=, defaults)",
    }
    values = {}
    for row in tables(body)[0]:
        label = next((name for key, name in short.items() if key in row["system"]), None)
        if label:
            values[label] = {"Debian package descriptions -> section": number(row["accuracy"])}
    return Chart(
        "real_data_text",
        "Text classification: Debian package descriptions -> section (2,981 test texts)",
        "test accuracy (higher is better)",
        ["Debian package descriptions -> section"],
        values,
        section="real_data/text",
        date=run_date(body),
        main="sktfm from scratch (defaults)",
        variants=[
            "sktfm fine-tuned MiniLM (pretrained=, defaults)",
            "sktfm from scratch, defaults before #16",
        ],
        fmt="{:.4f}",
    )


def _translation_real(sections):
    names = {
        "defaults": "sktfm Seq2SeqTranslator (defaults)",
        "before #18": "sktfm, defaults before #18",
        "plain loop": "plain torch.nn.Transformer loop",
    }
    values = {label: {} for label in names.values()}
    groups, dates = [], []
    budget = re.search(r"\d+ minutes? of training", " ".join(sections.values()))
    for name, body in sections.items():
        if not name.startswith("translation_real/"):
            continue
        dates.append(run_date(body))
        for row in tables(body)[0]:
            if row["pair"] not in groups:
                groups.append(row["pair"])
            values[names[row["system"]]][row["pair"]] = number(row["BLEU"])
    return Chart(
        "translation_real",
        f"Translating gettext messages, {budget.group(0) if budget else 'same training time'}",
        "BLEU (higher is better)",
        groups,
        values,
        section="translation_real/*",
        date=max(dates),
        main="sktfm Seq2SeqTranslator (defaults)",
        variants=["sktfm, defaults before #18"],
        fmt="{:.1f}",
    )


def _by_case(
    sections, name, title, ylabel, case, system, value, main, variants=(), rename=None, fmt=None
):
    """A chart from one table: groups from column ``case``, series from ``system``."""
    body = sections[name]
    rows = tables(body)[0]
    rename = rename or {}
    group = (lambda row: "") if case == system else (lambda row: rename.get(row[case], row[case]))
    groups = list(dict.fromkeys(group(row) for row in rows))  # [""]: one bar per system
    values = {}
    for row in rows:
        series = rename.get(row[system], row[system])
        values.setdefault(series, {})[group(row)] = number(row[value])
    return Chart(
        name.replace("/", "_"),
        title,
        ylabel,
        groups,
        values,
        section=name,
        date=run_date(body),
        main=main,
        variants=variants,
        fmt=fmt or "{:,.0f}",
    )


def _train(sections):
    return _by_case(
        sections,
        "train",
        "Training throughput, TransformerClassifier vs a bare PyTorch loop",
        "tokens per second (higher is better)",
        "case",
        "system",
        "tokens/s",
        main="sktfm TransformerClassifier",
        variants=["sktfm, precision=bf16"],
        rename={"fixed 128": "fixed length 128", "variable 8-128": "lengths 8-128"},
    )


def _encode(sections):
    body = sections["encode"]
    rows = tables(body)[0]
    count = re.search(r"([\d,]+) sequences", body)
    columns = {"fixed 128: s": "fixed length 128", "variable 8-128: s": "lengths 8-128"}
    values = {
        row["system"]: {group: number(row[column]) for column, group in columns.items()}
        for row in rows
    }
    return Chart(
        "encode",
        f"Encoder inference time, {count.group(1) + ' sequences' if count else 'one pass'}",
        "seconds (lower is better)",
        list(columns.values()),
        values,
        section="encode",
        date=run_date(body),
        main="sktfm TransformerEncoder.transform",
        variants=[name for name in values if name.startswith("sktfm,")],
        fmt="{:.2f}",
    )


def _decode(sections):
    return _by_case(
        sections,
        "decode",
        "Greedy decoding, 32 sentences x 64 new tokens",
        "tokens per second (higher is better)",
        "system",
        "system",
        "tokens/s",
        main="sktfm Seq2Seq.generate, KV cache",
        variants=["sktfm, no cache"],
    )


def _pretrained(sections):
    return _by_case(
        sections,
        "pretrained",
        "Embedding 2,000 sentences with all-MiniLM-L6-v2",
        "sentences per second (higher is better)",
        "system",
        "system",
        "sentences/s",
        main="sktfm",
    )


def _translation(sections):
    return _by_case(
        sections,
        "translation",
        "Number translation, English -> French words, same training time",
        "BLEU (higher is better)",
        "budget",
        "system",
        "BLEU",
        main="Seq2SeqTranslator (defaults)",
        fmt="{:.1f}",
    )


CHARTS = [
    _real_data_ts,
    _real_data_text,
    _translation_real,
    _translation,
    _train,
    _encode,
    _decode,
    _pretrained,
]


def charts(results=RESULTS):
    """The charts the current page's tables give (a chart whose section is missing is skipped)."""
    sections = _results_module().sections(Path(results).read_text(encoding="utf-8"))
    found = []
    for make in CHARTS:
        try:
            found.append(make(sections))
        except (KeyError, IndexError, StopIteration, ValueError):
            continue  # that benchmark has no section, or its table changed shape
    return found


def draw(chart, path):
    """Draw one chart to a PNG at ``path``.

    Several groups (problems, lengths, pairs): bars side by side per group, a
    legend names the systems. One group: one bar per system, named under it.
    """
    import textwrap

    import matplotlib
    import matplotlib.ticker

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    series = list(chart.values)
    single = len(chart.groups) == 1
    n_groups, n_series = (len(series), 1) if single else (len(chart.groups), len(series))
    crowded = n_groups * n_series > 12
    width = 0.8 / n_series
    fig_width = max(6.4, min(12.0, 1.2 + n_groups * (0.45 + 0.32 * n_series)))
    if single:
        fig_width = max(6.4, 1.6 * n_groups + 1.2)
    fig, ax = plt.subplots(figsize=(fig_width, 4.4), dpi=110)
    top = max(v for values in chart.values.values() for v in values.values() if v is not None)
    for i, name in enumerate(series):
        points = [
            (g if single else g - 0.4 + width * (i + 0.5), chart.values[name].get(group))
            for g, group in enumerate(chart.groups)
        ]
        points = [(i if single else x, v) for x, v in points if v is not None]
        if not points:
            continue
        xs, heights = zip(*points)
        bars = ax.bar(
            xs,
            heights,
            (0.7 if single else width * 0.92),
            label=name,
            color=chart.colour(name),
            hatch=chart.hatch(name),
            edgecolor="black" if name == chart.main else "#5b8fd6" if chart.hatch(name) else "none",
            linewidth=0.8,
            zorder=2,
        )
        ax.bar_label(
            bars,
            [chart.fmt.format(h) for h in heights],
            padding=2,
            fontsize=7 if crowded else 8.5,
            rotation=90 if crowded else 0,
            fontweight="bold" if name == chart.main else "normal",
        )
    if single:
        names = ["\n".join(textwrap.wrap(name, 18)) for name in series]
        ax.set_xticks(range(len(series)), names, fontsize=8)
        for tick, name in zip(ax.get_xticklabels(), series):
            if name == chart.main:
                tick.set_fontweight("bold")
        ax.set_xlabel(chart.groups[0], fontsize=9, color="#444444")
    else:
        ax.set_xticks(range(n_groups), chart.groups, rotation=20 if n_groups > 4 else 0)
        if n_groups > 4:
            for tick in ax.get_xticklabels():
                tick.set_horizontalalignment("right")
        legend = ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        for text in legend.get_texts():
            if text.get_text() == chart.main:
                text.set_fontweight("bold")
    ax.set_ylabel(chart.ylabel)
    if top >= 1000:
        ax.yaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))
    ax.set_ylim(0, top * (1.28 if crowded else 1.15))
    ax.set_title(chart.title, fontsize=11, loc="left")
    ax.grid(axis="y", color="#e5e5e5", zorder=0)
    ax.spines[["top", "right"]].set_visible(False)
    fig.text(
        0.01,
        0.01,
        f"benchmarks/RESULTS.md, section {chart.section}, run {chart.date}; "
        "sktfm in blue (dark, outlined: its defaults)",
        fontsize=7,
        color="#666666",
    )
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(path)
    plt.close(fig)
    return path


def write_charts(out_dir=OUT, results=RESULTS):
    """Draw every chart of the current page into ``out_dir``; return the PNG paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return [draw(chart, out_dir / f"{chart.name}.png") for chart in charts(results)]


if __name__ == "__main__":
    for written in write_charts(sys.argv[1] if len(sys.argv) > 1 else OUT):
        print(written)
