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

FORMAT_1 = Path(__file__).parent / "fixtures" / "saved_format1"
EXPECTED = json.loads((FORMAT_1 / "expected.json").read_text())


def _probe(kind):
    data = EXPECTED["probe"][kind]
    return data if kind in ("text", "src") else np.asarray(data)


@pytest.mark.parametrize("name", sorted(EXPECTED["expected"]))
def test_folders_saved_before_the_redesign_still_load(name):
    # Written by tests/fixtures/make_saved_format1.py with the sktfm of commit
    # EXPECTED["commit"] (before sktfm.persistence existed).
    expected = EXPECTED["expected"][name]
    model = sktfm.load(FORMAT_1 / name)
    output = getattr(model, expected["method"])(_probe(expected["input"]))
    if name.startswith("tokenizer"):
        assert [ids.tolist() for ids in output] == expected["output"]
    elif name == "cleaner":
        assert list(output) == expected["output"]
    else:
        assert_allclose(np.asarray(output, dtype=np.float64), expected["output"], atol=1e-5)


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
