"""Every estimator parameter, defined once: its constraint and its documentation.

Parameters are defined in groups (architecture, text, training, encoder
input). An estimator lists the parameters it takes in ``_parameters``; its
``__init__``, its ``_parameter_constraints`` and its docstring's
``{parameters}`` block are all made from these entries, so none of them can
drift from the others (see :mod:`._signature`). Signature and docstring list
them by section (see :mod:`._sections`).
"""

import os
from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, StrOptions

from ..data import INPUT_TYPES, SEQUENCE_LAYOUTS
from ..nn import ACTIVATIONS, POOLINGS, POSITIONALS
from ..series import SERIES_SCALINGS
from ..text import N_SPECIAL, TOKENIZER_KINDS, Tokenizer
from ..training import PRECISIONS
from ..training.budget import EMBEDDING_INITS
from ._signature import Parameter
from ._signature import options as _options
from ._table_parameters import TABLES


def _positive(minimum=1):
    return [Interval(Integral, minimum, None, closed="left")]


_DROPOUT = [Interval(Real, 0, 1, closed="left")]
#: The input types that read the text and the series parameters.
TEXT_INPUT = ("text", "tokens")
SERIES = ("sequence",)
_LABEL_SMOOTHING = [Interval(Real, 0, 1, closed="left")]


ARCHITECTURE = {
    "d_model": Parameter(128, _positive(), "int", "Width of every token representation."),
    "n_heads": Parameter(
        4, _positive(), "int", "Attention heads per layer; must divide ``d_model``."
    ),
    "n_layers": Parameter(2, _positive(), "int", "Number of encoder layers."),
    "dim_feedforward": Parameter(
        512, _positive(), "int", "Hidden width of the position-wise feed-forward block."
    ),
    "dropout": Parameter(
        "auto",
        [*_DROPOUT, StrOptions({"auto"})],
        'float or "auto"',
        "Dropout on embeddings, feed-forward layers and residual branches (and on attention "
        'weights, see ``attention_dropout``). ``"auto"`` is 0.3 '
        "for text (or tokens) learned from scratch, whose embedding table overfits at 0.1; "
        "the checkpoint's dropout with ``pretrained``; 0.1 otherwise. The resolved value is "
        "``dropout_``.",
    ),
    "activation": Parameter(
        "gelu", [StrOptions(set(ACTIVATIONS))], _options(ACTIVATIONS), "Feed-forward activation."
    ),
    "norm_first": Parameter(
        True,
        ["boolean"],
        "bool",
        "Pre-norm layers (stable training) when True, the paper's post-norm otherwise.",
    ),
    "positional": Parameter(
        "sinusoidal",
        [StrOptions(set(POSITIONALS))],
        _options(POSITIONALS),
        "Positional encoding for text, tokens and sequences.",
    ),
    "max_len": Parameter(
        256,
        _positive(),
        "int",
        "Longest sequence, in tokens: subwords (text) or patches (sequences, see ``patch_size``).",
    ),
    "pooling": Parameter(
        "auto",
        [StrOptions({"auto", *POOLINGS})],
        _options(("auto", *POOLINGS)),
        'How token states become one vector per sample. ``"auto"`` is "max" for text (or '
        'tokens) learned from scratch (it generalised better on real text), "mean" '
        "otherwise (as sentence-transformers pool pretrained models). The resolved value "
        "is ``pooling_``.",
    ),
}

TEXT = {
    "vocab_size": Parameter(
        8000,
        _positive(N_SPECIAL + 1),
        "int",
        "Largest vocabulary learned from text.",
        applies_to=TEXT_INPUT,
    ),
    "truncation": Parameter(
        True,
        ["boolean"],
        "bool",
        "Cut sequences longer than ``max_len``; when False they raise a ``ValueError`` instead.",
    ),
}

ENCODER_INPUT = {
    "input_type": Parameter(
        "auto",
        [StrOptions({"auto", *INPUT_TYPES})],
        _options(("auto", *INPUT_TYPES)),
        "What ``X`` holds: 1-D strings, pre-tokenized lists of strings, a 2-D table "
        "(each cell one token: numbers, categories and gaps; a text column's words "
        "tokens too; see ``categorical_features``) or numeric sequences: a 3-D array ``(n_samples, "
        "seq_len, n_features)`` (trailing all-NaN steps are padding) or a list of 2-D "
        'arrays ``(length_i, n_features)`` of unequal lengths. ``"auto"`` infers it.',
    ),
    **TABLES,
    "sequence_layout": Parameter(
        "auto",
        [StrOptions({"auto", *SEQUENCE_LAYOUTS})],
        _options(("auto", *SEQUENCE_LAYOUTS)),
        'Axis order of 3-D numeric input. ``"channels_last"`` is ``(n_samples, seq_len, '
        "n_features)``; ``\"channels_first\"`` is aeon's and sktime's ``(n_cases, "
        "n_channels, n_timepoints)``, transposed on the way in (fit, predict and transform "
        'alike), never guessed. ``"auto"`` reads channels last and warns at ``fit`` when '
        "the series has more features than time steps (likely channels first); set the "
        "layout explicitly to silence it.",
        applies_to=SERIES,
    ),
    "patch_size": Parameter(
        "auto",
        [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        'int or "auto"',
        "Time steps per token for sequence input: a series is cut into patches (as ViT "
        "cuts an image, PatchTST a series), each embedded as one token with all its "
        'channels. ``"auto"`` cuts the longest training series into about 32 patches '
        "(``ceil(length / 32)`` steps each; 1 for series of up to 32 steps); 1 makes "
        "every step a token. ``max_len`` then counts patches. The resolved value is "
        "``patch_size_``.",
        applies_to=SERIES,
    ),
    "patch_stride": Parameter(
        None,
        [Interval(Integral, 1, None, closed="left"), None],
        "int or None",
        "Steps between the starts of two patches; None is ``patch_size`` (patches do not "
        "overlap), a smaller value makes them overlap.",
        applies_to=SERIES,
    ),
    "series_scaling": Parameter(
        "global",
        [StrOptions(set(SERIES_SCALINGS))],
        _options(SERIES_SCALINGS),
        'How sequence input is scaled. ``"global"``: every series by the training set\'s '
        "per-channel mean and spread, which keeps each series' level and amplitude. "
        '``"instance"``: each series and channel to mean 0 and standard deviation 1 over '
        "its own steps (RevIN's normalisation, the UCR archive's z-normalisation): the "
        "model sees shapes only. Global is the default, since channel levels often carry "
        "the label (measurements: ``benchmarks/RESULTS.md``).",
        applies_to=SERIES,
    ),
    "tokenizer": Parameter(
        "bpe",
        [StrOptions(set(TOKENIZER_KINDS)), Tokenizer],
        _options(TOKENIZER_KINDS) + " or Tokenizer",
        "Tokenizer kind learned on text at fit (subword BPE by default: ahead of whole "
        "words on real text, where rare and compound words abound), or a "
        ":class:`~sktfm.Tokenizer` whose kind, "
        "``vocab_size`` and ``min_frequency`` are used (its ``max_len`` and ``truncation`` "
        "are taken from this estimator).",
        applies_to=TEXT_INPUT,
    ),
    "pretrained": Parameter(
        None,
        [str, os.PathLike, None],
        "str, path or None",
        "A BERT-family folder (``config.json``, ``model.safetensors``, ``tokenizer.json``) "
        "to start from, for text input: ``fit`` builds the encoder from its config, loads "
        "its weights and uses its tokenizer (WordPiece), so ``d_model``, ``n_heads``, "
        "``n_layers``, ``dim_feedforward``, ``activation``, ``norm_first``, ``positional``, "
        "``tokenizer`` and ``vocab_size`` come from the checkpoint; ``max_len`` is where "
        "texts are cut (at most the checkpoint's positions). ``max_epochs=0`` loads only; "
        "otherwise ``fit`` fine-tunes (with ``y`` the task head, without it masked-token "
        "modelling).",
        applies_to=TEXT_INPUT,
    ),
    "embedding_init": Parameter(
        "auto",
        [StrOptions({"auto", *EMBEDDING_INITS})],
        _options(EMBEDDING_INITS) + ' or "auto"',
        'How the token embedding table starts. ``"normal"``: random, N(0, 1/d_model). '
        '``"cooccurrence"``: each token seen in the training texts starts from its row of '
        "a truncated SVD of the texts' positive pointwise mutual information matrix (tokens "
        "at most 5 apart; Levy et al., 2015), computed at ``fit`` in seconds, without labels "
        '(:func:`sktfm.text.cooccurrence_vectors`). ``"auto"`` is ``"cooccurrence"`` '
        "for text (or tokens) learned from scratch from at least 2,000 texts, and "
        '``"normal"`` otherwise: from fewer texts the counts are too thin, and only text and '
        "tokens learned from scratch have a table to start (measurements: "
        "``benchmarks/RESULTS.md``). The resolved value is ``embedding_init_``.",
        applies_to=TEXT_INPUT,
    ),
}

TRAINING = {
    "max_epochs": Parameter(
        "auto",
        [*_positive(0), StrOptions({"auto"})],
        'int or "auto"',
        'Most passes over the training data. ``"auto"`` plans in optimizer steps: '
        "enough epochs for 2,000 steps and at least 10 epochs (small data gets many "
        "short epochs, large data 10); when fine-tuning ``pretrained`` weights, 300 steps "
        "and at least 4 epochs. Training usually ends earlier, by ``early_stopping``; "
        "when it ends on this budget while still improving, ``fit`` raises a "
        "``ConvergenceWarning``. The resolved value is ``max_epochs_``. 0 is allowed with "
        '``pretrained`` and means "load only": the checkpoint is used as it is.',
    ),
    "batch_size": Parameter(
        64, _positive(), "int", "Samples per mini-batch, for training and for inference."
    ),
    "lr": Parameter(
        "auto",
        [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        'float or "auto"',
        'Peak AdamW learning rate. ``"auto"`` is 1e-3 from scratch and 5e-5 when '
        "fine-tuning ``pretrained`` weights (as BERT and sentence-transformers fine-tune); "
        "the resolved value is ``lr_``.",
    ),
    "weight_decay": Parameter(
        0.01, [Interval(Real, 0, None, closed="left")], "float", "AdamW weight decay."
    ),
    "warmup_steps": Parameter(
        "auto",
        [*_positive(0), StrOptions({"auto"})],
        'int or "auto"',
        "Batches over which the learning rate rises linearly to ``lr`` (then it stays). "
        '``"auto"`` is 0 from scratch; when fine-tuning ``pretrained`` weights, 10% of '
        "the planned steps, then linear decay to 0 at the last planned step (``partial_fit``, "
        "one epoch per call, warms up and then keeps ``lr``). The resolved value is "
        "``warmup_steps_``.",
    ),
    "label_smoothing": Parameter(
        "auto",
        [*_LABEL_SMOOTHING, StrOptions({"auto"})],
        'float or "auto"',
        'Label smoothing of the classification loss. ``"auto"`` is 0.1 for text (or tokens) '
        "learned from scratch and 0 otherwise; the resolved value is ``label_smoothing_``.",
    ),
    "ema_decay": Parameter(
        "auto",
        [Interval(Real, 0, 1, closed="left"), None, StrOptions({"auto"})],
        'float, None or "auto"',
        "Decay of an exponential moving average of the weights, updated after every "
        "optimizer step (about the last half of the steps until it reaches this decay: "
        "0.999 spans about 1,000 steps). Validation, early stopping and the fitted model "
        'use the average; training goes on from the weights. None turns it off. ``"auto"`` '
        "is 0.999 for text (or tokens) learned from scratch and None otherwise "
        "(measurements: ``benchmarks/RESULTS.md``); the resolved value is ``ema_decay_``.",
    ),
    "grad_clip": Parameter(
        1.0,
        [Interval(Real, 0, None, closed="neither"), None],
        "float or None",
        "Largest gradient norm; None disables clipping.",
    ),
    "early_stopping": Parameter(
        "auto",
        ["boolean", StrOptions({"auto"})],
        'bool or "auto"',
        "True holds out ``validation_fraction`` of the data and stops when the validation "
        "loss has not improved (by more than 1e-4) for ``patience`` epochs, keeping the "
        'best weights. ``"auto"`` does so when the held-out part would hold at least 100 '
        "samples, and otherwise stops, in the same way, when the training loss stops "
        "improving. False trains for the whole ``max_epochs``. The metric used is "
        "``early_stopping_`` (None when off).",
    ),
    "validation_fraction": Parameter(
        0.1,
        [Interval(Real, 0, 1, closed="neither")],
        "float",
        "Share of the training data held out when ``early_stopping``.",
    ),
    "patience": Parameter(
        "auto",
        [*_positive(), StrOptions({"auto"})],
        'int or "auto"',
        'Epochs without improvement before early stopping. ``"auto"`` is 200 optimizer '
        "steps' worth of epochs and at least 5; the resolved value is ``patience_``.",
    ),
    "max_time": Parameter(
        None,
        [Interval(Real, 0, None, closed="neither"), None],
        "float or None",
        "Seconds that ``fit`` may take: training stops after the batch that ends past "
        "this time (counted from the call to ``fit``), keeping the best weights when "
        "early stopping is on. None sets no limit.",
    ),
    "device": Parameter(
        "auto", [str], "str", 'Torch device; ``"auto"`` picks CUDA when available, else CPU.'
    ),
    "precision": Parameter(
        "auto",
        [StrOptions(set(PRECISIONS))],
        _options(PRECISIONS),
        'Autocast precision (``"fp32"`` and ``"bf16"`` are short names); ``"auto"`` is '
        "bfloat16 on a capable GPU and float32 on CPU. bfloat16 also speeds up CPUs with "
        "AVX-512 BF16 or AMX.",
    ),
    "random_state": Parameter(
        None,
        ["random_state"],
        "int, RandomState instance or None",
        "Seeds weight init, masking, dropout, shuffling and the validation split; an int "
        "makes a CPU fit bit-for-bit repeatable.",
    ),
    "verbose": Parameter(
        0, ["verbose"], "int", "0 is silent; 1 shows skorch's progress bar and per-epoch table."
    ),
    "callbacks": Parameter(
        None,
        [list, None],
        "list of skorch callbacks or None",
        "Extra skorch callbacks (instances or ``(name, callback)`` pairs).",
    ),
    "checkpoint_dir": Parameter(
        None,
        [str, os.PathLike, None],
        "str, path or None",
        "Folder where the weights of the best epoch (``best.safetensors``, by validation "
        "loss with early stopping, else training loss) and of the last epoch "
        "(``last.safetensors``) are written during fit, with their histories as JSON.",
    ),
    "warm_start": Parameter(
        False,
        ["boolean"],
        "bool",
        "When True, calling ``fit`` on a fitted estimator continues training its model "
        "for ``max_epochs`` more epochs (same vocabulary, scaling and classes; the history "
        "goes on) instead of starting afresh. ``partial_fit`` always continues, one epoch "
        "at a time.",
    ),
    "strategy": Parameter(
        None,
        [StrOptions({"ddp"}), None],
        '{"ddp"} or None',
        'None trains in the calling process. ``"ddp"`` trains data-parallel with '
        "``torch.distributed``: ``n_processes`` processes (gloo on CPU, NCCL on CUDA, one "
        "GPU each) each take ``batch_size / n_processes`` samples of every batch and "
        "all-reduce their gradients; the fitted model comes back to the calling process. "
        "Under ``torchrun`` every launched process trains as one rank instead.",
    ),
    "n_processes": Parameter(
        None,
        [Interval(Integral, 1, None, closed="left"), None],
        "int or None",
        'Processes for ``strategy="ddp"``: None means one per visible GPU on CUDA, one per '
        "usable CPU core otherwise. Without a strategy, the most processes that train the "
        "members of an ensemble (``ensemble_size``) side by side on the CPU: None means one "
        "per member, up to the usable cores and torch's thread count.",
    ),
    "compile": Parameter(
        False,
        ["boolean"],
        "bool",
        "Run the model's forward passes (training and prediction) through "
        "``torch.compile`` (dynamic shapes). The first batches pay for the compilation "
        "(tens of seconds on CPU); weights, pickles and saved folders are those of the "
        "plain model. Data-parallel training runs uncompiled.",
    ),
}

#: Only the supervised heads (classifier, regressor) can be ensembles: their
#: predictions average; an encoder's embeddings would not.
ENSEMBLE_SIZE = Parameter(
    "auto",
    [*_positive(), StrOptions({"auto"})],
    'int or "auto"',
    "Models fitted independently, each from its own seed and validation split (a deep "
    "ensemble), whose predicted probabilities (classifier) or values (regressor) are "
    "averaged. On the CPU they train at the same time in separate processes, each with its "
    "share of torch's threads (see ``n_processes``); on a GPU, or with ``callbacks``, one "
    "after the other. "
    '``"auto"`` is 2 for text (or tokens) learned from scratch and 1 otherwise '
    "(measurements: ``benchmarks/RESULTS.md``); the resolved value is "
    "``ensemble_size_``; ``history_`` is then the first member's. Continued training "
    "(``warm_start``, ``partial_fit``) trains the members together, on the same batches, "
    "as it continues a loaded model.",
)


#: The classifier's own: how much each class counts in the loss.
CLASS_WEIGHT = Parameter(
    None,
    [StrOptions({"balanced"}), dict, None],
    'dict, "balanced" or None',
    "Weights of the classes in the training (and validation) loss, ``{label: weight}``; "
    'classes not listed weigh 1. ``"balanced"`` weighs each class by ``n_samples / '
    "(n_classes * np.bincount(y))``, as in :class:`~sklearn.linear_model.LogisticRegression`, "
    "so that a rare class counts as much as a frequent one. ``partial_fit`` takes a dict "
    'only: one batch does not tell the class frequencies ("balanced" is refused, as '
    ":class:`~sklearn.linear_model.SGDClassifier` refuses it).",
)


def with_class_weight(parameters):
    """``parameters`` with ``class_weight`` after ``label_smoothing`` (the classifier)."""
    return _inserted(parameters, "class_weight", CLASS_WEIGHT, after="label_smoothing")


def with_ensemble_size(parameters):
    """``parameters`` with ``ensemble_size`` after ``ema_decay`` (the supervised heads)."""
    return _inserted(parameters, "ensemble_size", ENSEMBLE_SIZE, after="ema_decay")


def _inserted(parameters, name, entry, *, after):
    """A copy of ``parameters`` with ``name: entry`` right after ``after``."""
    items = list(parameters.items())
    at = list(parameters).index(after) + 1
    return dict(items[:at] + [(name, entry)] + items[at:])


#: The encoder estimators' own: the translator's attention keeps ``dropout``.
ATTENTION_DROPOUT = Parameter(
    "auto",
    [*_DROPOUT, StrOptions({"auto"})],
    'float or "auto"',
    'Dropout on the attention weights. ``"auto"`` is 0 for text (or tokens) learned from '
    "scratch, so that torch's fused attention kernels (which have no dropout on the CPU) "
    "can run; ``dropout`` otherwise (measurements: ``benchmarks/RESULTS.md``). The "
    "resolved value is "
    "``attention_dropout_``.",
)


def with_attention_dropout(parameters):
    """``parameters`` with ``attention_dropout`` after ``dropout`` (the encoder estimators)."""
    return _inserted(parameters, "attention_dropout", ATTENTION_DROPOUT, after="dropout")
