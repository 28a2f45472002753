"""English -> other-language message pairs read from the system's gettext catalogs.

Every Debian-like system carries the translations of its programs'
user-interface messages as compiled gettext catalogs,
``<prefix>/share/locale/<lang>/LC_MESSAGES/<domain>.mo``: English messages
(``msgid``) and their human translations (``msgstr``). They make a real,
offline parallel corpus with a hard constraint, the printf and brace
placeholders (``%s``, ``%1$d``, ``{name}``) that must survive translation.

The ``.mo`` format (GNU gettext manual, "The Format of MO Files") is read
here directly: a header of little- or big-endian 32-bit words, then two
tables of (length, offset) pairs pointing at the original and translated
strings.
"""

import hashlib
import re
import struct
from collections import Counter, defaultdict
from pathlib import Path

from .text.placeholders import PLACEHOLDER_PATTERNS

__all__ = ["LOCALE_DIRS", "load_gettext_pairs", "read_mo"]

#: Where catalogs are looked for, in order, when ``locale_dirs`` is None.
LOCALE_DIRS = ("/usr/share/locale", "/usr/local/share/locale")

_MAGIC = 0x950412DE
_CONTEXT_SEPARATOR = "\x04"  # msgctxt EOT msgid
_PLURAL_SEPARATOR = "\x00"  # msgid NUL msgid_plural
_PRINTF = re.compile(PLACEHOLDER_PATTERNS["printf"])  # conversions are not words


def read_mo(path):
    """The ``{msgid: msgstr}`` messages of one compiled catalog.

    The header entry (empty ``msgid``) and plural entries are left out;
    message contexts are dropped from the keys. Strings are decoded with the
    charset the header declares (UTF-8 when it declares none).

    Parameters
    ----------
    path : str or path-like
        A ``.mo`` file.

    Returns
    -------
    messages : dict of str to str

    Raises
    ------
    ValueError
        If the file is not a gettext catalog.
    """
    data = Path(path).read_bytes()
    if len(data) < 20:
        raise ValueError(f"{path} is too short to be a gettext catalog.")
    for order in "<>":
        magic, _, count, originals, translations = struct.unpack(order + "5I", data[:20])
        if magic == _MAGIC:
            break
    else:
        raise ValueError(f"{path} is not a gettext catalog (bad magic number).")

    def strings(table):
        for i in range(count):
            length, offset = struct.unpack(order + "2I", data[table + 8 * i : table + 8 * i + 8])
            yield data[offset : offset + length]

    pairs = list(zip(strings(originals), strings(translations)))
    charset = _charset(dict(pairs).get(b"", b""))
    messages = {}
    for raw_id, raw_str in pairs:
        if not raw_id or _PLURAL_SEPARATOR.encode() in raw_id:
            continue
        msgid = raw_id.decode(charset, errors="replace").split(_CONTEXT_SEPARATOR)[-1]
        messages[msgid] = raw_str.decode(charset, errors="replace")
    return messages


def _charset(header):
    """The charset a catalog header declares (``Content-Type: ...; charset=X``)."""
    for line in header.decode("ascii", errors="replace").splitlines():
        if line.lower().startswith("content-type:") and "charset=" in line:
            charset = line.split("charset=")[-1].strip()
            return charset if charset and charset.upper() != "CHARSET" else "utf-8"
    return "utf-8"


def _in_test(text, test_size):
    """Whether ``text`` falls in the test split: a stable hash, the same on every machine."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64 < test_size


def load_gettext_pairs(lang, *, locale_dirs=None, test_size=0.04, min_chars=2):
    """English -> ``lang`` message pairs from the installed gettext catalogs.

    Reads every ``<dir>/<lang>/LC_MESSAGES/*.mo`` under ``locale_dirs``, keeps
    translated single-line messages (no newline on either side, at least
    ``min_chars`` characters and a letter outside printf placeholders in the
    English text), dedupes by
    the English text (the most frequent translation across catalogs wins,
    ties to the first in sorted order) and splits by a hash of the English
    text: the same catalogs give the same split on every machine, whatever
    the order the files are found in. Not used by any estimator; benchmarks
    and examples read real text pairs with it.

    Parameters
    ----------
    lang : str
        A locale directory name, e.g. ``"de"``, ``"es"``, ``"pt_BR"``.
    locale_dirs : sequence of str or path-like, optional
        Where to look; :data:`LOCALE_DIRS` when None.
    test_size : float, default=0.04
        Share of the distinct English messages in the test split.
    min_chars : int, default=2
        Shortest English message kept.

    Returns
    -------
    X_train, X_test, y_train, y_test : list of str
        English messages and their translations, each split sorted by the
        English text.

    Raises
    ------
    ValueError
        If no catalog of ``lang`` is found, or ``test_size`` is not in (0, 1).

    Examples
    --------
    >>> X_train, X_test, y_train, y_test = load_gettext_pairs("de")  # doctest: +SKIP
    >>> X_train[0], y_train[0]  # doctest: +SKIP
    ('%s: %s', '%s: %s')
    """
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size={test_size!r} must be in (0, 1).")
    dirs = LOCALE_DIRS if locale_dirs is None else locale_dirs
    files = sorted(path for d in dirs for path in (Path(d) / lang / "LC_MESSAGES").glob("*.mo"))
    if not files:
        searched = ", ".join(str(Path(d) / lang / "LC_MESSAGES") for d in dirs)
        raise ValueError(f"No gettext catalog (*.mo) for lang={lang!r} in {searched}.")
    translations = defaultdict(Counter)
    for path in files:
        for source, target in read_mo(path).items():
            if _keep(source, target, min_chars):
                translations[source][target] += 1
    split = {True: ([], []), False: ([], [])}
    for source in sorted(translations):
        counts = translations[source]
        target = min(counts, key=lambda t: (-counts[t], t))
        sources, targets = split[_in_test(source, test_size)]
        sources.append(source)
        targets.append(target)
    (X_train, y_train), (X_test, y_test) = split[False], split[True]
    return X_train, X_test, y_train, y_test


def _keep(source, target, min_chars):
    return (
        len(source.strip()) >= min_chars
        and bool(target.strip())
        and "\n" not in source
        and "\n" not in target
        and any(ch.isalpha() for ch in _PRINTF.sub("", source))
    )
