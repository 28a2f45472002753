"""Whether two sides of a parallel corpus are written in the same script.

A shared subword vocabulary (and one embedding table for both sides) pays
when source and target share their alphabet: English and German or Spanish
share most subwords, names and identifiers, and a copied token then is the
same token on both sides. English and Russian or Japanese share only the
identifiers, and a joint vocabulary would spend most of its entries on
pieces one side never uses.
"""

from collections import Counter
from itertools import islice

__all__ = ["MAX_TEXTS_READ", "SAME_SCRIPT_SHARE", "letter_overlap", "same_script"]

#: ``same_script`` holds when at least this share of the target's letters are
#: letters the sources also use.
SAME_SCRIPT_SHARE = 0.5
#: Texts read from each side: enough for the letter counts to settle.
MAX_TEXTS_READ = 10_000


def _letters(texts):
    return Counter(c for text in islice(texts, MAX_TEXTS_READ) for c in text if c.isalpha())


def letter_overlap(sources, targets):
    """Share of the targets' letters (by count) that also occur in the sources.

    Parameters
    ----------
    sources, targets : iterable of str
        The two sides; the first 10,000 texts of each are read.

    Returns
    -------
    share : float
        Between 0.0 and 1.0; 1.0 when the targets have no letter.

    Examples
    --------
    >>> round(letter_overlap(["Open the file"], ["Die Datei öffnen"]), 2)
    0.71
    >>> letter_overlap(["Open file"], ["Открыть файл"])
    0.0
    """
    source_letters = _letters(sources)
    target_letters = _letters(targets)
    total = sum(target_letters.values())
    if not total:
        return 1.0
    shared = sum(n for letter, n in target_letters.items() if letter in source_letters)
    return shared / total


def same_script(sources, targets):
    """Whether the targets are mostly written with the sources' letters.

    >>> same_script(["Open file"], ["Datei öffnen"]), same_script(["Open file"], ["ファイルを開く"])
    (True, False)
    """
    return letter_overlap(sources, targets) >= SAME_SCRIPT_SHARE
