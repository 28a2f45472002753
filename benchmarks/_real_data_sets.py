"""The real data sets of benchmarks/real_data.py, loaded offline.

Time series: five problems of the UCR/UEA archive that ship inside the
``aeon`` wheel (``aeon.datasets.load_classification`` / ``load_regression``
read them from the package, no download), with their official train/test
splits.

Text: Debian package descriptions, labelled with the package's archive
section. Debian's ``Packages`` indexes carry only the one-line description
(and its ``Description-md5``); the extended text is in the ``Translation-en``
indexes, which apt downloads unless ``Acquire::Languages`` says otherwise
(Docker images of Debian set it to "none"). Rebuild the lists with
:data:`REBUILD`. The task (:func:`section_task`) is a function of the list
files alone, the release's own records winning over its daily -updates and
-security suites: the same on every machine with the same point release and
architecture (here Debian 12.15, amd64, main).
"""

import bz2
import gzip
import lzma
import re
import shutil
import subprocess
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
from aeon.datasets import load_classification, load_regression

APT_LISTS = Path("/var/lib/apt/lists")
DPKG_STATUS = Path("/var/lib/dpkg/status")
APT_HELPER = Path("/usr/lib/apt/apt-helper")
DECOMPRESSORS = {".lz4": "lz4", ".zst": "zstd"}  # when apt-helper is missing
REBUILD = "apt-get update -o Acquire::Languages=en"
AREAS = ("contrib/", "non-free-firmware/", "non-free/")
N_CLASSES = 10
PER_CLASS = 1_500
TEST_BUCKET = 5  # crc32(source package) % 5 == 0 -> test: about a fifth


# --- time series ------------------------------------------------------------


def load_ts(name, regression=False):
    """Official train/test split of one problem, in aeon's layout.

    ``X`` is ``(n_cases, n_channels, n_timepoints)``, or a list of 2-D
    ``(n_channels, length)`` arrays when the lengths differ.
    """
    load = load_regression if regression else load_classification
    X_train, y_train = load(name, split="train")
    X_test, y_test = load(name, split="test")
    if regression:
        y_train, y_test = y_train.astype(float), y_test.astype(float)
    return X_train, y_train, X_test, y_test


def is_unequal(X):
    """Whether aeon returned series of different lengths (a list)."""
    return isinstance(X, list)


def zero_pad(X_train, X_test):
    """Both splits as 3-D arrays, zero-padded at the end to the longest of either."""
    longest = max(x.shape[-1] for x in [*X_train, *X_test])

    def pad(X):
        out = np.zeros((len(X), X[0].shape[0], longest))
        for i, x in enumerate(X):
            out[i, :, : x.shape[-1]] = x
        return out

    return pad(X_train), pad(X_test)


# --- Debian package descriptions ----------------------------------------------


def _read_index(path):
    """Text of an apt list or dpkg status file, however apt compressed it."""
    if APT_HELPER.exists():  # reads every compression apt writes
        command = [str(APT_HELPER), "cat-file", str(path)]
    elif path.suffix in DECOMPRESSORS:
        command = [DECOMPRESSORS[path.suffix], "-dc", str(path)]
    else:
        opener = {".gz": gzip.open, ".xz": lzma.open, ".bz2": bz2.open}.get(path.suffix, open)
        with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
            return handle.read()
    if shutil.which(command[0]) is None:
        raise FileNotFoundError(f"{path} needs {command[0]} to be read, which is not installed")
    return subprocess.run(command, capture_output=True, check=True).stdout.decode(
        "utf-8", "replace"
    )


def _paragraphs(text):
    """deb822 paragraphs as dicts; a multi-line field keeps its continuation lines."""
    for block in text.split("\n\n"):
        fields, key = {}, None
        for line in block.splitlines():
            if line[:1] in (" ", "\t") and key is not None:
                fields[key] += "\n" + line
            elif ":" in line:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        if "Package" in fields:
            yield fields


def description_text(value):
    """A Description field as plain text: the short line, then the extended part.

    Continuation lines lose their one-space indent; a " ." line is a paragraph
    break (an empty line).
    """
    short, *rest = value.split("\n")
    lines = ["" if line.strip() == "." else line[1:] for line in rest]
    return "\n".join([short.strip(), *lines]).strip()


def _section(fields):
    section = fields.get("Section", "")
    for area in AREAS:
        section = section.removeprefix(area)
    return section


def _source(fields):
    """Source package name (without a version in brackets); the binary's if absent."""
    return fields.get("Source", fields["Package"]).split(" ")[0]


def _suite(path):
    """The suite a list file belongs to ("bookworm-security"), from its name."""
    match = re.search(r"_dists_([^_]+)_", path.name)
    return match.group(1) if match else path.name


def _list_order(path):
    """The release itself first, then its -updates, -security, ... suites."""
    return ("-" in _suite(path), path.name)


def _releases(lists):
    """'bookworm 12.15 (Sat, 11 Jul 2026 ...)' for each suite's (In)Release file."""
    found = []
    for path in sorted([*lists.glob("*_InRelease"), *lists.glob("*_Release")], key=_list_order):
        fields = dict(
            line.split(": ", 1)
            for line in path.read_text(errors="replace").splitlines()[:30]
            if line.startswith(("Codename: ", "Version: ", "Date: "))
        )
        found.append(
            f"{fields.get('Codename', _suite(path))} {fields.get('Version', '')} "
            f"({fields.get('Date', 'no date')})".replace("  ", " ")
        )
    return found


def read_apt_lists(lists=APT_LISTS):
    """Packages with their long descriptions from apt's lists, and what was read.

    Returns ``(records, origin)``: ``records`` maps a binary package name to
    ``(source, section, text)``. When several suites list a package, the
    release's own record wins over its -updates and -security suites' (which
    change daily), so that the task follows the point release. ``origin``
    says which releases were read. Packages whose extended description is in
    no ``Translation-en`` list are left out.
    """
    packages = sorted(lists.glob("*_Packages*"), key=_list_order)
    translations = sorted(lists.glob("*_i18n_Translation-en*"), key=_list_order)
    long_descriptions = {}
    for path in translations:
        for fields in _paragraphs(_read_index(path)):
            key = (fields["Package"], fields.get("Description-md5"))
            long_descriptions.setdefault(key, fields.get("Description-en", ""))
    records, missing = {}, 0
    for path in packages:
        for fields in _paragraphs(_read_index(path)):
            name = fields["Package"]
            if name in records:
                continue
            description = fields.get("Description", "")
            if "\n" not in description:  # Debian's style: the long text is translated apart
                description = long_descriptions.get((name, fields.get("Description-md5")))
            if description is None:
                missing += 1
                continue
            records[name] = (_source(fields), _section(fields), description_text(description))
    origin = (
        f"apt's lists ({len(packages)} Packages, {len(translations)} Translation-en files in "
        f"{lists}: {'; '.join(_releases(lists))}), {missing:,} packages without a long "
        "description left out"
    )
    return records, origin


def read_dpkg_status(path=DPKG_STATUS):
    """The installed packages of dpkg's status file, as :func:`read_apt_lists` returns."""
    records = {}
    for fields in _paragraphs(_read_index(path)):
        if fields.get("Status", "").endswith(" installed") and "Description" in fields:
            records[fields["Package"]] = (
                _source(fields),
                _section(fields),
                description_text(fields["Description"]),
            )
    return records, (
        f"{path}, installed packages only: apt's lists had no long descriptions "
        f"(`{REBUILD}` fetches them)"
    )


def debian_descriptions(lists=APT_LISTS, status=DPKG_STATUS):
    """Records from apt's lists, else from dpkg's status file, saying which.

    Raises ``FileNotFoundError`` with the command that rebuilds the lists when
    neither has descriptions (not a Debian system, or lists deleted).
    """
    records, origin = read_apt_lists(lists) if lists.is_dir() else ({}, "")
    if not records and status.exists():
        records, origin = read_dpkg_status(status)
    if not records:
        raise FileNotFoundError(
            f"No Debian package descriptions in {lists} or {status}. On Debian or Ubuntu, "
            f"rebuild the lists with `{REBUILD}` (as root) and run again."
        )
    return records, origin


def _hash(text, salt=""):
    return zlib.crc32((salt + text).encode())


def section_task(records, n_classes=N_CLASSES, per_class=PER_CLASS):
    """The text classification task: long description -> section.

    1. Identical texts are kept once (the copy with the first name in sorted
       order); a text listed under different sections is dropped altogether.
    2. The ``n_classes`` most frequent sections are kept.
    3. Each is capped at ``per_class`` packages, the first by
       ``crc32("keep:" + name)`` (a fixed pseudo-random order).
    4. Test: ``crc32(source package) % 5 == 0``, so binaries built from one
       source (which share paragraphs of their descriptions) fall on one side.

    Returns ``(X_train, y_train, X_test, y_test, info)``, lists of strings and
    a dict of counts.
    """
    by_text = {}
    for name in sorted(records):
        source, section, text = records[name]
        by_text.setdefault(text, []).append((name, source, section))
    unique, conflicting = [], 0
    for text, copies in by_text.items():
        if len({section for _, _, section in copies}) > 1:
            conflicting += 1
            continue
        name, source, section = copies[0]
        unique.append((name, source, section, text))
    counts = Counter(section for _, _, section, _ in unique)
    sections = [section for section, _ in counts.most_common(n_classes)]
    kept = []
    for section in sections:
        members = sorted(
            (row for row in unique if row[2] == section), key=lambda row: _hash(row[0], "keep:")
        )
        kept.extend(members[:per_class])
    kept.sort()
    test = [row for row in kept if _hash(row[1]) % TEST_BUCKET == 0]
    train = [row for row in kept if _hash(row[1]) % TEST_BUCKET != 0]
    info = {
        "packages": len(records),
        "duplicate_texts": len(records) - len(by_text),
        "conflicting_texts": conflicting,
        "unique_texts": len(unique),
        "section_sizes": {section: counts[section] for section in sections},
        "train_counts": Counter(row[2] for row in train),
        "test_counts": Counter(row[2] for row in test),
    }
    return (
        [row[3] for row in train],
        [row[2] for row in train],
        [row[3] for row in test],
        [row[2] for row in test],
        info,
    )
