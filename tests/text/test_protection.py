"""Protected spans: placeholders swapped for sentinels, and back."""

import pytest

from sktfm.text.protection import MAX_SPANS, SENTINELS, SpanProtector, sentinel_counts


@pytest.fixture
def protector():
    return SpanProtector(["printf", "brace"])


def test_protect_then_restore_gives_the_text_back(protector):
    text = "%s: cannot copy {src} to %1$s (100%% done, %.*s left)"
    masked, spans = protector.protect(text)
    assert spans == ["%s", "{src}", "%1$s", "%.*s"]
    assert "%" not in masked.replace("%%", "") and "{" not in masked
    assert masked.count(SENTINELS[0]) == 1 and SENTINELS[4] not in masked
    assert protector.restore(masked, spans) == text


def test_target_spans_take_the_source_sentinels(protector):
    masked, spans = protector.protect("%d files in %s, %s")
    target = protector.protect_target("%s: %d Dateien, %s, %x", spans)
    # %s -> the first free "%s" (1), %d -> 0, the second %s -> 2; %x is not in the source.
    assert target == f"{SENTINELS[1]}: {SENTINELS[0]} Dateien, {SENTINELS[2]}, %x"
    assert protector.restore(target, spans) == "%s: %d Dateien, %s, %x"


def test_target_positions_match_the_same_conversion(protector):
    _, spans = protector.protect("%d files in %s")
    target = protector.protect_target("%2$s enthält %1$d Dateien", spans)
    assert target == f"{SENTINELS[1]} enthält {SENTINELS[0]} Dateien"


def test_restore_drops_sentinels_the_source_does_not_have(protector):
    assert protector.restore(f"a {SENTINELS[0]} b {SENTINELS[3]}", ["%s"]) == "a %s b "


def test_custom_regex_and_errors():
    protector = SpanProtector(r"--[a-z-]+")
    masked, spans = protector.protect("use --dry-run or --force")
    assert spans == ["--dry-run", "--force"]
    assert protector.restore(masked, spans) == "use --dry-run or --force"
    with pytest.raises(ValueError, match="invalid regular expression"):
        SpanProtector("(unclosed")
    with pytest.raises(TypeError, match="preset names or regex"):
        SpanProtector([3])
    with pytest.raises(ValueError, match="at least one"):
        SpanProtector([])


def test_only_the_first_max_spans_are_protected(protector):
    text = " ".join(["%d"] * (MAX_SPANS + 2))
    masked, spans = protector.protect(text)
    assert len(spans) == MAX_SPANS and masked.endswith("%d %d")
    assert protector.restore(masked, spans) == text


def test_sentinel_counts_reads_the_vocabulary():
    vocab = ["[PAD]", "▁" + SENTINELS[0], SENTINELS[0] + SENTINELS[0], "word", SENTINELS[2] + ":"]
    assert sentinel_counts(vocab) == {1: [(0, 1)], 2: [(0, 2)], 4: [(2, 1)]}
