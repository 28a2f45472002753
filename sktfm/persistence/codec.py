"""JSON encoding of parameters and fitted attributes, tagging non-JSON types.

:class:`Encoder` turns values into JSON, :class:`Decoder` builds back only the
types it knows (numpy arrays and scalars, tuples, dicts, paths, random
states, skorch histories, Hugging Face tokenizers, registered sktfm objects
and records).
"""

import dataclasses
import functools
import pathlib
import warnings

import numpy as np

from .registry import is_persistable, is_record, registered_class, registered_record

__all__ = ["Decoder", "Encoder", "check_fitted"]

_TAG = "__sktfm__"
# Never saved: scikit-learn's metadata-routing requests.
_SKIPPED = ("_metadata_request",)
# Loading bounds: what arrays decoded from one folder may hold.
_ARRAY_KINDS = "biufcUS"
#: Longest string an array element of a saved folder may hold (characters).
MAX_STRING_LENGTH = 2**16
#: Most memory the arrays decoded from one folder may take together.
MAX_DECODED_BYTES = 512 * 2**20
_MAX_DIMS = 32


class Encoder:
    """Turn params and fitted attributes into JSON values, tagging non-JSON types.

    Objects met twice (a translator's shared tokenizer) are written once and
    referred to by id afterwards, so they load back as one object.
    """

    def __init__(self):
        self._ids = {}  # id(obj) -> (reference number, obj kept alive)

    def __call__(self, value, name="value"):
        from skorch.history import History
        from tokenizers import Tokenizer as HFTokenizer

        if value is None or type(value) in (bool, int, float, str):
            return value
        if isinstance(value, np.generic):
            return self._numpy_scalar(value, name)
        if isinstance(value, np.ndarray):
            return self._array(value, name)
        if isinstance(value, History):
            return {_TAG: "history", "epochs": _history_to_json(value)}
        if isinstance(value, list):
            return [self(item, name) for item in value]
        if isinstance(value, tuple):
            return {_TAG: "tuple", "items": [self(item, name) for item in value]}
        if isinstance(value, dict):
            return self._dict(value, name)
        if isinstance(value, pathlib.PurePath):
            return {_TAG: "path", "path": str(value)}
        if isinstance(value, np.random.RandomState):
            return {_TAG: "random_state", "state": self(value.get_state(), name)}
        if isinstance(value, HFTokenizer):
            return {
                _TAG: "hf_tokenizer",
                "json": value.to_str(),
                "encode_special_tokens": value.encode_special_tokens,
            }
        if is_persistable(value):
            return self._estimator(value, name)
        if is_record(value):
            return self._record(value, name)
        raise TypeError(
            f"Cannot save {name}: a {type(value).__module__}.{type(value).__name__} "
            "has no safe (pickle-free) format in sktfm.io."
        )

    def _numpy_scalar(self, value, name):
        if value.dtype.kind not in "biufUS":
            raise TypeError(f"Cannot save {name}: numpy scalar of dtype {value.dtype}.")
        return {_TAG: "scalar", "dtype": value.dtype.str, "value": value.item()}

    def _array(self, value, name):
        if value.dtype.kind in "biufUS":
            return {
                _TAG: "ndarray",
                "dtype": value.dtype.str,
                "shape": list(value.shape),
                "data": value.ravel().tolist(),
            }
        if value.dtype.kind == "O":
            items = [self(item, name) for item in value.ravel().tolist()]
            return {_TAG: "ndarray", "dtype": "object", "shape": list(value.shape), "data": items}
        raise TypeError(f"Cannot save {name}: an array of dtype {value.dtype}.")

    def _dict(self, value, name):
        if not all(isinstance(key, str) for key in value):
            raise TypeError(f"Cannot save {name}: a dict with non-str keys.")
        return {
            _TAG: "dict",
            "items": {key: self(item, f"{name}[{key!r}]") for key, item in value.items()},
        }

    def _record(self, value, name):
        fields = {
            field.name: self(getattr(value, field.name), f"{name}.{field.name}")
            for field in dataclasses.fields(value)
        }
        return {_TAG: "record", "class": type(value).__name__, "fields": fields}

    def _estimator(self, value, name):
        if id(value) in self._ids:
            return {_TAG: "ref", "id": self._ids[id(value)][0]}
        ref = len(self._ids)
        self._ids[id(value)] = (ref, value)
        return {
            _TAG: "estimator",
            "id": ref,
            "class": type(value).__name__,
            "params": self.params(value),
            "fitted": self.fitted(value),
        }

    def params(self, estimator):
        params = estimator.get_params(deep=False)
        if params.get("callbacks"):
            warnings.warn(
                f"{type(estimator).__name__}.callbacks are not saved: skorch callbacks "
                "have no safe format. The loaded estimator has callbacks=None; set "
                "them again before refitting.",
                UserWarning,
                stacklevel=4,
            )
        if "callbacks" in params:
            params["callbacks"] = None
        return {key: self(value, f"parameter {key}") for key, value in params.items()}

    def fitted(self, estimator):
        params = estimator.get_params(deep=False)
        skipped = {*params, *_SKIPPED, *type(estimator)._not_saved}
        return {
            key: self(value, f"attribute {key}")
            for key, value in vars(estimator).items()
            if key not in skipped
        }


def _require(estimator, name, types, values=None):
    """The fitted attribute ``name`` of a loaded ``estimator``, checked (see ``_check_fitted``)."""
    owner = type(estimator).__name__
    if name not in vars(estimator):
        raise ValueError(f"The saved {owner} lacks its fitted attribute {name!r}.")
    value = vars(estimator)[name]
    if not isinstance(value, types) or (values is not None and value not in values):
        raise ValueError(
            f"The saved {owner}'s fitted attribute {name!r} is {value!r:.80}, not "
            + (f"one of {sorted(values)}." if values is not None else f"a {types}.")
        )
    return value


def _checked_dtype(name):
    """The numpy dtype ``name``: numeric, bool or a bounded-length string, else ValueError."""
    try:
        dtype = np.dtype(name) if isinstance(name, str) else None
    except TypeError:
        dtype = None
    limit = 4 * MAX_STRING_LENGTH  # bytes of a "<U" element of that many characters
    if dtype is None or dtype.kind not in _ARRAY_KINDS or dtype.shape or dtype.itemsize > limit:
        raise ValueError(
            f"Array dtype {name!r} in an sktfm folder is not a numeric, bool or string "
            f"dtype of at most {MAX_STRING_LENGTH} characters."
        )
    return dtype


def _history_to_json(history):
    """skorch History (list of dicts) as JSON values, dropping what JSON cannot hold."""

    def clean(value):
        if isinstance(value, np.generic) and value.dtype.kind in "biuf":
            return value.item()
        if value is None or type(value) in (bool, int, float, str):
            return value
        if isinstance(value, (list, tuple)):
            items = [clean(item) for item in value]
            return [item for item in items if item is not _DROP]
        if isinstance(value, dict):
            items = {str(key): clean(item) for key, item in value.items()}
            return {key: item for key, item in items.items() if item is not _DROP}
        return _DROP

    return clean(list(history))


_DROP = object()


# ----------------------------------------------------------------- decoding
class Decoder:
    """Inverse of :class:`Encoder`: builds only the types it knows."""

    _TAGS = frozenset(
        {
            "scalar",
            "ndarray",
            "history",
            "tuple",
            "dict",
            "path",
            "random_state",
            "hf_tokenizer",
            "ref",
            "estimator",
            "record",
        }
    )

    def __init__(self):
        self._refs = {}
        self._budget = MAX_DECODED_BYTES

    def __call__(self, value):
        if isinstance(value, list):
            return [self(item) for item in value]
        if not isinstance(value, dict):
            return value
        tag = value.get(_TAG)
        if not isinstance(tag, str) or tag not in self._TAGS:
            raise ValueError(f"Unknown value tag {tag!r} in an sktfm folder.")
        try:
            return getattr(self, f"_{tag}")(value)
        except (KeyError, TypeError, AttributeError, IndexError, OverflowError) as error:
            raise ValueError(f"Malformed {tag!r} value in an sktfm folder: {error!r}") from error

    def _scalar(self, value):
        return _checked_dtype(value["dtype"]).type(value["value"])

    def _ndarray(self, value):
        data, shape = value["data"], value["shape"]
        if not isinstance(data, list):
            raise ValueError("Malformed 'ndarray' value in an sktfm folder: data is not a list.")
        if (
            not isinstance(shape, list)
            or len(shape) > _MAX_DIMS
            or not all(type(n) is int and n >= 0 for n in shape)
            or int(np.prod(shape, dtype=object)) != len(data)
        ):
            raise ValueError(
                f"Malformed 'ndarray' value in an sktfm folder: shape {shape!r} does not "
                f"hold its {len(data)} values."
            )
        if value["dtype"] == "object":
            items = [self(item) for item in data]
            out = np.empty(len(items), dtype=object)
            out[:] = items
            return out.reshape(shape)
        dtype = _checked_dtype(value["dtype"])
        self._spend(len(data) * dtype.itemsize)
        return np.asarray(data, dtype=dtype).reshape(shape)

    def _spend(self, n_bytes):
        """Count ``n_bytes`` of arrays against the folder's budget, before allocating."""
        self._budget -= n_bytes
        if self._budget < 0:
            raise ValueError(
                f"The arrays of an sktfm folder would take over {MAX_DECODED_BYTES} bytes."
            )

    def _history(self, value):
        from skorch.history import History

        return History(value["epochs"])

    def _tuple(self, value):
        return tuple(self(item) for item in value["items"])

    def _dict(self, value):
        return {key: self(item) for key, item in value["items"].items()}

    def _path(self, value):
        return pathlib.Path(value["path"])

    def _hf_tokenizer(self, value):
        from tokenizers import Tokenizer as HFTokenizer

        if not isinstance(value["json"], str):
            raise ValueError("Malformed 'hf_tokenizer' value in an sktfm folder: no JSON text.")
        try:
            tokenizer = HFTokenizer.from_str(value["json"])
        except Exception as error:  # tokenizers raises a bare Exception
            raise ValueError(f"Unreadable tokenizer in an sktfm folder: {error}") from None
        # Special tokens in the input are plain text, as after fit (folders of
        # before this key was written held sktfm tokenizers, which all set it).
        tokenizer.encode_special_tokens = value.get("encode_special_tokens", True)
        return tokenizer

    def _random_state(self, value):
        random_state = np.random.RandomState()
        try:
            random_state.set_state(self(value["state"]))
        except ValueError as error:
            raise ValueError(f"Malformed random state in an sktfm folder: {error}") from None
        return random_state

    def _ref(self, value):
        return self._refs[value["id"]]

    def _record(self, value):
        cls = registered_record(value["class"])
        fields = value["fields"]
        if not isinstance(fields, dict):
            raise ValueError(f"Malformed {cls.__name__} record in an sktfm folder.")
        # A missing, unknown or mistyped field is a TypeError of the record's
        # __init__ or __post_init__: a ValueError of __call__.
        return cls(**{key: self(item) for key, item in fields.items()})

    def _estimator(self, value):
        estimator = self.params(value["class"], value["params"])
        self._refs[value["id"]] = estimator
        # An estimator given as a parameter may be unfitted: nothing to check.
        self.set_fitted(estimator, value["fitted"], check=bool(value["fitted"]))
        return estimator

    def params(self, class_name, params):
        if not isinstance(class_name, str) or not isinstance(params, dict):
            raise ValueError("Malformed estimator entry in an sktfm folder.")
        cls = registered_class(class_name)
        params = {key: self(item) for key, item in params.items()}
        try:
            return cls(**params)
        except TypeError as error:
            raise ValueError(
                f"Cannot rebuild {class_name} from the saved parameters: {error}"
            ) from error

    def set_fitted(self, estimator, fitted, *, check=True):
        if not isinstance(fitted, dict):
            raise ValueError("Malformed fitted attributes in an sktfm folder.")
        for key, item in fitted.items():
            # Data attributes only: never a method, property or dunder of the class.
            if not key.isidentifier() or key.startswith("__") or hasattr(type(estimator), key):
                raise ValueError(
                    f"{key!r} in an sktfm folder is not a fitted attribute of "
                    f"{type(estimator).__name__}."
                )
            setattr(estimator, key, self(item))
        if check:
            check_fitted(estimator)


def check_fitted(estimator):
    """Check a loaded ``estimator``'s fitted attributes with its ``_check_fitted`` hook."""
    if hasattr(estimator, "_check_fitted"):
        estimator._check_fitted(functools.partial(_require, estimator))
