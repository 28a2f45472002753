"""One plan per fit: every ``"auto"`` resolved once, from the parameters and the data.

:func:`plan_fit` is pure: the estimator's parameters (a ``get_params()``
dict) and a summary of the data go in, a frozen :class:`FitPlan` comes out.
Everything downstream (the module's architecture, the skorch net, the
callbacks, the members of an ensemble, data-parallel ranks) takes the plan,
or the part of it that it needs, explicitly; the estimator writes its
resolved fitted attributes (``max_epochs_``, ``lr_``, ``dropout_`` ...) from
:meth:`FitPlan.fitted_attributes`, in one place.

>>> params = dict(max_epochs="auto", patience="auto", lr="auto", warmup_steps="auto",
...               batch_size=32, weight_decay=0.01, grad_clip=1.0, label_smoothing="auto",
...               ema_decay="auto", precision="auto", compile=False, verbose=0,
...               callbacks=None, checkpoint_dir=None, max_time=None, dropout="auto",
...               pooling="auto", attention_dropout="auto", embedding_init="auto")
>>> regularisation = plan_regularisation(params, text_from_scratch=True, n_samples=3000)
>>> plan = plan_fit(params, n_train=2700, regularisation=regularisation, device="cpu")
>>> plan.budget.max_epochs, plan.net.lr, plan.net.label_smoothing, plan.net.ema_decay
(24, 0.001, 0.1, 0.999)
>>> regularisation.dropout, regularisation.embedding_init
(0.3, 'cooccurrence')
"""

import dataclasses
from itertools import islice

from ..text.protection import SpanProtector
from ..text.scripts import MAX_TEXTS_READ, same_script
from ._records import record
from .budget import (
    Budget,
    resolve_budget,
    resolve_embedding_init,
    resolve_ensemble_size,
    resolve_regularisation,
)

__all__ = [
    "FitPlan",
    "NetSettings",
    "Regularisation",
    "TranslationChoices",
    "plan_fit",
    "plan_regularisation",
    "plan_translation",
]

#: What ``label_smoothing`` and ``ema_decay`` left at ``"auto"`` mean where
#: nothing resolved them (the translator's, models of before they were): off.
AUTO_OFF = {"label_smoothing": 0.0, "ema_decay": None}

#: What the translator's ``protected_tokens="auto"`` protects when the
#: training sources have it.
AUTO_PROTECTED = ("printf", "brace")


@record
class NetSettings:
    """What a skorch net is built from: the training parameters, every ``"auto"`` resolved."""

    lr: float
    max_epochs: int
    patience: int
    batch_size: int
    weight_decay: float
    grad_clip: float | None
    label_smoothing: float = 0.0
    class_weight: tuple | None = None  # per class, in the order of the head's outputs
    ema_decay: float | None = None
    precision: str = "auto"
    compile: bool = False
    verbose: int | bool = 0
    callbacks: list | None = None
    checkpoint_dir: object = None

    @classmethod
    def from_params(cls, params, **resolved):
        """The settings in an estimator's ``params``, ``resolved`` values overriding them.

        ``label_smoothing`` and ``ema_decay`` left at ``"auto"`` mean their
        off values (0 and None): the estimators whose ``"auto"`` depends on
        the data pass the resolved value.
        """
        names = [field.name for field in dataclasses.fields(cls)]
        values = {name: params[name] for name in names if name in params}
        values.update(resolved)
        for name, off in AUTO_OFF.items():
            if isinstance(values.get(name), str):  # "auto" where nothing resolved it
                values[name] = off
        return cls(**values)


@record
class Regularisation:
    """The resolved regularisation and initialisation of an encoder estimator's fit."""

    dropout: float
    pooling: str
    label_smoothing: float
    ema_decay: float | None
    attention_dropout: float
    embedding_init: str
    ensemble_size: int | None = None  # the supervised heads only


@record
class TranslationChoices:
    """The translator's choices that depend on its training pairs."""

    protected_tokens: str | tuple | list | None  # patterns (see sktfm.text.protection)
    share_vocab: bool


@record
class FitPlan:
    """Everything one fit does that the parameters left to the data.

    Attributes
    ----------
    budget : Budget
        Epochs, patience, learning rate, warm-up and decay of this fit.
    net : NetSettings
        What the skorch net is built from.
    epochs : int
        Epochs this call trains (``partial_fit``: 1).
    regularisation : Regularisation or None
        The encoder estimators' resolved regularisation (None: the
        translator, whose parameters have no ``"auto"`` of that kind).
    translation : TranslationChoices or None
        The translator's resolved choices (None: the encoder estimators).
    device : str
        The resolved torch device.
    deadline : float or None
        ``time.monotonic()`` time at which ``max_time`` ends training.
    """

    budget: Budget
    net: NetSettings
    epochs: int
    regularisation: Regularisation | None = None
    translation: TranslationChoices | None = None
    device: str = "cpu"
    deadline: float | None = None

    def fitted_attributes(self):
        """The resolved fitted attributes this plan sets, name (with ``_``) to value."""
        attributes = {
            "max_epochs_": self.budget.max_epochs,
            "lr_": self.budget.lr,
            "patience_": self.budget.patience,
            "warmup_steps_": self.budget.warmup_steps,
        }
        if self.regularisation is not None:
            for name, value in dataclasses.asdict(self.regularisation).items():
                if value is not None or name != "ensemble_size":
                    attributes[f"{name}_"] = value
        if self.translation is not None:
            for name, value in dataclasses.asdict(self.translation).items():
                attributes[f"{name}_"] = value
        return attributes

    def for_member(self, deadline):
        """The plan of one member of an ensemble, which may have its own share of time."""
        return dataclasses.replace(self, deadline=deadline)

    def recorded(self):
        """The plan as a fitted model keeps (and saves) it.

        Without the deadline (a clock reading of the process that fitted)
        and the callbacks (the user's objects, which have no safe format:
        the model's ``callbacks`` parameter holds them).
        """
        net = dataclasses.replace(self.net, callbacks=None)
        return dataclasses.replace(self, net=net, deadline=None)


def plan_regularisation(
    params,
    *,
    text_from_scratch,
    n_samples,
    checkpoint_dropout=None,
    ensemble=False,
    table_text=False,
):
    """Resolve the regularisation parameters of an encoder estimator's fit.

    Parameters
    ----------
    params : dict
        The estimator's parameters.
    text_from_scratch : bool
        Whether the model embeds tokens with a table learned from scratch.
    n_samples : int
        Samples passed to ``fit``.
    checkpoint_dropout : float or None
        The dropout of a pretrained checkpoint's config.
    ensemble : bool
        Whether the estimator takes ``ensemble_size`` (classifier, regressor).
    table_text : bool
        Whether the input is a table with free-text columns, whose words
        are embedded from scratch: its dropout, pooling, label smoothing and
        weight averaging follow text from scratch (measured on the Debian
        package table of ``benchmarks/real_tables.py``: accuracy 0.802 ->
        0.813 with dropout 0.3 and max pooling alone); its embedding
        initialisation and ensemble size do not.

    Returns
    -------
    Regularisation

    Examples
    --------
    >>> params = dict(dropout="auto", pooling="auto", label_smoothing="auto",
    ...               ema_decay="auto", attention_dropout="auto", embedding_init="auto",
    ...               ensemble_size="auto")
    >>> plan_regularisation(params, text_from_scratch=False, n_samples=50,
    ...                     ensemble=True)  # doctest: +NORMALIZE_WHITESPACE
    Regularisation(dropout=0.1, pooling='mean', label_smoothing=0.0, ema_decay=None,
                   attention_dropout=0.1, embedding_init='normal', ensemble_size=1)
    """
    resolved = resolve_regularisation(
        dropout=params["dropout"],
        pooling=params["pooling"],
        label_smoothing=params["label_smoothing"],
        ema_decay=params["ema_decay"],
        attention_dropout=params["attention_dropout"],
        text_from_scratch=text_from_scratch or table_text,
        checkpoint_dropout=checkpoint_dropout,
    )
    embedding_init = resolve_embedding_init(
        params["embedding_init"], text_from_scratch=text_from_scratch, n_samples=n_samples
    )
    ensemble_size = None
    if ensemble:
        ensemble_size = resolve_ensemble_size(
            params["ensemble_size"], text_from_scratch=text_from_scratch
        )
    return Regularisation(**resolved, embedding_init=embedding_init, ensemble_size=ensemble_size)


def plan_fit(
    params,
    *,
    n_train,
    device,
    pretrained=False,
    regularisation=None,
    translation=None,
    class_weight=None,
    epochs=None,
    decay=None,
    deadline=None,
):
    """The :class:`FitPlan` of one fit: parameters and a data summary in, nothing mutated.

    Parameters
    ----------
    params : dict
        The estimator's parameters (its ``get_params()``).
    n_train : int
        Training samples (after any validation split).
    device : str
        The resolved torch device.
    pretrained : bool
        Whether the model starts from pretrained weights (fine-tuning).
    regularisation : Regularisation or None
        From :func:`plan_regularisation` (encoder estimators).
    translation : TranslationChoices or None
        From :func:`plan_translation` (the translator).
    class_weight : tuple of float or None
        The classifier's weight of each class, in the order of its outputs
        (its ``class_weight`` resolved against the labels).
    epochs : int, "auto" or None
        Epochs this call trains; None or "auto": the budget's ``max_epochs``.
        Fewer (``partial_fit``'s 1) turn the decay off: a rate decayed to 0
        over ``max_epochs`` would leave later calls nothing to learn with.
    decay : bool or None
        Force the linear decay of the learning rate on or off (None: the
        budget's own rule).
    deadline : float or None
        ``time.monotonic()`` time at which ``max_time`` ends this fit (None:
        no time limit); ``fit`` counts it from its start.
    """
    budget = resolve_budget(
        max_epochs=params["max_epochs"],
        patience=params["patience"],
        lr=params["lr"],
        warmup_steps=params["warmup_steps"],
        n_train=n_train,
        batch_size=params["batch_size"],
        pretrained=pretrained,
    )
    if decay is not None:
        budget = dataclasses.replace(budget, decay=decay)
    if epochs == "auto" or epochs is None:
        epochs = budget.max_epochs
    elif epochs != budget.max_epochs:
        budget = dataclasses.replace(budget, decay=False)
    resolved = dict(lr=budget.lr, max_epochs=budget.max_epochs, patience=budget.patience)
    if "class_weight" in params:  # the classifier's: a dict or "balanced", resolved
        resolved["class_weight"] = class_weight
    if regularisation is not None:
        resolved.update(
            label_smoothing=regularisation.label_smoothing, ema_decay=regularisation.ema_decay
        )
    return FitPlan(
        budget=budget,
        net=NetSettings.from_params(params, **resolved),
        epochs=epochs,
        regularisation=regularisation,
        translation=translation,
        device=device,
        deadline=deadline,
    )


def plan_translation(params, *, input_type, sources, targets):
    """Resolve the translator's ``protected_tokens`` and ``share_vocab`` for its pairs.

    Parameters
    ----------
    params : dict
        The translator's parameters.
    input_type : {"text", "tokens"}
        What ``sources`` and ``targets`` hold.
    sources, targets : sequence
        The training pairs.

    Returns
    -------
    TranslationChoices
        ``protected_tokens``: ``"auto"`` protects printf and brace
        placeholders when a source has one, nothing otherwise (and nothing
        for tokens); ``share_vocab``: ``"auto"`` shares when one tokenizer
        kind serves both sides and the targets are mostly written with the
        sources' letters (:func:`sktfm.text.scripts.same_script`, read on the
        protected text).

    Raises
    ------
    ValueError
        If ``protected_tokens`` is set for tokens input, or is a bad pattern.

    Examples
    --------
    >>> params = dict(protected_tokens="auto", share_vocab="auto", tokenizer="bpe")
    >>> plan_translation(params, input_type="text", sources=["Open %s"],
    ...                  targets=["%s öffnen"])
    TranslationChoices(protected_tokens=('printf', 'brace'), share_vocab=True)
    >>> plan_translation(params, input_type="text", sources=["Open file"],
    ...                  targets=["Открыть файл"])
    TranslationChoices(protected_tokens=None, share_vocab=False)
    """
    protected = _protection(params["protected_tokens"], input_type, sources)
    share_vocab = params["share_vocab"]
    if share_vocab == "auto":
        share_vocab = _same_script_pairs(
            params["tokenizer"], input_type, protected, sources, targets
        )
    return TranslationChoices(protected_tokens=protected, share_vocab=share_vocab)


def _protection(spec, input_type, sources):
    """What a translator with ``protected_tokens=spec`` protects in ``sources``, or None."""
    if spec is None or (spec == "auto" and input_type != "text"):
        return None
    if input_type != "text":
        raise ValueError(
            f"protected_tokens works on text; X and y are {input_type} input. "
            "Set protected_tokens=None or pass strings."
        )
    if spec != "auto":
        SpanProtector(spec)  # a bad pattern fails here, before any training
        return spec
    protector = SpanProtector(AUTO_PROTECTED)
    return AUTO_PROTECTED if any(protector.protect(text)[1] for text in sources) else None


def _same_script_pairs(tokenizer, input_type, protected, sources, targets):
    """``share_vocab="auto"``: one tokenizer kind for both sides, and the same script."""
    if isinstance(tokenizer, tuple):
        return False
    # same_script reads the first MAX_TEXTS_READ texts: only those are protected.
    sources = list(islice(sources, MAX_TEXTS_READ))
    targets = list(islice(targets, MAX_TEXTS_READ))
    if protected is not None:
        sources, targets = SpanProtector(protected).protect_pairs(sources, targets)
    if input_type == "tokens":
        sources = [" ".join(tokens) for tokens in sources]
        targets = [" ".join(tokens) for tokens in targets]
    return same_script(sources, targets)
