"""Saved folders: nothing lost when a save fails, nothing trusted when a folder is read.

One test for each way a folder could lose a model, exhaust memory, read a
file outside itself, run code or fail with an unhelpful error (#31). To reach
the checks behind the manifest, an edited folder is "re-signed" with
:func:`~sktfm.persistence.write_manifest`, as someone who crafts a folder
would do; without that, any edit is refused by the manifest alone.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

import sktfm
from sktfm import TextCleaner, TransformerClassifier, TransformerEncoder
from sktfm.datasets import make_topic_texts
from sktfm.persistence import folder as folder_module
from sktfm.persistence import write_manifest

TINY = dict(d_model=8, n_heads=2, n_layers=1, dim_feedforward=16, max_epochs=1, random_state=0)


@pytest.fixture(scope="module")
def data():
    X, y = make_topic_texts(60, random_state=0)
    return X, np.asarray(y)


@pytest.fixture(scope="module")
def old_and_new(data):
    """Two classifiers with different classes: a mix of their files is detectable."""
    X, y = data
    old = TransformerClassifier(**TINY).fit(X, y)
    new = TransformerClassifier(**{**TINY, "random_state": 1}).fit(X, y == y[0])
    return old, new


@pytest.fixture(scope="module")
def saved(tmp_path_factory, old_and_new):
    """The old classifier's folder; tests edit copies of it."""
    path = tmp_path_factory.mktemp("saved") / "model"
    old_and_new[0].save(path)
    return path


def _copy(saved, tmp_path):
    return shutil.copytree(saved, tmp_path / "copy")


def _edit_json(path, name, edit):
    data = json.loads((path / name).read_text())
    data = edit(data) or data
    (path / name).write_text(json.dumps(data))
    write_manifest(path)


# ------------------------------------------------------------ atomic saves
def test_a_save_interrupted_after_the_weights_keeps_the_old_model(
    tmp_path, data, old_and_new, monkeypatch
):
    old, new = old_and_new
    path = tmp_path / "model"
    old.save(path)
    real_write_json = folder_module.write_json

    def crash_on_fitted(file, content):
        if file.name == folder_module.FITTED_FILE:
            raise KeyboardInterrupt  # the process stops between two files
        real_write_json(file, content)

    monkeypatch.setattr(folder_module, "write_json", crash_on_fitted)
    with pytest.raises(KeyboardInterrupt):
        new.save(path)
    loaded = sktfm.load(path)
    assert_array_equal(loaded.classes_, old.classes_)
    assert_array_equal(loaded.predict_proba(data[0]), old.predict_proba(data[0]))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no staging left


def test_new_weights_beside_old_attributes_are_refused(tmp_path, saved, old_and_new):
    # What an interrupted save of an older sktfm (or a hand copy) leaves.
    other = tmp_path / "other"
    old_and_new[1].save(other)
    path = _copy(saved, tmp_path)
    shutil.copy(other / "model.safetensors", path / "model.safetensors")
    with pytest.raises(ValueError, match="model.safetensors .*half-written or altered"):
        sktfm.load(path)


@pytest.mark.parametrize("remove", ["manifest.json", "fitted.json"])
def test_a_folder_missing_a_file_is_refused_as_half_written(tmp_path, saved, remove):
    path = _copy(saved, tmp_path)
    (path / remove).unlink()
    with pytest.raises(ValueError, match="half-written|incomplete"):
        sktfm.load(path)


def test_save_refuses_to_replace_a_folder_it_did_not_write(tmp_path, old_and_new):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="did not write"):
        old_and_new[0].save(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


# ---------------------------------------------------------- bounded memory
def test_a_gigantic_string_dtype_is_refused_before_allocation(tmp_path, saved):
    path = _copy(saved, tmp_path)

    def plant(fitted):
        fitted["planted_"] = {
            "__sktfm__": "ndarray",
            "dtype": "|S1000000000",
            "shape": [2],
            "data": ["a", "b"],
        }

    _edit_json(path, "fitted.json", plant)
    with pytest.raises(ValueError, match=r"fitted.json: .*dtype '\|S1000000000'"):
        sktfm.load(path)


def test_an_array_whose_shape_disagrees_with_its_data_is_refused(tmp_path, saved):
    path = _copy(saved, tmp_path)

    def plant(fitted):
        fitted["planted_"] = {"__sktfm__": "ndarray", "dtype": "<f8", "shape": [10**6, 10**6]}
        fitted["planted_"]["data"] = [1.0]

    _edit_json(path, "fitted.json", plant)
    with pytest.raises(ValueError, match="does not hold its 1 values"):
        sktfm.load(path)


def test_a_module_spec_larger_than_its_weights_is_refused_before_building(tmp_path, saved):
    path = _copy(saved, tmp_path)

    def inflate(fitted):
        spec = fitted["_module_spec"]["items"]["module_kwargs"]["items"]
        spec["vocab_size"] = 10**9  # 64 GB of embeddings at d_model 16

    _edit_json(path, "fitted.json", inflate)
    with pytest.raises(ValueError, match="vocab_size=1000000000, more than the saved weights"):
        sktfm.load(path)


def test_a_module_spec_of_other_shapes_is_refused_by_the_header(tmp_path, saved):
    path = _copy(saved, tmp_path)

    def widen(fitted):
        fitted["_module_spec"]["items"]["module_kwargs"]["items"]["dim_feedforward"] = 24

    _edit_json(path, "fitted.json", widen)
    with pytest.raises(ValueError, match=r"model.safetensors does not fit .*shapes"):
        sktfm.load(path)


def test_a_huge_json_file_is_refused_before_it_is_read(tmp_path, saved, monkeypatch):
    from sktfm.persistence import files

    limit = (saved / "config.json").stat().st_size  # the smaller of the two files
    monkeypatch.setattr(files, "MAX_JSON_BYTES", limit)
    with pytest.raises(ValueError, match=f"fitted.json has .* bytes, over the {limit}-byte limit"):
        sktfm.load(saved)


LOAD_ENDLESS = textwrap.dedent(
    """
    import resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))
    import sktfm
    try:
        sktfm.load(sys.argv[1])
    except ValueError as error:
        print("ValueError:", error)
    """
)


@pytest.mark.parametrize("endless", ["/dev/zero", "fifo"])
def test_a_config_that_never_ends_is_not_read(tmp_path, saved, endless):
    path = _copy(saved, tmp_path)
    (path / "config.json").unlink()
    if endless == "fifo":
        os.mkfifo(path / "config.json")
    else:
        os.symlink(endless, path / "config.json")
    # In a child under a 3 GiB address-space cap: reading it would never return.
    result = subprocess.run(
        [sys.executable, "-c", LOAD_ENDLESS, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "ValueError:" in result.stdout and "config.json" in result.stdout, result.stderr


# ------------------------------------------------------- confined to the folder
def test_symlinked_weights_are_refused(tmp_path, saved):
    path = _copy(saved, tmp_path)
    outside = tmp_path / "outside.safetensors"
    shutil.move(path / "model.safetensors", outside)
    os.symlink(outside, path / "model.safetensors")
    with pytest.raises(ValueError, match="model.safetensors is a symlink"):
        sktfm.load(path)


def test_a_module_spec_that_points_to_weights_elsewhere_is_refused(tmp_path, saved):
    path = _copy(saved, tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def point(fitted):
        head = fitted["_module_spec"]["items"]["head_kwargs"]["items"]
        head["pretrained"] = str(elsewhere)

    _edit_json(path, "fitted.json", point)
    with pytest.raises(ValueError, match=r"passes \['pretrained'\] to the head"):
        sktfm.load(path)


@pytest.fixture(scope="module")
def saved_pipeline(tmp_path_factory, data):
    X, y = data
    pipe = make_pipeline(TextCleaner(), TransformerClassifier(**TINY)).fit(X, y)
    path = tmp_path_factory.mktemp("pipe") / "pipe"
    sktfm.save_pipeline(pipe, path)
    return path, pipe


def test_a_pipeline_step_outside_the_folder_is_refused(tmp_path, saved_pipeline):
    path = shutil.copytree(saved_pipeline[0], tmp_path / "pipe")
    shutil.copytree(path / "steps" / "1_transformerclassifier", tmp_path / "other")

    def escape(config):
        config["steps"][1]["dir"] = "../other"

    _edit_json(path, "pipeline.json", escape)
    with pytest.raises(ValueError, match="'../other' .* not a plain relative path"):
        sktfm.load_pipeline(path)


def test_a_pipeline_memory_needs_allow_pickle(tmp_path, saved_pipeline):
    path = shutil.copytree(saved_pipeline[0], tmp_path / "pipe")
    cache = tmp_path / "planted_cache"

    def set_memory(config):
        config["params"]["items"]["memory"] = str(cache)

    _edit_json(path, "pipeline.json", set_memory)
    with pytest.raises(ValueError, match="memory=.*allow_pickle=True"):
        sktfm.load_pipeline(path)
    assert sktfm.load_pipeline(path, allow_pickle=True).memory == str(cache)


def test_a_pipeline_loads_verified(saved_pipeline, data):
    path, pipe = saved_pipeline
    loaded = sktfm.load_pipeline(path)
    assert_array_equal(loaded.predict_proba(data[0]), pipe.predict_proba(data[0]))
    # Each step folder also loads on its own.
    step = sktfm.load(path / "steps" / "1_transformerclassifier")
    assert_array_equal(step.classes_, pipe[-1].classes_)


def test_a_mixed_pipeline_loads_its_joblib_step_through_the_manifest(tmp_path, data):
    X, y = data
    pipe = make_pipeline(TransformerEncoder(**TINY), LogisticRegression()).fit(X, y)
    sktfm.save_pipeline(pipe, tmp_path / "pipe")
    joblib_file = tmp_path / "pipe" / "steps" / "1_logisticregression" / "step.joblib"
    joblib_file.write_bytes(joblib_file.read_bytes()[:-8] + b"\x00" * 8)
    with pytest.raises(ValueError, match="step.joblib does not match"):
        sktfm.load_pipeline(tmp_path / "pipe", allow_pickle=True)


# ---------------------------------------------------------- corrupt files
@pytest.mark.parametrize(
    "corrupt, match",
    [
        (lambda data: data[: len(data) // 2], "model.safetensors"),
        (lambda data: b"", "model.safetensors is truncated"),
        (lambda data: b"\xff" * 8 + data[8:], "model.safetensors is truncated"),
    ],
    ids=["truncated", "empty", "bad-header-size"],
)
def test_corrupt_weights_raise_a_value_error_naming_the_file(tmp_path, saved, corrupt, match):
    path = _copy(saved, tmp_path)
    weights = path / "model.safetensors"
    weights.write_bytes(corrupt(weights.read_bytes()))
    write_manifest(path)
    with pytest.raises(ValueError, match=match):
        sktfm.load(path)


def test_weights_of_another_model_raise_a_value_error(tmp_path, saved, data):
    other = TransformerClassifier(**{**TINY, "d_model": 16}).fit(*data)
    other.save(tmp_path / "other")
    path = _copy(saved, tmp_path)
    shutil.copy(tmp_path / "other" / "model.safetensors", path / "model.safetensors")
    write_manifest(path)
    with pytest.raises(ValueError, match="model.safetensors does not fit"):
        sktfm.load(path)


@pytest.mark.parametrize(
    "name, edit, match",
    [
        ("fitted.json", lambda fitted: [], "fitted.json"),
        ("config.json", lambda config: [], "config.json"),
        ("config.json", lambda config: {**config, "params": []}, "params"),
        ("fitted.json", lambda fitted: {**fitted, "_module_spec": []}, "'_module_spec' is \\[\\]"),
        (
            "fitted.json",
            lambda fitted: {k: v for k, v in fitted.items() if k != "classes_"},
            "lacks its fitted attribute 'classes_'",
        ),
        ("fitted.json", lambda fitted: {**fitted, "input_type_": "x"}, "'input_type_' is 'x'"),
        ("fitted.json", lambda fitted: {**fitted, "predict": 1}, "'predict' .* not a fitted"),
    ],
    ids=[
        "fitted-list",
        "config-list",
        "params-list",
        "spec-list",
        "missing-attribute",
        "wrong-value",
        "shadowed-method",
    ],
)
def test_json_of_the_wrong_shape_raises_a_value_error(tmp_path, saved, name, edit, match):
    path = _copy(saved, tmp_path)
    data = json.loads((path / name).read_text())
    (path / name).write_text(json.dumps(edit(data)))
    write_manifest(path)
    with pytest.raises(ValueError, match=match):
        sktfm.load(path)


def test_folders_without_a_manifest_from_older_versions_load_with_a_warning(tmp_path, saved):
    path = _copy(saved, tmp_path)
    (path / "manifest.json").unlink()
    _edit_json(path, "config.json", lambda config: {**config, "format": 1})
    (path / "manifest.json").unlink()
    with pytest.warns(UserWarning, match="wrote no manifest"):
        sktfm.load(path)


def test_a_saved_folder_has_the_usual_permissions_and_follows_a_symlink(tmp_path, old_and_new):
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "link")
    old_and_new[0].save(tmp_path / "link")
    assert (tmp_path / "link").is_symlink()  # the link still points to the model
    assert sorted(os.listdir(tmp_path / "real"))[0] == "config.json"
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "real").stat().st_mode & 0o777 == 0o777 & ~umask
    sktfm.load(tmp_path / "link")


def test_without_an_atomic_exchange_two_renames_replace_the_folder(tmp_path, old_and_new, data):
    # Where renameat2 is missing (not Linux), the old folder is moved aside
    # first; a crash between the two renames is named by the load error.
    from sktfm.persistence import files

    old, new = old_and_new
    old.save(tmp_path / "model")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(files, "_exchange", lambda first, second: False)
        new.save(tmp_path / "model")
    assert_array_equal(sktfm.load(tmp_path / "model").classes_, new.classes_)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    aside = tmp_path / ".model.sktfm-old-0" / "folder"
    aside.parent.mkdir()
    os.rename(tmp_path / "model", aside)  # as if killed between the renames
    with pytest.raises(ValueError, match="interrupted; the previous model is in .*sktfm-old-0"):
        sktfm.load(tmp_path / "model")
