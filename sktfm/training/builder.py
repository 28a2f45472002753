"""The one place where estimator parameters become a module and its skorch net.

``fit`` and :func:`sktfm.load` both go through :func:`make_module` and
:func:`make_net` (skorch's ``initialize_*`` idea, as functions): a net that an
estimator trained and one that it restored from a folder are built alike.
"""

import math

import torch
from skorch.helper import predefined_split
from torch import nn

from .. import _pretrained
from ..data import SequenceDataset, collate, collate_pairs, training_loader
from ..nn import (
    BertBackbone,
    DeepEnsemble,
    MaskedFeatureModel,
    MaskedTokenModel,
    Seq2Seq,
    TaskModel,
    TransformerBackbone,
)
from .callbacks import make_callbacks
from .losses import criterion_for
from .nets import TransformerNet
from .runtime import fused_adamw_supported, resolve_precision

__all__ = [
    "OBJECTIVES",
    "TASK_OBJECTIVES",
    "LabelEnsemble",
    "make_ensemble",
    "make_module",
    "make_net",
    "restore_module",
]

#: What a module can be trained for; "backbone" is a fitted encoder's module.
OBJECTIVES = (
    "classification",
    "multilabel",
    "regression",
    "masked_tokens",
    "masked_features",
    "translation",
    "backbone",
)


#: The objectives of a task head (:class:`~sktfm.nn.TaskModel`), which ensembles serve.
TASK_OBJECTIVES = ("classification", "multilabel", "regression")


class LabelEnsemble(DeepEnsemble):
    """A :class:`~sktfm.nn.DeepEnsemble` of multilabel models.

    Evaluation returns the logits of the mean of the members' label
    probabilities, ``logit(mean_k sigmoid(logits_k))`` (B, L), computed in
    log space: their sigmoid is the mean probability of each label.
    """

    def __init__(self, members):
        super().__init__(members, combine="mean")

    def combined(self, outputs):
        n_members = math.log(len(outputs))
        log_yes = torch.logsumexp(nn.functional.logsigmoid(outputs), dim=0) - n_members
        log_no = torch.logsumexp(nn.functional.logsigmoid(-outputs), dim=0) - n_members
        return log_yes - log_no  # (B, L)

    def extra_repr(self):
        return f"n_members={len(self)}, combine='label probabilities'"


def make_ensemble(objective, members):
    """The :class:`~sktfm.nn.DeepEnsemble` of ``members`` for ``objective``.

    Classification averages the members' probabilities (multilabel: each
    label's), regression their outputs.
    """
    if objective == "multilabel":
        return LabelEnsemble(members)
    combine = "probabilities" if objective == "classification" else "mean"
    return DeepEnsemble(members, combine=combine)


def make_module(
    objective,
    module_kwargs,
    *,
    n_outputs=None,
    vocab_size=None,
    mask_id=None,
    n_special=None,
    n_members=1,
    pretrained=None,
    token_vectors=None,
):
    """Build the torch module trained for ``objective``.

    Parameters
    ----------
    objective : str
        One of :data:`OBJECTIVES`.
    module_kwargs : dict
        Arguments of :class:`~sktfm.nn.Seq2Seq` (translation) or of the
        backbone; ``architecture="bert"`` builds a :class:`~sktfm.nn.BertBackbone`.
    n_outputs, vocab_size, mask_id, n_special : int, optional
        What the head needs: outputs of a task head, the vocabulary and
        special ids of a masked-token head.
    n_members : int, default=1
        A task head's objectives: more than 1 builds a
        :class:`~sktfm.nn.DeepEnsemble` of that many independently
        initialised models.
    pretrained : str or path-like, optional
        A BERT-family folder whose weights fill the backbone.
    token_vectors : (ndarray, ndarray) or None
        ``(vectors, rows)`` from
        :func:`~sktfm.text.cooccurrence_vectors`: where the
        token embedding table starts (see
        :meth:`~sktfm.nn.TokenEmbedding.initialize_from`); None: random.
    """
    if objective == "translation":
        return Seq2Seq(**module_kwargs)
    if objective in TASK_OBJECTIVES and n_members > 1:
        members = [
            make_module(
                objective,
                module_kwargs,
                n_outputs=n_outputs,
                pretrained=pretrained,
                token_vectors=token_vectors,
            )
            for _ in range(n_members)
        ]
        return make_ensemble(objective, members)
    kwargs = dict(module_kwargs)
    if kwargs.pop("architecture", None) == "bert":
        backbone = BertBackbone(**kwargs)
        if pretrained is not None:
            _pretrained.load_weights(backbone, pretrained)
    else:
        backbone = TransformerBackbone(**kwargs)
        if token_vectors is not None:
            vectors, rows = (torch.as_tensor(array) for array in token_vectors)
            backbone.embedding.initialize_from(vectors, rows)
    if objective == "backbone":
        return backbone
    if objective in TASK_OBJECTIVES:
        return TaskModel(backbone, n_outputs)
    if objective == "masked_tokens":
        return MaskedTokenModel(
            backbone, vocab_size=vocab_size, mask_id=mask_id, n_special=n_special
        )
    if objective == "masked_features":
        return MaskedFeatureModel(backbone)
    raise ValueError(f"Unknown {objective=}; expected one of {OBJECTIVES}.")


def adamw(params, **kwargs):
    """:class:`torch.optim.AdamW`, fused into one kernel where the weights' device has it.

    The net's ``optimizer``: the choice is made where the optimizer is built,
    so a net fitted on one machine and trained on in another gets what that
    machine has. ``params``: tensors or parameter groups, as AdamW takes them.
    """
    params = list(params)
    first = params[0]["params"][0] if isinstance(params[0], dict) else params[0]
    return torch.optim.AdamW(params, fused=fused_adamw_supported(first.device.type), **kwargs)


#: What a saved module spec may pass to the head (never a path to read from).
_SAVED_HEAD_ARGUMENTS = frozenset({"n_outputs", "vocab_size", "mask_id", "n_special", "n_members"})
#: Arguments that count modules (layers, members): at most one per saved tensor.
_COUNTS = frozenset({"n_layers", "n_encoder_layers", "n_decoder_layers", "n_members"})


def restore_module(spec, weights, *, device):
    """The module a saved ``spec`` describes, filled from ``weights``, on ``device``.

    The spec is checked first (a known objective; head arguments that name
    no file; no count or size larger than the saved tensors allow), then
    the module is built on the ``meta`` device, which allocates nothing, so
    that its shapes are compared with the weights file's header before any
    memory is taken.

    Parameters
    ----------
    spec : dict
        ``{"objective", "module_kwargs", "head_kwargs"}``, as ``fit`` records it.
    weights : sktfm.persistence.SavedWeights
        The folder's weights, header read.
    device : str or torch.device
        Where the module goes.

    Raises
    ------
    ValueError
        If the spec is malformed or does not fit the weights (the message
        names the weights file).
    """
    objective, module_kwargs, head_kwargs = _checked_spec(spec, weights)
    with torch.device("meta"):
        skeleton = make_module(objective, module_kwargs, **head_kwargs)
    weights.check_shapes({name: tuple(t.shape) for name, t in skeleton.state_dict().items()})
    module = make_module(objective, module_kwargs, **head_kwargs)
    weights.load_into(module)
    return module.to(device).eval()


def _checked_spec(spec, weights):
    where = f"the module spec saved with {weights.file}"
    if not isinstance(spec, dict) or spec.get("objective") not in OBJECTIVES:
        raise ValueError(f"{where} is malformed or names an unknown objective.")
    module_kwargs, head_kwargs = spec.get("module_kwargs"), spec.get("head_kwargs", {})
    if not isinstance(module_kwargs, dict) or not isinstance(head_kwargs, dict):
        raise ValueError(f"{where} is malformed.")
    unknown = sorted(set(head_kwargs) - _SAVED_HEAD_ARGUMENTS)
    if unknown:
        raise ValueError(f"{where} passes {unknown} to the head; a saved model reads no file.")
    for name, value in {**module_kwargs, **head_kwargs}.items():
        if type(value) is not int:
            continue
        bound = len(weights.shapes) if name in _COUNTS else max(weights.n_elements, 1)
        if value > bound:
            raise ValueError(f"{where} sets {name}={value}, more than the saved weights hold.")
    return spec["objective"], module_kwargs, head_kwargs


def make_net(
    module,
    *,
    objective,
    settings,
    device,
    valid=None,
    max_epochs=None,
    lr_schedule=None,
    monitor=None,
    deadline=None,
    extra_callbacks=(),
    restored=False,
    net_class=TransformerNet,
):
    """Wrap ``module`` in the skorch net that trains it for ``objective``.

    Parameters
    ----------
    module : torch.nn.Module
        Built by :func:`make_module`.
    objective : str
        The training objective (it picks the loss and the batch layout).
    settings : sktfm.training.plan.NetSettings
        The training parameters, every ``"auto"`` resolved (a fit's
        :class:`~sktfm.training.plan.FitPlan` holds them).
    device : str
        A resolved torch device.
    valid : tuple or None
        ``(X, y)`` of model-ready validation samples, or None.
    max_epochs : int or None
        Epochs of this fit; None means ``settings.max_epochs``.
    lr_schedule : callable or None
        Multiplier of ``lr`` per batch (see :mod:`sktfm.training.schedules`);
        None keeps ``lr`` constant.
    monitor : str or None
        The early-stopping metric ("valid_loss", "train_loss", "valid_bleu");
        None trains for the whole budget.
    deadline : float or None
        ``time.monotonic()`` time after which training stops (``max_time``).
    extra_callbacks
        Callbacks that run first.
    restored : bool
        Build the net of a model loaded from disk: continued training keeps
        gradient clipping and the NaN guard, without schedule, early stopping
        (no validation split was saved), checkpoints or user callbacks.
    net_class : type
        :class:`~sktfm.training.nets.TransformerNet` or a subclass (the
        data-parallel net).
    """
    criterion, criterion_kwargs = criterion_for(
        objective, label_smoothing=settings.label_smoothing, class_weight=settings.class_weight
    )
    collate_fn = collate_pairs if objective == "translation" else collate
    callbacks = make_callbacks(
        grad_clip=settings.grad_clip,
        verbose=settings.verbose,
        callbacks=None if restored else settings.callbacks,
        monitor=None if restored else monitor,
        patience=settings.patience,
        lr_schedule=None if restored else lr_schedule,
        deadline=None if restored else deadline,
        extra=extra_callbacks,
        checkpoint_dir=None if restored else settings.checkpoint_dir,
        ema_decay=None if restored else settings.ema_decay,
    )
    return net_class(
        module,
        criterion=criterion,
        **{f"criterion__{key}": value for key, value in criterion_kwargs.items()},
        optimizer=adamw,
        optimizer__weight_decay=settings.weight_decay,
        lr=settings.lr,
        max_epochs=max_epochs or settings.max_epochs,
        batch_size=settings.batch_size,
        train_split=None if valid is None else predefined_split(SequenceDataset(*valid)),
        iterator_train=training_loader,
        iterator_train__shuffle=True,
        iterator_train__collate_fn=collate_fn,
        iterator_valid__collate_fn=collate_fn,
        predict_nonlinearity=None,
        callbacks=callbacks,
        device=device,
        precision=resolve_precision(settings.precision, device),
        compiled=settings.compile,
        verbose=settings.verbose,
    )
