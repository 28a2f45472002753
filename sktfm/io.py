"""Saving and loading: single estimators and whole pipelines, without pickle.

``sktfm.save(estimator, path)`` / ``estimator.save(path)`` and
:func:`load` write and read one fitted sktfm object as a folder of JSON and
safetensors (see :mod:`sktfm.persistence`, where every sktfm class saves and
restores itself); :func:`save_pipeline` and :func:`load_pipeline` do the same
for a scikit-learn :class:`~sklearn.pipeline.Pipeline`, step by step.

What is not saved: the ``callbacks`` parameter (skorch callbacks are arbitrary
objects; it comes back as None, with a warning at save time), the optimizer
state, the validation split of ``early_stopping``, and a TransformerEncoder's
self-supervised head (so a loaded encoder transforms, and continues training
with a new head). The skorch net is built again on load, as ``fit`` builds it,
around the loaded module, with no training callbacks but gradient clipping.

>>> import os, tempfile
>>> import sktfm
>>> tok = sktfm.Tokenizer().fit(["the cat sat"])
>>> folder = os.path.join(tempfile.mkdtemp(), "tok")
>>> tok.save(folder)
>>> loaded = sktfm.load(folder)
>>> loaded.transform(["the cat ran"])[0].tolist() == tok.transform(["the cat ran"])[0].tolist()
True
"""

import pathlib

from .persistence import (
    SKTFM_FORMAT,
    check_format,
    decode_value,
    encode_value,
    is_persistable,
    load,
    read_json,
    save,
    versions,
    write_json,
)

__all__ = ["SKTFM_FORMAT", "load", "load_pipeline", "save", "save_pipeline"]

PIPELINE_FILE = "pipeline.json"
JOBLIB_FILE = "step.joblib"


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
            if is_persistable(step):
                entry["kind"] = "sktfm"
                save(step, folder / entry["dir"])
            else:
                import joblib

                entry["kind"] = "joblib"
                entry["class"] = f"{type(step).__module__}.{type(step).__name__}"
                joblib.dump(step, folder / entry["dir"] / JOBLIB_FILE)
        steps.append(entry)
    other = {key: value for key, value in params.items() if key != "steps"}
    config = {
        "format": SKTFM_FORMAT,
        "class": "Pipeline",
        "steps": steps,
        "params": encode_value(other, "Pipeline parameters"),
        "versions": versions(),
    }
    write_json(folder / PIPELINE_FILE, config)


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
    config = read_json(folder / PIPELINE_FILE)
    check_format(config, folder / PIPELINE_FILE)
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
    return Pipeline(steps, **decode_value(config["params"]))
