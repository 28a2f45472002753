"""What the ``"auto"`` training parameters resolve to, given the data.

Training length is counted in optimizer steps, not in epochs: 50 series and
500,000 sentences need about the same number of updates to fit, not the same
number of passes. Text learned from scratch gets its own regularisation (see
:func:`resolve_regularisation`). The numbers below are the documented meaning
of ``"auto"`` (see the estimators' docstrings); they were chosen by
measurement on the real-data benchmark (``benchmarks/real_data.py``).
"""

import math

from ._records import record
from .schedules import LinearWarmup, LinearWarmupDecay

__all__ = [
    "Budget",
    "resolve_budget",
    "resolve_embedding_init",
    "resolve_ensemble_size",
    "resolve_regularisation",
    "steps_per_epoch",
    "use_validation_split",
]

#: ``max_epochs="auto"`` trains for at least this many optimizer steps ...
MIN_STEPS = 2000
#: ... and at least this many epochs (large data: every sample seen this often).
MIN_EPOCHS = 10
#: Fine-tuning a pretrained model: fewer passes (BERT fine-tunes 2 to 4 epochs).
MIN_STEPS_PRETRAINED = 300
MIN_EPOCHS_PRETRAINED = 4
#: ``patience="auto"``: this many steps without improvement, and at least 5 epochs.
PATIENCE_STEPS = 200
MIN_PATIENCE_EPOCHS = 5
#: ``early_stopping="auto"`` holds out a validation split only when it would
#: contain at least this many samples; below, it stops on the training loss.
MIN_VALIDATION_SAMPLES = 100
#: Learning rates of ``lr="auto"``: from scratch, and when fine-tuning.
LR_FROM_SCRATCH = 1e-3
LR_PRETRAINED = 5e-5
#: ``warmup_steps="auto"`` when fine-tuning: this share of the planned steps.
WARMUP_SHARE_PRETRAINED = 0.1
#: An improvement smaller than this (absolute, in loss units) does not count.
TOLERANCE = 1e-4
#: ``dropout``, ``pooling``, ``label_smoothing`` and ``ema_decay`` of ``"auto"``:
#: text and tokens learned from scratch (a vocabulary-sized embedding table
#: that overfits a few thousand texts within 3 epochs) ...
TEXT_DROPOUT = 0.3
TEXT_POOLING = "max"
TEXT_LABEL_SMOOTHING = 0.1
TEXT_EMA_DECAY = 0.999
#: No dropout on the attention weights of text from scratch: the fused
#: attention kernels then train it about 25% faster on the CPU, for the
#: same accuracy within the spread between seeds.
TEXT_ATTENTION_DROPOUT = 0.0
#: ... and everything else (numbers, and pretrained checkpoints, which keep
#: the dropout of their config).
DROPOUT = 0.1
POOLING = "mean"
LABEL_SMOOTHING = 0.0
EMA_DECAY = None
#: ``ensemble_size="auto"`` of the classifier and regressor: two models for
#: text learned from scratch (their mean gained more than any single-model
#: setting measured), one otherwise.
TEXT_ENSEMBLE_SIZE = 2
ENSEMBLE_SIZE = 1
#: ``embedding_init``: how a token embedding table starts (see
#: :func:`resolve_embedding_init`) ...
EMBEDDING_INITS = ("normal", "cooccurrence")
#: ... and the fewest texts whose co-occurrence counts ``"auto"`` trusts.
MIN_COOCCURRENCE_TEXTS = 2000


@record
class Budget:
    """The resolved training parameters of one fit."""

    max_epochs: int
    patience: int
    lr: float
    warmup_steps: int
    decay: bool  # linear decay to 0 over max_epochs (fine-tuning practice)
    steps_per_epoch: int

    def lr_schedule(self, warmup_schedule=LinearWarmup, *, deadline=None):
        """The per-batch multiplier of ``lr``, or None for a constant rate.

        ``warmup_schedule(warmup_steps)`` is used unless the budget decays
        (then linear warm-up and decay to 0 at the last planned step, or at
        ``deadline``, the end of ``max_time``, if that comes first).
        """
        if self.decay:
            total = self.max_epochs * self.steps_per_epoch
            return LinearWarmupDecay(self.warmup_steps, total, deadline=deadline)
        return warmup_schedule(self.warmup_steps) if self.warmup_steps else None


def steps_per_epoch(n_samples, batch_size):
    """Optimizer steps in one pass over ``n_samples``."""
    return max(1, math.ceil(n_samples / batch_size))


def use_validation_split(early_stopping, n_samples, validation_fraction):
    """Whether ``early_stopping`` holds out a validation split of ``n_samples``.

    True and the translator's ``"loss"``/``"bleu"`` always do; ``"auto"`` does
    when the split would hold at least :data:`MIN_VALIDATION_SAMPLES`.
    """
    if early_stopping == "auto":
        return n_samples * validation_fraction >= MIN_VALIDATION_SAMPLES
    return bool(early_stopping)


def resolve_budget(*, max_epochs, patience, lr, warmup_steps, n_train, batch_size, pretrained):
    """Resolve each ``"auto"`` among the training parameters for ``n_train`` samples.

    Parameters
    ----------
    max_epochs, patience, lr, warmup_steps : int, float or "auto"
        The estimator's parameters; explicit values pass through unchanged.
    n_train : int
        Training samples (after any validation split).
    batch_size : int
        Samples per optimizer step.
    pretrained : bool
        Whether the model starts from pretrained weights (fine-tuning).

    Returns
    -------
    Budget

    Examples
    --------
    >>> auto = dict(max_epochs="auto", patience="auto", lr="auto", warmup_steps="auto")
    >>> resolve_budget(**auto, n_train=50, batch_size=64,
    ...                pretrained=False)  # doctest: +NORMALIZE_WHITESPACE
    Budget(max_epochs=2000, patience=200, lr=0.001, warmup_steps=0, decay=False,
           steps_per_epoch=1)
    >>> resolve_budget(**auto, n_train=64_000, batch_size=64,
    ...                pretrained=True)  # doctest: +NORMALIZE_WHITESPACE
    Budget(max_epochs=4, patience=5, lr=5e-05, warmup_steps=400, decay=True,
           steps_per_epoch=1000)
    """
    steps = steps_per_epoch(n_train, batch_size)
    if max_epochs == "auto":
        min_steps, min_epochs = (
            (MIN_STEPS_PRETRAINED, MIN_EPOCHS_PRETRAINED) if pretrained else (MIN_STEPS, MIN_EPOCHS)
        )
        max_epochs = max(min_epochs, math.ceil(min_steps / steps))
    if patience == "auto":
        patience = max(MIN_PATIENCE_EPOCHS, math.ceil(PATIENCE_STEPS / steps))
    if lr == "auto":
        lr = LR_PRETRAINED if pretrained else LR_FROM_SCRATCH
    decay = False
    if warmup_steps == "auto":
        decay = pretrained
        warmup_steps = round(WARMUP_SHARE_PRETRAINED * max_epochs * steps) if pretrained else 0
    return Budget(int(max_epochs), int(patience), float(lr), int(warmup_steps), decay, steps)


def resolve_regularisation(
    *,
    dropout,
    pooling,
    label_smoothing,
    text_from_scratch,
    ema_decay="auto",
    attention_dropout="auto",
    checkpoint_dropout=None,
):
    """Resolve ``"auto"`` among the regularisation parameters of an encoder estimator.

    Measured on Debian package descriptions -> section (12,000 texts, 10
    classes; ``benchmarks/RESULTS.md``): from scratch, 0.3 dropout, label
    smoothing 0.1 and max pooling took test accuracy from 0.846 to 0.862
    (BPE tokens), where the generic settings peaked at epoch 3 and overfit;
    evaluating a moving average of the weights (``WeightAverage(0.999)``)
    then added 0.6-0.7 points (0.857 -> 0.864 and 0.865 -> 0.872, two seeds);
    without attention dropout, training ran 25% faster for the same accuracy
    within the spread between seeds.

    Parameters
    ----------
    dropout, pooling, label_smoothing, ema_decay, attention_dropout : float, str, None or "auto"
        The estimator's parameters; explicit values pass through unchanged.
        ``attention_dropout="auto"`` is 0 for text from scratch and the
        resolved ``dropout`` otherwise.
    text_from_scratch : bool
        Whether the model embeds tokens (text or pre-tokenized input) with an
        embedding table learned from scratch.
    checkpoint_dropout : float or None
        The dropout of a pretrained checkpoint's config, used for ``"auto"``.

    Returns
    -------
    dict
        ``dropout``, ``pooling``, ``label_smoothing``, ``ema_decay`` and
        ``attention_dropout``, resolved.

    Examples
    --------
    >>> resolve_regularisation(dropout="auto", pooling="auto", label_smoothing="auto",
    ...                        text_from_scratch=True)  # doctest: +NORMALIZE_WHITESPACE
    {'dropout': 0.3, 'pooling': 'max', 'label_smoothing': 0.1, 'ema_decay': 0.999,
     'attention_dropout': 0.0}
    >>> resolve_regularisation(dropout="auto", pooling="cls", label_smoothing="auto",
    ...                        text_from_scratch=False)  # doctest: +NORMALIZE_WHITESPACE
    {'dropout': 0.1, 'pooling': 'cls', 'label_smoothing': 0.0, 'ema_decay': None,
     'attention_dropout': 0.1}
    """
    if text_from_scratch:
        auto = dict(
            dropout=TEXT_DROPOUT,
            pooling=TEXT_POOLING,
            label_smoothing=TEXT_LABEL_SMOOTHING,
            ema_decay=TEXT_EMA_DECAY,
        )
    else:
        auto = dict(
            dropout=DROPOUT if checkpoint_dropout is None else checkpoint_dropout,
            pooling=POOLING,
            label_smoothing=LABEL_SMOOTHING,
            ema_decay=EMA_DECAY,
        )
    given = dict(
        dropout=dropout, pooling=pooling, label_smoothing=label_smoothing, ema_decay=ema_decay
    )
    resolved = {name: auto[name] if value == "auto" else value for name, value in given.items()}
    if attention_dropout == "auto":
        # Elsewhere the attention weights drop out like everything else.
        attention_dropout = TEXT_ATTENTION_DROPOUT if text_from_scratch else resolved["dropout"]
    return {**resolved, "attention_dropout": attention_dropout}


def resolve_ensemble_size(ensemble_size, *, text_from_scratch):
    """Resolve ``ensemble_size="auto"``: 2 for text (or tokens) from scratch, else 1.

    Measured on the same real text as :func:`resolve_regularisation`: the
    mean of two models' probabilities scored 0.6 to 1.3 points above one
    model, more than any single-model setting tried (``benchmarks/RESULTS.md``).

    Examples
    --------
    >>> resolve_ensemble_size("auto", text_from_scratch=True)
    2
    >>> resolve_ensemble_size("auto", text_from_scratch=False)
    1
    """
    if ensemble_size == "auto":
        return TEXT_ENSEMBLE_SIZE if text_from_scratch else ENSEMBLE_SIZE
    return int(ensemble_size)


def resolve_embedding_init(embedding_init, *, text_from_scratch, n_samples):
    """Resolve ``embedding_init="auto"``: co-occurrence vectors for text from scratch.

    ``"cooccurrence"`` for text (or tokens) learned from scratch from at
    least :data:`MIN_COOCCURRENCE_TEXTS` texts, ``"normal"`` otherwise.
    Measured on the same real text as :func:`resolve_regularisation` (one
    model, test accuracy, random vs co-occurrence start): 12,000 texts
    0.865 vs 0.871 (mean of the seeds measured), 3,000 texts 0.795 vs
    0.817; but 1,000 texts 0.751 vs 0.726: from few texts the counts are
    too thin, and words that share their neighbours (good, bad) start
    alike (``benchmarks/RESULTS.md``).

    Parameters
    ----------
    embedding_init : {"auto", "normal", "cooccurrence"}
    text_from_scratch : bool
        Whether the model embeds tokens with a table learned from scratch.
    n_samples : int
        Texts passed to ``fit``.

    Raises
    ------
    ValueError
        ``"cooccurrence"`` asked for where no token table is learned from
        scratch (numeric input, or a pretrained checkpoint).

    Examples
    --------
    >>> resolve_embedding_init("auto", text_from_scratch=True, n_samples=12_000)
    'cooccurrence'
    >>> resolve_embedding_init("auto", text_from_scratch=True, n_samples=500)
    'normal'
    >>> resolve_embedding_init("auto", text_from_scratch=False, n_samples=12_000)
    'normal'
    """
    if embedding_init == "auto":
        trusted = text_from_scratch and n_samples >= MIN_COOCCURRENCE_TEXTS
        return "cooccurrence" if trusted else "normal"
    if embedding_init == "cooccurrence" and not text_from_scratch:
        raise ValueError(
            "embedding_init='cooccurrence' needs text or tokens learned from scratch: "
            "numeric input has no token table, and a pretrained model brings its own; "
            "use embedding_init='auto' or 'normal'."
        )
    return embedding_init
