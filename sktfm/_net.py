"""Training layer: the skorch nets that fit sktfm modules.

The estimators translate their parameters into a call to :func:`make_net`;
everything that touches devices, precision, random number generators and
inference modes lives here, so the estimators hold no tensor code.
"""

import multiprocessing
import sys
import warnings
import zlib
from collections.abc import Mapping
from contextlib import contextmanager
from typing import NamedTuple

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import (
    Callback,
    Checkpoint,
    EarlyStopping,
    GradientNormClipping,
    LRScheduler,
    ProgressBar,
)
from skorch.dataset import unpack_data
from skorch.helper import predefined_split
from skorch.utils import to_tensor
from torch import nn

from .data import SequenceDataset, collate, collate_pairs, training_loader
from .nn import (
    BertBackbone,
    MaskedFeatureModel,
    MaskedTokenModel,
    Seq2Seq,
    TaskModel,
    TransformerBackbone,
)

PRECISIONS = ("auto", "float32", "bfloat16", "fp32", "bf16")
_PRECISION_ALIASES = {"fp32": "float32", "bf16": "bfloat16"}


def resolve_device(device):
    """Map ``"auto"`` to ``"cuda"`` when a GPU is visible, else ``"cpu"``.

    In a parallel worker (a Dask worker, or a process that joblib or
    multiprocessing started, as ``GridSearchCV(n_jobs=...)`` does) a bare
    ``"cuda"`` becomes ``"cuda:i"`` for a GPU chosen by the worker's number, so
    parallel jobs spread over the visible GPUs instead of piling onto the first.
    """
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and torch.cuda.is_available():
        worker = parallel_worker()
        n_gpus = torch.cuda.device_count()
        if worker is not None and n_gpus > 1:
            return f"cuda:{worker.index % n_gpus}"
        if worker is not None and worker.kind == "process":
            warnings.warn(
                "Parallel jobs are training on the one visible GPU and share its "
                "memory and compute. With one GPU, search with n_jobs=1 (the GPU "
                "already runs each fit in parallel); with several, make them "
                "visible (CUDA_VISIBLE_DEVICES) or use one Dask worker per GPU.",
                stacklevel=2,
            )
    return str(torch.device(device))


class ParallelWorker(NamedTuple):
    kind: str  # "dask" or "process"
    index: int


def parallel_worker():
    """Which parallel worker runs this code, or None in the main process.

    Dask workers are numbered by their name when it is a number
    (``LocalCluster`` names them 0, 1, ...), else by a hash of it; processes
    started by joblib (loky) or multiprocessing by their creation number.
    Threads are not told apart: they share one process and its device.
    """
    if "distributed" in sys.modules:
        from distributed import get_worker

        try:
            name = get_worker().name
        except ValueError:  # not inside a Dask worker
            pass
        else:
            if isinstance(name, int) or str(name).isdigit():
                return ParallelWorker("dask", int(name))
            return ParallelWorker("dask", zlib.crc32(str(name).encode()))
    identity = multiprocessing.current_process()._identity
    return ParallelWorker("process", identity[-1] - 1) if identity else None


def resolve_precision(precision, device):
    """Pick the autocast dtype: bfloat16 on capable GPUs for ``"auto"``.

    An explicit bfloat16 on a CPU without native bfloat16 instructions runs
    (emulated) but slower than float32: say so.
    """
    if precision == "auto":
        cuda = device.startswith("cuda") and torch.cuda.is_available()
        return "bfloat16" if cuda and torch.cuda.is_bf16_supported() else "float32"
    precision = _PRECISION_ALIASES.get(precision, precision)
    if precision == "bfloat16" and device.startswith("cpu") and not cpu_has_native_bf16():
        warnings.warn(
            "precision='bfloat16' on a CPU without native bfloat16 instructions (AVX512-BF16 "
            "or AMX) is emulated and slower than float32; use precision='float32' here.",
            UserWarning,
            stacklevel=3,
        )
    return precision


def cpu_has_native_bf16():
    """Whether this CPU computes bfloat16 natively (oneDNN's own check)."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


@contextmanager
def seeded(seed):
    """Run a block under a fixed torch seed without touching the caller's RNG.

    Weight init, dropout, masking and shuffling all draw from torch's global
    generator; forking it makes a fit repeatable *and* side-effect free.
    """
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


class LinearWarmup:
    """Learning-rate multiplier rising linearly from ~0 to 1 over ``warmup_steps``.

    A class rather than a lambda so that fitted nets stay picklable.
    """

    def __init__(self, warmup_steps):
        self.warmup_steps = warmup_steps

    def __call__(self, step):
        return min(1.0, (step + 1) / self.warmup_steps)


class NonFiniteLoss(FloatingPointError):
    """Training produced a NaN or infinite loss."""


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


def _copy_state(module):
    return {key: value.detach().clone() for key, value in module.state_dict().items()}


def checkpoint_callbacks(dirname, *, validation):
    """skorch checkpoints of the best and of the last epoch, as safetensors.

    Weights only (safetensors holds tensors, not code); the history goes to
    JSON beside them.
    """
    best = "valid_loss_best" if validation else "train_loss_best"
    common = dict(dirname=str(dirname), f_optimizer=None, f_criterion=None,
                  use_safetensors=True)
    return [
        ("checkpoint_best", Checkpoint(monitor=best, f_params="best.safetensors",
                                       f_history="best_history.json", **common)),
        ("checkpoint_last", Checkpoint(monitor=None, f_params="last.safetensors",
                                       f_history="last_history.json", **common)),
    ]


class InverseSqrtWarmup:
    """The paper's schedule (Vaswani et al., 5.3), scaled to peak at ``lr``.

    Linear warm-up over ``warmup_steps`` batches, then decay proportional to
    the inverse square root of the step number.
    """

    def __init__(self, warmup_steps):
        self.warmup_steps = warmup_steps

    def __call__(self, step):
        step += 1
        # NOTE[DIFF]: the paper's d_model ** -0.5 factor is replaced by the
        # estimator's `lr` (the peak), so `lr` means the same in every model.
        return min(step / self.warmup_steps, (self.warmup_steps / step) ** 0.5)


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
    - :meth:`embed` returns pooled embeddings in bounded-size batches.

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

    def __init__(self, *args, precision="float32", compiled=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.precision = precision
        self.compiled = compiled

    def _forward_module(self):
        """``module_``, or its compiled twin (built once, sharing the weights)."""
        return self._compiled_twin("compiled_module_", self.module_)

    def _compiled_twin(self, key, function):
        """``function`` (``module_`` or one of its methods), through torch.compile
        when ``compiled``; the twin is kept under ``key`` until ``module_`` changes."""
        module = self.module_
        if not getattr(self, "compiled", False) or "ddp_module_" in self.__dict__:
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
        if self.initialized_ and getattr(self, "optimizer_", None) is None:
            self.initialize_optimizer()  # dropped when pickled
        return super().partial_fit(X, y, classes=classes, **fit_params)

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        # skorch swallows KeyboardInterrupt to keep the model trained so far;
        # remember it so the estimator can say so.
        self.interrupted_ = False
        try:
            return super().fit_loop(X, y, epochs=epochs, **fit_params)
        except KeyboardInterrupt:
            self.interrupted_ = True
            raise

    def _autocast(self):
        return torch.autocast(torch.device(self.device).type, dtype=torch.bfloat16,
                              enabled=self.precision == "bfloat16")

    def infer(self, x, **fit_params):
        x = to_tensor(x, device=self.device)
        module = self._forward_module()
        with self._autocast():
            if isinstance(x, Mapping):
                output = module(**self._merge_x_and_fit_params(x, fit_params))
            else:
                output = module(x, **fit_params)
        return _to_float32(output)

    # The loss is a mean over the samples of a batch (classification and
    # regression): a batch can be split into micro-batches whose losses,
    # weighted by their share of the samples, add up to it.
    _loss_is_sample_mean = True

    def train_step_single(self, batch, **fit_params):
        """One batch's loss and gradients, computed a micro-batch at a time on the CPU.

        Gradients of a mean add up over parts of the batch, so a batch of
        long sequences is run as micro-batches of about ``_MICRO_BATCH_TOKENS``
        tokens, each loss weighted by its share of the samples, with one
        optimizer step for the whole batch as before. The activations autograd
        keeps then stay a few MiB, recycled by ``malloc`` instead of mapped
        afresh from the kernel and faulted in at every step: measured 1.1x
        faster training on a 2-core VM (d_model 128, batch 64 x 129 tokens,
        micro-batches of 31 sequences).
        """
        Xi, yi = unpack_data(batch)
        parts = self._micro_batches(Xi, yi)
        if parts is None:
            return super().train_step_single(batch, **fit_params)
        self._set_training(True)
        n_samples = len(yi)
        loss_sum, predictions = 0.0, []
        for X_part, y_part in parts:
            y_pred = self.infer(X_part, **fit_params)
            share = len(y_part) / n_samples
            loss = self.get_loss(y_pred, y_part, X=X_part, training=True) * share
            loss.backward()
            loss_sum = loss_sum + loss.detach()
            predictions.append(y_pred.detach())
        return {"loss": loss_sum, "y_pred": torch.cat(predictions)}

    def _micro_batches(self, Xi, yi):
        """``[(X_part, y_part), ...]`` splitting a CPU batch of long sequences, else None."""
        x = Xi.get("x") if isinstance(Xi, Mapping) else None
        if (
            not self._loss_is_sample_mean
            or not isinstance(x, torch.Tensor)
            or not isinstance(yi, torch.Tensor)
            or x.ndim < 2
            or torch.device(self.device).type != "cpu"
            or "ddp_module_" in self.__dict__
        ):
            return None
        per_part = max(1, _MICRO_BATCH_TOKENS // x.shape[1])  # x: (B, T) or (B, T, F)
        if x.shape[0] <= per_part:
            return None
        others = {key: value for key, value in Xi.items() if key != "x"}
        if any(isinstance(value, torch.Tensor) for value in others.values()):
            return None  # per-sample inputs besides x: keep the batch whole
        return [({"x": x_part, **others}, y_part)
                for x_part, y_part in zip(x.split(per_part), yi.split(per_part))]

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

    def _embed_function(self):
        """``module_.embed`` (or the forward without one), compiled when ``compiled``."""
        if not hasattr(self.module_, "embed"):
            return self._forward_module()
        return self._compiled_twin("compiled_embed_", self.module_.embed)

    def embed(self, X):
        """Pooled embeddings of ``X`` (a dataset), float32 ``(n_samples, d_model)``."""
        self.check_is_fitted()
        encode = self._embed_function()
        self._set_training(False)
        chunks = []
        with torch.inference_mode():
            for Xi, _ in self.get_iterator(X, training=False):
                Xi = {key: value.to(self.device) for key, value in Xi.items()}
                with self._autocast():
                    chunks.append(encode(**Xi).float().cpu().numpy())
        return np.concatenate(chunks, axis=0)


# Tokens per training micro-batch on the CPU (see TransformerNet.train_step_single).
_MICRO_BATCH_TOKENS = 4096

# Compiled twins of the module's functions: rebuilt on demand, never pickled.
_COMPILED = ("compiled_module_", "compiled_embed_")


class MaskedModelingNet(TransformerNet):
    """Self-supervised net: the module returns ``(prediction, target)`` itself."""

    _loss_is_sample_mean = False  # a mean over the masked positions

    def get_loss(self, y_pred, y_true, X=None, training=False):
        prediction, target = y_pred
        if target.numel() == 0:
            # A batch with nothing to mask (e.g. only empty strings) still
            # needs a differentiable zero so the training loop carries on.
            return prediction.sum() * 0.0
        return self.criterion_(prediction, target)


class Seq2SeqNet(TransformerNet):
    """Teacher-forced translation net: label-smoothed loss over target tokens.

    The module returns log-probabilities ``(B, T, V)``; cross-entropy over
    them equals the NLL (log-softmax is idempotent), and ``ignore_index``
    keeps padding out of the loss.
    """

    _loss_is_sample_mean = False  # a mean over the target tokens

    def get_loss(self, y_pred, y_true, X=None, training=False):
        y_true = y_true.to(y_pred.device)
        return self.criterion_(y_pred.reshape(-1, y_pred.shape[-1]), y_true.reshape(-1))

    def generate(self, X, **generate_kwargs):
        """Generated target ids for a dataset of sources, in dataset order."""
        self.check_is_fitted()
        outputs = []
        for Xi, _ in self.get_iterator(X, training=False):
            src = Xi["src"].to(self.device)
            with self._autocast():
                outputs.extend(self.module_.generate(src, **generate_kwargs))
        return outputs

    def cross_attention(self, X):
        """Cross-attention weights per sample: ``(n_layers, H, T, S)`` each."""
        self.check_is_fitted()
        self._set_training(False)
        maps = []
        with torch.inference_mode():
            for Xi, _ in self.get_iterator(X, training=False):
                src = Xi["src"].to(self.device)
                tgt_in = Xi["tgt_in"].to(self.device)
                memory, memory_mask = self.module_.encode(src)
                _, weights = self.module_.decode(tgt_in, memory, memory_mask,
                                                 need_weights=True)
                stacked = torch.stack(weights, dim=1).float().cpu().numpy()  # (B, L, H, T, S)
                pad, eos = self.module_.padding_idx, self.module_.eos_id
                src_lengths = (src != pad).sum(dim=1).tolist()
                # Shorter targets still hold their [EOS] in tgt_in: not a query.
                tgt_lengths = ((tgt_in != pad) & (tgt_in != eos)).sum(dim=1).tolist()
                for sample, t_len, s_len in zip(stacked, tgt_lengths, src_lengths):
                    maps.append(sample[:, :, :t_len, :s_len])
        return maps


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

        hypotheses = list(self.decode(generate(net, self.sources)))
        score = sacrebleu.metrics.BLEU().corpus_score(hypotheses, [list(self.references)])
        net.history.record("valid_bleu", score.score)


OBJECTIVES = ("classification", "regression", "masked_tokens", "masked_features",
              "translation")


def make_module(objective, module_kwargs, *, n_outputs=None, vocab_size=None,
                mask_id=None, n_special=None, pretrained=None):
    """Build the torch module trained for ``objective``.

    ``module_kwargs`` with ``architecture="bert"`` build a
    :class:`~sktfm.nn.BertBackbone`; ``pretrained`` (a folder) then fills it
    with the checkpoint's weights.
    """
    if objective == "translation":
        return Seq2Seq(**module_kwargs)
    kwargs = dict(module_kwargs)
    if kwargs.pop("architecture", None) == "bert":
        backbone = BertBackbone(**kwargs)
        if pretrained is not None:
            from . import _pretrained

            _pretrained.load_weights(backbone, pretrained)
    else:
        backbone = TransformerBackbone(**kwargs)
    if objective == "backbone":  # a fitted TransformerEncoder keeps only this
        return backbone
    if objective in ("classification", "regression"):
        return TaskModel(backbone, n_outputs)
    if objective == "masked_tokens":
        return MaskedTokenModel(
            backbone, vocab_size=vocab_size, mask_id=mask_id, n_special=n_special
        )
    if objective == "masked_features":
        return MaskedFeatureModel(backbone)
    raise ValueError(f"Unknown {objective=}; expected one of {OBJECTIVES}.")


def _criterion(objective, label_smoothing):
    if objective == "translation":
        return nn.CrossEntropyLoss, {"label_smoothing": label_smoothing, "ignore_index": 0}
    if objective == "classification":
        return nn.CrossEntropyLoss, {"label_smoothing": label_smoothing}
    if objective == "masked_tokens":
        return nn.CrossEntropyLoss, {}
    return nn.MSELoss, {}


def make_callbacks(*, grad_clip, early_stopping, patience, warmup_steps, verbose,
                   callbacks, schedule=LinearWarmup, monitor="valid_loss",
                   extra=(), checkpoint_dir=None):
    """skorch callbacks for the estimator-level training options."""
    result = [("non_finite", StopOnNonFiniteLoss()), *extra]
    if checkpoint_dir is not None:
        result += checkpoint_callbacks(checkpoint_dir, validation=bool(early_stopping))
    if grad_clip:
        result.append(("grad_clip", GradientNormClipping(gradient_clip_value=grad_clip)))
    if early_stopping:
        result.append((
            "early_stopping",
            EarlyStopping(monitor=monitor, patience=patience, load_best=True,
                          lower_is_better=monitor.endswith("loss")),
        ))
    if warmup_steps:
        result.append((
            "warmup",
            LRScheduler(policy=torch.optim.lr_scheduler.LambdaLR,
                        lr_lambda=schedule(warmup_steps), step_every="batch"),
        ))
    if verbose:
        result.append(("progress_bar", ProgressBar()))
    return result + list(callbacks or [])


def make_net(module, *, objective, valid_dataset=None, max_epochs, batch_size, lr,
             weight_decay, label_smoothing=0.0, device, precision, verbose,
             callbacks, compiled=False):
    """Wrap ``module`` in the skorch net that trains it for ``objective``."""
    criterion, criterion_kwargs = _criterion(objective, label_smoothing)
    if objective == "translation":
        net_class, collate_fn = Seq2SeqNet, collate_pairs
    elif objective.startswith("masked"):
        net_class, collate_fn = MaskedModelingNet, collate
    else:
        net_class, collate_fn = TransformerNet, collate
    return net_class(
        module,
        criterion=criterion,
        **{f"criterion__{key}": value for key, value in criterion_kwargs.items()},
        optimizer=torch.optim.AdamW,
        optimizer__weight_decay=weight_decay,
        lr=lr,
        max_epochs=max_epochs,
        batch_size=batch_size,
        train_split=None if valid_dataset is None else predefined_split(valid_dataset),
        iterator_train=training_loader,
        iterator_train__shuffle=True,
        iterator_train__collate_fn=collate_fn,
        iterator_valid__collate_fn=collate_fn,
        predict_nonlinearity=None,
        callbacks=callbacks,
        device=device,
        precision=precision,
        compiled=compiled,
        verbose=verbose,
    )


STRATEGIES = ("ddp",)


def fit_net(net, X, y=None, *, strategy=None, n_processes=None, seed=0):
    """Fit ``net`` on model-ready samples and targets; returns the net.

    ``strategy="ddp"`` trains across ``n_processes`` processes (see
    :mod:`sktfm._distributed`); ``seed`` then seeds the shuffling and dropout
    of every process.
    """
    dataset = SequenceDataset(X, y)
    if strategy is None:
        net.fit(dataset, y=None)
        return net
    return _train_data_parallel(net, dataset, n_processes=n_processes, seed=seed)


def continue_net(net, X, y=None, *, epochs, strategy=None, n_processes=None, seed=0):
    """Train a fitted ``net`` for ``epochs`` more epochs, keeping its state."""
    dataset = SequenceDataset(X, y)
    if strategy is None:
        net.partial_fit(dataset, epochs=epochs)
        return net
    return _train_data_parallel(net, dataset, n_processes=n_processes, seed=seed,
                                epochs=epochs)


def _train_data_parallel(net, dataset, *, n_processes, seed, epochs=None):
    from . import _distributed

    if _distributed.launched_world() is not None:  # torchrun started this process
        return _distributed.train_launched(net, dataset, seed=seed, epochs=epochs)
    n_processes = n_processes or _distributed.default_n_processes(net.device)
    if n_processes == 1:  # one replica is the plain training loop
        net.partial_fit(dataset, epochs=epochs)
        return net
    net, _ = _distributed.train_spawned(net, dataset, n_processes=n_processes,
                                        seed=seed, epochs=epochs)
    return net


@contextmanager
def _batches_of(net, batch_size):
    """Run inference in batches of ``batch_size`` (the estimator's current value)."""
    fitted_size = net.batch_size
    if batch_size is not None:
        net.batch_size = batch_size
    try:
        yield net
    finally:
        net.batch_size = fitted_size


def predict_outputs(net, X, *, batch_size=None):
    """Module outputs on ``X`` (model-ready samples), float32, in batches."""
    with _batches_of(net, batch_size):
        return _in_length_order(X, lambda part: net.predict_proba(SequenceDataset(part)),
                                chunk=net.batch_size * _BATCHES_PER_CHUNK)


def embed(net, X, *, batch_size=None):
    """Pooled embeddings of model-ready samples ``X``, in batches."""
    with _batches_of(net, batch_size):
        return _in_length_order(X, lambda part: net.embed(SequenceDataset(part)),
                                chunk=net.batch_size * _BATCHES_PER_CHUNK)


_BATCHES_PER_CHUNK = 64


def _in_length_order(X, compute, *, chunk):
    """``compute`` over ``X`` chunk by chunk, rows written straight into the output.

    Variable-length samples go in order of length, so that batches carry
    little padding (most of the work saved on texts of mixed length); each
    chunk's rows land at their input positions. Memory beyond the output
    stays bounded by one chunk, however many samples there are.
    """
    n = len(X)
    if n == 0:
        return compute(X)
    variable = isinstance(X, list)
    order = _by_length(X) if variable else np.arange(n)
    out = None
    for start in range(0, n, chunk):
        rows = order[start:start + chunk]
        part = compute([X[i] for i in rows] if variable else X[start:start + chunk])
        if out is None:
            out = np.empty((n, *part.shape[1:]), dtype=part.dtype)
        out[rows] = part
    return out


def _by_length(sequences):
    """Indices that sort sequences by length: batches then carry little padding."""
    return np.argsort([len(seq) for seq in sequences], kind="stable")


def generate(net, sources, *, batch_size=None, **generate_kwargs):
    """Generated target ids for each source id array, in the input order."""
    order = _by_length(sources)
    with _batches_of(net, batch_size):
        generated = net.generate(SequenceDataset([sources[i] for i in order]),
                                 **generate_kwargs)
    result = [None] * len(sources)
    for position, ids in zip(order, generated):
        result[position] = ids
    return result


def cross_attention(net, sources, targets, *, batch_size=None):
    """Cross-attention maps for (source ids, target ids) pairs, in order."""
    with _batches_of(net, batch_size):
        return net.cross_attention(SequenceDataset(sources, targets))
