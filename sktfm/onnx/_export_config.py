"""Validate ``onnx_config.json``: every entry the predictor reads, present and well typed.

:func:`_read_config` reads the config through the export folder, checks its
format (a format 2 folder must have a manifest) and every entry a task and
input type need (files, ids, sizes, tokenizers, series layout, classes, the
translator's protected placeholders), and raises a ValueError naming the file
and the entry otherwise, so the predictor never meets a wrong type later. A
serving module: it imports only the standard library and the folder reader
(see :mod:`sktfm.onnx.predictor`).
"""

import math
import re

from ._export_folder import _CONFIG_FILE, _MANIFEST_FILE, _short

#: Folder formats this predictor reads: 1 (no manifest), 2 (manifest required) and 3
#: (a tabular config's ``table``: a mixed table's columns, or null for a numeric one).
_FORMATS = (1, 2, 3)
_TASKS = ("embedding", "classification", "multilabel", "regression", "translation")
_INPUT_TYPES = ("text", "tokens", "tabular", "sequence")
_REGEX_FLAGS = re.IGNORECASE | re.MULTILINE | re.DOTALL | re.UNICODE | re.VERBOSE | re.ASCII
_KINDS = ("numeric", "categorical", "text")
# At most this many token ids per text column of a mixed table (a width is a longest text).
_MAX_TEXT_WIDTH = 2**20
# At most this many (vocab_size x max_spans) cells of protected-span counts.
_MAX_SLOT_CELLS = 2**27


def _read_config(folder):
    """``onnx_config.json``, with every entry the predictor reads checked."""
    file = folder.root / _CONFIG_FILE
    config = folder.read_json(_CONFIG_FILE)
    if not isinstance(config, dict):
        raise ValueError(
            f"{file} holds a JSON {type(config).__name__}, not an object: it is not an "
            "sktfm ONNX config."
        )
    version = config.get("format")
    if type(version) is not int or version not in _FORMATS:
        raise ValueError(
            f"{file} has format {_short(version)}; this predictor reads formats "
            f"{' and '.join(map(str, _FORMATS))}."
        )
    if version >= 2 and folder.manifest is None:
        raise ValueError(
            f"{folder.root} has no {_MANIFEST_FILE} although {file} is format {version}: the "
            "folder was left half-written (an interrupted export) or altered; export_onnx "
            "writes the manifest last. Export the model again."
        )
    _check_config(config, str(file))
    return config


def _entry(spec, key, where, wanted, valid):
    """``spec[key]``, or a ValueError naming ``where`` when it is missing or not ``wanted``."""
    if key not in spec:
        raise ValueError(f"{where} lacks the entry {key!r}: it is incomplete or not sktfm's.")
    value = spec[key]
    if not valid(value):
        raise ValueError(f"{where}: {key!r} is {_short(value)}, not {wanted}.")
    return value


def _count(low):
    return f"an integer >= {low}", lambda v: type(v) is int and v >= low


def _one_of(*choices):
    return (
        f"one of {list(choices)}",
        lambda v: any(type(v) is type(choice) and v == choice for choice in choices),
    )


_BOOL = ("true or false", lambda v: type(v) is bool)
_STRING = ("a string", lambda v: isinstance(v, str))
_OBJECT = ("a JSON object", lambda v: isinstance(v, dict))
_LABELS = (
    "a non-empty list of labels",
    lambda v: isinstance(v, list) and bool(v) and all(type(c) in (str, int, float) for c in v),
)


def _check_config(config, where):
    task = _entry(config, "task", where, *_one_of(*_TASKS))
    input_type = _entry(config, "input_type", where, *_one_of(*_INPUT_TYPES))
    _entry(config, "max_len", where, *_count(1))
    _entry(config, "truncation", where, *_BOOL)
    if task == "translation":
        for key in ("encoder_file", "decoder_file"):
            _entry(config, key, where, *_STRING)
        for key in ("n_layers", "n_heads", "d_head"):
            _entry(config, key, where, *_count(1))
        for key in ("padding_id", "bos_id", "eos_id"):
            _entry(config, key, where, *_count(0))
        _entry(
            config,
            "max_output_len",
            where,
            "null or an integer >= 0",
            lambda v: v is None or (type(v) is int and v >= 0),
        )
        for key in ("source_tokenizer", "target_tokenizer"):
            _check_tokenizer(_entry(config, key, where, *_OBJECT), f"{where} ({key!r})")
        if config.get("protection") is not None:
            protection = _entry(config, "protection", where, *_OBJECT)
            _check_protection(protection, f"{where} ('protection')")
        return
    _entry(config, "file", where, *_STRING)
    _entry(config, "input_name", where, *_STRING)
    if input_type in ("text", "tokens"):
        _check_tokenizer(_entry(config, "tokenizer", where, *_OBJECT), f"{where} ('tokenizer')")
    else:
        n_features = _entry(config, "n_features", where, *_count(1))
    if input_type == "tabular" and config["format"] >= 3:
        table = _entry(config, "table", where, "null or a JSON object", _null_or_object)
        if table is not None:
            _check_table(table, n_features, f"{where} ('table')")
            if any(table["text_widths"]):
                spec = _entry(config, "tokenizer", where, *_OBJECT)
                _check_tokenizer(spec, f"{where} ('tokenizer')")
    if input_type == "sequence":
        sequence = _entry(config, "sequence", where, *_OBJECT)
        inner = f"{where} ('sequence')"
        for key in ("patch_size", "patch_stride", "min_steps", "max_steps"):
            _entry(sequence, key, inner, *_count(1))
        _entry(sequence, "layout", inner, *_one_of("channels_first", "channels_last"))
        _entry(sequence, "instance_scaling", inner, *_BOOL)
    if task in ("classification", "multilabel"):
        _entry(config, "classes", where, *_LABELS)
    elif task == "regression":
        _entry(config, "target_ndim", where, *_one_of(1, 2))


def _null_or_object(value):
    return value is None or isinstance(value, dict)


def _per_column(n, what, valid):
    return (
        f"a list of {n} {what}",
        lambda v: isinstance(v, list) and len(v) == n and all(valid(x) for x in v),
    )


def _number(v):
    return (type(v) is float and math.isfinite(v)) or (type(v) is int and abs(v) <= 2**53)


def _check_table(spec, n, where):
    """A mixed table's columns: names, kinds, categories, text widths and scaling."""
    _entry(
        spec,
        "columns",
        where,
        f"null or a list of {n} distinct strings",
        lambda v: (
            v is None
            or (
                isinstance(v, list)
                and len(v) == n
                and all(isinstance(name, str) for name in v)
                and len(set(v)) == n
            )
        ),
    )
    kinds = _entry(spec, "kinds", where, *_per_column(n, f"of {list(_KINDS)}", _KINDS.__contains__))
    categories = _entry(
        spec,
        "categories",
        where,
        *_per_column(
            n,
            "lists of distinct strings",
            lambda v: (
                isinstance(v, list) and all(isinstance(c, str) for c in v) and len(set(v)) == len(v)
            ),
        ),
    )
    widths = _entry(
        spec,
        "text_widths",
        where,
        *_per_column(n, "integers >= 0", lambda v: type(v) is int and 0 <= v <= _MAX_TEXT_WIDTH),
    )
    _entry(spec, "mean", where, *_per_column(n, "finite numbers", _number))
    _entry(
        spec,
        "scale",
        where,
        *_per_column(n, "finite non-zero numbers", lambda v: _number(v) and v != 0),
    )
    for j, (kind, cats, width) in enumerate(zip(kinds, categories, widths)):
        if (kind != "categorical" and cats) or (kind == "text") != (width > 0):
            raise ValueError(
                f"{where}: column {j} is {kind} with {len(cats)} categories and text width "
                f"{width}: only a categorical column has categories, and only a text column "
                "(every one) a width."
            )


def _check_tokenizer(spec, where):
    _entry(spec, "file", where, *_STRING)
    for key in ("encode_special_tokens", "add_special_tokens", "word_lookup"):
        _entry(spec, key, where, *_BOOL)
    for key in ("pad_id", "n_special", "unk_id", "vocab_size"):
        _entry(spec, key, where, *_count(0))


def _check_protection(spec, where):
    pattern = _entry(spec, "pattern", where, *_STRING)
    flags = _entry(
        spec,
        "flags",
        where,
        "re flags among IGNORECASE, MULTILINE, DOTALL, UNICODE, VERBOSE and ASCII",
        lambda v: type(v) is int and v >= 0 and not v & ~_REGEX_FLAGS,
    )
    max_spans = _entry(spec, "max_spans", where, *_count(1))
    vocab_size = _entry(spec, "vocab_size", where, *_count(1))
    if max_spans > 0x1900 or vocab_size * max_spans > _MAX_SLOT_CELLS:
        raise ValueError(
            f"{where}: {vocab_size} tokens by {max_spans} spans is more than a translator has."
        )
    slots = _entry(spec, "token_slots", where, *_OBJECT)
    for token_id, counts in slots.items():
        if not (
            token_id.isascii()
            and token_id.isdigit()
            and int(token_id) < vocab_size
            and isinstance(counts, list)
            and all(
                isinstance(pair, list)
                and len(pair) == 2
                and type(pair[0]) is int
                and 0 <= pair[0] < max_spans
                and type(pair[1]) is int
                and pair[1] >= 0
                for pair in counts
            )
        ):
            raise ValueError(
                f"{where}: 'token_slots' maps {_short(token_id)} to {_short(counts)}, not a "
                "token id below vocab_size to [[span, times], ...] with span below max_spans."
            )
    try:
        re.compile(pattern, flags)
    except (re.error, ValueError, OverflowError, RecursionError) as error:
        raise ValueError(f"{where}: 'pattern' is not a regular expression: {error}.") from None
