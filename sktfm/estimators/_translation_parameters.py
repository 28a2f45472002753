"""The translator's parameters: what it means by the shared ones, and its own.

Entries as in :mod:`._parameters` (one definition each, from which the
signature, the constraints and the docstring are made).
"""

from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, StrOptions

from ..nn import POOLINGS
from ..text import TOKENIZER_KINDS, Tokenizer
from ._parameters import _DROPOUT, _LABEL_SMOOTHING, ARCHITECTURE, TEXT, TRAINING, _options
from ._signature import Parameter

_LAYERS = [Interval(Integral, 1, None, closed="left"), None]

# What the translator means by the parameters it shares, and its own ones.
TRANSLATION_ARCHITECTURE = {
    "n_layers": Parameter(
        3,
        ARCHITECTURE["n_layers"].constraint,
        "int",
        "Layers of each stack, encoder and decoder, unless ``n_encoder_layers`` or "
        "``n_decoder_layers`` say otherwise.",
    ),
    "n_encoder_layers": Parameter(
        None, _LAYERS, "int or None", "Encoder layers; None means ``n_layers``."
    ),
    "n_decoder_layers": Parameter(
        None,
        _LAYERS,
        "int or None",
        "Decoder layers; None means ``n_layers`` (as T5's ``num_decoder_layers``).",
    ),
    "dropout": Parameter(
        0.0,
        _DROPOUT,
        "float",
        "Dropout on embeddings, attention weights and residual branches. 0 by default: "
        "within a time budget that lets the model see its pairs a few times, dropout only "
        "slows learning (measurements: ``benchmarks/RESULTS.md``). Raise it for long "
        "training on small data.",
    ),
    "pooling": Parameter(
        "mean",
        [StrOptions(set(POOLINGS))],
        _options(POOLINGS),
        'How :meth:`transform` reduces a source\'s encoder states to one vector; "cls" '
        "takes the first source token's state (translation prepends no [CLS]).",
    ),
    "tie_embeddings": Parameter(
        True, ["boolean"], "bool", "Tie the decoder's output projection to its input embedding."
    ),
}

TRANSLATION_TEXT = {
    "input_type": Parameter(
        "auto",
        [StrOptions({"auto", "text", "tokens"})],
        '{"auto", "text", "tokens"}',
        "Whether ``X`` and ``y`` hold strings or pre-tokenized lists of str.",
    ),
    "tokenizer": Parameter(
        "bpe",
        [StrOptions(set(TOKENIZER_KINDS)), Tokenizer, tuple],
        '{"word", "char", "bpe"}, Tokenizer, or a pair of those',
        "Tokenizer kind for both sides, or a ``(source, target)`` pair such as "
        '``("char", "word")``.',
    ),
    "vocab_size": Parameter(
        8000,
        TEXT["vocab_size"].constraint,
        "int",
        "Largest vocabulary learned per side (in all, when the sides share one).",
    ),
    "share_vocab": Parameter(
        "auto",
        ["boolean", StrOptions({"auto"})],
        'bool or "auto"',
        "Learn one vocabulary over sources and targets and share one embedding table "
        'between encoder, decoder and output (needs one tokenizer kind). ``"auto"`` shares '
        "when one tokenizer kind serves both sides and at least half of the targets' "
        "letters also occur in the sources (English and German or Spanish: yes; English "
        "and Russian: no; :func:`sktfm.text.scripts.same_script`). The resolved value is "
        "``share_vocab_``.",
    ),
    "protected_tokens": Parameter(
        "auto",
        [str, list, tuple, None],
        "str, list of str or None",
        'Spans copied verbatim from source to translation: ``"printf"`` (``%s``, ``%1$d``, '
        '``%.*s``), ``"brace"`` (``{}``, ``{name}``), any regular expression, or a list of '
        "these. Each span becomes a sentinel before tokenization (the same sentinel in the "
        "training target where it has the span), decoding emits each sentinel exactly as "
        "often as the source has it, and the spans are put back after decoding "
        '(:mod:`sktfm.text.protection`; text input only). ``"auto"`` protects printf and '
        "brace placeholders when the training sources have any, and nothing otherwise "
        "(measurements: ``benchmarks/RESULTS.md``). None protects "
        "nothing. The resolved value is ``protected_tokens_``.",
    ),
}

GENERATION = {
    "beam_size": Parameter(
        4,
        [Interval(Integral, 1, None, closed="left")],
        "int",
        "Beam width of ``predict`` (1 is greedy search).",
    ),
    "max_output_len": Parameter(
        None,
        [Interval(Integral, 1, None, closed="left"), None],
        "int or None",
        "Longest translation in tokens; None allows the source length + 50.",
    ),
    "length_penalty": Parameter(
        0.6,
        [Interval(Real, 0, None, closed="left")],
        "float",
        "GNMT length-penalty exponent for beam search (0 disables it).",
    ),
}

TRANSLATION_TRAINING = {
    "max_epochs": Parameter(
        10, [Interval(Integral, 1, None, closed="left")], "int", "Passes over the training pairs."
    ),
    "lr": Parameter(
        2e-3,
        [Interval(Real, 0, None, closed="neither")],
        "float",
        "Peak AdamW learning rate, reached after ``warmup_steps`` (chosen on real "
        "translation, ``benchmarks/translation_real.py``; 5e-3 was unstable there).",
    ),
    "warmup_steps": Parameter(
        300,
        TRAINING["warmup_steps"].constraint,
        "int",
        "Batches of linear warm-up to ``lr``, before the decay of ``lr_schedule``.",
    ),
    "lr_schedule": Parameter(
        "linear",
        [StrOptions({"inverse_sqrt", "linear"})],
        '{"inverse_sqrt", "linear"}',
        'After warm-up, "inverse_sqrt" decays ``lr`` as the inverse square root of the '
        "step (the paper's schedule; with ``warmup_steps=0``, ``lr`` stays constant); "
        '"linear" decays it linearly to 0 at the last planned step (``max_epochs``), or '
        "at the end of ``max_time`` if that comes first, so that "
        "a run cut short by time still ends on a small learning rate.",
    ),
    "label_smoothing": Parameter(
        0.1,
        _LABEL_SMOOTHING,
        "float",
        "Label smoothing of the target-token loss (0.1 in the paper).",
    ),
    "ema_decay": Parameter(
        None,
        [Interval(Real, 0, 1, closed="left"), None],
        "float or None",
        "Decay of an exponential moving average of the weights, updated after every "
        "optimizer step; validation, early stopping and the fitted model use the "
        "average. None (the default) turns it off.",
    ),
    "early_stopping": Parameter(
        False,
        ["boolean", StrOptions({"loss", "bleu"})],
        'bool or {"loss", "bleu"}',
        "Hold out ``validation_fraction`` of the pairs and stop when the validation loss "
        '(True or "loss") or the validation BLEU of greedy translations ("bleu") has not '
        "improved for ``patience`` epochs.",
    ),
    "compile": Parameter(
        False,
        TRAINING["compile"].constraint,
        "bool",
        "Run teacher-forced forward passes through ``torch.compile`` (generation runs "
        "the plain model).",
    ),
}
