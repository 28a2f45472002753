"""Fuzz saved folders: mutate valid ones and check that loading them stays safe.

Run as a script (``python tests/folder_fuzzer.py WORKDIR N_MUTATIONS SEED``),
in a process of its own: it caps its address space, fits one tiny model of
each kind, saves it (estimators, a tokenizer, a cleaner, a pipeline and an
ONNX export), then mutates copies of those folders ``N_MUTATIONS`` times:
truncated files, flipped bytes, JSON values swapped for values of other
types, sizes or paths, tensor shapes changed in the safetensors header,
files replaced by symlinks, FIFOs or folders, paths leading out of the
folder. Half the mutations are "re-signed" (the manifest rewritten to match,
as someone who crafts a folder would), so that the checks behind the
manifest are reached too.

Each load must either raise a ValueError or return a model; an unsigned
mutation that loads must predict exactly as the original (the manifest
vouches for every byte), a re-signed one may be a different model but must
predict without any error other than a ValueError. Throughout, an audit hook
records every file opened: none may lie outside the folder being loaded
(a decoy copy of each folder lies beside it, as the target of the planted
symlinks and paths), and pickle may not be called. The summary is printed
as one JSON line; the exit status is 1 when a check failed.
"""

import hashlib
import json
import os
import pickle
import random
import resource
import shutil
import sys
import traceback
from pathlib import Path

MEMORY_CAP = 6 * 2**30


class CodeRan(BaseException):
    """pickle was called: not an Exception, so that no handler can swallow it."""


# ------------------------------------------------------------- the models
def make_folders(root):
    """Save one fitted object of each kind under ``root``; return name -> (folder, check)."""
    import numpy as np
    import torch
    from sklearn.pipeline import make_pipeline

    import sktfm
    from sktfm import (
        Seq2SeqTranslator,
        TextCleaner,
        Tokenizer,
        TransformerClassifier,
        TransformerEncoder,
        TransformerRegressor,
    )
    from sktfm.datasets import make_topic_texts

    torch.manual_seed(0)
    tiny = dict(d_model=8, n_heads=2, n_layers=1, dim_feedforward=16, max_epochs=1)
    texts, labels = make_topic_texts(40, random_state=0)
    rows = np.random.default_rng(0).normal(size=(40, 3))
    objects = {
        "classifier": (TransformerClassifier(**tiny).fit(texts, labels), texts, "predict_proba"),
        "regressor": (TransformerRegressor(**tiny).fit(rows, rows[:, 0]), rows, "predict"),
        "encoder": (TransformerEncoder(**tiny).fit(texts), texts, "transform"),
        "translator": (
            Seq2SeqTranslator(**tiny, vocab_size=60).fit(texts[:20], texts[:20]),
            texts[:4],
            "predict",
        ),
        "tokenizer": (Tokenizer(kind="bpe", vocab_size=60).fit(texts), texts, "transform"),
        "cleaner": (TextCleaner(lowercase=True).fit(texts), texts, "transform"),
        "pipeline": (
            make_pipeline(TextCleaner(), TransformerClassifier(**tiny)).fit(texts, labels),
            texts,
            "predict_proba",
        ),
    }
    folders = {}
    for name, (model, X, method) in objects.items():
        folder = root / "pristine" / name
        if name == "pipeline":
            sktfm.save_pipeline(model, folder)
        else:
            model.save(folder)
        folders[name] = (folder, X, method)
    try:
        from sktfm.onnx import OnnxPredictor  # noqa: F401

        sktfm.export_onnx(objects["classifier"][0], root / "pristine" / "onnx")
        folders["onnx"] = (root / "pristine" / "onnx", texts, "predict_proba")
    except ImportError:
        pass
    return folders


def load(kind, folder):
    import sktfm

    if kind == "pipeline":
        return sktfm.load_pipeline(folder)
    if kind == "onnx":
        from sktfm.onnx import OnnxPredictor

        return OnnxPredictor(folder)
    return sktfm.load(folder)


def outputs(model, X, method):
    import numpy as np

    result = getattr(model, method)(X)
    if isinstance(result, list):
        return [item if isinstance(item, str) else np.asarray(item).tolist() for item in result]
    return result


def same(a, b):
    import numpy as np

    if isinstance(a, list) or isinstance(b, list):
        return json.dumps(a, default=str) == json.dumps(b, default=str)
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b)


# ------------------------------------------------------------- mutations
def files_of(folder):
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def evil_values(outside):
    return [
        None,
        [],
        {},
        "",
        -1,
        0,
        10**9,
        10**18,
        1e308,
        True,
        "x" * 70_000,
        "../outside/config.json",
        str(outside / "config.json"),
        {"__sktfm__": "ndarray", "dtype": "|S1000000000", "shape": [2], "data": ["a", "b"]},
        {"__sktfm__": "ndarray", "dtype": "<f8", "shape": [10**9], "data": []},
        {"__sktfm__": "ndarray", "dtype": "|V100000000", "shape": [1], "data": [0]},
        {"__sktfm__": "ndarray", "dtype": "O", "shape": [1], "data": [{"__sktfm__": "eval"}]},
        {"__sktfm__": "estimator", "id": 9, "class": "Pipeline", "params": {}, "fitted": {}},
        {"__sktfm__": "path", "path": str(outside)},
        {"__sktfm__": "ref", "id": 12345},
        {"__sktfm__": "random_state", "state": [1, 2]},
        {"__sktfm__": "hf_tokenizer", "json": "{not json"},
        {"__sktfm__": "scalar", "dtype": "|S1000000000", "value": "a"},
    ]


def json_nodes(value, path=()):
    """Every (path, value) in a JSON document."""
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from json_nodes(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from json_nodes(item, (*path, i))


def replace_at(document, path, new):
    if not path:
        return new
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = new
    return document


def mutate(folder, outside, rng):
    """Apply one random mutation to ``folder``; return (description, resign)."""
    files = files_of(folder)
    file = rng.choice(files)
    relative = file.relative_to(folder).as_posix()
    op = rng.choice(
        ["truncate", "flip", "json", "json", "json", "delete_key", "shape", "symlink", "path"]
        + ["delete", "extra", "fifo", "directory"]
    )
    resign = rng.random() < 0.5
    if op == "json" or op == "delete_key":
        candidates = [f for f in files if f.suffix == ".json" and f.name != "manifest.json"]
        file = rng.choice(candidates)
        relative = file.relative_to(folder).as_posix()
        document = json.loads(file.read_text())
        nodes = list(json_nodes(document))
        path, value = rng.choice(nodes)
        if op == "delete_key":
            dicts = [(p, v) for p, v in nodes if isinstance(v, dict) and v]
            if dicts:
                path, value = rng.choice(dicts)
                key = rng.choice(sorted(value))
                del value[key]
                file.write_text(json.dumps(document))
                return f"delete key {key!r} at {list(path)} in {relative}", resign
        new = rng.choice(evil_values(outside))
        document = replace_at(document, path, new)
        file.write_text(json.dumps(document))
        return f"{relative}: {list(path)[-3:]} = {json.dumps(new)[:60]}", resign
    if op == "truncate":
        data = file.read_bytes()
        size = rng.randrange(0, max(1, len(data)))
        file.write_bytes(data[:size])
        return f"truncate {relative} to {size}", resign
    if op == "flip":
        data = bytearray(file.read_bytes())
        if not data:
            return f"flip nothing in empty {relative}", resign
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] ^= rng.randint(1, 255)
        file.write_bytes(bytes(data))
        return f"flip bytes of {relative}", resign
    if op == "shape":
        weights = [f for f in files if f.suffix in (".safetensors",)]
        if not weights:
            return mutate(folder, outside, rng)
        file = rng.choice(weights)
        data = file.read_bytes()
        size = int.from_bytes(data[:8], "little")
        header = json.loads(data[8 : 8 + size])
        name = rng.choice([key for key in header if key != "__metadata__"])
        shape = header[name]["shape"]
        if shape:
            i = rng.randrange(len(shape))
            shape[i] = rng.choice([shape[i] + 1, shape[i] * 2, 0, 10**9])
        else:
            header[name]["shape"] = [2]
        encoded = json.dumps(header).encode()
        file.write_bytes(len(encoded).to_bytes(8, "little") + encoded + data[8 + size :])
        return f"shape of {name} in {file.name} = {shape}", True
    if op == "symlink":
        decoy = outside / relative
        file.unlink()
        os.symlink(decoy, file)
        return f"{relative} -> symlink to the decoy outside", True
    if op == "path":
        return plant_path(folder, outside, rng), True
    if op == "delete":
        file.unlink()
        return f"delete {relative}", resign
    if op == "extra":
        (file.parent / "extra.json").write_text("{}")
        return f"extra file beside {relative}", resign
    if op == "fifo":
        file.unlink()
        os.mkfifo(file)
        return f"{relative} -> FIFO", resign
    file.unlink()
    file.mkdir()
    return f"{relative} -> folder", resign


def plant_path(folder, outside, rng):
    """Point a file name of a config (pipeline step, ONNX file) out of the folder."""
    evil = rng.choice(["../outside", str(outside), "steps/../../outside", "/etc/passwd", "a/../b"])
    if (folder / "pipeline.json").exists():
        config = json.loads((folder / "pipeline.json").read_text())
        step = rng.choice([s for s in config["steps"] if "dir" in s])
        step["dir"] = evil
        (folder / "pipeline.json").write_text(json.dumps(config))
        return f"pipeline step dir = {evil}"
    if (folder / "onnx_config.json").exists():
        config = json.loads((folder / "onnx_config.json").read_text())
        keys = [("file",)] + [(k, "file") for k in config if isinstance(config[k], dict)]
        keys = [k for k in keys if _get(config, k) is not None]
        key = rng.choice(keys)
        replace_at(config, key, evil if "/" in evil else f"../outside/{_get(config, key)}")
        (folder / "onnx_config.json").write_text(json.dumps(config))
        return f"onnx {list(key)} = {_get(config, key)}"
    fitted = json.loads((folder / "fitted.json").read_text())
    fitted["pretrained"] = {"__sktfm__": "path", "path": evil}
    (folder / "fitted.json").write_text(json.dumps(fitted))
    return f"fitted attribute pretrained = {evil}"


def _get(document, path):
    for key in path:
        if not isinstance(document, dict) or key not in document:
            return None
        document = document[key]
    return document


def resign(folder):
    """Rewrite the manifest to match the folder (following symlinks), as a forger would."""
    if not (folder / "manifest.json").exists() and not (folder / "manifest.json").is_symlink():
        return
    files = {}
    for file in sorted(folder.rglob("*")):
        relative = file.relative_to(folder).as_posix()
        if relative == "manifest.json" or not (file.is_file() or file.is_symlink()):
            continue
        try:
            data = file.read_bytes() if file.is_file() else b""
        except OSError:
            data = b""
        files[relative] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    manifest = folder / "manifest.json"
    if manifest.is_symlink() or not manifest.is_file():
        return
    manifest.write_text(json.dumps({"format": 1, "files": files}))


# ------------------------------------------------------------- the guards
class Audit:
    """Record every file opened; flag those outside the folder being loaded."""

    def __init__(self, allowed_roots):
        self.allowed_roots = [os.path.realpath(root) for root in allowed_roots]
        self.folder = None
        self.violations = []

    def __call__(self, event, args):
        if self.folder is None or event not in ("open", "os.listdir", "os.scandir"):
            return
        path = args[0]
        if isinstance(path, int) or path is None:
            return
        path = os.path.realpath(os.fsdecode(path))
        inside = path == self.folder or path.startswith(self.folder + os.sep)
        if not inside and not any(path.startswith(root) for root in self.allowed_roots):
            self.violations.append(path)


def refuse(*args, **kwargs):
    raise CodeRan("pickle was called while loading a folder")


class RefusingUnpickler:
    def __init__(self, *args, **kwargs):
        refuse()


def guarded(function, *args):
    """``function(*args)`` with every way into pickle closed."""
    import torch

    saved = pickle.load, pickle.loads, pickle.Unpickler, torch.load
    pickle.load = pickle.loads = torch.load = refuse
    pickle.Unpickler = RefusingUnpickler
    try:
        return function(*args)
    finally:
        pickle.load, pickle.loads, pickle.Unpickler, torch.load = saved


# ------------------------------------------------------------------ main
def run(workdir, n_mutations, seed):
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
    import torch

    torch.set_num_threads(1)
    root = Path(workdir)
    folders = make_folders(root)
    expected = {}
    for kind, (folder, X, method) in folders.items():
        expected[kind] = outputs(load(kind, folder), X, method)
    python_roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, "/proc", "/sys", "/dev/"}
    python_roots.update(p for p in sys.path if p and os.path.isdir(p) and p != os.getcwd())
    python_roots.discard(str(root))
    audit = Audit(sorted(python_roots))
    sys.addaudithook(audit)
    rng = random.Random(seed)
    counts = {"refused": 0, "loaded_same": 0, "loaded_other": 0}
    failures = []
    for i in range(n_mutations):
        kind = rng.choice(sorted(folders))
        pristine, X, method = folders[kind]
        case = root / "cases" / f"{i}"
        folder, outside = case / "model", case / "outside"
        shutil.copytree(pristine, folder)
        shutil.copytree(pristine, outside)  # the decoy: a valid folder to be lured to
        description, resigned = mutate(folder, outside, rng)
        if resigned:
            resign(folder)
        audit.folder, audit.violations = os.path.realpath(folder), []
        outcome = None
        try:
            try:
                model = guarded(load, kind, folder)
                got = guarded(outputs, model, X, method)
            finally:
                audit.folder = None
            if same(got, expected[kind]):
                outcome = "loaded_same"
            elif resigned:
                outcome = "loaded_other"
            else:
                failures.append(f"{kind}: {description}: loaded and predicts differently")
        except ValueError:
            outcome = "refused"
        except CodeRan as error:
            failures.append(f"{kind}: {description}: {error}")
        except Exception:  # anything but a ValueError is a failure to report
            failures.append(f"{kind}: {description}: {traceback.format_exc(limit=-3)}")
        if audit.violations:
            failures.append(f"{kind}: {description}: opened {sorted(set(audit.violations))}")
        if outcome:
            counts[outcome] += 1
        shutil.rmtree(case)
    print(json.dumps({"mutations": n_mutations, **counts, "failures": failures}))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
