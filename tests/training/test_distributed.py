"""Data-parallel training (``strategy="ddp"``) over 2 CPU processes on gloo."""

import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.utils._param_validation import InvalidParameterError
from skorch.callbacks import Callback

import sktfm
from sktfm import TransformerClassifier, TransformerEncoder
from sktfm.data import SequenceDataset
from sktfm.training import distributed, runtime
from sktfm.training.plan import NetSettings

DIGITS = dict(
    d_model=32,
    n_heads=2,
    n_layers=1,
    dim_feedforward=64,
    dropout=0.1,
    max_epochs=10,
    batch_size=32,
    lr=3e-3,
    device="cpu",
    random_state=0,
)


@pytest.fixture(scope="module")
def digits_split():
    X, y = load_digits(return_X_y=True)
    return (X[:600], y[:600]), (X[600:900], y[600:900])


@pytest.fixture(scope="module")
def single_and_ddp(digits_split):
    (X, y), _ = digits_split
    single = TransformerClassifier(**DIGITS).fit(X, y)
    ddp = TransformerClassifier(**DIGITS, strategy="ddp", n_processes=2).fit(X, y)
    return single, ddp


@pytest.mark.xdist_group("ddp-digits")  # one worker fits single_and_ddp, once
def test_ddp_fit_converges_and_predicts_like_a_single_process_fit(single_and_ddp, digits_split):
    single, ddp = single_and_ddp
    _, (X_test, y_test) = digits_split
    losses = ddp.history_[:, "train_loss"]
    assert len(losses) == DIGITS["max_epochs"] == ddp.n_iter_
    assert losses[-1] < losses[0] / 3
    assert ddp.score(X_test, y_test) > 0.85, ddp.score(X_test, y_test)
    assert ddp.score(X_test, y_test) >= single.score(X_test, y_test) - 0.03
    # The global batch is unchanged, so the same number of steps ran.
    assert ddp.history_[-1, "batches"][0]["train_batch_size"] == DIGITS["batch_size"] // 2
    assert len(ddp.history_[-1, "batches"]) == len(single.history_[-1, "batches"])


@pytest.mark.xdist_group("ddp-digits")  # one worker fits single_and_ddp, once
def test_ddp_fitted_estimator_is_an_ordinary_one(single_and_ddp, digits_split, tmp_path):
    _, ddp = single_and_ddp
    _, (X_test, _) = digits_split
    expected = ddp.predict_proba(X_test)
    assert ddp.device_ == "cpu" and not hasattr(ddp.net_, "ddp_module_")
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(ddp)).predict_proba(X_test), expected)
    ddp.save(tmp_path / "model")
    np.testing.assert_allclose(
        sktfm.load(tmp_path / "model").predict_proba(X_test), expected, atol=1e-6
    )


def test_every_rank_ends_with_identical_weights(digits_split):
    (X, y), _ = digits_split
    # One process trains in place, with the DataParallelNet that spawned
    # training needs; the fitted net then continues in 2 processes.
    model = TransformerClassifier(**{**DIGITS, "max_epochs": 2}, strategy="ddp", n_processes=1)
    model.fit(X[:200], y[:200])
    dataset = SequenceDataset(model._model_input(X), model._encode_labels(y))
    before = {k: v.clone() for k, v in model.module_.state_dict().items()}
    _, states = distributed.train_spawned(
        model.net_, dataset, n_processes=2, seed=3, epochs=2, keep_rank_states=True
    )
    assert len(states) == 2
    for key, value in states[0].items():
        torch.testing.assert_close(states[1][key], value, rtol=0, atol=0, msg=key)
        # ... and the caller's net holds them.
        torch.testing.assert_close(model.module_.state_dict()[key], value, rtol=0, atol=0)
    assert any(not torch.equal(before[key], states[0][key]) for key in before)
    assert len(model.net_.history) == 4


def test_ddp_self_supervised_encoder_and_warm_start(topic_texts, tiny):
    X, _ = topic_texts
    encoder = TransformerEncoder(**tiny, strategy="ddp", n_processes=2).fit(X)
    assert encoder.transform(X[:5]).shape == (5, tiny["d_model"])
    first = encoder.transform(X[:5])
    encoder.set_params(warm_start=True, max_epochs=1).fit(X)
    assert encoder.n_iter_ == tiny["max_epochs"] + 1
    assert not np.allclose(encoder.transform(X[:5]), first)


def test_one_process_is_the_plain_loop(digits_split):
    (X, y), (X_test, _) = digits_split
    plain = TransformerClassifier(**{**DIGITS, "max_epochs": 2}).fit(X, y)
    one = TransformerClassifier(**{**DIGITS, "max_epochs": 2}, strategy="ddp", n_processes=1).fit(
        X, y
    )
    np.testing.assert_array_equal(one.predict_proba(X_test), plain.predict_proba(X_test))


class FailOnSecondEpoch(Callback):
    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == 2:
            raise ValueError("callback refused epoch 2")


def test_an_error_in_a_process_reaches_the_caller_and_keeps_the_old_fit(digits_split):
    (X, y), (X_test, _) = digits_split
    model = TransformerClassifier(**{**DIGITS, "max_epochs": 1}).fit(X, y)
    expected = model.predict_proba(X_test)
    model.set_params(strategy="ddp", n_processes=2, max_epochs=3, callbacks=[FailOnSecondEpoch()])
    with pytest.raises(ValueError, match="callback refused epoch 2") as raised:
        model.fit(X, y)
    assert any(
        "data-parallel training process" in note for note in getattr(raised.value, "__notes__", [])
    )
    np.testing.assert_array_equal(model.predict_proba(X_test), expected)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"strategy": "dp"}, "strategy"),
        ({"strategy": "ddp", "n_processes": 0}, "n_processes"),
    ],
)
def test_bad_strategy_parameters_are_refused(params, match, digits_split):
    (X, y), _ = digits_split
    with pytest.raises(InvalidParameterError, match=match):
        TransformerClassifier(**DIGITS, **params).fit(X, y)


def test_torchrun_launched_processes_each_train_one_rank(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(
        textwrap.dedent(f"""
        import os, sys
        import torch
        from sklearn.datasets import load_digits
        from sktfm import TransformerClassifier
        from sktfm.training import distributed
        torch.set_num_threads(1)
        X, y = load_digits(return_X_y=True)
        model = TransformerClassifier(d_model=16, n_heads=2, n_layers=1,
            dim_feedforward=32, max_epochs=2, batch_size=32, device="cpu",
            random_state=0, strategy="ddp").fit(X[:200], y[:200])
        rank = os.environ["RANK"]
        with open(os.path.join({str(tmp_path)!r}, "rank" + rank), "w") as out:
            out.write(distributed.weights_digest(model.module_) + " "
                      + str(len(model.history_)) + " " + str(model.score(X[:200], y[:200])))
    """)
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc-per-node=2",
            str(script),
        ],
        check=True,
        env=env,
        timeout=180,
        capture_output=True,
    )
    reports = [(tmp_path / f"rank{rank}").read_text().split() for rank in range(2)]
    assert reports[0] == reports[1]  # same weights, same history, same score
    assert reports[0][1] == "2"


def test_parallel_workers_spread_cuda_jobs_over_gpus(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert runtime.resolve_device("auto") == "cuda"  # the main process: the current GPU
    for index, expected in [(0, "cuda:0"), (1, "cuda:1"), (4, "cuda:0")]:
        monkeypatch.setattr(
            runtime, "parallel_worker", lambda index=index: runtime.ParallelWorker("process", index)
        )
        assert runtime.resolve_device("cuda") == expected
    assert runtime.resolve_device("cuda:1") == "cuda:1"  # an explicit choice stands


def test_parallel_jobs_on_one_gpu_are_told_what_to_do(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(runtime, "parallel_worker", lambda: runtime.ParallelWorker("process", 1))
    with pytest.warns(UserWarning, match="n_jobs=1"):
        assert runtime.resolve_device("auto") == "cuda"


def test_joblib_processes_are_numbered():
    from joblib import Parallel, delayed

    found = Parallel(n_jobs=2)(delayed(runtime.parallel_worker)() for _ in range(4))
    assert all(worker.kind == "process" for worker in found)
    assert runtime.parallel_worker() is None


def test_training_in_place_leaves_the_net_as_it_was(topic_texts, tiny, tmp_path):
    """Under a launcher the caller's own net trains; afterwards it trains as before."""
    import torch.distributed as dist

    X, y = topic_texts
    # One process: the plain training loop, with the data-parallel net.
    model = TransformerClassifier(**tiny, strategy="ddp", n_processes=1).fit(X, y)
    net = model.net_
    keys = ("batch_size", "iterator_train__shuffle", "iterator_train__sampler")

    def settings():
        return {key: (key in net.__dict__, net.__dict__.get(key)) for key in keys}

    before = settings()
    dist.init_process_group(
        "gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1
    )
    try:
        dataset = SequenceDataset(model._model_input(X), model._encode_labels(y))
        distributed.train_launched(net, dataset, seed=0, epochs=1)
    finally:
        dist.destroy_process_group()
    assert settings() == before  # no sampler left behind to switch bucketing off
    assert type(net) is distributed.DataParallelNet and "ddp_module_" not in net.__dict__
    assert len(net.history) == tiny["max_epochs"] + 1


def test_data_parallel_net_is_one_transformer_net_subclass_defined_once():
    import ast
    from pathlib import Path

    from sktfm.estimators import _training
    from sktfm.training import TransformerNet

    assert issubclass(distributed.DataParallelNet, TransformerNet)
    assert distributed.DataParallelNet.__module__ == "sktfm.training.distributed"
    assert _training.DataParallelNet is distributed.DataParallelNet  # what strategy="ddp" uses
    package = Path(sktfm.__file__).parent
    definitions = [
        path.relative_to(package).as_posix()
        for path in package.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef) and node.name == "DataParallelNet"
    ]
    assert definitions == ["training/distributed.py"]


def test_outside_a_process_group_the_data_parallel_net_is_the_plain_net(monkeypatch):
    import torch.distributed as dist

    from sktfm.data import collate
    from sktfm.training import TransformerNet, make_module, make_net, nets, seeded

    rng = np.random.RandomState(0)
    X = [rng.randint(10, 50, size=rng.randint(2, 9)) for _ in range(48)]
    y = rng.randint(0, 3, size=48)
    params = TransformerClassifier(
        d_model=16,
        n_heads=2,
        n_layers=1,
        dim_feedforward=32,
        dropout=0.1,
        max_epochs=2,
        batch_size=16,
        lr=1e-3,  # make_net takes resolved values, not "auto"
        patience=5,
        label_smoothing=0.0,
        ema_decay=None,
        device="cpu",
    ).get_params(deep=False)
    module_kwargs = dict(
        input_kind="tokens",
        vocab_size=50,
        d_model=16,
        n_heads=2,
        n_layers=1,
        dim_feedforward=32,
        dropout=0.1,
    )

    def fitted(net_class):
        with seeded(0):
            module = make_module("classification", module_kwargs, n_outputs=3)
            net = make_net(
                module,
                objective="classification",
                settings=NetSettings.from_params(params),
                device="cpu",
                net_class=net_class,
            )
            return net.fit(SequenceDataset(X, y), y=None)

    assert not (dist.is_available() and dist.is_initialized())
    plain, ddp = fitted(TransformerNet), fitted(distributed.DataParallelNet)
    assert type(ddp) is distributed.DataParallelNet and not ddp._replicated()
    assert ddp.forward_function() is ddp.module_
    for name, value in plain.module_.state_dict().items():
        torch.testing.assert_close(ddp.module_.state_dict()[name], value, rtol=0, atol=0)
    np.testing.assert_array_equal(
        ddp.predict_proba(SequenceDataset(X)), plain.predict_proba(SequenceDataset(X))
    )
    # It splits long CPU batches into micro-batches as the plain net does.
    monkeypatch.setattr(nets, "_MICRO_BATCH_TOKENS", 8)
    batch = collate(list(zip(X[:16], y[:16])))
    assert len(ddp._micro_batches(*batch)) == len(plain._micro_batches(*batch)) > 1
