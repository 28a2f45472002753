"""Placeholders that a translated message must keep, and the fidelity score."""

import math

import pytest

from sktfm.metrics import copy_rate, placeholder_fidelity
from sktfm.text.placeholders import find_placeholders, keeps_placeholders


@pytest.mark.parametrize(
    "text, expected",
    [
        ("%s: %d errors", ["%s", "%d"]),
        ("%1$s and %2$-10lu", ["%1$s", "%2$-10lu"]),
        ("%.*s|%5.2f|%#x|%'d|%zu|%lld", ["%.*s", "%5.2f", "%#x", "%'d", "%zu", "%lld"]),
        ("100%% done, %d left", ["%d"]),  # an escaped percent is text
        ("100%%d", []),  # ... and does not start "%d"
        ("{} of {0} to {name} as {count:>5}", ["{}", "{0}", "{name}", "{count:>5}"]),
        ("no placeholder here", []),
    ],
)
def test_find_placeholders(text, expected):
    assert find_placeholders(text) == expected


def test_kinds_select_the_syntaxes():
    assert find_placeholders("%s {x}", kinds="printf") == ["%s"]
    assert find_placeholders("%s {x}", kinds=["brace"]) == ["{x}"]
    with pytest.raises(ValueError, match="Unknown placeholder kind"):
        find_placeholders("%s", kinds="qt")


@pytest.mark.parametrize(
    "source, translation, kept",
    [
        ("%d files in %s", "%s: %d Dateien", True),  # order may change
        ("%d files in %s", "%2$s: %1$d Dateien", True),  # positions added
        ("%d files in %s", "%d Dateien", False),  # one dropped
        ("%d files", "%d Dateien in %s", False),  # one added
        ("%s and %s", "%s", False),  # counts matter
        ("%d", "%i", False),  # the conversion matters
        ("{name} left", "{nom} restant", False),
    ],
)
def test_keeps_placeholders(source, translation, kept):
    assert keeps_placeholders(source, translation) is kept


def test_fidelity_counts_only_messages_with_placeholders():
    sources = ["%d files", "Quit", "{n} left", "%s"]
    assert placeholder_fidelity(sources, ["%d Dateien", "x", "noch", "%s"]) == pytest.approx(2 / 3)
    assert math.isnan(placeholder_fidelity(["Quit"], ["Beenden"]))
    with pytest.raises(ValueError, match="different lengths"):
        placeholder_fidelity(["%d", "%s"], ["%d"])


def test_copy_rate_counts_shared_tokens_as_often_as_both_sides_have_them():
    sources = ["Use --force with .preinit_array", "copy a a a", "Quit"]
    references = ["--force mit .preinit_array verwenden", "a a kopieren", "Beenden"]
    # "with"/"mit" are not shared; "a" is shared twice; "Quit" has nothing to copy.
    translations = ["--force mit .inppCCCC verwenden", "a kopieren", "Beenden"]
    assert copy_rate(sources, references, translations) == pytest.approx(2 / 4)
    assert copy_rate(sources, references, references) == 1.0
    # Punctuation-only tokens are not identifiers.
    assert math.isnan(copy_rate(["- : -"], ["- : -"], ["x"]))
    with pytest.raises(ValueError, match="different lengths"):
        copy_rate(["a", "b"], ["a", "b"], ["a"])
