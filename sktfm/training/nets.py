"""The skorch net that trains every sktfm model."""

from collections.abc import Mapping

import torch
from skorch import NeuralNet
from skorch.dataset import unpack_data
from skorch.utils import to_tensor

from ..nn import DeepEnsemble
from .callbacks import StopTraining
from .losses import batch_weight, is_sample_mean
from .runtime import seeded

__all__ = ["TransformerNet"]

# Tokens per training micro-batch on the CPU (see TransformerNet.train_step_single).
_MICRO_BATCH_TOKENS = 4096

# The seed of every validation pass: a self-supervised model hides random cells
# or tokens of its validation split, the same ones each epoch (see run_single_epoch).
_VALIDATION_SEED = 0

# Compiled twins of the module's functions: rebuilt on demand, never pickled.
_COMPILED = ("compiled_module_", "compiled_embed_")


def _training_ensemble(module):
    """``module`` (or the model inside its DDP wrapper) if it is a deep ensemble in
    training mode, whose outputs stack its members' ones; else None."""
    module = getattr(module, "module", module)
    return module if isinstance(module, DeepEnsemble) and module.training else None


def _to_float32(output):
    if isinstance(output, tuple):
        return tuple(_to_float32(item) for item in output)
    if torch.is_tensor(output) and output.is_floating_point():
        return output.float()
    return output


class TransformerNet(NeuralNet):
    """skorch ``NeuralNet`` with the inference and precision rules of sktfm.

    - evaluation runs under ``torch.inference_mode`` (no autograd bookkeeping);
    - forward passes run under ``torch.autocast`` when ``precision`` asks for
      bfloat16, and outputs are returned as float32;
    - a CPU batch of long sequences trains as micro-batches (one optimizer
      step for the whole batch) when the loss is a (weighted) mean over samples.

    The loss comes from the criterion of the objective
    (:mod:`sktfm.training.losses`), so one net class trains every model;
    inference loops live in :mod:`sktfm.training.inference`.

    Parameters
    ----------
    precision : {"float32", "bfloat16"}, default="float32"
        Autocast dtype for forward passes.
    compiled : bool, default=False
        Run forward passes (training and prediction) through
        ``torch.compile`` of the module. ``module_`` itself stays the plain
        module, so weights, pickles and saved folders are unchanged.
    **kwargs
        Passed to :class:`skorch.NeuralNet`.
    """

    #: Why the last fit ended: "max_epochs", a :class:`StopTraining` reason
    #: or "interrupted"; None until a fit has ended.
    stop_reason_ = None

    def __init__(self, *args, precision="float32", compiled=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.precision = precision
        self.compiled = compiled

    def forward_function(self):
        """``module_``, or its compiled twin (built once, sharing the weights)."""
        return self._compiled_twin("compiled_module_", self.module_)

    def embed_function(self):
        """``module_.embed`` (or the forward without one), compiled when ``compiled``."""
        if not hasattr(self.module_, "embed"):
            return self.forward_function()
        return self._compiled_twin("compiled_embed_", self.module_.embed)

    def _compiled_twin(self, key, function):
        """``function`` (``module_`` or one of its methods), through torch.compile
        when ``compiled``; the twin is kept under ``key`` until ``module_`` changes."""
        module = self.module_
        if not getattr(self, "compiled", False):
            return function
        cached = self.__dict__.get(key)
        if cached is None or cached[0] is not module:
            # Set past skorch's guard on module attributes: not a module of its own.
            cached = self.__dict__[key] = (module, torch.compile(function, dynamic=True))
        return cached[1]

    def __getstate__(self):
        # Pickles carry what predicts, not the optimizer's moments (twice the
        # model's size); continued training rebuilds the optimizer.
        optimizer = self.__dict__.get("optimizer_")
        compiled = {key: self.__dict__.pop(key) for key in _COMPILED if key in self.__dict__}
        self.optimizer_ = None
        try:
            state = super().__getstate__()
        finally:
            self.optimizer_ = optimizer
            self.__dict__.update(compiled)  # rebuilt on demand after unpickling
        if state.get("module") is self.__dict__.get("module_"):
            # The init argument is the trained module itself: keep one copy
            # (in ``module_``); the class suffices for the argument.
            state["module"] = type(self.module_)
        return state

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        if self.initialized_ and self.optimizer_ is None:
            self.initialize_optimizer()  # dropped when pickled
        return super().partial_fit(X, y, classes=classes, **fit_params)

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        # skorch swallows KeyboardInterrupt to keep the model trained so far;
        # remember why training ended so the estimator can say so:
        # "max_epochs", a StopTraining reason, or "interrupted" (Ctrl-C).
        self.stop_reason_ = "max_epochs"
        try:
            return super().fit_loop(X, y, epochs=epochs, **fit_params)
        except StopTraining as stop:
            self.stop_reason_ = stop.reason
            raise
        except KeyboardInterrupt:
            self.stop_reason_ = "interrupted"
            raise

    @property
    def interrupted_(self):
        """Whether the last fit was cut short by the user (not by a budget)."""
        return self.stop_reason_ == "interrupted"

    def autocast(self):
        """The autocast context of ``precision`` for this net's device."""
        return torch.autocast(
            torch.device(self.device).type,
            dtype=torch.bfloat16,
            enabled=self.precision == "bfloat16",
        )

    def infer(self, x, **fit_params):
        x = to_tensor(x, device=self.device)
        module = self.forward_function()
        with self.autocast():
            if isinstance(x, Mapping):
                output = module(**self._merge_x_and_fit_params(x, fit_params))
            else:
                output = module(x, **fit_params)
        return _to_float32(output)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        # Self-supervised models return their own targets: there is no y.
        if y_true is None:
            return self.criterion_(y_pred)
        y_true = to_tensor(y_true, device=self.device)
        if training and _training_ensemble(self.module_) is not None:
            # Each member of a deep ensemble fits the targets on its own: the
            # mean of the members' losses, whose gradients do not mix.
            return torch.stack([self.criterion_(output, y_true) for output in y_pred]).mean()
        return self.criterion_(y_pred, y_true)

    def _prediction(self, y_pred):
        """What a training step reports as ``y_pred``: a deep ensemble's own prediction."""
        ensemble = _training_ensemble(self.module_)
        return y_pred if ensemble is None else ensemble.combined(y_pred.detach())

    def train_step_single(self, batch, **fit_params):
        """One batch's loss and gradients, computed a micro-batch at a time on the CPU.

        Gradients of a mean add up over parts of the batch, so a batch of
        long sequences is run as micro-batches of about ``_MICRO_BATCH_TOKENS``
        tokens, each loss weighted by its share of the samples (of their
        weight, under ``sample_weight`` or ``class_weight``), with one
        optimizer step for the whole batch as before. The activations autograd
        keeps then stay a few MiB, recycled by ``malloc`` instead of mapped
        afresh from the kernel and faulted in at every step: measured 1.1x
        faster training on a 2-core VM (d_model 128, batch 64 x 129 tokens,
        micro-batches of 31 sequences).
        """
        Xi, yi = unpack_data(batch)
        parts = self._micro_batches(Xi, yi)
        if parts is None:
            step = super().train_step_single(batch, **fit_params)
            return {**step, "y_pred": self._prediction(step["y_pred"])}
        self._set_training(True)
        # Each part's share of the batch's weight (its samples' share without weights).
        total = batch_weight(self.criterion_, yi).clamp_min(torch.finfo(torch.float32).tiny)
        loss_sum, predictions = 0.0, []
        for X_part, y_part in parts:
            y_pred = self.infer(X_part, **fit_params)
            share = (batch_weight(self.criterion_, y_part) / total).float()
            loss = self.get_loss(y_pred, y_part, X=X_part, training=True) * share
            loss.backward()
            loss_sum = loss_sum + loss.detach()
            predictions.append(self._prediction(y_pred.detach()))
        return {"loss": loss_sum, "y_pred": torch.cat(predictions)}

    def _micro_batches(self, Xi, yi):
        """``[(X_part, y_part), ...]`` splitting a CPU batch of long sequences, else None."""
        x = Xi.get("x") if isinstance(Xi, Mapping) else None
        if (
            not is_sample_mean(self.criterion_)
            or not isinstance(x, torch.Tensor)
            or not isinstance(yi, torch.Tensor)
            or x.ndim < 2
            or torch.device(self.device).type != "cpu"
        ):
            return None
        # x: (B, T) or (B, T, F). A batch of only empty texts has T == 0: it
        # costs nothing per sample, so it is counted as one position each.
        per_part = max(1, _MICRO_BATCH_TOKENS // max(1, x.shape[1]))
        if x.shape[0] <= per_part:
            return None
        others = {key: value for key, value in Xi.items() if key != "x"}
        if any(isinstance(value, torch.Tensor) for value in others.values()):
            return None  # per-sample inputs besides x: keep the batch whole
        return [
            ({"x": x_part, **others}, y_part)
            for x_part, y_part in zip(x.split(per_part), yi.split(per_part))
        ]

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """One pass over ``iterator``; a validation pass draws its random numbers afresh
        from one seed.

        A masked-modelling objective hides random cells or tokens of each
        validation batch too. Drawn anew each epoch, those draws moved the
        validation loss of a small table more than an epoch of training did,
        so early stopping ended fits after a few epochs; with the same draws
        each epoch, epochs are compared on the same hidden cells. Training
        draws are left as they were (torch's generator is restored after).
        """
        if training or iterator is None:
            return super().run_single_epoch(iterator, training, prefix, step_fn, **fit_params)
        with seeded(_VALIDATION_SEED):
            return super().run_single_epoch(iterator, training, prefix, step_fn, **fit_params)

    def evaluation_step(self, batch, training=False):
        if training:
            return super().evaluation_step(batch, training=True)
        self.check_is_fitted()
        Xi, _ = batch
        with torch.inference_mode():
            self._set_training(False)
            return self.infer(Xi)

    def validation_step(self, batch, **fit_params):
        Xi, yi = batch
        self._set_training(False)
        with torch.inference_mode():
            y_pred = self.infer(Xi, **fit_params)
            loss = self.get_loss(y_pred, yi, X=Xi, training=False)
        return {"loss": loss, "y_pred": y_pred}
