"""ensemble_size and attention_dropout: what "auto" means, and what an ensemble predicts."""

import os
import pickle

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import InvalidParameterError

import sktfm
from sktfm import TransformerClassifier, TransformerEncoder, TransformerRegressor
from sktfm.estimators import _members
from sktfm.estimators._members import _usable_cores, n_parallel_members
from sktfm.nn import DeepEnsemble, TaskModel
from sktfm.training import budget

SMALL = dict(
    d_model=8, n_heads=2, n_layers=1, dim_feedforward=16, max_epochs=2, device="cpu", random_state=0
)
TEXTS = ["red apple pie", "green apple tart", "blue sky rain", "grey sky storm"] * 6
LABELS = [0, 0, 1, 1] * 6


def _rows(n=24, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 3))
    return X, X[:, 0] - X[:, 1]


def _attention_dropouts(module):
    return {layer.self_attn.dropout for layer in module.backbone.encoder.layers}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_text_from_scratch_trains_two_members_without_attention_dropout():
    model = TransformerClassifier(**SMALL).fit(TEXTS, LABELS)
    params = model.get_params()
    assert (params["ensemble_size"], params["attention_dropout"]) == ("auto", "auto")
    assert model.ensemble_size_ == budget.TEXT_ENSEMBLE_SIZE == 2
    assert model.attention_dropout_ == budget.TEXT_ATTENTION_DROPOUT == 0.0
    assert isinstance(model.module_, DeepEnsemble) and len(model.module_) == 2
    for member in model.module_.members:
        assert _attention_dropouts(member) == {0.0}
        assert member.backbone.encoder.layers[0].dropout1.p == model.dropout_ > 0


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_other_input_trains_one_model_whose_attention_drops_out_like_the_rest():
    X, y = _rows()
    model = TransformerRegressor(**SMALL).fit(X, y)
    assert model.ensemble_size_ == 1 and type(model.module_) is TaskModel
    assert model.attention_dropout_ == model.dropout_ == 0.1
    assert _attention_dropouts(model.module_) == {0.1}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_explicit_values_win():
    model = TransformerClassifier(**SMALL, ensemble_size=1, attention_dropout=0.2).fit(
        TEXTS, LABELS
    )
    assert type(model.module_) is TaskModel and _attention_dropouts(model.module_) == {0.2}
    X, y = _rows()
    model = TransformerRegressor(**SMALL, ensemble_size=3).fit(X, y)
    assert isinstance(model.module_, DeepEnsemble) and len(model.module_) == 3


def test_the_encoder_has_attention_dropout_but_no_ensemble():
    params = TransformerEncoder().get_params()
    assert params["attention_dropout"] == "auto" and "ensemble_size" not in params


@pytest.mark.parametrize("value", [0, 1.5, "two"])
def test_a_bad_ensemble_size_is_refused_by_name(value):
    with pytest.raises(InvalidParameterError, match="ensemble_size"):
        TransformerClassifier(ensemble_size=value).fit(TEXTS, LABELS)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_the_classifier_averages_its_members_probabilities(tmp_path):
    model = TransformerClassifier(**SMALL).fit(TEXTS, LABELS)
    proba = model.predict_proba(TEXTS)
    X_model = torch.as_tensor(np.stack(model._model_input(TEXTS)))
    with torch.no_grad():
        members = [member.eval()(X_model).softmax(-1).double() for member in model.module_.members]
    np.testing.assert_allclose(proba, torch.stack(members).mean(0).numpy(), rtol=1e-5, atol=1e-6)
    assert not np.allclose(members[0].numpy(), members[1].numpy())  # the members differ
    # Pickled and saved models come back as the same ensemble.
    np.testing.assert_allclose(pickle.loads(pickle.dumps(model)).predict_proba(TEXTS), proba)
    sktfm.save(model, tmp_path / "model")
    np.testing.assert_allclose(sktfm.load(tmp_path / "model").predict_proba(TEXTS), proba)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_the_regressor_averages_its_members_predictions():
    X, y = _rows()
    model = TransformerRegressor(**SMALL, ensemble_size=2).fit(X, y)
    single = []
    for member in model.module_.members:
        alone = pickle.loads(pickle.dumps(model))
        alone.net_.module_ = alone.module_ = member
        single.append(alone.predict(X))
    np.testing.assert_allclose(model.predict(X), np.mean(single, axis=0), rtol=1e-5, atol=1e-6)


def _texts(n=40):
    words = ["red apple pie", "green apple tart", "blue sky rain", "grey sky storm"]
    return [words[i % 4] for i in range(n)], [i % 4 // 2 for i in range(n)]


def _record_member_processes(monkeypatch, folder):
    """Make every member's fit leave a file named after the process it ran in."""
    fit_member = _members._fit_member

    def recording(*args, **kwargs):  # pickled by value into the worker
        (folder / str(os.getpid())).mkdir(parents=True, exist_ok=True)
        return fit_member(*args, **kwargs)

    monkeypatch.setattr(_members, "_fit_member", recording)
    return lambda: sorted(int(path.name) for path in folder.iterdir()) if folder.exists() else []


@pytest.mark.skipif(_usable_cores() < 2, reason="needs two cores to train side by side")
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_members_trained_in_two_processes_equal_members_trained_here(monkeypatch, tmp_path):
    X, y = _texts()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    pids_here = _record_member_processes(monkeypatch, tmp_path / "here")
    try:
        here = TransformerClassifier(**SMALL, n_processes=1).fit(X, y)
    finally:
        torch.set_num_threads(threads)
    assert pids_here() == [os.getpid()]  # both members, one after the other, here
    # Two threads to share: two worker processes of one thread each.
    monkeypatch.setattr("sktfm.estimators._members.get_threads", lambda: 2)
    assert n_parallel_members(2, device="cpu", strategy=None, n_processes=None, threads=2) == 2
    pids_apart = _record_member_processes(monkeypatch, tmp_path / "apart")
    apart = TransformerClassifier(**SMALL).fit(X, y)
    assert len(pids_apart()) == 2 and os.getpid() not in pids_apart()  # two other processes
    np.testing.assert_array_equal(apart.predict_proba(X), here.predict_proba(X))
    assert [len(h) for h in (apart.history_, here.history_)] == [SMALL["max_epochs"]] * 2


def test_members_differ_in_seed_and_validation_split():
    X, y = _texts(400)
    with pytest.warns(ConvergenceWarning) as caught:
        # 120 held out: enough for a validation split.
        model = TransformerClassifier(**SMALL, n_processes=1, validation_fraction=0.3).fit(X, y)
    # Both members stopped on their budget; the warning is given once.
    assert sum(issubclass(w.category, ConvergenceWarning) for w in caught) == 1
    first, second = (dict(m.named_parameters()) for m in model.module_.members)
    assert not torch.equal(first["head.1.weight"], second["head.1.weight"])
    assert model.early_stopping_ == "valid_loss" and model.n_iter_ == SMALL["max_epochs"]


def test_members_train_side_by_side_only_on_the_cpu(monkeypatch):
    monkeypatch.setattr("sktfm.estimators._members._usable_cores", lambda: 4)

    def count(**kwargs):
        given = dict(n_members=2, device="cpu", strategy=None, n_processes=None, threads=4)
        return n_parallel_members(**{**given, **kwargs})

    assert count() == 2
    assert count(n_members=8) == 4  # up to the usable cores
    assert count(threads=1) == 1  # torch's thread count is what is shared
    assert (count(n_processes=1), count(device="cuda"), count(strategy="ddp")) == (1, 1, 1)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_max_time_is_shared_by_members_trained_one_after_the_other(fake_clock):
    X, y = _texts(200)  # 4 batches per epoch, no validation split
    clock = fake_clock(1 / 16)  # each reading (a batch) moves the clock 1/16 s
    model = TransformerClassifier(**{**SMALL, "max_epochs": 10_000}, max_time=2, n_processes=1).fit(
        X, y
    )
    assert len(model.module_) == 2 and model.net_.stop_reason_ == "max_time"
    # Readings: the start of fit (deadline 2 s), one as each member starts (its
    # share of the time left), then one after every batch of each member.
    start, first_starts, second_starts, *batch_ends = clock.readings
    first_deadline = first_starts + (2 - first_starts) / 2  # half of what was left
    first_batches = sum(len(row["batches"]) for row in model.history_)  # the first member's
    assert first_batches == 15 and len(batch_ends) == 15 + 16
    # The first member stopped after the first batch past its half, the second
    # after the first batch past the whole budget: 2 s and a batch per member.
    first, second = batch_ends[:first_batches], batch_ends[first_batches:]
    assert first[-2] <= first_deadline < first[-1] < second[0]
    assert second[-2] <= 2 < second[-1] == clock.readings[-1]
    assert model.n_iter_ == 4  # the second member's 16 batches: 4 epochs
