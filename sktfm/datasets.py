"""Data sets generated in code or read from the machine, never downloaded.

``make_*`` generate data in code; :func:`load_gettext_pairs` reads the real
message translations of the installed programs (see :mod:`sktfm._catalogs`).
"""

import numbers

import numpy as np
from sklearn.utils import check_random_state

from ._catalogs import load_gettext_pairs

__all__ = ["load_gettext_pairs", "make_number_translation", "make_topic_texts"]

_TOPIC_WORDS = {
    "sports": (
        "match goal team coach league season player score referee stadium "
        "striker keeper final tournament victory defeat penalty champion "
        "training transfer injury fans derby midfield"
    ),
    "technology": (
        "software laptop chip startup cloud server code update battery screen "
        "network robot algorithm app device processor browser data security "
        "patch release gadget developer"
    ),
    "food": (
        "recipe kitchen flavour chef dinner soup bread spice dessert sauce "
        "restaurant menu bake grill cheese pasta salad breakfast oven taste "
        "vegetables dish lunch"
    ),
    "travel": (
        "flight hotel passport beach journey museum train luggage tourist "
        "island airport map guide cruise mountain visa hostel tour ticket "
        "border village coast trip"
    ),
}

_FILLER = (
    "the a an this that it was is very really quite some new old good bad "
    "great and but with for on in at of to after before today yesterday "
    "we they I you my our their about just more most many"
).split()


def make_topic_texts(n_samples=1000, *, noise=0.15, markup=0.1, random_state=None):
    """Generate short English-like texts about four topics.

    Each text mixes topic words with common filler words; ``noise`` of the
    content words are drawn from another topic, so the task is learnable but
    not trivial. A share ``markup`` of texts carries HTML tags, odd casing
    and repeated spaces, which :class:`~sktfm.TextCleaner` removes.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of texts.
    noise : float, default=0.15
        Share of content words taken from a different topic.
    markup : float, default=0.1
        Share of texts wrapped in HTML and shouted in upper case.
    random_state : int, RandomState instance or None, default=None
        Seed for repeatable data.

    Returns
    -------
    X : list of str of length n_samples
        The texts.
    y : ndarray of shape (n_samples,), dtype object
        The topic of each text: "sports", "technology", "food" or "travel".

    Examples
    --------
    >>> from sktfm.datasets import make_topic_texts
    >>> X, y = make_topic_texts(8, random_state=0)
    >>> len(X), set(y) <= {"food", "sports", "technology", "travel"}
    (8, True)
    """
    rng = check_random_state(random_state)
    topics = sorted(_TOPIC_WORDS)
    vocab = {topic: words.split() for topic, words in _TOPIC_WORDS.items()}
    labels = rng.randint(len(topics), size=n_samples)
    texts = []
    for label in labels:
        topic = topics[label]
        length = rng.randint(6, 18)
        words = []
        for _ in range(length):
            if rng.rand() < 0.55:
                words.append(str(rng.choice(_FILLER)))
                continue
            source = topic
            if rng.rand() < noise:
                source = topics[rng.randint(len(topics))]
            words.append(str(rng.choice(vocab[source])))
        text = " ".join(words)
        if rng.rand() < markup:
            text = f"<p>{text.upper()}</p>  <br/>"
        texts.append(text)
    return texts, np.array(topics, dtype=object)[labels]


_NUMBER_FORMATS = ("words", "digits")
# Above this many candidates, a full permutation costs too much memory.
_PERMUTATION_LIMIT = 2_000_000


def _check_language(lang, name, num2words):
    """Raise a ValueError naming ``lang`` unless num2words can spell in it."""
    import num2words as num2words_module

    supported = sorted(getattr(num2words_module, "CONVERTER_CLASSES", {}))
    try:
        if not isinstance(lang, str):
            raise NotImplementedError
        num2words(0, lang=lang)
    except NotImplementedError:
        examples = ", ".join(repr(code) for code in ("en", "fr", "de", "es", "it"))
        listed = f" ({len(supported)} in all: {', '.join(supported)})" if supported else ""
        raise ValueError(
            f"{name}={lang!r} is not a language num2words supports; use a code "
            f"such as {examples}{listed}."
        ) from None


def _check_count(value, name, minimum):
    """Raise unless ``value`` is an integer >= ``minimum``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r} ({type(value).__name__}).")
    if value < minimum:
        raise ValueError(f"{name}={value} must be >= {minimum}.")


def _draw_distinct(rng, n_samples, n_candidates):
    """``n_samples`` distinct integers from ``range(n_candidates)``, in random order."""
    if n_candidates <= _PERMUTATION_LIMIT or 2 * n_samples > n_candidates:
        return rng.choice(n_candidates, n_samples, replace=False)
    # Few draws from a huge range: rejection sampling, as in random.sample.
    seen, drawn = set(), []
    while len(drawn) < n_samples:
        for value in rng.randint(0, n_candidates, size=n_samples - len(drawn), dtype=np.int64):
            if value not in seen:
                seen.add(value)
                drawn.append(value)
    return np.array(drawn, dtype=np.int64)


def make_number_translation(
    n_samples=1000,
    *,
    source_lang="en",
    target_lang="fr",
    source_format="words",
    random_state=None,
    max_value=999_999,
):
    """Generate a translation task: numbers spelled out in two languages.

    Draws ``n_samples`` distinct integers from ``[0, max_value]`` and spells
    each with `num2words <https://github.com/savoirfairelinux/num2words>`_,
    e.g. "three hundred and forty-two" -> "trois cent quarante-deux". The
    target language's quirks (French "soixante-dix", German compounds) make
    it a small but real sequence-to-sequence task, generated without
    downloading anything.

    The numbers are drawn without replacement, so a ``train_test_split`` of
    the result never puts the same number in both train and test.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of pairs, at most ``max_value + 1``.
    source_lang : str, default="en"
        Language code of the source words, any that num2words supports
        ("en", "fr", "de", "es", "it", "pt", "nl", ...). Ignored when
        ``source_format="digits"``.
    target_lang : str, default="fr"
        Language code of the target words.
    source_format : {"words", "digits"}, default="words"
        "words" spells the source in ``source_lang``; "digits" gives the
        number itself, e.g. "342".
    random_state : int, RandomState instance or None, default=None
        Seed for repeatable data.
    max_value : int, default=999_999
        Largest number that may be drawn.

    Returns
    -------
    X : ndarray of shape (n_samples,), dtype object
        The source texts.
    y : ndarray of shape (n_samples,), dtype object
        The target texts, ``num2words(n, lang=target_lang)``.

    Raises
    ------
    ImportError
        If num2words is not installed.
    ValueError
        If ``n_samples > max_value + 1``, a language is not supported by
        num2words or ``source_format`` is unknown.

    See Also
    --------
    sktfm.Seq2SeqTranslator : Learns to translate X into y.

    Examples
    --------
    >>> from sktfm.datasets import make_number_translation
    >>> X, y = make_number_translation(3, max_value=999, random_state=0)
    >>> X.shape, y.shape
    ((3,), (3,))
    >>> for source, target in zip(X, y):
    ...     print(f"{source} -> {target}")
    nine hundred and ninety-three -> neuf cent quatre-vingt-treize
    eight hundred and fifty-nine -> huit cent cinquante-neuf
    two hundred and ninety-eight -> deux cent quatre-vingt-dix-huit
    >>> X, y = make_number_translation(2, source_format="digits",
    ...                                target_lang="es", random_state=0)
    >>> for source, target in zip(X, y):
    ...     print(f"{source} -> {target}")
    157105 -> ciento cincuenta y siete mil ciento cinco
    374554 -> trescientos setenta y cuatro mil quinientos cincuenta y cuatro
    """
    try:
        from num2words import num2words
    except ImportError as error:
        raise ImportError(
            "make_number_translation needs the num2words package; install it "
            "with: pip install num2words"
        ) from error
    _check_count(n_samples, "n_samples", 1)
    _check_count(max_value, "max_value", 0)
    if n_samples > max_value + 1:
        raise ValueError(
            f"{n_samples=} distinct numbers cannot be drawn from [0, {max_value=}]; "
            f"lower n_samples or raise max_value to at least {n_samples - 1}."
        )
    if source_format not in _NUMBER_FORMATS:
        raise ValueError(
            f"{source_format=} is not one of {_NUMBER_FORMATS}; use 'words' to "
            "spell the source number or 'digits' to write it as digits."
        )
    if source_format == "words":
        _check_language(source_lang, "source_lang", num2words)
    _check_language(target_lang, "target_lang", num2words)

    rng = check_random_state(random_state)
    numbers_drawn = [int(n) for n in _draw_distinct(rng, n_samples, max_value + 1)]
    X = np.empty(n_samples, dtype=object)
    y = np.empty(n_samples, dtype=object)
    for i, number in enumerate(numbers_drawn):
        X[i] = num2words(number, lang=source_lang) if source_format == "words" else str(number)
        y[i] = num2words(number, lang=target_lang)
    return X, y
