"""Parameters are defined once: constraints and docstrings follow the signature."""

import inspect
import re

import pytest

from sktfm import Seq2SeqTranslator, TransformerClassifier, TransformerEncoder, TransformerRegressor
from sktfm.estimators._sections import SECTIONS, section_of
from sktfm.estimators._signature import Parameter

ESTIMATORS = [TransformerEncoder, TransformerClassifier, TransformerRegressor, Seq2SeqTranslator]


def _documented(cls):
    """``{name: default text}`` of the numpydoc Parameters section."""
    section = cls.__doc__.split("Parameters\n    ----------\n")[1].split("\n    Attributes")[0]
    return dict(re.findall(r"^    (\w+) : .*, default=(.*)$", section, flags=re.MULTILINE))


def _signature(cls):
    return {name: arg.default for name, arg in inspect.signature(cls).parameters.items()}


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_docstring_documents_every_parameter_with_its_default(cls):
    documented, signature = _documented(cls), _signature(cls)
    assert list(documented) == list(signature)  # every one, in signature order
    for name, default in signature.items():
        expected = f'"{default}"' if isinstance(default, str) else repr(default)
        assert documented[name] == expected, name


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_every_parameter_is_validated(cls):
    assert set(cls._parameter_constraints) == set(_signature(cls))


def test_translator_documents_the_precisions_it_accepts():
    # The hand-copied docstring once listed 3 of the 5 accepted values.
    line = next(
        line
        for line in Seq2SeqTranslator.__doc__.splitlines()
        if line.strip().startswith("precision :")
    )
    accepted = Seq2SeqTranslator._parameter_constraints["precision"][0].options
    assert len(accepted) == 5
    for value in accepted:
        assert f'"{value}"' in line


def test_shared_parameters_are_shared():
    translator, classifier = _signature(Seq2SeqTranslator), _signature(TransformerClassifier)
    shared = {
        "d_model",
        "n_heads",
        "n_layers",
        "dim_feedforward",
        "dropout",
        "activation",
        "norm_first",
        "positional",
        "max_len",
        "pooling",
        "vocab_size",
        "truncation",
        "batch_size",
        "lr",
        "weight_decay",
        "grad_clip",
        "validation_fraction",
        "patience",
        "device",
        "precision",
        "random_state",
        "verbose",
        "callbacks",
        "checkpoint_dir",
        "warm_start",
        "strategy",
        "n_processes",
        "compile",
    }
    assert shared <= set(translator) & set(classifier)
    assert "pretrained" not in translator  # what does not apply is not taken
    assert {"n_encoder_layers", "n_decoder_layers"} <= set(translator)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_parameters_come_section_by_section(cls):
    # The signature (and so the docstring) lists the parameters section by
    # section, which the documentation site shows as headings.
    sections = [section_of(name) for name in _signature(cls)]
    assert "Other" not in sections  # every parameter of sktfm's own has a section
    assert sections == sorted(sections, key=list(SECTIONS).index)
    assert {"Architecture", "Training", "Scale-out"} <= set(sections)


def test_a_subclass_parameter_without_a_section_comes_last():
    class Shortlist(TransformerClassifier, register=False):
        _parameters = {
            "top_k": Parameter(2, [int], "int", "Labels kept."),
            **TransformerClassifier._parameters,
        }

    names = list(_signature(Shortlist))
    assert names[-1] == "top_k" and section_of("top_k") == "Other"
    assert names[:-1] == list(_signature(TransformerClassifier))
