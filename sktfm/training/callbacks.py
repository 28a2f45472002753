"""skorch callbacks for the estimator-level training options."""

import math
import os
import time

import torch
from skorch.callbacks import (
    Callback,
    Checkpoint,
    EarlyStopping,
    GradientNormClipping,
    LRScheduler,
    ProgressBar,
)

from .budget import TOLERANCE
from .inference import generate
from .schedules import LinearWarmupDecay, Shifted

__all__ = [
    "AtomicCheckpoint",
    "NonFiniteLoss",
    "StopOnNonFiniteLoss",
    "StopTraining",
    "StopWhenConverged",
    "TimeBudget",
    "ValidationBLEU",
    "WeightAverage",
    "checkpoint_callbacks",
    "make_callbacks",
    "resume_callbacks",
]


class NonFiniteLoss(FloatingPointError):
    """Training produced a NaN or infinite loss."""


class StopTraining(KeyboardInterrupt):
    """Ends training on purpose; ``reason`` says why ("early_stopping", "max_time").

    A ``KeyboardInterrupt`` because that is what skorch's fit loop catches to
    end training and keep the model; the net tells this apart from a user's
    Ctrl-C by its type.
    """

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class StopWhenConverged(EarlyStopping):
    """skorch's early stopping (best weights restored), raising :class:`StopTraining`.

    An improvement counts when it beats the best score by more than
    ``threshold`` (absolute, :data:`~sktfm.training.budget.TOLERANCE` by
    default, as ``tol`` in scikit-learn's ``MLPClassifier``).
    """

    def __init__(self, monitor="valid_loss", patience=5, *, lower_is_better=True):
        super().__init__(
            monitor=monitor,
            patience=patience,
            threshold=TOLERANCE,
            threshold_mode="abs",
            lower_is_better=lower_is_better,
            load_best=True,
        )

    def on_epoch_end(self, net, **kwargs):
        try:
            super().on_epoch_end(net, **kwargs)
        except KeyboardInterrupt:
            raise StopTraining("early_stopping") from None

    def on_train_end(self, net, **kwargs):
        if len(net.history):  # no epoch ran (max_epochs=0): nothing to restore
            super().on_train_end(net, **kwargs)


class TimeBudget(Callback):
    """Stop training after the batch that ends past ``deadline`` (``time.monotonic()``)."""

    def __init__(self, deadline):
        self.deadline = deadline

    def on_batch_end(self, net, training=False, **kwargs):
        if training and time.monotonic() > self.deadline:
            raise StopTraining("max_time")


class StopOnNonFiniteLoss(Callback):
    """Stop at the first non-finite training loss, naming epoch and batch.

    The weights of the last epoch that ended with finite losses are put back
    into the module before the error is raised, so nothing downstream sees
    NaN weights.
    """

    def on_train_begin(self, net, **kwargs):
        self._good_state = _copy_state(net.module_)

    def on_epoch_begin(self, net, **kwargs):
        self._batch = 0

    def on_batch_end(self, net, batch=None, training=False, loss=None, **kwargs):
        if not training:
            return
        self._batch += 1
        if loss is not None and not torch.isfinite(loss).all():
            net.module_.load_state_dict(self._good_state)
            epoch = len(net.history)
            raise NonFiniteLoss(
                f"Training loss became {loss.item()} at epoch {epoch}, batch "
                f"{self._batch}; training stopped and the weights of epoch "
                f"{epoch - 1} were restored. Lower lr, raise warmup_steps or set "
                f"grad_clip."
            )

    def on_epoch_end(self, net, **kwargs):
        self._good_state = _copy_state(net.module_)

    def on_train_end(self, net, **kwargs):
        self._good_state = None  # a full copy of the weights: not for pickles


class WeightAverage(Callback):
    """Evaluate and keep an exponential moving average (EMA) of the weights.

    After every optimizer step the average moves towards the weights by
    ``1 - decay_t``, with ``decay_t = min(decay, 1 - 2 / (t + 1))`` at step
    ``t``: the average starts as the weights of the first step and spans
    about the last half of the steps so far until it reaches ``decay``, so
    a short fit is not dragged back to its first steps. Validation, early
    stopping, checkpoints and the fitted model use the average; training
    goes on from the weights themselves (swapped back at each epoch's start).

    Parameters
    ----------
    decay : float
        Largest decay, in [0, 1): 0.999 averages over about the last 1,000 steps;
        0 keeps the weights themselves.
    """

    def __init__(self, decay):
        self.decay = decay

    def on_train_begin(self, net, **kwargs):
        self._average, self._weights, self._steps = None, None, 0

    def on_epoch_begin(self, net, **kwargs):
        if self._weights is not None:  # the average was swapped in: train on the weights
            net.module_.load_state_dict(self._weights)
            self._weights = None

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if not training:
            self._swap_in(net)  # validation scores the average

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        if not training:
            return
        self._steps += 1
        state = net.module_.state_dict()
        if self._average is None:
            self._average = {key: value.detach().clone() for key, value in state.items()}
            return
        weight = 1.0 - self._decay_at(self._steps)
        with torch.no_grad():
            for key, value in state.items():
                if value.is_floating_point():
                    self._average[key].lerp_(value, weight)
                else:
                    self._average[key].copy_(value)

    def on_epoch_end(self, net, **kwargs):
        self._swap_in(net)  # before early stopping and checkpoints (listed after this)

    def on_train_end(self, net, **kwargs):
        self._swap_in(net)  # a fit cut short mid-epoch (max_time) ends on the average too
        self._average, self._weights = None, None  # copies of the weights: not for pickles

    def _decay_at(self, step):
        return min(self.decay, 1.0 - 2.0 / (step + 1))

    def _swap_in(self, net):
        if self._average is None or self._weights is not None:
            return
        self._weights = _copy_state(net.module_)
        net.module_.load_state_dict(self._average)


def _copy_state(module):
    return {key: value.detach().clone() for key, value in module.state_dict().items()}


class AtomicCheckpoint(Checkpoint):
    """skorch's :class:`~skorch.callbacks.Checkpoint`, each file replaced atomically.

    Every file is written beside its target as ``<name>.partial``, fsynced
    and renamed over the target, so a crash or a full disk during a save
    leaves the previous checkpoint file whole.
    """

    def _save_params(self, f, net, f_name, log_name):
        if not isinstance(f, (str, os.PathLike)):  # a file object: as skorch does
            super()._save_params(f, net, f_name, log_name)
            return
        partial = f"{os.fspath(f)}.partial"
        try:
            net.save_params(**{f_name: partial, "use_safetensors": self.use_safetensors})
            with open(partial, "rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(partial, f)
        except Exception as error:  # reported, not raised, as skorch's Checkpoint does
            self._sink(
                f"Unable to save {log_name} to {f}, {type(error).__name__}: {error}", net.verbose
            )
        finally:
            if os.path.exists(partial):
                os.remove(partial)


def checkpoint_callbacks(dirname, *, validation):
    """skorch checkpoints of the best and of the last epoch, as safetensors.

    Weights only (safetensors holds tensors, not code); the history goes to
    JSON beside them. Each file is replaced atomically (:class:`AtomicCheckpoint`).
    """
    best = "valid_loss_best" if validation else "train_loss_best"
    common = dict(dirname=str(dirname), f_optimizer=None, f_criterion=None, use_safetensors=True)
    return [
        (
            "checkpoint_best",
            AtomicCheckpoint(
                monitor=best, f_params="best.safetensors", f_history="best_history.json", **common
            ),
        ),
        (
            "checkpoint_last",
            AtomicCheckpoint(
                monitor=None, f_params="last.safetensors", f_history="last_history.json", **common
            ),
        ),
    ]


class ValidationBLEU(Callback):
    """Score greedy translations of the validation sources with corpus BLEU.

    Adds ``valid_bleu`` to each epoch of the history, so that
    ``EarlyStopping(monitor="valid_bleu", lower_is_better=False)`` can use it.

    Parameters
    ----------
    sources : list of int arrays
        Validation source ids.
    references : list of str
        Their reference translations.
    decode : callable
        Maps a list of id lists to a list of strings (the target tokenizer's
        ``decode``).
    """

    def __init__(self, sources, references, decode):
        self.sources = sources
        self.references = references
        self.decode = decode

    def on_epoch_end(self, net, **kwargs):
        import sacrebleu

        hypotheses = list(self.decode(generate(net, self.sources, batch_size=net.batch_size)))
        score = sacrebleu.metrics.BLEU().corpus_score(hypotheses, [list(self.references)])
        net.history.record("valid_bleu", score.score)


def resume_callbacks(net, *, epochs, steps_per_epoch, deadline):
    """Set the time budget and a decaying schedule of ``net`` for a continued fit.

    A continued fit (``warm_start``, ``partial_fit``) reuses the callbacks
    of the fit that made ``net``: its deadline has passed and its linear
    decay has reached 0. The continuation gets this call's ``deadline``
    (None: no limit) and, where the schedule decays, a decay of its own
    from the peak rate over its ``epochs`` (or to ``deadline``).
    """
    callbacks = dict(net.callbacks_)
    if "max_time" in callbacks:
        callbacks["max_time"].deadline = math.inf if deadline is None else deadline
    scheduler = callbacks.get("lr_schedule")
    schedule = getattr(scheduler, "lr_lambda", None)
    if isinstance(schedule, Shifted):
        schedule = schedule.schedule
    if isinstance(schedule, LinearWarmupDecay):
        decay = LinearWarmupDecay(0, epochs * steps_per_epoch, deadline=deadline)
        scheduler.lr_lambda = Shifted(decay, offset=len(net.history))


def make_callbacks(
    *,
    grad_clip,
    verbose,
    callbacks,
    monitor=None,
    patience=5,
    lr_schedule=None,
    deadline=None,
    extra=(),
    checkpoint_dir=None,
    ema_decay=None,
):
    """skorch callbacks for the estimator-level training options.

    ``monitor`` names the early-stopping metric (None: no early stopping),
    ``lr_schedule`` is a multiplier of the peak ``lr`` per batch (None:
    constant), ``deadline`` a ``time.monotonic()`` time to stop at and
    ``ema_decay`` the decay of a :class:`WeightAverage` (None: none).
    """
    result = [("non_finite", StopOnNonFiniteLoss())]
    if ema_decay is not None:
        # Before everything that reads the weights at an epoch's end.
        result.append(("weight_average", WeightAverage(ema_decay)))
    result += list(extra)
    if checkpoint_dir is not None:
        validation = monitor is not None and monitor.startswith("valid")
        result += checkpoint_callbacks(checkpoint_dir, validation=validation)
    if grad_clip:
        result.append(("grad_clip", GradientNormClipping(gradient_clip_value=grad_clip)))
    if monitor is not None:
        stopping = StopWhenConverged(monitor, patience, lower_is_better=monitor.endswith("loss"))
        result.append(("early_stopping", stopping))
    if deadline is not None:
        result.append(("max_time", TimeBudget(deadline)))
    if lr_schedule is not None:
        result.append(
            (
                "lr_schedule",
                LRScheduler(
                    policy=torch.optim.lr_scheduler.LambdaLR,
                    lr_lambda=lr_schedule,
                    step_every="batch",
                ),
            )
        )
    if verbose:
        result.append(("progress_bar", ProgressBar()))
    return result + list(callbacks or [])
