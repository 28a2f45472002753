"""TextCleaner: stateless normalization of raw text before tokenization."""

import functools
import html
import re
import sys
import unicodedata

import numpy as np
import pandas as pd
from sklearn.base import (
    BaseEstimator,
    OneToOneFeatureMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import validate_data

from ..persistence import Persistable
from .validation import as_text_array

__all__ = ["TextCleaner"]

# Script and style bodies are code, not text: drop them with their tags.
_SCRIPT_RE = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_COMMENT_RE = re.compile(r"<!--.*?-->", re.DOTALL)
# A tag opens with a letter, "/", "!" or "?" right after "<", so "a < b" is kept.
_TAG_RE = re.compile(r"<(/?)([A-Za-z][\w:-]*|[!?])[^<>]*>")
# Inline tags may sit inside a word ("<b>bold</b>er"): remove them without a space.
_INLINE_TAGS = frozenset(
    "a abbr b bdi bdo cite code data del dfn em font i ins kbd mark q s samp "
    "small span strong sub sup time tt u var wbr".split()
)
_WHITESPACE_RE = re.compile(r"\s+")
# Zero-width (non-)joiners are format characters (Cf) that carry meaning: they
# glue emoji sequences and shape Indic and Persian words, so they are kept.
_KEEP_FORMAT = frozenset("\u200c\u200d")


def _replace_tag(match):
    return "" if match.group(2).lower() in _INLINE_TAGS else " "


def _strip_html(text):
    if "<" in text:
        text = _SCRIPT_RE.sub(" ", text)
        text = _COMMENT_RE.sub(" ", text)
        text = _TAG_RE.sub(_replace_tag, text)
    # Unescape after stripping, so "&lt;b&gt;" stays visible text.
    return html.unescape(text) if "&" in text else text


@functools.cache
def _control_table():
    """``str.translate`` table deleting control (Cc) and format (Cf) characters.

    Lone surrogates (Cs), which no UTF-8 text can hold, are deleted too.

    Whitespace controls (tab, newline...) are kept: they separate words, and
    ``collapse_whitespace`` turns them into single spaces. Built on first use
    (about 0.1 s) rather than at import.
    """
    table = {}
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        if (
            unicodedata.category(char) in ("Cc", "Cf", "Cs")
            and not char.isspace()
            and char not in _KEEP_FORMAT
        ):
            table[code] = None
    return table


def _strip_control(text):
    # isprintable() is False for every Cc/Cf/Cs character: a C-speed fast path.
    return text if text.isprintable() else text.translate(_control_table())


def _for_validate_data(X, texts):
    """The DataFrame, which carries column names, or else the validated array."""
    return X if isinstance(X, pd.DataFrame) else texts


class TextCleaner(Persistable, OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Normalize raw text: unicode form, case, HTML, control characters, spaces.

    A stateless transformer to put in front of :class:`~sktfm.Tokenizer` or a
    text estimator. Each text goes through these steps, in order, each of
    which can be switched off:

    1. ``strip_html``: drop HTML tags (and ``<script>``/``<style>`` bodies and
       comments), then unescape entities such as ``&amp;``;
    2. ``normalize``: unicode normalization, e.g. NFKC folds ``"ﬁ"`` into
       ``"fi"`` and full-width ``"１２"`` into ``"12"``;
    3. ``lowercase``: ``str.lower``;
    4. ``strip_control``: delete control and format characters (unicode
       categories Cc and Cf) such as NUL, BOM or soft hyphens;
    5. ``collapse_whitespace``: turn each run of whitespace (tabs and newlines
       included) into one space and strip both ends.

    A 1-D input (list, array or Series of texts) gives a 1-D output; a 2-D
    input (array or DataFrame with several text columns) is cleaned cell by
    cell and keeps its shape. Numbers are read as text; missing values (None,
    NaN) raise an error.

    Parameters
    ----------
    normalize : {"NFC", "NFKC", "NFD", "NFKD"} or None, default="NFKC"
        Unicode normalization form, or None to leave the code points as they
        are.
    lowercase : bool, default=False
        Whether to lowercase the text.
    strip_html : bool, default=True
        Whether to remove HTML tags and unescape HTML entities. Inline tags
        (``<b>``, ``<a>``...) are removed without a trace, other tags
        (``<p>``, ``<br>``...) leave a space so that words do not merge.
    strip_control : bool, default=True
        Whether to delete control and format characters. Whitespace controls
        (tab, newline...) are kept for ``collapse_whitespace``, and so are the
        zero-width joiner and non-joiner, which emoji sequences and some
        scripts need.
    collapse_whitespace : bool, default=True
        Whether to replace each run of whitespace with one space and strip
        leading and trailing whitespace.

    Attributes
    ----------
    n_features_in_ : int
        Number of text columns seen during :meth:`fit`. Only set when fit on
        2-D input.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the columns seen during :meth:`fit`. Only set when fit on a
        DataFrame whose column names are all strings.

    See Also
    --------
    Tokenizer : Learn a vocabulary and turn text into token ids.

    Examples
    --------
    >>> from sktfm.text import TextCleaner
    >>> cleaner = TextCleaner(lowercase=True)
    >>> cleaner.fit_transform(["<p>Caf&eacute;  ﬁne</p>\\n", "ＡＢＣ １２３"])
    array(['café fine', 'abc 123'], dtype=object)
    """

    _parameter_constraints: dict = {
        "normalize": [StrOptions({"NFC", "NFKC", "NFD", "NFKD"}), None],
        "lowercase": ["boolean"],
        "strip_html": ["boolean"],
        "strip_control": ["boolean"],
        "collapse_whitespace": ["boolean"],
    }

    def __init__(
        self,
        *,
        normalize="NFKC",
        lowercase=False,
        strip_html=True,
        strip_control=True,
        collapse_whitespace=True,
    ):
        self.normalize = normalize
        self.lowercase = lowercase
        self.strip_html = strip_html
        self.strip_control = strip_control
        self.collapse_whitespace = collapse_whitespace

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Validate the parameters and the input; nothing is learned.

        Parameters
        ----------
        X : array-like of shape (n_samples,) or (n_samples, n_columns)
            Texts: a list, array or Series of str, or a 2-D array or DataFrame
            of text columns.
        y : None
            Ignored.

        Returns
        -------
        self : TextCleaner
            The transformer.
        """
        texts = as_text_array(X)
        if texts.ndim == 2:
            validate_data(self, _for_validate_data(X, texts), reset=True, skip_check_array=True)
        else:
            for attr in ("n_features_in_", "feature_names_in_"):
                self.__dict__.pop(attr, None)
        return self

    def transform(self, X):
        """Clean each text.

        Parameters
        ----------
        X : array-like of shape (n_samples,) or (n_samples, n_columns)
            Texts: a list, array or Series of str, or a 2-D array or DataFrame
            of text columns. After a fit on 2-D input, ``X`` must have the
            same columns.

        Returns
        -------
        X_clean : ndarray of shape (n_samples,) or (n_samples, n_columns), \
                dtype=object
            The cleaned texts, with the shape of ``X``.
        """
        # Stateless: transform may run without fit, so it validates too.
        self._validate_params()
        texts = as_text_array(X)
        self._check_n_features(X, texts)
        clean = self._make_cleaner()
        out = np.empty(texts.size, dtype=object)
        out[:] = [clean(text) for text in texts.ravel()]
        return out.reshape(texts.shape)

    def _check_n_features(self, X, texts):
        """After a fit on 2-D input, require the same columns."""
        if not hasattr(self, "n_features_in_"):
            return
        if texts.ndim == 1:
            raise ValueError(
                f"TextCleaner was fitted on 2-D input with {self.n_features_in_} "
                "column(s), but transform got 1-D input. Reshape your data to 2-D "
                f"with {self.n_features_in_} column(s), or refit on 1-D input."
            )
        validate_data(self, _for_validate_data(X, texts), reset=False, skip_check_array=True)

    def _make_cleaner(self):
        """Compose the enabled steps into one ``str -> str`` function."""
        steps = []
        if self.strip_html:
            steps.append(_strip_html)
        if self.normalize is not None:
            steps.append(functools.partial(unicodedata.normalize, self.normalize))
        if self.lowercase:
            steps.append(str.lower)
        if self.strip_control:
            steps.append(_strip_control)
        if self.collapse_whitespace:
            steps.append(lambda text: _WHITESPACE_RE.sub(" ", text).strip())

        def clean(text):
            for step in steps:
                text = step(text)
            return text

        return clean

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.string = True
        tags.input_tags.two_d_array = True
        tags.target_tags.required = False
        tags.transformer_tags.preserves_dtype = []
        return tags
