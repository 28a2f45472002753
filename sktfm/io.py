"""Safe persistence: save fitted sktfm estimators as JSON + safetensors.

``save(estimator, path)`` writes a folder that :func:`load` reads back without
running any pickle code: the configuration and the fitted attributes are JSON
(read with :mod:`json`), the module weights are a ``safetensors`` file, and the
Hugging Face tokenizers are their own JSON (``tokenizers.Tokenizer.to_str``).
Only sktfm classes listed in :data:`CLASSES` can be rebuilt: a folder cannot
name an arbitrary class to import.

Folder layout::

    path/
        config.json        format version, class, get_params(), library versions
        fitted.json        fitted attributes (arrays, tokenizers, history, ...)
        model.safetensors  the module's state_dict (sequence estimators only)

What is not saved: the ``callbacks`` parameter (skorch callbacks are arbitrary
objects; it comes back as None, with a warning at save time), the optimizer
state, the validation split of ``early_stopping``, and a TransformerEncoder's
self-supervised head (so a loaded encoder transforms, but must be refitted
before ``partial_fit``). The skorch net is built again on load, as ``fit``
builds it, around the loaded module, with no training callbacks: gradient
clipping, warm-up and early stopping are not active in a ``partial_fit`` of a
loaded estimator.

>>> import os, tempfile
>>> import sktfm
>>> tok = sktfm.Tokenizer().fit(["the cat sat"])
>>> folder = os.path.join(tempfile.mkdtemp(), "tok")
>>> tok.save(folder)
>>> sorted(os.listdir(folder))
['config.json', 'fitted.json']
>>> loaded = sktfm.load(folder)
>>> loaded.transform(["the cat ran"])[0].tolist() == tok.transform(["the cat ran"])[0].tolist()
True
"""

import json
import os
import pathlib
import warnings

import numpy as np

__all__ = ["SKTFM_FORMAT", "load", "load_pipeline", "save", "save_pipeline"]

#: Version of the folder format written by :func:`save`. Bump it when a change
#: makes older sktfm versions unable to read new folders.
SKTFM_FORMAT = 1

CONFIG_FILE = "config.json"
FITTED_FILE = "fitted.json"
WEIGHTS_FILE = "model.safetensors"
PIPELINE_FILE = "pipeline.json"
JOBLIB_FILE = "step.joblib"

_TAG = "__sktfm__"
# Attributes rebuilt on load rather than stored.
_REBUILT = ("net_", "module_")
# Not saved: sklearn's metadata-routing requests. Nor is any torch module
# other than ``module_`` (such as the encoder's self-supervised head kept for
# partial_fit): a loaded TransformerEncoder transforms, but continues training
# only after a refit.
_SKIPPED = ("_metadata_request",)


def _classes():
    """The only classes a folder may name: the public sktfm estimators."""
    from .estimators import (
        Seq2SeqTranslator,
        TransformerClassifier,
        TransformerEncoder,
        TransformerRegressor,
    )
    from .text import PretrainedTokenizer, TextCleaner, Tokenizer

    return {
        cls.__name__: cls
        for cls in (Seq2SeqTranslator, TransformerClassifier, TransformerEncoder,
                    TransformerRegressor, TextCleaner, Tokenizer, PretrainedTokenizer)
    }


def _class_named(name):
    classes = _classes()
    if name not in classes:
        raise ValueError(
            f"Unknown class {name!r} in an sktfm folder; sktfm.load rebuilds only "
            f"{sorted(classes)}."
        )
    return classes[name]


def _is_sktfm(obj):
    return type(obj) in _classes().values()


def _versions():
    import safetensors
    import sklearn
    import skorch
    import tokenizers
    import torch

    from . import __version__

    return {"sktfm": __version__, "torch": torch.__version__,
            "sklearn": sklearn.__version__, "skorch": skorch.__version__,
            "tokenizers": tokenizers.__version__,
            "safetensors": safetensors.__version__}


# ----------------------------------------------------------------- encoding
class _Encoder:
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
            return {_TAG: "hf_tokenizer", "json": value.to_str()}
        if _is_sktfm(value):
            return self._estimator(value, name)
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
            return {_TAG: "ndarray", "dtype": value.dtype.str, "shape": list(value.shape),
                    "data": value.ravel().tolist()}
        if value.dtype.kind == "O":
            items = [self(item, name) for item in value.ravel().tolist()]
            return {_TAG: "ndarray", "dtype": "object", "shape": list(value.shape),
                    "data": items}
        raise TypeError(f"Cannot save {name}: an array of dtype {value.dtype}.")

    def _dict(self, value, name):
        if not all(isinstance(key, str) for key in value):
            raise TypeError(f"Cannot save {name}: a dict with non-str keys.")
        return {_TAG: "dict", "items": {key: self(item, f"{name}[{key!r}]")
                                        for key, item in value.items()}}

    def _estimator(self, value, name):
        if id(value) in self._ids:
            return {_TAG: "ref", "id": self._ids[id(value)][0]}
        ref = len(self._ids)
        self._ids[id(value)] = (ref, value)
        return {_TAG: "estimator", "id": ref, "class": type(value).__name__,
                "params": self.params(value), "fitted": self.fitted(value)}

    def params(self, estimator):
        params = estimator.get_params(deep=False)
        if params.get("callbacks"):
            warnings.warn(
                f"{type(estimator).__name__}.callbacks are not saved: skorch callbacks "
                "have no safe format. The loaded estimator has callbacks=None; set "
                "them again before refitting.",
                UserWarning, stacklevel=4,
            )
        if "callbacks" in params:
            params["callbacks"] = None
        return {key: self(value, f"parameter {key}") for key, value in params.items()}

    def fitted(self, estimator):
        from torch import nn

        params = estimator.get_params(deep=False)
        return {
            key: self(value, f"attribute {key}")
            for key, value in vars(estimator).items()
            if key not in params and key not in _REBUILT and key not in _SKIPPED
            and not isinstance(value, nn.Module)
        }


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
class _Decoder:
    """Inverse of :class:`_Encoder`: builds only the types it knows."""

    _TAGS = frozenset({"scalar", "ndarray", "history", "tuple", "dict", "path",
                       "random_state", "hf_tokenizer", "ref", "estimator"})

    def __init__(self):
        self._refs = {}

    def __call__(self, value):
        if isinstance(value, list):
            return [self(item) for item in value]
        if not isinstance(value, dict):
            return value
        tag = value.get(_TAG)
        if tag not in self._TAGS:
            raise ValueError(f"Unknown value tag {tag!r} in an sktfm folder.")
        try:
            return getattr(self, f"_{tag}")(value)
        except (KeyError, TypeError) as error:
            raise ValueError(f"Malformed {tag!r} value in an sktfm folder: {error}") from error

    def _scalar(self, value):
        return np.dtype(value["dtype"]).type(value["value"])

    def _ndarray(self, value):
        if value["dtype"] == "object":
            data = [self(item) for item in value["data"]]
            out = np.empty(len(data), dtype=object)
            out[:] = data
        else:
            out = np.asarray(value["data"], dtype=np.dtype(value["dtype"]))
        return out.reshape(value["shape"])

    def _history(self, value):
        from skorch.history import History

        return History(value["epochs"])

    def _tuple(self, value):
        return tuple(self(item) for item in value["items"])

    def _dict(self, value):
        return {key: self(item) for key, item in value["items"].items()}

    def _path(self, value):
        return pathlib.Path(value["path"])

    def _random_state(self, value):
        random_state = np.random.RandomState()
        random_state.set_state(self(value["state"]))
        return random_state

    def _hf_tokenizer(self, value):
        from tokenizers import Tokenizer as HFTokenizer

        return HFTokenizer.from_str(value["json"])

    def _ref(self, value):
        return self._refs[value["id"]]

    def _estimator(self, value):
        estimator = self.params(value["class"], value["params"])
        self._refs[value["id"]] = estimator
        self.set_fitted(estimator, value["fitted"])
        return estimator

    def params(self, class_name, params):
        cls = _class_named(class_name)
        params = {key: self(item) for key, item in params.items()}
        try:
            return cls(**params)
        except TypeError as error:
            raise ValueError(
                f"Cannot rebuild {class_name} from the saved parameters: {error}"
            ) from error

    def set_fitted(self, estimator, fitted):
        for key, item in fitted.items():
            setattr(estimator, key, self(item))
        tokenizer = getattr(estimator, "tokenizer_", None)
        if tokenizer is not None and hasattr(tokenizer, "encode_special_tokens"):
            # "[PAD]" in the input is plain text, as after fit.
            tokenizer.encode_special_tokens = True


# --------------------------------------------------------------------- save
def _check_fitted(estimator):
    from sklearn.utils.validation import check_is_fitted

    from .estimators._base import BaseTransformerEstimator
    from .text import TextCleaner

    if isinstance(estimator, BaseTransformerEstimator):
        check_is_fitted(estimator, "net_")
    elif not isinstance(estimator, TextCleaner):  # stateless: nothing to fit
        check_is_fitted(estimator)


def save(estimator, path):
    """Save a fitted sktfm estimator to the folder ``path`` without pickle.

    Parameters
    ----------
    estimator : TransformerEncoder, TransformerClassifier, TransformerRegressor, \
            Seq2SeqTranslator, Tokenizer or TextCleaner
        The fitted estimator (a TextCleaner needs no fit).
    path : str or path-like
        Folder to write; created if missing. Existing files of the same
        names are overwritten.

    Raises
    ------
    NotFittedError
        If ``estimator`` is not fitted.
    TypeError
        If ``estimator`` is not an sktfm estimator, or holds a value with no
        safe format (a parameter set to an arbitrary object).

    Notes
    -----
    ``callbacks`` are not saved (a warning says so when there are some): the
    loaded estimator has ``callbacks=None``.
    """
    if not _is_sktfm(estimator):
        raise TypeError(
            f"sktfm.save saves sktfm estimators, not {type(estimator).__name__}; "
            "use sktfm.save_pipeline for a Pipeline."
        )
    _check_fitted(estimator)
    encode = _Encoder()
    encode._ids[id(estimator)] = (-1, estimator)  # the root is not a reference target
    config = {
        "format": SKTFM_FORMAT,
        "class": type(estimator).__name__,
        "params": encode.params(estimator),
        "versions": _versions(),
    }
    fitted = encode.fitted(estimator)
    folder = pathlib.Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    module = getattr(estimator, "module_", None)
    if module is not None:
        _save_weights(module, folder / WEIGHTS_FILE)
    _write_json(folder / FITTED_FILE, fitted)
    _write_json(folder / CONFIG_FILE, config)  # last: a complete folder has one


def _write_json(path, data):
    with open(path, "w", encoding="utf-8") as file:
        json.dump(data, file, ensure_ascii=False, indent=1)


def _save_weights(module, path):
    """The state_dict on CPU, each shared tensor (tied weights) stored once."""
    from safetensors.torch import save_file

    tensors, aliases, seen = {}, {}, {}
    for name, tensor in module.state_dict().items():
        key = (tensor.device, tensor.untyped_storage().data_ptr(),
               tensor.storage_offset(), tuple(tensor.shape), tuple(tensor.stride()),
               tensor.dtype)
        if key in seen:
            aliases[name] = seen[key]
            continue
        seen[key] = name
        # A copy: views of one storage cannot share memory in safetensors.
        tensors[name] = tensor.detach().to("cpu", copy=True).contiguous()
    save_file(tensors, str(path), metadata={"format": "pt",
                                            "sktfm_aliases": json.dumps(aliases)})


# --------------------------------------------------------------------- load
def _read_json(path):
    try:
        with open(path, encoding="utf-8") as file:
            return json.load(file)
    except FileNotFoundError:
        raise ValueError(f"{path} is missing: not a folder written by sktfm.save.") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from error


def _check_format(config, path):
    version = config.get("format") if isinstance(config, dict) else None
    if version is None:
        raise ValueError(
            f"{path} has no format version: not a folder written by sktfm.save."
        )
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"{path} has an unreadable format version {version!r}.")
    if version > SKTFM_FORMAT:
        raise ValueError(
            f"{path} was saved by a newer sktfm (format {version}); upgrade sktfm "
            f"(this one reads format {SKTFM_FORMAT} and older)."
        )


def _resolve_load_device(device):
    import torch

    from . import _net

    device = _net.resolve_device(device)
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} but CUDA is not available; load with device='cpu' "
            "or device='auto'."
        )
    return device


def load(path, *, device="cpu"):
    """Load an estimator saved by :func:`save`, running no pickle code.

    Parameters
    ----------
    path : str or path-like
        Folder written by :func:`save`.
    device : str, default="cpu"
        Torch device for the module and net: ``"cpu"``, ``"cuda"``,
        ``"cuda:1"``... or ``"auto"`` (CUDA when available, else CPU). The
        device the model was trained on does not matter; ``device_`` is set
        to this one. The ``device`` parameter is left as saved.

    Returns
    -------
    estimator : sktfm estimator
        The fitted estimator, predicting as the saved one did.

    Raises
    ------
    ValueError
        If the folder is not an sktfm folder, was written by a newer sktfm,
        or names a class that is not an sktfm estimator.
    """
    folder = pathlib.Path(path)
    config = _read_json(folder / CONFIG_FILE)
    _check_format(config, folder / CONFIG_FILE)
    decode = _Decoder()
    estimator = decode.params(config.get("class"), config.get("params", {}))
    decode._refs[-1] = estimator
    decode.set_fitted(estimator, _read_json(folder / FITTED_FILE))
    if hasattr(estimator, "_module_spec"):
        _restore_net(estimator, folder / WEIGHTS_FILE, _resolve_load_device(device))
    return estimator


def _load_weights(module, path):
    from safetensors import safe_open
    from safetensors.torch import load_file

    if not os.path.exists(path):
        raise ValueError(f"{path} is missing: the module weights were not saved.")
    with safe_open(str(path), framework="pt") as file:
        metadata = file.metadata() or {}
    state = load_file(str(path), device="cpu")
    for alias, name in json.loads(metadata.get("sktfm_aliases", "{}")).items():
        state[alias] = state[name]
    module.load_state_dict(state, strict=True)


def _restore_net(estimator, weights, device):
    """Rebuild module and skorch net as fit builds them, around the saved weights."""
    from skorch.history import History

    from . import _net

    spec = estimator._module_spec
    module = _net.make_module(spec["objective"], spec["module_kwargs"],
                              **spec["head_kwargs"])
    _load_weights(module, weights)
    module = module.to(device).eval()
    # A TransformerEncoder keeps its backbone only; its net trains (and so
    # computes losses) for the objective recorded at fit.
    training_spec = getattr(estimator, "_training_spec", spec)
    net = _net.make_net(
        module,
        objective=training_spec["objective"],
        max_epochs=estimator.max_epochs,
        batch_size=estimator.batch_size,
        lr=estimator.lr,
        weight_decay=estimator.weight_decay,
        label_smoothing=estimator.label_smoothing,
        device=device,
        precision=_net.resolve_precision(estimator.precision, device),
        compiled=getattr(estimator, "compile", False),
        verbose=estimator.verbose,
        # Continued training (partial_fit) keeps clipping and the NaN guard;
        # no validation split was saved, so no early stopping.
        callbacks=_net.make_callbacks(
            grad_clip=estimator.grad_clip, early_stopping=False,
            patience=estimator.patience, warmup_steps=0, verbose=estimator.verbose,
            callbacks=None,
        ),
    )
    net.initialize()
    net.module_ = module
    module.eval()
    history = getattr(estimator, "history_", None)
    net.history_ = history if history is not None else History()
    estimator.history_ = net.history_
    estimator.net_ = net
    estimator.module_ = module
    estimator.device_ = device


# ----------------------------------------------------------------- pipeline
def save_pipeline(pipeline, path):
    """Save a fitted :class:`~sklearn.pipeline.Pipeline` to the folder ``path``.

    sktfm steps are written with :func:`save` under ``path/steps/<i>_<name>/``
    (JSON + safetensors). Other scikit-learn steps have no safe format: they
    are written with :func:`joblib.dump` as ``path/steps/<i>_<name>/step.joblib``,
    and loading them runs pickle code, so :func:`load_pipeline` refuses them
    unless ``allow_pickle=True``. A pipeline of sktfm steps only (and
    ``"passthrough"``) loads with no pickle at all.

    Parameters
    ----------
    pipeline : sklearn.pipeline.Pipeline
        The fitted pipeline.
    path : str or path-like
        Folder to write; created if missing.
    """
    from sklearn.pipeline import Pipeline

    if not isinstance(pipeline, Pipeline):
        raise TypeError(
            f"save_pipeline saves a sklearn Pipeline, not {type(pipeline).__name__}; "
            "use sktfm.save for a single estimator."
        )
    params = pipeline.get_params(deep=False)
    if params.get("memory") is not None and not isinstance(params["memory"], str):
        raise TypeError("save_pipeline saves memory=None or a str folder only.")
    folder = pathlib.Path(path)
    steps = []
    for i, (name, step) in enumerate(pipeline.steps):
        entry = {"name": name}
        if step is None or (isinstance(step, str) and step == "passthrough"):
            entry["kind"], entry["value"] = "passthrough", step
        else:
            entry["dir"] = f"steps/{i}_{name}"
            (folder / entry["dir"]).mkdir(parents=True, exist_ok=True)
            if _is_sktfm(step):
                entry["kind"] = "sktfm"
                save(step, folder / entry["dir"])
            else:
                import joblib

                entry["kind"] = "joblib"
                entry["class"] = f"{type(step).__module__}.{type(step).__name__}"
                joblib.dump(step, folder / entry["dir"] / JOBLIB_FILE)
        steps.append(entry)
    other = {key: value for key, value in params.items() if key != "steps"}
    config = {"format": SKTFM_FORMAT, "class": "Pipeline", "steps": steps,
              "params": _Encoder()(other, "Pipeline parameters"),
              "versions": _versions()}
    _write_json(folder / PIPELINE_FILE, config)


def load_pipeline(path, *, allow_pickle=False, device="cpu"):
    """Load a pipeline saved by :func:`save_pipeline`.

    Parameters
    ----------
    path : str or path-like
        Folder written by :func:`save_pipeline`.
    allow_pickle : bool, default=False
        Whether to load non-sktfm steps, stored with joblib: this runs pickle
        code, so only allow it for folders you trust.
    device : str, default="cpu"
        Device of the sktfm steps, as in :func:`load`.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        The fitted pipeline.

    Raises
    ------
    ValueError
        If the folder holds joblib steps and ``allow_pickle`` is False (the
        message names them), or is not a pipeline folder sktfm can read.
    """
    from sklearn.pipeline import Pipeline

    folder = pathlib.Path(path)
    config = _read_json(folder / PIPELINE_FILE)
    _check_format(config, folder / PIPELINE_FILE)
    pickled = [entry["name"] for entry in config["steps"] if entry["kind"] == "joblib"]
    if pickled and not allow_pickle:
        raise ValueError(
            f"Steps {pickled} of the pipeline in {folder} were saved with joblib, and "
            "loading them runs pickle code. Pass allow_pickle=True if you trust "
            "this folder."
        )
    steps = []
    for entry in config["steps"]:
        kind = entry["kind"]
        if kind == "passthrough":
            step = entry["value"]
        elif kind == "sktfm":
            step = load(folder / entry["dir"], device=device)
        elif kind == "joblib":
            import joblib

            step = joblib.load(folder / entry["dir"] / JOBLIB_FILE)
        else:
            raise ValueError(f"Unknown step kind {kind!r} in {folder / PIPELINE_FILE}.")
        steps.append((entry["name"], step))
    return Pipeline(steps, **_Decoder()(config["params"]))
