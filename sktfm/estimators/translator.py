"""Seq2SeqTranslator: the encoder-decoder of "Attention Is All You Need"."""

from functools import partial

import numpy as np
from sklearn.base import _fit_context, clone
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ..data import infer_input_type, resolve_input_type, text_column
from ..text import BOS_ID, EOS_ID, TOKENIZER_KINDS, Tokenizer
from ..text.protection import MAX_SPANS, SENTINELS, SpanProtector, sentinel_counts
from ..text.validation import as_text_array, is_token_lists
from ..training import inference
from ..training.callbacks import ValidationBLEU
from ..training.plan import TranslationChoices, plan_translation
from ..training.schedules import InverseSqrtWarmup
from ._parameters import ARCHITECTURE, TEXT, TRAINING
from ._training import BaseTrainedEstimator
from ._translation_parameters import (
    GENERATION,
    TRANSLATION_ARCHITECTURE,
    TRANSLATION_TEXT,
    TRANSLATION_TRAINING,
)


class Seq2SeqTranslator(BaseTrainedEstimator):
    """Transformer encoder-decoder that translates one sequence into another.

    ``fit(X, y)`` learns to map each source ``X[i]`` to its target ``y[i]``
    by teacher forcing with label-smoothed cross-entropy; ``predict``
    generates translations autoregressively (beam search with a key/value
    cache); ``score`` is the corpus BLEU of those translations.

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    input_type_ : str
        "text" or "tokens".
    source_tokenizer_, target_tokenizer_ : Tokenizer
        Fitted tokenizers (the same object when ``share_vocab_``).
    share_vocab_ : bool
        Whether this fit shares one vocabulary and embedding table between
        the sides (``share_vocab`` with "auto" resolved).
    protected_tokens_ : str, tuple or list, or None
        What this fit protects (``protected_tokens`` with "auto" resolved).
    net_ : skorch.NeuralNet
        The skorch net that trained the module.
    module_ : sktfm.nn.Seq2Seq
        The trained encoder-decoder.
    history_ : skorch.History
        Per-epoch losses (and ``valid_bleu`` with ``early_stopping="bleu"``).
    n_iter_ : int
        Number of epochs run.
    device_ : str
        The device the model was trained on.

    See Also
    --------
    sktfm.metrics.bleu_scorer : BLEU as a scorer for ``GridSearchCV``.

    Examples
    --------
    >>> from sktfm import Seq2SeqTranslator
    >>> X = ["one two", "two three", "three one", "one three"] * 10
    >>> y = ["un deux", "deux trois", "trois un", "un trois"] * 10
    >>> model = Seq2SeqTranslator(d_model=32, n_layers=1, dim_feedforward=64,
    ...                           max_epochs=30, warmup_steps=0, lr=3e-3,
    ...                           random_state=0).fit(X, y)
    >>> model.predict(["two one"]).tolist()  # doctest: +SKIP
    ['deux un']
    """

    _parameters = {
        "input_type": TRANSLATION_TEXT["input_type"],
        **ARCHITECTURE,
        **TRANSLATION_ARCHITECTURE,
        **TEXT,
        **TRANSLATION_TEXT,
        **GENERATION,
        **TRAINING,
        **TRANSLATION_TRAINING,
    }

    _older_defaults = {"protected_tokens_": None}  # saved before protection existed

    def _fill_older_format(self, version):
        if version == 1:  # saved before share_vocab_: one tokenizer object was a shared one
            vars(self).setdefault("share_vocab_", self.source_tokenizer_ is self.target_tokenizer_)
        super()._fill_older_format(version)

    def _check_fitted(self, require):
        super()._check_fitted(require)
        require("input_type_", str, values=("text", "tokens"))
        for name in ("source_tokenizer_", "target_tokenizer_"):
            require(name, Tokenizer)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        # Strings in, strings out: no 2-D numeric input (scikit-learn's
        # numeric-data checks do not apply, as for its text vectorizers).
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = False
        tags.target_tags.required = True
        return tags

    # ------------------------------------------------------------------ input
    def _tokenizer_pair(self):
        spec = self.tokenizer
        if isinstance(spec, tuple):
            if len(spec) != 2:
                raise ValueError(
                    f"tokenizer must be a kind or a (source, target) pair, got {spec!r}."
                )
            if self.share_vocab is True:
                raise ValueError(
                    f"share_vocab=True needs one tokenizer for both sides; got the pair {spec!r}."
                )
            return tuple(self._one_tokenizer(part) for part in spec)
        return self._one_tokenizer(spec), self._one_tokenizer(spec)

    def _one_tokenizer(self, spec):
        if isinstance(spec, Tokenizer):
            tokenizer = clone(spec)
        elif spec in TOKENIZER_KINDS:
            tokenizer = Tokenizer(kind=spec, vocab_size=self.vocab_size)
        else:
            raise ValueError(
                f"Unknown tokenizer {spec!r}; use 'word', 'char', 'bpe' or a Tokenizer."
            )
        return tokenizer.set_params(max_len=self.max_len, truncation=self.truncation, output="ids")

    def _as_side(self, data, name, *, reset):
        """Validate one side (source or target): text as a 1-D column, or tokens."""
        if reset:
            kind = resolve_input_type(data, self.input_type)
        else:
            kind = infer_input_type(data) if self.input_type == "auto" else self.input_type
        if kind not in ("text", "tokens"):
            raise ValueError(
                f"{type(self).__name__} translates text or token lists; {name} "
                f"looks like {kind} input."
            )
        if kind == "text":
            data = as_text_array(text_column(data), allow_2d=False, name=name)
        elif not is_token_lists(data):
            raise TypeError(f"{name} must be a list of lists of str tokens.")
        return kind, data

    # ----------------------------------------------------------------- fitting
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Learn to translate each ``X[i]`` into ``y[i]``.

        Parameters
        ----------
        X : list, array or Series of str, or list of lists of str
            Source sentences.
        y : list, array or Series of str, or list of lists of str
            Target sentences, aligned with ``X``.

        Returns
        -------
        self : Seq2SeqTranslator
            The fitted translator.
        """
        return self._fit_guarded(self._fit, X, y)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y):
        """Train for one more epoch, or start with one epoch when unfitted.

        Continued training keeps the vocabularies of the first fit (unseen
        words map to [UNK]).

        Parameters
        ----------
        X : list, array or Series of str, or list of lists of str
            Source sentences.
        y : list, array or Series of str, or list of lists of str
            Target sentences, aligned with ``X``.

        Returns
        -------
        self : Seq2SeqTranslator
            The updated translator.
        """
        return self._partial_fit_guarded(partial(self._fit, partial=True), X, y)

    def _fit(self, X, y, *, partial=False, deadline=None):
        self._require_y(y)
        resuming = self._resuming(partial)
        input_type, X = self._as_side(X, "X", reset=not resuming)
        _, y = self._as_side(y, "y", reset=not resuming)
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} samples but y has {len(y)}; they must match.")
        epochs = 1 if partial else self.max_epochs
        if resuming:
            choices = TranslationChoices(self.protected_tokens_, self.share_vocab_)
        else:
            choices = plan_translation(
                self.get_params(deep=False), input_type=input_type, sources=X, targets=y
            )
        protector = _protector(choices.protected_tokens)
        if protector is not None:
            X, y = protector.protect_pairs(X, y)
        if not resuming:
            self.input_type_ = input_type
            self._fit_tokenizers(
                X, y, share_vocab=choices.share_vocab, protected=protector is not None
            )
        sources = list(self.source_tokenizer_.transform(X))
        targets = [self._wrap_target(ids) for ids in self.target_tokenizer_.transform(y)]
        if resuming:
            return self._continue_training(sources, targets, epochs=epochs, deadline=deadline)
        return self._train(sources, targets, choices, epochs=epochs, deadline=deadline)

    def _protector(self):
        """The :class:`SpanProtector` of the fitted ``protected_tokens_``, or None."""
        return _protector(self.protected_tokens_)

    @staticmethod
    def _protect(X, protector):
        """Sources with their spans replaced by sentinels, and each source's spans."""
        protected = [protector.protect(text) for text in X]
        return [text for text, _ in protected], [spans for _, spans in protected]

    def _fit_tokenizers(self, X, y, *, share_vocab, protected=False):
        if protected:
            # Every sentinel gets into each vocabulary, even those no training
            # message needs (a test message may have more spans).
            sentinels = [" ".join(SENTINELS)]
            X, y = list(X) + sentinels, list(y) + sentinels
        source_tokenizer, target_tokenizer = self._tokenizer_pair()
        if share_vocab:
            both = list(X) + list(y)
            self.source_tokenizer_ = self.target_tokenizer_ = source_tokenizer.fit(both)
        else:
            self.source_tokenizer_ = source_tokenizer.fit(X)
            self.target_tokenizer_ = target_tokenizer.fit(y)

    def _wrap_target(self, ids):
        return np.concatenate([[BOS_ID], ids, [EOS_ID]]).astype(np.int64)

    def _module_kwargs(self):
        return dict(
            src_vocab_size=self.source_tokenizer_.vocab_size_,
            tgt_vocab_size=self.target_tokenizer_.vocab_size_,
            n_encoder_layers=self._layers(self.n_encoder_layers),
            n_decoder_layers=self._layers(self.n_decoder_layers),
            share_embeddings=self.share_vocab_,
            tie_embeddings=self.tie_embeddings,
            **self._shared_module_kwargs(),
            bos_id=BOS_ID,
            eos_id=EOS_ID,
        )

    def _layers(self, n_stack_layers):
        return self.n_layers if n_stack_layers is None else n_stack_layers

    def _train(self, sources, targets, choices, *, epochs, deadline=None):
        rng = check_random_state(self.random_state)
        seed = self._seed(rng)
        train, valid = self._split(sources, targets, rng, None)
        plan = self._plan(
            n_train=len(train[0]),
            epochs=epochs,
            deadline=deadline,
            decay=self.lr_schedule == "linear",
            translation=choices,
        )
        extra, monitor = (), "valid_loss"
        if self.early_stopping == "bleu":
            valid_src, valid_tgt = valid
            references = list(self.target_tokenizer_.decode([t[1:-1] for t in valid_tgt]))
            extra = [
                ("valid_bleu", ValidationBLEU(valid_src, references, self.target_tokenizer_.decode))
            ]
            monitor = "valid_bleu"
        return self._train_net(
            "translation",
            self._module_kwargs(),
            train,
            valid,
            plan=plan,
            seed=seed,
            schedule=InverseSqrtWarmup,
            monitor=monitor,
            extra_callbacks=extra,
        )

    # --------------------------------------------------------------- inference
    def _sources(self, X):
        """Source ids, and each source's protected spans (None without protection)."""
        check_is_fitted(self, "net_")
        _, X = self._as_side(X, "X", reset=False)
        protector = self._protector()
        spans = None
        if protector is not None:
            X, spans = self._protect(X, protector)
        return list(self.source_tokenizer_.transform(X)), spans

    def _token_slots(self):
        """(V, MAX_SPANS) counts of each sentinel in each target token."""
        vocab = self.target_tokenizer_.tokenizer_.get_vocab()
        tokens = [""] * self.target_tokenizer_.vocab_size_
        for token, token_id in vocab.items():
            if token_id < len(tokens):
                tokens[token_id] = token
        slots = np.zeros((len(tokens), MAX_SPANS), dtype=np.int64)
        for token_id, counts in sentinel_counts(tokens).items():
            for k, times in counts:
                slots[token_id, k] = times
        return slots

    def predict(self, X):
        """Translate each source sentence.

        Parameters
        ----------
        X : list, array or Series of str, or list of lists of str
            Source sentences (empty strings are valid).

        Returns
        -------
        y_pred : ndarray of shape (n_samples,), dtype object
            The translations, as strings.
        """
        sources, spans = self._sources(X)
        constraint = {}
        if spans is not None:
            token_slots = self._token_slots()
            required = np.zeros((len(spans), MAX_SPANS), dtype=np.int64)
            for row, source_spans in zip(required, spans):
                row[: len(source_spans)] = 1  # the k-th span's sentinel, once
            # A sentinel no target token can write (a word vocabulary cut at
            # vocab_size) cannot be required; its span is then left out.
            required *= token_slots.any(axis=0)
            constraint = dict(required=required, token_slots=token_slots)
        generated = inference.generate(
            self.net_,
            sources,
            batch_size=self.batch_size,
            beam_size=self.beam_size,
            max_output_len=self.max_output_len,
            length_penalty=self.length_penalty,
            **constraint,
        )
        translations = self.target_tokenizer_.decode(generated)
        if spans is None:
            return translations
        restored = [SpanProtector.restore(text, s) for text, s in zip(translations, spans)]
        return np.asarray(restored, dtype=object)

    def score(self, X, y, sample_weight=None):
        """Corpus BLEU (0-100, sacrebleu) of ``predict(X)`` against ``y``.

        Parameters
        ----------
        X : list, array or Series of str
            Source sentences.
        y : list, array or Series of str
            Reference translations.
        sample_weight : None
            Not supported; present for scikit-learn's scorer protocol.

        Returns
        -------
        bleu : float
            Corpus BLEU between 0 and 100.
        """
        from ..metrics import bleu_score

        if sample_weight is not None:
            raise ValueError("Seq2SeqTranslator.score does not support sample_weight.")
        _, references = self._as_side(y, "y", reset=False)
        if is_token_lists(references):
            references = [" ".join(tokens) for tokens in references]
        return bleu_score(references, self.predict(X))

    def transform(self, X):
        """Pooled encoder states of each source (``pooling``: the mean by default).

        Parameters
        ----------
        X : list, array or Series of str, or list of lists of str
            Source sentences.

        Returns
        -------
        X_new : ndarray of shape (n_samples, d_model), dtype float32
            One vector per source sentence.
        """
        sources, _ = self._sources(X)
        return inference.embed(self.net_, sources, batch_size=self.batch_size)

    def attention_weights(self, X, y=None):
        """Cross-attention maps of the decoder over the source, for plots.

        Parameters
        ----------
        X : list of str or list of lists of str
            Source sentences.
        y : list of str or None, default=None
            Target sentences to attend with (teacher forcing); None uses the
            model's own translations.

        Returns
        -------
        weights : list of ndarray of shape (n_decoder_layers, n_heads, tgt_len, src_len)
            One array per sample; ``tgt_len`` counts [BOS] and the target
            tokens, ``src_len`` the source tokens.
        """
        sources, spans = self._sources(X)
        if y is None:
            y = self.predict(X)
        _, y = self._as_side(y, "y", reset=False)
        if len(y) != len(sources):
            raise ValueError(f"X has {len(sources)} samples but y has {len(y)}.")
        if spans is not None:
            protector = self._protector()
            y = [protector.protect_target(target, s) for target, s in zip(y, spans)]
        targets = [self._wrap_target(ids) for ids in self.target_tokenizer_.transform(y)]
        return inference.cross_attention(self.net_, sources, targets, batch_size=self.batch_size)


def _protector(protected_tokens):
    """The :class:`SpanProtector` of resolved ``protected_tokens``, or None."""
    return None if protected_tokens is None else SpanProtector(protected_tokens)
