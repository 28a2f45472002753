"""Scores for generated text: BLEU, chrF, exact match, placeholder fidelity, copy rate.

BLEU and chrF are computed by `sacrebleu <https://github.com/mjpost/sacrebleu>`_
with its default settings, so the figures are the standard, comparable ones
(``13a`` tokenization for BLEU, character 6-grams and ``beta=2`` for chrF).
sacrebleu is imported inside the functions that need it.

Each score also comes as a scikit-learn scorer (``bleu_scorer``,
``chrf_scorer``, ``exact_match_scorer``), usable wherever scikit-learn takes
``scoring=``: ``GridSearchCV``, ``cross_val_score``, ``learning_curve``.
Greater is better for all three.
"""

from collections import Counter

import numpy as np
from sklearn.metrics import make_scorer

from .text.placeholders import find_placeholders, keeps_placeholders
from .text.validation import as_text_array

__all__ = [
    "bleu_score",
    "bleu_scorer",
    "chrf_score",
    "chrf_scorer",
    "copy_rate",
    "exact_match_score",
    "exact_match_scorer",
    "placeholder_fidelity",
]


def _check_texts(y_true, y_pred):
    """Validate a pair of text sequences of equal, non-zero length.

    Each side is 1-D (a one-column 2-D input is flattened) and holds only
    ``str``: unlike the text transformers, a metric reads no number as text.
    """
    references = as_text_array(y_true, allow_2d=False, allow_numbers=False, name="y_true").tolist()
    hypotheses = as_text_array(y_pred, allow_2d=False, allow_numbers=False, name="y_pred").tolist()
    if len(references) != len(hypotheses):
        raise ValueError(
            f"y_true and y_pred have different lengths ({len(references)} and "
            f"{len(hypotheses)}); pass one prediction per reference."
        )
    return references, hypotheses


def _sacrebleu_score(metric, y_true, y_pred):
    """Corpus score of sacrebleu's ``metric`` class ("BLEU" or "CHRF"), default settings."""
    import sacrebleu

    references, hypotheses = _check_texts(y_true, y_pred)
    scorer = getattr(sacrebleu.metrics, metric)()
    return float(scorer.corpus_score(hypotheses, [references]).score)


def bleu_score(y_true, y_pred):
    """Corpus BLEU of predicted texts against one reference each.

    Computed with sacrebleu's ``BLEU().corpus_score`` and its default settings
    (``13a`` tokenization, 4-grams, exponential smoothing), so the figure is
    comparable to published sacrebleu scores.

    Parameters
    ----------
    y_true : list, tuple, ndarray or pandas Series of str
        Reference texts, one per sample.
    y_pred : list, tuple, ndarray or pandas Series of str
        Predicted texts, aligned with ``y_true``. Empty strings are valid.

    Returns
    -------
    score : float
        Corpus BLEU between 0 and 100 (100: every prediction is identical to
        its reference).

    Raises
    ------
    ValueError
        If the inputs are empty, differ in length or contain None/NaN.
    TypeError
        If an entry is not a string.

    See Also
    --------
    chrf_score : Character n-gram F-score, kinder to near misses.
    exact_match_score : Share of predictions identical to their reference.
    bleu_scorer : This score as a scikit-learn scorer.

    Examples
    --------
    >>> from sktfm.metrics import bleu_score
    >>> round(bleu_score(["the cat sat on the mat"], ["the cat sat on the mat"]), 2)
    100.0
    >>> round(bleu_score(["the cat sat on the mat", "hello there"],
    ...                  ["the cat sat on a mat", "hello there"]), 2)
    55.84
    """
    return _sacrebleu_score("BLEU", y_true, y_pred)


def chrf_score(y_true, y_pred):
    """Corpus chrF of predicted texts against one reference each.

    Computed with sacrebleu's ``CHRF().corpus_score`` and its default settings
    (character 6-grams, ``beta=2``). chrF gives partial credit for words that
    are nearly right, which BLEU does not.

    Parameters
    ----------
    y_true : list, tuple, ndarray or pandas Series of str
        Reference texts, one per sample.
    y_pred : list, tuple, ndarray or pandas Series of str
        Predicted texts, aligned with ``y_true``. Empty strings are valid.

    Returns
    -------
    score : float
        Corpus chrF between 0 and 100.

    Raises
    ------
    ValueError
        If the inputs are empty, differ in length or contain None/NaN.
    TypeError
        If an entry is not a string.

    See Also
    --------
    bleu_score : Corpus BLEU.
    chrf_scorer : This score as a scikit-learn scorer.

    Examples
    --------
    >>> from sktfm.metrics import chrf_score
    >>> round(chrf_score(["quatre-vingts"], ["quatre-vingts"]), 2)
    100.0
    >>> round(chrf_score(["the cat sat on the mat", "hello there"],
    ...                  ["the cat sat on a mat", "hello there"]), 2)
    77.37
    """
    return _sacrebleu_score("CHRF", y_true, y_pred)


def exact_match_score(y_true, y_pred):
    """Share of predicted texts identical to their reference.

    Surrounding whitespace is ignored (both sides are stripped); case,
    punctuation and inner spacing count.

    Parameters
    ----------
    y_true : list, tuple, ndarray or pandas Series of str
        Reference texts, one per sample.
    y_pred : list, tuple, ndarray or pandas Series of str
        Predicted texts, aligned with ``y_true``.

    Returns
    -------
    score : float
        Between 0.0 (no prediction matches) and 1.0 (all match).

    Raises
    ------
    ValueError
        If the inputs are empty, differ in length or contain None/NaN.
    TypeError
        If an entry is not a string.

    See Also
    --------
    bleu_score : Corpus BLEU, which gives credit for partly right texts.
    exact_match_scorer : This score as a scikit-learn scorer.

    Examples
    --------
    >>> from sktfm.metrics import exact_match_score
    >>> exact_match_score(["vingt et un", "mille"], [" vingt et un ", "cent"])
    0.5
    """
    references, hypotheses = _check_texts(y_true, y_pred)
    matches = [ref.strip() == hyp.strip() for ref, hyp in zip(references, hypotheses)]
    return float(np.mean(matches))


def placeholder_fidelity(sources, translations, kinds=("printf", "brace")):
    """Share of the messages with placeholders whose translation keeps them all.

    A translation keeps its source's placeholders when it has each of them
    exactly as often, nothing more (order may change; see
    :func:`sktfm.text.placeholders.keeps_placeholders`): what ``msgfmt
    --check-format`` asks of a human translation.

    Parameters
    ----------
    sources : list, tuple, ndarray or pandas Series of str
        Source messages.
    translations : list, tuple, ndarray or pandas Series of str
        Their translations, aligned with ``sources``.
    kinds : str or sequence of str, default=("printf", "brace")
        Which placeholder syntaxes count.

    Returns
    -------
    score : float
        Between 0.0 and 1.0; NaN when no source has a placeholder.

    Examples
    --------
    >>> from sktfm.metrics import placeholder_fidelity
    >>> placeholder_fidelity(["%d files", "Quit", "{n} left"],
    ...                      ["%d Dateien", "Beenden", "noch {m}"])
    0.5
    """
    sources, translations = _check_texts(sources, translations)
    kept = [
        keeps_placeholders(source, translation, kinds)
        for source, translation in zip(sources, translations)
        if find_placeholders(source, kinds)
    ]
    return float(np.mean(kept)) if kept else float("nan")


def _copyable_tokens(source, reference):
    """Whitespace tokens (with a letter or digit) that the source and reference
    share, counted as often as both have them."""
    shared = Counter(source.split()) & Counter(reference.split())
    return Counter({token: n for token, n in shared.items() if any(c.isalnum() for c in token)})


def copy_rate(sources, references, translations):
    """Share of the tokens to copy verbatim that the translations copy.

    A token to copy is a whitespace-separated token (with at least one
    letter or digit) that appears verbatim in both a source and its
    reference: identifiers, paths, option and section names, numbers, names
    of programs (``.preinit_array``, ``--help``, ``/etc/fstab``, ``GNU``).
    Each counts as often as both sides have it, and is copied when the
    translation has it as often.

    Parameters
    ----------
    sources, references, translations : list, tuple, ndarray or pandas Series of str
        Source messages, their reference translations, and the translations
        to score, aligned.

    Returns
    -------
    score : float
        Between 0.0 and 1.0; NaN when no pair shares a token.

    Examples
    --------
    >>> from sktfm.metrics import copy_rate
    >>> copy_rate(["Run make install", "Open --help"],
    ...           ["make install ausführen", "--help öffnen"],
    ...           ["make installieren", "--help öffnen"])
    0.6666666666666666
    """
    sources, references = _check_texts(sources, references)
    _, translations = _check_texts(references, translations)
    to_copy = copied = 0
    for source, reference, translation in zip(sources, references, translations):
        tokens = _copyable_tokens(source, reference)
        to_copy += sum(tokens.values())
        copied += sum((tokens & Counter(translation.split())).values())
    return copied / to_copy if to_copy else float("nan")


# Scorers for ``scoring=``: they call ``estimator.predict(X)`` and compare with
# ``y``. Built from module-level functions, so they pickle for ``n_jobs``.
bleu_scorer = make_scorer(bleu_score)
chrf_scorer = make_scorer(chrf_score)
exact_match_scorer = make_scorer(exact_match_score)
