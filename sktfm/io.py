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

import io

from .persistence import (
    SKTFM_FORMAT,
    check_format,
    decode_value,
    encode_value,
    is_persistable,
    load,
    load_folder,
    open_folder,
    replacing_folder,
    save,
    versions,
    write_folder,
    write_json,
    write_manifest,
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
        Folder to write; created if missing. The save is atomic and replaces
        the whole folder, as :func:`save` does.
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
    for _, step in pipeline.steps:
        if is_persistable(step):
            step._check_saveable()
    with replacing_folder(path) as staging:
        _write_pipeline(pipeline, params, staging)


def _write_pipeline(pipeline, params, folder):
    steps = []
    for i, (name, step) in enumerate(pipeline.steps):
        entry = {"name": name}
        if step is None or (isinstance(step, str) and step == "passthrough"):
            entry["kind"], entry["value"] = "passthrough", step
        else:
            entry["dir"] = f"steps/{i}_{name}"
            step_folder = folder / entry["dir"]
            step_folder.mkdir(parents=True)
            if is_persistable(step):
                entry["kind"] = "sktfm"
                write_folder(step, step_folder)
            else:
                import joblib

                entry["kind"] = "joblib"
                entry["class"] = f"{type(step).__module__}.{type(step).__name__}"
                joblib.dump(step, step_folder / JOBLIB_FILE)
            write_manifest(step_folder)  # each step also loads on its own
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
        Whether to load non-sktfm steps, stored with joblib, and a ``memory``
        (joblib cache folder, which the next ``fit`` unpickles from): this
        runs pickle code, so only allow it for folders you trust.
    device : str, default="cpu"
        Device of the sktfm steps, as in :func:`load`.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        The fitted pipeline.

    Raises
    ------
    ValueError
        If the folder holds joblib steps or a ``memory`` and ``allow_pickle``
        is False (the message names them), or is not a pipeline folder sktfm
        can read: malformed, incomplete, altered, or naming a step folder
        outside itself (the message names the file).
    """
    from sklearn.pipeline import Pipeline

    folder = open_folder(path, PIPELINE_FILE)
    config_file = folder.path / PIPELINE_FILE
    config = folder.read_json(PIPELINE_FILE)
    check_format(config, config_file)
    entries = config.get("steps")
    if not isinstance(entries, list) or not all(_valid_step(entry) for entry in entries):
        raise ValueError(f"{config_file} has malformed steps.")
    params = decode_value(config.get("params"))
    if not isinstance(params, dict) or not set(params) <= {"memory", "verbose", "transform_input"}:
        raise ValueError(f"{config_file} has malformed pipeline parameters.")
    pickled = [entry["name"] for entry in entries if entry["kind"] == "joblib"]
    if params.get("memory") is not None:
        # A joblib cache folder: the next fit would unpickle whatever is there.
        pickled.append(f"memory={params['memory']!r}")
    if pickled and not allow_pickle:
        raise ValueError(
            f"{pickled} of the pipeline in {folder.path} load or fit through pickle "
            "(steps saved with joblib, or a joblib cache as memory), which runs "
            "code. Pass allow_pickle=True if you trust this folder."
        )
    steps = []
    for entry in entries:
        kind = entry["kind"]
        if kind == "passthrough":
            step = entry.get("value")
        elif kind == "sktfm":
            step = load_folder(folder.subfolder(entry["dir"]), device=device)
        else:
            import joblib

            step_folder = folder.subfolder(entry["dir"])
            step = joblib.load(io.BytesIO(step_folder.read_bytes(JOBLIB_FILE)))
        steps.append((entry["name"], step))
    try:
        return Pipeline(steps, **params)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{config_file} does not make a Pipeline: {error}") from error


def _valid_step(entry):
    """Whether a ``pipeline.json`` step entry has the fields of its kind."""
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        return False
    kind = entry.get("kind")
    if kind == "passthrough":
        return entry.get("value") in (None, "passthrough")
    return kind in ("sktfm", "joblib") and isinstance(entry.get("dir"), str)
