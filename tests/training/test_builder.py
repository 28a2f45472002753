"""sktfm.training.builder: estimator parameters -> module and net."""

import copy

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback, EarlyStopping, GradientNormClipping
from torch import nn

import sktfm
from sktfm.data import SequenceDataset, collate, collate_pairs, training_loader
from sktfm.nn import (
    BertBackbone,
    MaskedFeatureModel,
    MaskedTokenModel,
    Seq2Seq,
    TaskModel,
    TransformerBackbone,
)
from sktfm.text.special_tokens import MASK_ID, N_SPECIAL
from sktfm.training import OBJECTIVES, TransformerNet, make_module, make_net
from sktfm.training.builder import adamw, make_ensemble
from sktfm.training.distributed import DataParallelNet
from sktfm.training.losses import ClassificationLoss, TokenCrossEntropy
from sktfm.training.plan import NetSettings
from sktfm.training.runtime import fused_adamw_supported
from sktfm.training.schedules import InverseSqrtWarmup, LinearWarmup

SIZES = dict(d_model=16, n_heads=2, n_layers=1, dim_feedforward=32, dropout=0.0)
TOKENS = dict(input_kind="tokens", vocab_size=30, **SIZES)
FEATURES = dict(input_kind="features", n_features=4, **SIZES)
PAIRS = dict(
    src_vocab_size=30,
    tgt_vocab_size=25,
    d_model=16,
    n_heads=2,
    n_encoder_layers=1,
    n_decoder_layers=1,
    dim_feedforward=32,
)
HEADS = dict(n_outputs=3, vocab_size=30, mask_id=MASK_ID, n_special=N_SPECIAL)


@pytest.mark.parametrize(
    "objective, kwargs, expected",
    [
        ("classification", TOKENS, TaskModel),
        ("multilabel", FEATURES, TaskModel),
        ("regression", FEATURES, TaskModel),
        ("masked_tokens", TOKENS, MaskedTokenModel),
        ("masked_features", FEATURES, MaskedFeatureModel),
        ("translation", PAIRS, Seq2Seq),
        ("backbone", TOKENS, TransformerBackbone),
    ],
)
def test_make_module_builds_the_model_of_each_objective(objective, kwargs, expected):
    module = make_module(objective, kwargs, **({} if objective == "translation" else HEADS))
    assert type(module) is expected
    backbone = getattr(module, "backbone", module)
    if objective != "translation":
        assert type(backbone) is TransformerBackbone and backbone.d_model == 16
    if expected is TaskModel:
        assert module.head[-1].out_features == 3
    if expected is MaskedTokenModel:
        assert (module.vocab_size, module.mask_id, module.n_special) == (30, MASK_ID, N_SPECIAL)
    if expected is Seq2Seq:
        assert (module.src_vocab_size, module.tgt_vocab_size) == (30, 25)


def test_every_objective_is_built_and_others_are_refused():
    assert set(OBJECTIVES) == {
        "classification",
        "multilabel",
        "regression",
        "masked_tokens",
        "masked_features",
        "translation",
        "backbone",
    }
    with pytest.raises(ValueError, match="Unknown objective='ranking'"):
        make_module("ranking", TOKENS)


def test_make_module_builds_a_bert_backbone_on_request():
    kwargs = dict(
        architecture="bert", vocab_size=30, d_model=16, n_heads=2, n_layers=1, dim_feedforward=32
    )
    assert type(make_module("backbone", kwargs)) is BertBackbone
    model = make_module("classification", kwargs, n_outputs=2)
    assert type(model) is TaskModel and type(model.backbone) is BertBackbone
    assert kwargs["architecture"] == "bert"  # the caller's dict is left alone


class _User(Callback):
    pass


@pytest.fixture
def params(tmp_path):
    return sktfm.TransformerClassifier(
        lr=2e-3,
        batch_size=7,
        max_epochs=9,
        weight_decay=0.05,
        grad_clip=0.5,
        warmup_steps=11,
        early_stopping=True,
        patience=4,
        label_smoothing=0.1,
        ema_decay=0.99,
        checkpoint_dir=tmp_path / "ckpt",
        callbacks=[_User()],
        precision="fp32",
        device="cpu",
    ).get_params(deep=False)


def _names(net):
    return [name for name, _ in net.callbacks[:-1]], net.callbacks[-1]


def test_make_net_follows_the_estimator_parameters(params):
    module = make_module("classification", TOKENS, n_outputs=3)
    net = make_net(
        module,
        objective="classification",
        settings=NetSettings.from_params(params),
        device="cpu",
        lr_schedule=LinearWarmup(11),
        monitor="valid_loss",
    )
    assert type(net) is TransformerNet and net.module is module
    assert (net.lr, net.batch_size, net.max_epochs) == (2e-3, 7, 9)
    assert net.criterion is ClassificationLoss and net.criterion__label_smoothing == 0.1
    assert net.optimizer is adamw and net.optimizer__weight_decay == 0.05
    assert (net.device, net.precision, net.compiled) == ("cpu", "float32", False)
    assert net.train_split is None  # no validation set given
    assert net.iterator_train is training_loader and net.iterator_train__collate_fn is collate
    names, last = _names(net)
    assert names == [
        "non_finite",
        "weight_average",
        "checkpoint_best",
        "checkpoint_last",
        "grad_clip",
        "early_stopping",
        "lr_schedule",
    ]
    assert last is params["callbacks"][0]
    callbacks = dict(net.callbacks[:-1])
    assert callbacks["weight_average"].decay == 0.99
    assert callbacks["grad_clip"].gradient_clip_value == 0.5
    assert callbacks["early_stopping"].patience == 4
    assert isinstance(callbacks["lr_schedule"].lr_lambda, LinearWarmup)
    assert callbacks["lr_schedule"].lr_lambda.warmup_steps == 11
    assert callbacks["checkpoint_best"].dirname == str(params["checkpoint_dir"])
    net.initialize()  # every argument is one that skorch and the criterion accept
    assert isinstance(net.criterion_, ClassificationLoss)
    assert net.criterion_.label_smoothing == 0.1


def test_make_net_options(params):
    X_valid, y_valid = [np.array([5, 6, 7])] * 2, np.array([0, 1])
    module = make_module("translation", PAIRS)
    net = make_net(
        module,
        objective="translation",
        settings=NetSettings.from_params({**params, "compile": True}),
        device="cpu",
        valid=(X_valid, y_valid),
        max_epochs=2,
        lr_schedule=InverseSqrtWarmup(5),
        monitor="valid_bleu",
        extra_callbacks=[("first", _User())],
        net_class=DataParallelNet,
    )
    assert type(net) is DataParallelNet and net.max_epochs == 2 and net.compiled
    assert net.criterion is TokenCrossEntropy and net.criterion__label_smoothing == 0.1
    assert net.iterator_train__collate_fn is collate_pairs
    assert net.iterator_valid__collate_fn is collate_pairs
    valid = net.train_split.keywords["valid_ds"]  # skorch's predefined_split
    assert isinstance(valid, SequenceDataset) and valid.X is X_valid and valid.y is y_valid
    callbacks = dict(net.callbacks[:-1])
    assert _names(net)[0][:3] == ["non_finite", "weight_average", "first"]
    assert isinstance(callbacks["lr_schedule"].lr_lambda, InverseSqrtWarmup)
    assert callbacks["early_stopping"].monitor == "valid_bleu"
    assert callbacks["early_stopping"].lower_is_better is False


def test_a_restored_net_keeps_grad_clipping_only(params):
    module = make_module("classification", TOKENS, n_outputs=3)
    net = make_net(
        module,
        objective="classification",
        settings=NetSettings.from_params(params),
        device="cpu",
        restored=True,
        lr_schedule=LinearWarmup(11),
        monitor="valid_loss",
        deadline=1.0,
    )
    assert [name for name, _ in net.callbacks] == ["non_finite", "grad_clip"]
    assert isinstance(net.callbacks[1][1], GradientNormClipping)
    assert net.callbacks[1][1].gradient_clip_value == 0.5
    assert not any(isinstance(cb, (EarlyStopping, _User)) for _, cb in net.callbacks)
    # What trains is unchanged.
    assert (net.lr, net.batch_size, net.max_epochs, net.criterion) == (
        2e-3,
        7,
        9,
        ClassificationLoss,
    )


def test_a_built_net_trains_its_module(params):
    params = {
        **params,
        "checkpoint_dir": None,
        "callbacks": None,
        "early_stopping": False,
        "max_epochs": 2,
    }
    rng = np.random.RandomState(0)
    X = [rng.randint(N_SPECIAL, 30, size=rng.randint(2, 6)) for _ in range(20)]
    y = rng.randint(0, 3, size=20)
    module = make_module("classification", TOKENS, n_outputs=3)
    net = make_net(
        module, objective="classification", settings=NetSettings.from_params(params), device="cpu"
    )
    net.fit(SequenceDataset(X, y), y=None)
    assert net.module_ is module and len(net.history) == 2
    assert np.isfinite(net.history[:, "train_loss"]).all()


def test_a_multilabel_ensemble_averages_each_labels_probability():
    torch.manual_seed(0)
    members = [make_module("multilabel", FEATURES, n_outputs=3) for _ in range(2)]
    ensemble = make_module("multilabel", FEATURES, n_outputs=3, n_members=2)
    ensemble.load_state_dict(make_ensemble("multilabel", members).state_dict())
    x = torch.randn(5, 4)
    assert ensemble.train()(x).shape == (2, 5, 3)  # each member's logits
    mean = (members[0].eval()(x).sigmoid() + members[1].eval()(x).sigmoid()) / 2
    torch.testing.assert_close(ensemble.eval()(x).sigmoid(), mean)


def test_adamw_fuses_where_the_device_can_and_updates_as_the_unfused_one():
    torch.manual_seed(0)
    # (Not a Transformer: the key bias's gradient is zero up to rounding, and Adam
    # scales rounding noise up to a full step, differently in each kernel.)
    module = nn.Sequential(nn.Linear(4, 16), nn.GELU(), nn.Linear(16, 3))
    twin = copy.deepcopy(module)
    fused = adamw([{"params": list(module.parameters())}], lr=1e-2, weight_decay=0.01)
    plain = torch.optim.AdamW(twin.parameters(), lr=1e-2, weight_decay=0.01)
    assert fused.defaults["fused"] is fused_adamw_supported("cpu")
    x, y = torch.randn(8, 4), torch.randint(3, (8,))
    for _ in range(5):
        for model, optimizer in ((module, fused), (twin, plain)):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()
    for a, b in zip(module.parameters(), twin.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
