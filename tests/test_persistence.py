"""sktfm.persistence: registered classes save and restore themselves."""

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

import sktfm
from sktfm import TransformerClassifier
from sktfm.estimators._encoder_base import BaseEncoderEstimator
from sktfm.persistence import Persistable, is_persistable, registered_class

FIXTURES = Path(__file__).parent / "fixtures"
FORMAT_1 = FIXTURES / "saved_format1"
EXPECTED = json.loads((FORMAT_1 / "expected.json").read_text())
#: Written by tests/fixtures/make_saved_format2.py: the same models, saved in
#: format 2 (a manifest, no fit plan) by the sktfm of EXPECTED_2["commit"].
FORMAT_2 = FIXTURES / "saved_format2"
EXPECTED_2 = json.loads((FORMAT_2 / "expected.json").read_text())
OLDER = {1: (FORMAT_1, EXPECTED), 2: (FORMAT_2, EXPECTED_2)}


def _probe(kind, expected=EXPECTED):
    data = expected["probe"][kind]
    return data if kind in ("text", "src") else np.asarray(data)


@pytest.mark.parametrize(
    "version, name", [(v, name) for v, (_, e) in OLDER.items() for name in sorted(e["expected"])]
)
def test_folders_saved_in_older_formats_still_load(version, name):
    # Format 1: written by tests/fixtures/make_saved_format1.py with the sktfm
    # of commit EXPECTED["commit"] (before sktfm.persistence existed).
    root, expected_outputs = OLDER[version]
    expected = expected_outputs["expected"][name]
    model = sktfm.load(root / name)
    output = getattr(model, expected["method"])(_probe(expected["input"], expected_outputs))
    if name.startswith("tokenizer"):
        assert [ids.tolist() for ids in output] == expected["output"]
    elif name == "cleaner":
        assert list(output) == expected["output"]
    else:
        assert_allclose(np.asarray(output, dtype=np.float64), expected["output"], atol=1e-5)


@pytest.mark.parametrize("version", sorted(OLDER))
@pytest.mark.parametrize(
    "name", ["classifier_text", "regressor_tabular", "encoder_sequence", "translator"]
)
def test_older_folders_get_the_plan_of_their_resolved_attributes(version, name):
    model = sktfm.load(OLDER[version][0] / name)
    plan = model._fit_plan
    assert (plan.budget.max_epochs, plan.budget.lr) == (model.max_epochs_, model.lr_)
    assert (plan.net.max_epochs, plan.net.lr, plan.net.patience) == (
        model.max_epochs_,
        model.lr_,
        model.patience_,
    )
    if name == "translator":
        assert plan.translation.share_vocab is model.share_vocab_ is True  # share_vocab=True
    elif version == 2:  # format 1 predates the resolved regularisation
        assert plan.regularisation.dropout == model.dropout_


def test_a_saved_model_holds_its_plan_and_loads_from_it(tmp_path, tiny_head, topic_texts):
    X, y = topic_texts
    model = TransformerClassifier(**dict(tiny_head, lr="auto", max_epochs="auto")).fit(X, y)
    model.save(tmp_path / "model")
    config = json.loads((tmp_path / "model" / "config.json").read_text())
    fitted = json.loads((tmp_path / "model" / "fitted.json").read_text())
    assert config["format"] == sktfm.io.SKTFM_FORMAT
    assert fitted["_fit_plan"]["class"] == "FitPlan"
    loaded = sktfm.load(tmp_path / "model")
    assert loaded._fit_plan == model._fit_plan
    assert loaded._fit_plan.deadline is None and loaded._fit_plan.net.callbacks is None
    assert (loaded.lr_, loaded.max_epochs_) == (model._fit_plan.net.lr, model.max_epochs_)
    assert_allclose(loaded.predict_proba(X), model.predict_proba(X), atol=1e-6)


@pytest.mark.parametrize(
    "path, value, match",
    [
        (("budget", "max_epochs"), "24", "Budget.max_epochs must be"),
        (("net", "lr"), None, "NetSettings.lr must be"),
        (("regularisation", "dropout"), True, "Regularisation.dropout must be"),
        (("net", "callbacks"), {"__sktfm__": "path", "path": "x"}, "NetSettings.callbacks"),
    ],
)
def test_a_saved_plan_of_the_wrong_types_is_refused(
    tmp_path, tiny_head, topic_texts, path, value, match
):
    from sktfm.persistence import write_manifest

    X, y = topic_texts
    TransformerClassifier(**tiny_head).fit(X, y).save(tmp_path / "model")
    fitted_file = tmp_path / "model" / "fitted.json"
    fitted = json.loads(fitted_file.read_text())
    record, name = path
    fitted["_fit_plan"]["fields"][record]["fields"][name] = value
    fitted_file.write_text(json.dumps(fitted))
    write_manifest(tmp_path / "model")  # an edit made as sktfm writes: only the plan is wrong
    with pytest.raises(ValueError, match=match):
        sktfm.load(tmp_path / "model")


def test_a_plan_with_an_unknown_record_is_refused(tmp_path, tiny_head, topic_texts):
    from sktfm.persistence import write_manifest

    X, y = topic_texts
    TransformerClassifier(**tiny_head).fit(X, y).save(tmp_path / "model")
    fitted_file = tmp_path / "model" / "fitted.json"
    fitted = json.loads(fitted_file.read_text())
    fitted["_fit_plan"]["class"] = "Popen"
    fitted_file.write_text(json.dumps(fitted))
    write_manifest(tmp_path / "model")
    with pytest.raises(ValueError, match="Unknown record 'Popen'"):
        sktfm.load(tmp_path / "model")


def test_format_1_translator_defaults_to_its_saved_stacks():
    model = sktfm.load(FORMAT_1 / "translator")
    assert model.n_encoder_layers == model.n_decoder_layers == 1
    assert len(model.module_.encoder.layers) == len(model.module_.decoder.layers) == 1


class ShortlistClassifier(TransformerClassifier):
    """A fifth estimator: defining it is all it takes to make it loadable."""

    def predict_top(self, X):
        return self.classes_[np.argsort(-self.predict_proba(X), axis=1)[:, :2]]


def test_a_new_estimator_saves_and_loads_with_no_edit_elsewhere(tmp_path, tiny_head, topic_texts):
    X, y = topic_texts
    model = ShortlistClassifier(**tiny_head).fit(X, y)
    model.save(tmp_path / "model")
    loaded = sktfm.load(tmp_path / "model")
    assert type(loaded) is ShortlistClassifier
    assert registered_class("ShortlistClassifier") is ShortlistClassifier
    np.testing.assert_array_equal(loaded.predict_top(X), model.predict_top(X))


def test_abstract_bases_are_not_loadable(tmp_path):
    assert not is_persistable(object())
    with pytest.raises(ValueError, match="Unknown class 'BaseEncoderEstimator'"):
        registered_class(BaseEncoderEstimator.__name__)
    with pytest.raises(ValueError, match="Unknown class 'Unpickler'"):
        registered_class("Unpickler")


def test_registration_happens_at_class_definition():
    class Sketch(Persistable):
        def get_params(self, deep=False):
            return {}

    assert registered_class("Sketch") is Sketch
    assert is_persistable(Sketch())

    class Draft(Persistable, register=False):
        pass

    with pytest.raises(ValueError, match="Unknown class 'Draft'"):
        registered_class("Draft")


def test_pickles_round_trip(tiny_head, topic_texts):
    X, y = topic_texts
    model = TransformerClassifier(**tiny_head).fit(X, y)
    restored = pickle.loads(pickle.dumps(model))
    assert_allclose(restored.predict_proba(X), model.predict_proba(X), rtol=0, atol=0)
    assert restored.module_ is restored.net_.module_
