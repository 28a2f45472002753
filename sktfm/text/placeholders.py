"""Placeholders in user-interface messages: what a translation must keep verbatim.

Software messages carry printf conversions (``%s``, ``%d``, ``%1$s``,
``%.*s``, ``%-10lu``) and brace fields (``{}``, ``{0}``, ``{name}``,
``{count:>5}``) that the program fills in at run time. A translation that
drops, adds or alters one crashes the program or prints nonsense, so
translation tools check that every placeholder of the source comes out
exactly as it went in (``msgfmt --check-format``). ``%%`` is an escaped
percent sign, not a placeholder.

Pure Python (``re``), importable from any layer.
"""

import re
from collections import Counter

__all__ = [
    "PLACEHOLDER_PATTERNS",
    "alternation",
    "find_placeholders",
    "keeps_placeholders",
    "without_position",
]

_PRINTF = (
    r"%(?:[1-9][0-9]*\$)?"  # argument position: %1$s
    r"[-+ #0']*"  # flags
    r"(?:\*(?:[1-9][0-9]*\$)?|[0-9]+)?"  # width
    r"(?:\.(?:\*(?:[1-9][0-9]*\$)?|[0-9]+))?"  # precision: %.*s, %.2f
    r"(?:hh|h|ll|l|L|q|j|z|Z|t)?"  # length modifier
    r"[diouxXeEfFgGaAcspnm]"  # conversion
)
_BRACE = r"\{(?:[A-Za-z_][A-Za-z0-9_]*|[0-9]*)(?:![rsa])?(?::[^{}]*)?\}"

_POSITION = re.compile(r"(?<=[%*])[1-9][0-9]*\$")

#: The placeholder syntaxes, by name: printf conversions and brace fields.
PLACEHOLDER_PATTERNS = {"printf": _PRINTF, "brace": _BRACE}


def _compile(kinds):
    if isinstance(kinds, str):
        kinds = (kinds,)
    unknown = [kind for kind in kinds if kind not in PLACEHOLDER_PATTERNS]
    if unknown:
        raise ValueError(
            f"Unknown placeholder kind(s) {unknown}; use any of {tuple(PLACEHOLDER_PATTERNS)}."
        )
    return alternation(PLACEHOLDER_PATTERNS[kind] for kind in kinds)


def alternation(regexes):
    """One pattern matching any of ``regexes``, or ``%%`` (which callers skip).

    ``%%`` comes first, so that the escaped percent of ``"100%%d"`` is never
    read as the start of ``%d``.
    """
    return re.compile("|".join(["%%", *(f"(?:{regex})" for regex in regexes)]))


def without_position(placeholder):
    """``placeholder`` with its printf argument positions removed: ``%2$s`` -> ``%s``."""
    return _POSITION.sub("", placeholder)


def find_placeholders(text, kinds=("printf", "brace")):
    """The placeholders of ``text``, in order of appearance.

    Parameters
    ----------
    text : str
        A message.
    kinds : str or sequence of str, default=("printf", "brace")
        Which syntaxes count (keys of :data:`PLACEHOLDER_PATTERNS`).

    Returns
    -------
    placeholders : list of str

    Examples
    --------
    >>> find_placeholders("Copied %d of %s files to {dest} (100%% done)")
    ['%d', '%s', '{dest}']
    >>> find_placeholders("%1$s: %.*s", kinds="printf")
    ['%1$s', '%.*s']
    """
    return [m for m in _compile(kinds).findall(text) if m != "%%"]


def keeps_placeholders(source, translation, kinds=("printf", "brace")):
    """Whether ``translation`` has exactly the placeholders of ``source``.

    The same placeholders, each as often; order may change, and a printf
    argument position may be added or dropped (``%d ... %s`` may become
    ``%2$s ... %1$d`` in a language with another word order: printf reads
    the same arguments).

    Examples
    --------
    >>> keeps_placeholders("%d files in %s", "%s enthält %d Dateien")
    True
    >>> keeps_placeholders("%d files in %s", "%2$s: %1$d Dateien")
    True
    >>> keeps_placeholders("%d files in %s", "%d Dateien")
    False
    """
    pattern = _compile(kinds)

    def counts(text):
        return Counter(without_position(m) for m in pattern.findall(text) if m != "%%")

    return counts(source) == counts(translation)
