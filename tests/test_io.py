"""sktfm.io: save/load as JSON + safetensors, with no pickle on load."""

import json
import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from numpy.testing import assert_array_equal
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
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
from sktfm.io import SKTFM_FORMAT, save
from sktfm.persistence import write_manifest

TINY = dict(
    d_model=16,
    n_heads=2,
    n_layers=1,
    dim_feedforward=32,
    max_epochs=2,
    ema_decay=None,
    device="cpu",
    random_state=0,
)
#: TINY for a classifier or regressor: one model, not "auto"'s pair for text.
TINY_HEAD = dict(TINY, ensemble_size=1)
TINY_TRANSLATOR = dict(
    d_model=16,
    n_heads=2,
    n_encoder_layers=1,
    n_decoder_layers=1,
    dim_feedforward=32,
    max_epochs=2,
    device="cpu",
    random_state=0,
)
TEXTS = [
    "the cat sat",
    "a dog ran",
    "the dog sat down",
    "a cat ran off",
    "my cat is here",
    "your dog is there",
] * 3
LABELS = ["pet", "pet", "walk", "walk", "home", "home"] * 3
TARGETS = [
    "le chat",
    "un chien",
    "le chien assis",
    "un chat court",
    "mon chat est ici",
    "ton chien est la",
] * 3


class _RefusingUnpickler(pickle.Unpickler):
    def __init__(self, *args, **kwargs):
        raise AssertionError("pickle.Unpickler was used")


def _refuse(*args, **kwargs):
    raise AssertionError("pickle or torch.load was called")


@pytest.fixture
def no_pickle(monkeypatch):
    """Wrap sktfm.load and load_pipeline so that any pickle call in them fails.

    Patched around the loads only: fitting may import modules (torch._dynamo)
    that subclass pickle.Unpickler at import time.
    """

    def guarded(function):
        def run(*args, **kwargs):
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(pickle, "loads", _refuse)
                patch.setattr(pickle, "load", _refuse)
                patch.setattr(pickle, "Unpickler", _RefusingUnpickler)
                patch.setattr(torch, "load", _refuse)
                return function(*args, **kwargs)

        return run

    monkeypatch.setattr(sktfm, "load", guarded(sktfm.load))
    monkeypatch.setattr(sktfm, "load_pipeline", guarded(sktfm.load_pipeline))


def _round_trip(estimator, tmp_path, **load_kwargs):
    estimator.save(tmp_path / "model")
    return sktfm.load(tmp_path / "model", **load_kwargs)


def _tabular():
    rng = np.random.RandomState(0)
    return pd.DataFrame(rng.normal(size=(24, 3)), columns=["a", "b", "c"])


def _check_common(original, loaded):
    assert type(loaded) is type(original)
    assert loaded.get_params().keys() == original.get_params().keys()
    assert len(loaded.history_) == len(original.history_)
    assert loaded.history_[-1, "train_loss"] == pytest.approx(original.history_[-1, "train_loss"])
    assert loaded.n_iter_ == original.n_iter_
    assert loaded.device_ == "cpu"
    assert not loaded.module_.training
    assert loaded.net_.module_ is loaded.module_


# ------------------------------------------------------------------ round trips
def test_encoder_text_round_trip(tmp_path, no_pickle):
    encoder = TransformerEncoder(**TINY).fit(TEXTS)
    loaded = _round_trip(encoder, tmp_path)
    _check_common(encoder, loaded)
    assert_array_equal(loaded.transform(TEXTS), encoder.transform(TEXTS))
    assert loaded.tokenizer_.vocabulary_ == encoder.tokenizer_.vocabulary_


def test_encoder_tabular_dataframe_round_trip(tmp_path, no_pickle):
    X = _tabular()
    encoder = TransformerEncoder(**TINY).fit(X)
    loaded = _round_trip(encoder, tmp_path)
    _check_common(encoder, loaded)
    assert_array_equal(loaded.feature_names_in_, encoder.feature_names_in_)
    assert loaded.n_features_in_ == 3
    assert_array_equal(loaded.transform(X), encoder.transform(X))
    assert_array_equal(loaded.get_feature_names_out(), encoder.get_feature_names_out())


@pytest.mark.parametrize(
    "labels",
    [
        LABELS,
        [1, 1, 2, 2, 7, 7] * 3,
        [1.0, 1.0, 2.0, 2.0, -3.0, -3.0] * 3,
        [True, True, False, False, True, False] * 3,
        np.array(LABELS, dtype=object),
    ],
)
def test_classifier_round_trip_keeps_classes(tmp_path, no_pickle, labels):
    clf = TransformerClassifier(**TINY_HEAD).fit(TEXTS, labels)
    loaded = _round_trip(clf, tmp_path)
    _check_common(clf, loaded)
    assert_array_equal(loaded.classes_, clf.classes_)
    assert loaded.classes_.dtype == clf.classes_.dtype
    assert_array_equal(loaded.predict(TEXTS), clf.predict(TEXTS))
    assert_array_equal(loaded.predict_proba(TEXTS), clf.predict_proba(TEXTS))


def test_regressor_multi_output_round_trip(tmp_path, no_pickle):
    X = _tabular()
    y = np.c_[X["a"] - X["b"], X["c"] * 2.0]
    reg = TransformerRegressor(**TINY_HEAD).fit(X, y)
    loaded = _round_trip(reg, tmp_path)
    _check_common(reg, loaded)
    assert_array_equal(loaded.predict(X), reg.predict(X))
    assert loaded.predict(X).shape == (24, 2)


def test_regressor_sequence_round_trip(tmp_path, no_pickle):
    X = np.random.RandomState(0).normal(size=(12, 5, 2))
    reg = TransformerRegressor(**TINY_HEAD).fit(X, X.sum(axis=(1, 2)))
    loaded = _round_trip(reg, tmp_path)
    assert_array_equal(loaded.predict(X), reg.predict(X))


@pytest.mark.parametrize("share_vocab", [False, True])
def test_translator_round_trip(tmp_path, no_pickle, share_vocab):
    model = Seq2SeqTranslator(**TINY_TRANSLATOR, share_vocab=share_vocab)
    model.fit(TEXTS, TARGETS)
    loaded = _round_trip(model, tmp_path)
    _check_common(model, loaded)
    assert_array_equal(loaded.predict(TEXTS[:6]), model.predict(TEXTS[:6]))
    assert_array_equal(loaded.transform(TEXTS), model.transform(TEXTS))
    assert (loaded.source_tokenizer_ is loaded.target_tokenizer_) == share_vocab
    if share_vocab:  # tied embeddings come back tied
        module = loaded.module_
        assert module.output.weight.data_ptr() == (module.tgt_embedding.embedding.weight.data_ptr())


def test_translator_tokenizer_pair_param(tmp_path, no_pickle):
    model = Seq2SeqTranslator(**TINY_TRANSLATOR, tokenizer=("char", Tokenizer("word")))
    model.fit(TEXTS, TARGETS)
    loaded = _round_trip(model, tmp_path)
    assert loaded.tokenizer[0] == "char"
    assert isinstance(loaded.tokenizer[1], Tokenizer)
    assert loaded.tokenizer[1].get_params() == model.tokenizer[1].get_params()
    assert_array_equal(loaded.predict(TEXTS[:4]), model.predict(TEXTS[:4]))


@pytest.mark.parametrize("kind", ["word", "char", "bpe"])
def test_tokenizer_round_trip(tmp_path, no_pickle, kind):
    tok = Tokenizer(kind, vocab_size=60, output="padded", max_len=12).fit(TEXTS)
    loaded = _round_trip(tok, tmp_path)
    assert loaded.get_params() == tok.get_params()
    assert_array_equal(
        loaded.transform(TEXTS + ["[PAD] unseen"]), tok.transform(TEXTS + ["[PAD] unseen"])
    )
    assert loaded.vocabulary_ == tok.vocabulary_
    assert loaded.vocab_size_ == tok.vocab_size_
    assert loaded.input_kind_ == tok.input_kind_
    ids = tok.transform(TEXTS)
    assert_array_equal(loaded.decode(ids), tok.decode(ids))


def test_tokenizer_columns_round_trip(tmp_path, no_pickle):
    X = pd.DataFrame({"w1": ["a", "b", "c"], "w2": ["b", "c", "a"]})
    tok = Tokenizer().fit(X)
    loaded = _round_trip(tok, tmp_path)
    assert_array_equal(loaded.feature_names_in_, tok.feature_names_in_)
    assert loaded.n_features_in_ == 2
    assert_array_equal(list(loaded.transform(X)), list(tok.transform(X)))


def test_tokenizer_instance_param_round_trip(tmp_path, no_pickle):
    clf = TransformerClassifier(**TINY_HEAD, tokenizer=Tokenizer("char", vocab_size=40))
    clf.fit(TEXTS, LABELS)
    loaded = _round_trip(clf, tmp_path)
    assert isinstance(loaded.tokenizer, Tokenizer)
    assert loaded.tokenizer.get_params() == clf.tokenizer.get_params()
    assert_array_equal(loaded.predict_proba(TEXTS), clf.predict_proba(TEXTS))


def test_text_cleaner_round_trip(tmp_path, no_pickle):
    raw = ["<b>Hello</b>   World", "ＡＢＣ"]
    cleaner = TextCleaner(lowercase=True, normalize="NFC")
    loaded = _round_trip(cleaner, tmp_path)  # stateless: no fit needed
    assert loaded.get_params() == cleaner.get_params()
    assert_array_equal(loaded.transform(raw), cleaner.transform(raw))
    frame = pd.DataFrame({"title": raw, "body": raw})
    cleaner_2d = TextCleaner().fit(frame)
    loaded_2d = _round_trip(cleaner_2d, tmp_path)
    assert_array_equal(loaded_2d.feature_names_in_, ["title", "body"])
    assert_array_equal(loaded_2d.transform(frame), cleaner_2d.transform(frame))


# ---------------------------------------------------------------- file format
def test_folder_holds_only_json_and_safetensors(tmp_path):
    model = Seq2SeqTranslator(**TINY_TRANSLATOR).fit(TEXTS, TARGETS)
    model.save(tmp_path / "model")
    files = sorted(p.name for p in (tmp_path / "model").iterdir())
    assert files == ["config.json", "fitted.json", "manifest.json", "model.safetensors"]
    for file in (tmp_path / "model").iterdir():
        data = file.read_bytes()
        assert not data.startswith(b"\x80")  # pickle protocol 2+ header
        assert b"PK\x03\x04" not in data[:4]  # not a torch.save zip archive
    config = json.loads((tmp_path / "model" / "config.json").read_text())
    assert config["format"] == SKTFM_FORMAT
    assert config["class"] == "Seq2SeqTranslator"
    assert set(config["versions"]) >= {"sktfm", "torch", "sklearn", "skorch", "tokenizers"}
    assert config["params"]["d_model"] == 16


def test_callbacks_are_dropped_with_a_warning(tmp_path):
    from skorch.callbacks import EpochTimer

    clf = TransformerClassifier(**TINY_HEAD, callbacks=[("timer2", EpochTimer())])
    clf.fit(TEXTS, LABELS)
    with pytest.warns(UserWarning, match="callbacks are not saved"):
        clf.save(tmp_path / "model")
    loaded = sktfm.load(tmp_path / "model")
    assert loaded.callbacks is None
    assert_array_equal(loaded.predict(TEXTS), clf.predict(TEXTS))


# -------------------------------------------------------------------- devices
def test_trained_on_cuda_loads_on_cpu(tmp_path, monkeypatch):
    clf = TransformerClassifier(**TINY_HEAD).fit(TEXTS, LABELS)
    clf.device_ = "cuda"  # as if trained on a GPU: the config records it
    clf.save(tmp_path / "model")
    fitted = json.loads((tmp_path / "model" / "fitted.json").read_text())
    assert fitted["device_"] == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    loaded = sktfm.load(tmp_path / "model", device="auto")
    assert loaded.device_ == "cpu"
    assert loaded.net_.device == "cpu"
    assert all(p.device.type == "cpu" for p in loaded.module_.parameters())
    assert_array_equal(loaded.predict(TEXTS), clf.predict(TEXTS))


def test_cuda_requested_without_cuda_raises(tmp_path, monkeypatch):
    clf = TransformerClassifier(**TINY_HEAD).fit(TEXTS, LABELS)
    clf.save(tmp_path / "model")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="CUDA is not available"):
        sktfm.load(tmp_path / "model", device="cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_load_on_cuda(tmp_path):
    clf = TransformerClassifier(**TINY_HEAD).fit(TEXTS, LABELS)
    loaded = _round_trip(clf, tmp_path, device="cuda")
    assert loaded.device_.startswith("cuda")
    assert next(loaded.module_.parameters()).is_cuda
    assert_array_equal(loaded.predict(TEXTS), clf.predict(TEXTS))


# --------------------------------------------------------------------- errors
@pytest.fixture(scope="module")
def saved_tokenizer(tmp_path_factory):
    path = tmp_path_factory.mktemp("tok") / "model"
    Tokenizer().fit(TEXTS).save(path)
    return path


def _edit_config(path, **changes):
    config = json.loads((path / "config.json").read_text())
    config.update(changes)
    for key in [key for key, value in changes.items() if value is None]:
        del config[key]
    (path / "config.json").write_text(json.dumps(config))
    write_manifest(path)  # an edit made as sktfm writes, to reach the check behind


def test_newer_format_raises(tmp_path, saved_tokenizer):
    import shutil

    path = shutil.copytree(saved_tokenizer, tmp_path / "copy")
    _edit_config(path, format=SKTFM_FORMAT + 1)
    with pytest.raises(
        ValueError,
        match=rf"newer sktfm \(format {SKTFM_FORMAT + 1}\)"
        r".*upgrade sktfm",
    ):
        sktfm.load(path)


@pytest.mark.parametrize(
    "format_, match",
    [(None, "no format version"), (0, "unreadable format"), ("1", "unreadable format")],
)
def test_missing_or_bad_format_raises(tmp_path, saved_tokenizer, format_, match):
    import shutil

    path = shutil.copytree(saved_tokenizer, tmp_path / "copy")
    _edit_config(path, format=format_)
    with pytest.raises(ValueError, match=match):
        sktfm.load(path)


def test_unknown_class_raises(tmp_path, saved_tokenizer):
    import shutil

    path = shutil.copytree(saved_tokenizer, tmp_path / "copy")
    _edit_config(path, **{"class": "os.system"})
    with pytest.raises(ValueError, match="Unknown class 'os.system'"):
        sktfm.load(path)


def test_not_a_folder_raises(tmp_path):
    with pytest.raises(ValueError, match="not a folder written by sktfm.save"):
        sktfm.load(tmp_path)


@pytest.mark.parametrize(
    "estimator",
    [
        TransformerEncoder(),
        TransformerClassifier(),
        TransformerRegressor(),
        Seq2SeqTranslator(),
        Tokenizer(),
    ],
)
def test_unfitted_save_raises(tmp_path, estimator):
    with pytest.raises(NotFittedError):
        save(estimator, tmp_path / "model")
    assert not (tmp_path / "model").exists()


def test_save_rejects_foreign_estimators(tmp_path):
    with pytest.raises(TypeError, match="save_pipeline"):
        save(make_pipeline(TextCleaner()), tmp_path / "model")


# ------------------------------------------------------------------- pipelines
def test_sktfm_pipeline_round_trip_without_pickle(tmp_path, no_pickle):
    pipe = make_pipeline(TextCleaner(lowercase=True), TransformerClassifier(**TINY_HEAD))
    pipe.fit(TEXTS, LABELS)
    sktfm.save_pipeline(pipe, tmp_path / "pipe")
    files = [p for p in (tmp_path / "pipe").rglob("*") if p.is_file()]
    assert {p.suffix for p in files} == {".json", ".safetensors"}
    loaded = sktfm.load_pipeline(tmp_path / "pipe")
    assert [name for name, _ in loaded.steps] == [name for name, _ in pipe.steps]
    assert_array_equal(loaded.predict_proba(TEXTS), pipe.predict_proba(TEXTS))
    assert_array_equal(loaded.classes_, pipe.classes_)


def test_mixed_pipeline_needs_allow_pickle(tmp_path):
    pipe = make_pipeline(
        TextCleaner(), TransformerEncoder(**TINY), PCA(n_components=2), LogisticRegression()
    )
    pipe.fit(TEXTS, LABELS)
    sktfm.save_pipeline(pipe, tmp_path / "pipe")
    with pytest.raises(ValueError, match=r"\['pca', 'logisticregression'\].*allow_pickle"):
        sktfm.load_pipeline(tmp_path / "pipe")
    loaded = sktfm.load_pipeline(tmp_path / "pipe", allow_pickle=True)
    assert_array_equal(loaded.predict(TEXTS), pipe.predict(TEXTS))
    assert_array_equal(loaded.predict_proba(TEXTS), pipe.predict_proba(TEXTS))


# ----------------------------------------------------------- after loading
def test_loaded_classifier_continues_training(tmp_path):
    clf = TransformerClassifier(**TINY_HEAD).fit(TEXTS, LABELS)
    loaded = _round_trip(clf, tmp_path)
    loaded.partial_fit(TEXTS, LABELS)
    assert len(loaded.history_) == len(clf.history_) + 1 == loaded.n_iter_


def test_loaded_encoder_continues_with_a_new_head(tmp_path):
    encoder = TransformerEncoder(**TINY).fit(TEXTS)
    loaded = _round_trip(encoder, tmp_path)
    before = loaded.transform(TEXTS)
    with pytest.warns(UserWarning, match="new head on the trained backbone"):
        loaded.partial_fit(TEXTS)
    assert loaded.n_iter_ == encoder.n_iter_ + 1
    assert loaded.module_ is loaded.net_.module_  # still the bare backbone
    assert not np.array_equal(loaded.transform(TEXTS), before)  # the backbone trained


def test_history_drops_values_json_cannot_hold(tmp_path):
    clf = TransformerClassifier(**TINY_HEAD).fit(TEXTS, LABELS)
    clf.history_.record("not_json", object())
    clf.history_.record("score", np.float32(0.5))
    loaded = _round_trip(clf, tmp_path)
    assert "not_json" not in loaded.history_[-1]
    assert loaded.history_[-1, "score"] == 0.5


@pytest.mark.parametrize(
    "value, match",
    [
        ({"__sktfm__": "eval", "source": "1"}, "Unknown value tag 'eval'"),
        (
            {"__sktfm__": "estimator", "id": 5, "class": "Pipeline", "params": {}, "fitted": {}},
            "Unknown class 'Pipeline'",
        ),
    ],
)
def test_fitted_json_builds_only_known_types(tmp_path, saved_tokenizer, value, match):
    import shutil

    path = shutil.copytree(saved_tokenizer, tmp_path / "copy")
    fitted = json.loads((path / "fitted.json").read_text())
    fitted["extra_"] = value
    (path / "fitted.json").write_text(json.dumps(fitted))
    write_manifest(path)
    with pytest.raises(ValueError, match=match):
        sktfm.load(path)
