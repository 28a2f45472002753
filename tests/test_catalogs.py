"""load_gettext_pairs: the real message pairs of the installed gettext catalogs."""

import struct

import pytest

from sktfm._catalogs import _in_test, read_mo
from sktfm.datasets import load_gettext_pairs


def write_mo(path, messages, *, charset="UTF-8", byte_order="<"):
    """A compiled gettext catalog of ``{msgid: msgstr}`` (GNU .mo format)."""
    header = f"Content-Type: text/plain; charset={charset}\n"
    entries = sorted({"": header, **messages}.items())
    ids = [k.encode(charset) for k, _ in entries]
    strs = [v.encode(charset) for _, v in entries]
    n = len(entries)
    start = 28 + 16 * n  # header, then the two tables of (length, offset)
    blob, id_table, str_table = b"", [], []
    for table, items in ((id_table, ids), (str_table, strs)):
        for item in items:
            table.append((len(item), start + len(blob)))
            blob += item + b"\0"
    words = [0x950412DE, 0, n, 28, 28 + 8 * n, 0, 0]
    data = struct.pack(byte_order + "7I", *words)
    for length, offset in id_table + str_table:
        data += struct.pack(byte_order + "2I", length, offset)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data + blob)


@pytest.fixture
def locale(tmp_path):
    messages = {f"Cannot open file %s number {i}": f"Datei %s Nummer {i} nicht" for i in range(200)}
    write_mo(tmp_path / "de" / "LC_MESSAGES" / "one.mo", messages)
    write_mo(
        tmp_path / "de" / "LC_MESSAGES" / "two.mo",
        {
            "Cannot open file %s number 0": "Kann %s nicht öffnen",  # a rarer translation
            "Two\nlines": "Zwei\nZeilen",  # multi-line: left out
            "%s": "%s",  # no letter: left out
            "menu\x04Open": "Öffnen",  # a message context
            "Quit": "",  # untranslated: left out
        },
        byte_order=">",
    )
    write_mo(tmp_path / "de" / "LC_MESSAGES" / "three.mo", messages)
    return tmp_path


def test_read_mo_both_byte_orders_and_contexts(locale):
    little = read_mo(locale / "de" / "LC_MESSAGES" / "one.mo")
    assert little["Cannot open file %s number 7"] == "Datei %s Nummer 7 nicht"
    big = read_mo(locale / "de" / "LC_MESSAGES" / "two.mo")
    assert big["Open"] == "Öffnen" and "" not in big


def test_read_mo_declared_charset(tmp_path):
    path = tmp_path / "latin.mo"
    write_mo(path, {"Open": "Öffnen"}, charset="ISO-8859-1")
    assert read_mo(path) == {"Open": "Öffnen"}


def test_read_mo_rejects_other_files(tmp_path):
    path = tmp_path / "not.mo"
    path.write_bytes(b"\x00" * 40)
    with pytest.raises(ValueError, match="not a gettext catalog"):
        read_mo(path)


def test_pairs_filtered_deduped_and_split_by_hash(locale):
    X_train, X_test, y_train, y_test = load_gettext_pairs("de", locale_dirs=[locale], test_size=0.2)
    sources = X_train + X_test
    assert len(sources) == len(set(sources)) == 201  # 200 + "Open"
    assert "Two\nlines" not in sources and "%s" not in sources and "Quit" not in sources
    pairs = dict(zip(sources, y_train + y_test))
    assert pairs["Cannot open file %s number 0"] == "Datei %s Nummer 0 nicht"  # 2 catalogs to 1
    assert all(_in_test(x, 0.2) for x in X_test) and not any(_in_test(x, 0.2) for x in X_train)
    assert 0.1 < len(X_test) / len(sources) < 0.3
    assert X_train == sorted(X_train)


def test_split_does_not_depend_on_the_order_catalogs_are_found(locale, tmp_path):
    first = load_gettext_pairs("de", locale_dirs=[locale])
    (locale / "de" / "LC_MESSAGES" / "one.mo").rename(locale / "de" / "LC_MESSAGES" / "zz.mo")
    assert load_gettext_pairs("de", locale_dirs=[locale]) == first


def test_missing_language_and_bad_test_size(locale):
    with pytest.raises(ValueError, match="No gettext catalog.*'xx'"):
        load_gettext_pairs("xx", locale_dirs=[locale])
    with pytest.raises(ValueError, match="test_size"):
        load_gettext_pairs("de", locale_dirs=[locale], test_size=1.0)
