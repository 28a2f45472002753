"""Protected spans: placeholders swapped for sentinels before a model sees the text.

A translation model should not learn to spell ``%1$s`` or ``{name}``: it
should carry them over. :class:`SpanProtector` replaces each matched span of
a source by a sentinel character, the ``k``-th span by ``SENTINELS[k]``
(Unicode private-use characters, which no real text contains), maps the
same spans of a training target to the same sentinels, and restores a
generated text by putting each span back in place of its sentinel.

Sentinels are single characters, so any tokenizer keeps them whole and
spaces around them behave as around any word; which token ids carry which
sentinel is read off the vocabulary (:func:`sentinel_counts`), so that
decoding can emit each one exactly as often as the source has it.

Pure Python (``re``), importable from any layer.
"""

import re

from .placeholders import PLACEHOLDER_PATTERNS, alternation, without_position

__all__ = ["MAX_SPANS", "SENTINELS", "SpanProtector", "sentinel_counts"]

#: Spans protected per text; later ones stay plain text.
MAX_SPANS = 16
#: The sentinel of the k-th protected span: U+E000, U+E001, ... (private use).
SENTINELS = tuple(chr(0xE000 + k) for k in range(MAX_SPANS))


def _pattern(protected):
    """One compiled regex from preset names and/or regular expressions."""
    if isinstance(protected, re.Pattern):
        return protected
    parts = [protected] if isinstance(protected, str) else list(protected)
    if not parts:
        raise ValueError("protected spans need at least one preset or regular expression.")
    regexes = []
    for part in parts:
        if not isinstance(part, str):
            raise TypeError(f"protected spans are preset names or regex strings, got {part!r}.")
        regexes.append(PLACEHOLDER_PATTERNS.get(part, part))
    try:
        return alternation(regexes)
    except re.error as error:
        raise ValueError(f"protected spans: invalid regular expression ({error}).") from error


class SpanProtector:
    """Swap matched spans for sentinels, and back.

    Parameters
    ----------
    protected : str, sequence of str or compiled pattern
        Preset names (``"printf"``, ``"brace"``; see
        :data:`~sktfm.text.placeholders.PLACEHOLDER_PATTERNS`) and/or regular
        expressions; a span is a match of any of them.

    Examples
    --------
    >>> protector = SpanProtector(["printf", "brace"])
    >>> masked, spans = protector.protect("Copied %d files to {dest}")
    >>> spans
    ['%d', '{dest}']
    >>> protector.restore(masked.replace("Copied", "Kopierte"), spans)
    'Kopierte %d files to {dest}'
    """

    def __init__(self, protected):
        self.pattern = _pattern(protected)

    def _matches(self, text):
        found = [m for m in self.pattern.finditer(text) if m.group() != "%%"]
        return found[:MAX_SPANS]

    def protect(self, text):
        """``text`` with its spans replaced by sentinels, and the spans in order."""
        matches = self._matches(text)
        return _replace(text, matches, range(len(matches))), [m.group() for m in matches]

    def protect_target(self, target, spans):
        """A training target with the source's ``spans`` replaced by their sentinels.

        Each span of the target takes the sentinel of an unused source span
        with the same text, else of one that differs only by a printf
        argument position (``%2$s`` for ``%s``); spans the source does not
        have stay as they are.
        """
        free = list(range(len(spans)))
        chosen, sentinels = [], []
        for match in self._matches(target):
            k = _take(free, spans, match.group())
            if k is not None:
                chosen.append(match)
                sentinels.append(k)
        return _replace(target, chosen, sentinels)

    def protect_pairs(self, sources, targets):
        """Training pairs with their spans replaced: ``(sources, targets)``, as lists.

        Each target takes the sentinels of its own source's spans
        (:meth:`protect_target`).
        """
        protected_sources, protected_targets = [], []
        for source, target in zip(sources, targets):
            text, spans = self.protect(source)
            protected_sources.append(text)
            protected_targets.append(self.protect_target(target, spans))
        return protected_sources, protected_targets

    @staticmethod
    def restore(text, spans):
        """Put each span back in place of its sentinel; unknown sentinels are dropped."""
        table = {ord(SENTINELS[k]): span for k, span in enumerate(spans)}
        table.update({ord(s): "" for s in SENTINELS[len(spans) :]})
        return text.translate(table)


def _take(free, spans, text):
    """Pop and return the first free span index equal to ``text`` (or equal up to positions)."""
    for same in (lambda s: s == text, lambda s: without_position(s) == without_position(text)):
        for i, k in enumerate(free):
            if same(spans[k]):
                return free.pop(i)
    return None


def _replace(text, matches, sentinels):
    pieces, end = [], 0
    for match, k in zip(matches, sentinels):
        pieces += [text[end : match.start()], SENTINELS[k]]
        end = match.end()
    return "".join(pieces) + text[end:]


def sentinel_counts(tokens):
    """How many times each sentinel occurs in each token string.

    Parameters
    ----------
    tokens : sequence of str
        The vocabulary, in id order.

    Returns
    -------
    counts : dict of int to list of (int, int)
        For each id whose token holds sentinels, ``[(k, times), ...]``.

    Examples
    --------
    >>> sentinel_counts(["a", SENTINELS[0], "x" + SENTINELS[1] * 2])
    {1: [(0, 1)], 2: [(1, 2)]}
    """
    index = {s: k for k, s in enumerate(SENTINELS)}
    counts = {}
    for token_id, token in enumerate(tokens):
        found = {}
        for char in token:
            if char in index:
                found[index[char]] = found.get(index[char], 0) + 1
        if found:
            counts[token_id] = sorted(found.items())
    return counts
