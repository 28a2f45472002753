"""The scikit-learn façade shared by every sequence estimator.

:class:`BaseTransformerEstimator` owns the contract that DESIGN.md fixes for
all estimators: the shared hyperparameters, input-type resolution and
validation, tokenization, the seeded skorch fit and batched inference. The
subclasses add only what their task needs (targets, heads, outputs). No tensor
code lives here: the training layer (``sktfm._net``) does that work.
"""

import os
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from .. import _net, _pretrained
from ..data import INPUT_TYPES, infer_input_type, resolve_input_type, text_column
from ..text import MASK_ID, N_SPECIAL, PAD_ID, PretrainedTokenizer, Tokenizer

SHARED_PARAMETERS_DOC = """\
    input_type : {"auto", "text", "tokens", "tabular", "sequence"}, default="auto"
        What ``X`` holds: 1-D strings, pre-tokenized lists of strings, a 2-D
        numeric table (each feature one token) or a 3-D numeric array
        ``(n_samples, seq_len, n_features)``. ``"auto"`` infers it.

    d_model : int, default=128
        Width of every token representation.

    n_heads : int, default=4
        Attention heads per layer; must divide ``d_model``.

    n_layers : int, default=2
        Number of encoder layers.

    dim_feedforward : int, default=512
        Hidden width of the position-wise feed-forward block.

    dropout : float, default=0.1
        Dropout on embeddings, attention weights and residual branches.

    activation : {"gelu", "relu"}, default="gelu"
        Feed-forward activation.

    norm_first : bool, default=True
        Pre-norm layers (stable training) when True, the paper's post-norm
        otherwise.

    positional : {"sinusoidal", "learned"}, default="sinusoidal"
        Positional encoding for text, tokens and sequences.

    max_len : int, default=256
        Longest sequence, in tokens (text) or steps (sequences).

    pooling : {"mean", "cls", "max"}, default="mean"
        How token states become one vector per sample.

    tokenizer : {"word", "char", "bpe"} or Tokenizer, default="word"
        Tokenizer kind learned on text at fit, or a :class:`~sktfm.Tokenizer`
        whose kind, ``vocab_size`` and ``min_frequency`` are used (its
        ``max_len`` and ``truncation`` are taken from this estimator).

    vocab_size : int, default=8000
        Largest vocabulary learned from text.

    truncation : bool, default=True
        Cut sequences longer than ``max_len``; when False they raise a
        ``ValueError`` instead.

    max_epochs : int, default=10
        Passes over the training data. 0 is allowed with ``pretrained`` and
        means "load only": the checkpoint is used as it is.

    batch_size : int, default=64
        Samples per mini-batch, for training and for inference.

    lr : float, default=1e-3
        AdamW learning rate.

    weight_decay : float, default=0.01
        AdamW weight decay.

    warmup_steps : int, default=0
        Batches over which the learning rate rises linearly to ``lr``.

    label_smoothing : float, default=0.0
        Label smoothing of the classification loss.

    grad_clip : float or None, default=1.0
        Largest gradient norm; None disables clipping.

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data and stop when the
        validation loss has not improved for ``patience`` epochs, keeping the
        best weights.

    validation_fraction : float, default=0.1
        Share of the training data held out when ``early_stopping``.

    patience : int, default=5
        Epochs without improvement before early stopping.

    device : str, default="auto"
        Torch device; ``"auto"`` picks CUDA when available, else CPU.

    precision : {"auto", "float32", "bfloat16", "fp32", "bf16"}, default="auto"
        Autocast precision (``"fp32"`` and ``"bf16"`` are short names);
        ``"auto"`` is bfloat16 on a capable GPU and float32 on CPU. bfloat16
        also speeds up CPUs with AVX-512 BF16 or AMX.

    random_state : int, RandomState instance or None, default=None
        Seeds weight init, masking, dropout, shuffling and the validation
        split; an int makes a CPU fit bit-for-bit repeatable.

    verbose : int, default=0
        0 is silent; 1 shows skorch's progress bar and per-epoch table.

    callbacks : list of skorch callbacks or None, default=None
        Extra skorch callbacks (instances or ``(name, callback)`` pairs).

    checkpoint_dir : str, path or None, default=None
        Folder where the weights of the best epoch (``best.safetensors``, by
        validation loss with early stopping, else training loss) and of the
        last epoch (``last.safetensors``) are written during fit, with their
        histories as JSON.

    warm_start : bool, default=False
        When True, calling ``fit`` on a fitted estimator continues training
        its model for ``max_epochs`` more epochs (same vocabulary, scaling
        and classes; the history goes on) instead of starting afresh.
        ``partial_fit`` always continues, one epoch at a time.

    strategy : {"ddp"} or None, default=None
        None trains in the calling process. ``"ddp"`` trains data-parallel
        with ``torch.distributed``: ``n_processes`` processes (gloo on CPU,
        NCCL on CUDA, one GPU each) each take ``batch_size / n_processes``
        samples of every batch and all-reduce their gradients; the fitted
        model comes back to the calling process. Under ``torchrun`` every
        launched process trains as one rank instead.

    n_processes : int or None, default=None
        Processes for ``strategy="ddp"``: None means one per visible GPU on
        CUDA, one per usable CPU core otherwise. Ignored without a strategy.

    pretrained : str, path or None, default=None
        A BERT-family folder (``config.json``, ``model.safetensors``,
        ``tokenizer.json``) to start from, for text input: ``fit`` builds the
        encoder from its config, loads its weights and uses its tokenizer
        (WordPiece), so ``d_model``, ``n_heads``, ``n_layers``,
        ``dim_feedforward``, ``activation``, ``norm_first``, ``positional``,
        ``tokenizer`` and ``vocab_size`` come from the checkpoint; ``max_len``
        is where texts are cut (at most the checkpoint's positions).
        ``max_epochs=0`` loads only; otherwise ``fit`` fine-tunes (with ``y``
        the task head, without it masked-token modelling).

    compile : bool, default=False
        Run the model's forward passes (training and prediction) through
        ``torch.compile`` (dynamic shapes). The first batches pay for the
        compilation (tens of seconds on CPU); weights, pickles and saved
        folders are those of the plain model. Data-parallel training runs
        uncompiled."""

SHARED_ATTRIBUTES_DOC = """\
    input_type_ : str
        The input type found (or given) at fit.

    n_features_in_ : int
        Number of features seen at fit (tabular and sequence input, and
        one-column DataFrames of text).

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when ``X`` was a DataFrame with string column names.

    tokenizer_ : Tokenizer
        The tokenizer fitted on the text (text and tokens input only).

    net_ : skorch.NeuralNet
        The skorch net that trained the module.

    module_ : torch.nn.Module
        The trained PyTorch module.

    history_ : skorch.History
        Per-epoch training (and validation) loss.

    n_iter_ : int
        Number of epochs run.

    device_ : str
        The device the model was trained on."""

def mean_and_scale(values):
    """Per-column mean and standard deviation of a 2-D array; zero spreads become 1.

    Used to standardise features and targets: a constant column is centred,
    never divided by zero.
    """
    scale = values.std(axis=0)
    return values.mean(axis=0), np.where(scale > 0, scale, 1.0)


def label_indices(classes, y, *, hint):
    """Positions of the labels ``y`` in the sorted ``classes``, as int64.

    Raises a ValueError naming the unseen labels and ending with ``hint``.
    """
    index = np.searchsorted(classes, y).clip(max=len(classes) - 1)
    unknown = classes[index] != y
    if unknown.any():
        raise ValueError(
            f"y contains labels not in classes_ {classes.tolist()[:10]}: "
            f"{np.unique(y[unknown]).tolist()[:5]}. {hint}"
        )
    return index.astype(np.int64)


_INPUT_KIND = {"text": "tokens", "tokens": "tokens", "tabular": "features",
               "sequence": "sequence"}


class BaseTransformerEstimator(BaseEstimator):
    """Shared hyperparameters, validation and training for sktfm estimators."""

    _parameter_constraints = {
        "input_type": [StrOptions({"auto", *INPUT_TYPES})],
        "d_model": [Interval(Integral, 1, None, closed="left")],
        "n_heads": [Interval(Integral, 1, None, closed="left")],
        "n_layers": [Interval(Integral, 1, None, closed="left")],
        "dim_feedforward": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "activation": [StrOptions({"gelu", "relu"})],
        "norm_first": ["boolean"],
        "positional": [StrOptions({"sinusoidal", "learned"})],
        "max_len": [Interval(Integral, 1, None, closed="left")],
        "pooling": [StrOptions({"mean", "cls", "max"})],
        "tokenizer": [StrOptions({"word", "char", "bpe"}), Tokenizer],
        "vocab_size": [Interval(Integral, N_SPECIAL + 1, None, closed="left")],
        "truncation": ["boolean"],
        "max_epochs": [Interval(Integral, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "warmup_steps": [Interval(Integral, 0, None, closed="left")],
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
        "grad_clip": [Interval(Real, 0, None, closed="neither"), None],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "patience": [Interval(Integral, 1, None, closed="left")],
        "device": [str],
        "precision": [StrOptions(set(_net.PRECISIONS))],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "callbacks": [list, None],
        "checkpoint_dir": [str, os.PathLike, None],
        "warm_start": ["boolean"],
        "strategy": [StrOptions(set(_net.STRATEGIES)), None],
        "n_processes": [Interval(Integral, 1, None, closed="left"), None],
        "pretrained": [str, os.PathLike, None],
        "compile": ["boolean"],
    }

    def __init__(
        self,
        *,
        input_type="auto",
        d_model=128,
        n_heads=4,
        n_layers=2,
        dim_feedforward=512,
        dropout=0.1,
        activation="gelu",
        norm_first=True,
        positional="sinusoidal",
        max_len=256,
        pooling="mean",
        tokenizer="word",
        vocab_size=8000,
        truncation=True,
        max_epochs=10,
        batch_size=64,
        lr=1e-3,
        weight_decay=0.01,
        warmup_steps=0,
        label_smoothing=0.0,
        grad_clip=1.0,
        early_stopping=False,
        validation_fraction=0.1,
        patience=5,
        device="auto",
        precision="auto",
        random_state=None,
        verbose=0,
        callbacks=None,
        checkpoint_dir=None,
        warm_start=False,
        strategy=None,
        n_processes=None,
        pretrained=None,
        compile=False,
    ):
        self.input_type = input_type
        self.d_model = d_model
        self.n_heads = n_heads
        self.n_layers = n_layers
        self.dim_feedforward = dim_feedforward
        self.dropout = dropout
        self.activation = activation
        self.norm_first = norm_first
        self.positional = positional
        self.max_len = max_len
        self.pooling = pooling
        self.tokenizer = tokenizer
        self.vocab_size = vocab_size
        self.truncation = truncation
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.warmup_steps = warmup_steps
        self.label_smoothing = label_smoothing
        self.grad_clip = grad_clip
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.device = device
        self.precision = precision
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.checkpoint_dir = checkpoint_dir
        self.warm_start = warm_start
        self.strategy = strategy
        self.n_processes = n_processes
        self.pretrained = pretrained
        self.compile = compile

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.three_d_array = True
        return tags

    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: never edit the live object
        if "net_" in state:
            # ``module_`` is the net's module: pickled once, inside the net.
            state.pop("module_", None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if "net_" in self.__dict__:
            self.module_ = self.net_.module_
            # skorch maps a CUDA-fitted net to the CPU when no GPU is here;
            # report where the model now lives.
            self.device_ = str(self.net_.device)

    # ------------------------------------------------------------------ input
    def _make_tokenizer(self):
        if self._pretrained_path() is not None:
            return PretrainedTokenizer(self.pretrained, max_len=self.max_len,
                                       truncation=self.truncation)
        if isinstance(self.tokenizer, Tokenizer):
            tokenizer = clone(self.tokenizer)
        else:
            tokenizer = Tokenizer(kind=self.tokenizer, vocab_size=self.vocab_size)
        return tokenizer.set_params(
            max_len=self.max_len, truncation=self.truncation, output="ids"
        )

    def _pretrained_path(self):
        return getattr(self, "pretrained", None)

    def _check_pretrained_options(self):
        """``max_epochs=0`` only makes sense when there is something to load."""
        path = self._pretrained_path()
        if self.max_epochs == 0 and path is None:
            raise ValueError("max_epochs=0 (load only) needs pretrained=<folder>.")
        if path is not None:
            _pretrained.check_folder(path)

    def _check_input_type(self, X):
        """Fail early when predict-time input is of another kind than at fit."""
        if self.input_type != "auto":
            return
        found = infer_input_type(X)
        same_family = {found, self.input_type_} <= {"text", "tokens"}
        if found != self.input_type_ and not same_family:
            raise ValueError(
                f"{type(self).__name__} was fitted on {self.input_type_} input, "
                f"but X looks like {found} input."
            )

    def _prepare_X(self, X, *, reset):
        """Validate ``X`` and turn it into model-ready samples.

        Returns a list of int64 id arrays (text, tokens) or a float32 array
        (tabular, sequence). With ``reset`` the input statistics (tokenizer,
        feature scaling, feature count) are learned; otherwise checked.
        """
        if reset:
            self._check_pretrained_options()
            self.input_type_ = resolve_input_type(X, self.input_type)
            if self._pretrained_path() is not None and self.input_type_ not in ("text",
                                                                                 "tokens"):
                raise ValueError(
                    f"pretrained models read text; X looks like {self.input_type_} input."
                )
        else:
            self._check_input_type(X)
        kind = self.input_type_
        if kind in ("text", "tokens"):
            return self._prepare_text(X, reset=reset)
        if kind == "tabular":
            return self._prepare_tabular(X, reset=reset)
        return self._prepare_sequence(X, reset=reset)

    def _prepare_text(self, X, *, reset):
        if self.input_type_ == "text":
            if hasattr(X, "columns") or np.ndim(X) == 2:
                # One text column: record (or check) its name like any column.
                validate_data(self, X, skip_check_array=True, reset=reset)
            X = text_column(X)
        if reset:
            self.tokenizer_ = self._make_tokenizer().fit(X)
        return list(self.tokenizer_.transform(X))

    def _prepare_tabular(self, X, *, reset):
        X = validate_data(self, X, reset=reset, dtype=(np.float64, np.float32))
        if reset:
            # Standardised features train far better than raw scales; the
            # statistics are data-side state, like a StandardScaler's.
            self._feature_mean, self._feature_scale = mean_and_scale(X)
        return self._standardized(X)

    def _standardized(self, X):
        """``X`` scaled by the training statistics, as float32 the model can bear."""
        Z = (X - self._feature_mean) / self._feature_scale
        largest = np.abs(Z).max(initial=0.0)
        if not largest <= 1e17:
            raise ValueError(
                f"X has values {largest:.3g} standard deviations from the training "
                "mean; the float32 model overflows past ~1e17. Rescale X."
            )
        return Z.astype(np.float32)

    def _prepare_sequence(self, X, *, reset):
        X = check_array(X, allow_nd=True, dtype=(np.float64, np.float32))
        if X.ndim != 3:
            raise ValueError(
                f"Sequence input must be 3-D (n_samples, seq_len, n_features); "
                f"got shape {X.shape}."
            )
        if X.shape[1] > self.max_len:
            if not self.truncation:
                raise ValueError(
                    f"Sequences have {X.shape[1]} steps, over max_len={self.max_len}; "
                    f"set truncation=True or raise max_len."
                )
            X = X[:, : self.max_len]
        if reset:
            self.n_features_in_ = X.shape[2]
            flat = X.reshape(-1, X.shape[2])
            self._feature_mean, self._feature_scale = mean_and_scale(flat)
        elif X.shape[2] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[2]} features, but {type(self).__name__} is "
                f"expecting {self.n_features_in_} features as input."
            )
        return self._standardized(X)

    def _require_y(self, y):
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )

    def save(self, path):
        """Save the fitted estimator to the folder ``path`` (JSON + safetensors).

        Load it back with :func:`sktfm.load`, which runs no pickle code.
        ``callbacks`` are not saved.

        Parameters
        ----------
        path : str or path-like
            Folder to write; created if missing.
        """
        from ..io import save

        save(self, path)

    # --------------------------------------------------------------- training
    def _backbone_kwargs(self, X_model):
        if self._pretrained_path() is not None:
            kwargs = _pretrained.backbone_kwargs(self.pretrained)
            if self.max_len > kwargs["max_positions"]:
                raise ValueError(
                    f"max_len={self.max_len} exceeds the {kwargs['max_positions']} "
                    "positions of the pretrained model; lower max_len."
                )
            return dict(architecture="bert", **{**kwargs, "dropout": self.dropout},
                        pooling=self.pooling)
        kind = _INPUT_KIND[self.input_type_]
        sizes = {}
        if kind == "tokens":
            sizes["vocab_size"] = self.tokenizer_.vocab_size_
        else:
            sizes["n_features"] = np.shape(X_model)[-1]
        return dict(
            input_kind=kind, d_model=self.d_model, n_heads=self.n_heads,
            n_layers=self.n_layers, dim_feedforward=self.dim_feedforward,
            dropout=self.dropout, activation=self.activation,
            norm_first=self.norm_first, positional=self.positional,
            max_len=self.max_len, pooling=self.pooling, padding_idx=PAD_ID, **sizes,
        )

    def _split(self, X_model, y, rng, stratify):
        """Split off a validation set when early stopping asks for one."""
        n_samples = len(X_model)
        if not self.early_stopping:
            return (X_model, y), None
        if n_samples < 2:
            raise ValueError(
                f"early_stopping needs at least 2 samples to hold some out; got {n_samples}."
            )
        indices = np.arange(n_samples)
        seed = rng.randint(np.iinfo(np.int32).max)
        try:
            train, valid = train_test_split(
                indices, test_size=self.validation_fraction, random_state=seed,
                stratify=stratify,
            )
        except ValueError:  # a class too rare to stratify on
            train, valid = train_test_split(
                indices, test_size=self.validation_fraction, random_state=seed
            )

        def take(data, idx):
            if data is None:
                return None
            return [data[i] for i in idx] if isinstance(data, list) else data[idx]

        return (take(X_model, train), take(y, train)), (take(X_model, valid), take(y, valid))

    def _fit_module(self, X_model, y=None, *, objective, stratify=None, epochs=None,
                    **head_kwargs):
        """Split, build, seed and train the module for ``objective``."""
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        train, valid = self._split(X_model, y, rng, stratify)
        if objective == "masked_tokens":
            head_kwargs.update(vocab_size=self.tokenizer_.vocab_size_,
                               mask_id=getattr(self.tokenizer_, "mask_id_", MASK_ID),
                               n_special=getattr(self.tokenizer_, "n_special_", N_SPECIAL))
        return self._train_net(objective, self._backbone_kwargs(X_model), train, valid,
                               seed=seed, head_kwargs=head_kwargs, epochs=epochs)

    def _train_net(self, objective, module_kwargs, train, valid, *, seed,
                   head_kwargs=None, schedule=_net.LinearWarmup, monitor="valid_loss",
                   extra_callbacks=(), epochs=None):
        """Build the module and its skorch net under ``seed``, train, set fitted attributes.

        ``train`` and ``valid`` are ``(X, y)`` pairs of model-ready samples
        (``valid`` may be None); the remaining arguments pick the learning-rate
        schedule, the early-stopping metric and callbacks that run first.
        """
        device = _net.resolve_device(self.device)
        with _net.seeded(seed):
            module = _net.make_module(objective, module_kwargs, **(head_kwargs or {}),
                                      pretrained=self._pretrained_path())
            net = _net.make_net(
                module,
                objective=objective,
                valid_dataset=None if valid is None else _net.SequenceDataset(*valid),
                max_epochs=epochs or self.max_epochs,
                batch_size=self.batch_size,
                lr=self.lr,
                weight_decay=self.weight_decay,
                label_smoothing=self.label_smoothing,
                device=device,
                precision=_net.resolve_precision(self.precision, device),
                compiled=self.compile,
                verbose=self.verbose,
                callbacks=_net.make_callbacks(
                    grad_clip=self.grad_clip, early_stopping=bool(self.early_stopping),
                    patience=self.patience, warmup_steps=self.warmup_steps,
                    verbose=self.verbose, callbacks=self.callbacks,
                    schedule=schedule, monitor=monitor, extra=extra_callbacks,
                    checkpoint_dir=self.checkpoint_dir,
                ),
            )
            _net.fit_net(net, *train, **self._strategy_options(seed))
        self._warn_if_interrupted(net)
        # Everything needed to rebuild the module without pickle (sktfm.io).
        self._module_spec = {"objective": objective, "module_kwargs": module_kwargs,
                             "head_kwargs": dict(head_kwargs or {})}
        self.device_ = device
        self.net_ = net
        self.module_ = net.module_
        self.history_ = net.history
        self.n_iter_ = len(net.history)
        return self

    def _strategy_options(self, seed):
        """How the training layer spreads a fit over processes."""
        if self.strategy is None:
            return {}
        return {"strategy": self.strategy, "n_processes": self.n_processes, "seed": seed}

    def _warn_if_interrupted(self, net):
        if net.interrupted_:
            kept = "best" if self.early_stopping else "latest"
            warnings.warn(
                f"{type(self).__name__}: training was interrupted after "
                f"{len(net.history)} epoch(s); the estimator is fitted with the "
                f"{kept} weights so far.", stacklevel=4,
            )

    def _resuming(self, partial):
        """Whether this fit continues the fitted model rather than starting afresh."""
        return hasattr(self, "net_") and (partial or self.warm_start)

    def _continue_training(self, X_model, y=None, *, epochs):
        """Train the fitted net for ``epochs`` more epochs on model-ready data."""
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        seed = int(seed) + len(self.net_.history)  # new shuffles each call
        with _net.seeded(seed):
            _net.continue_net(self.net_, X_model, y, epochs=epochs,
                              **self._strategy_options(seed))
        self._warn_if_interrupted(self.net_)
        self.history_ = self.net_.history
        self.n_iter_ = len(self.net_.history)
        return self

    def _fit_guarded(self, fit, X, y):
        """Run ``fit`` so that a failure leaves a previous fit untouched."""
        state = self.__dict__.copy()
        try:
            return fit(X, y)
        except Exception:
            self.__dict__.clear()
            self.__dict__.update(state)
            raise

    # -------------------------------------------------------------- inference
    def _model_input(self, X):
        check_is_fitted(self, "net_")
        return self._prepare_X(X, reset=False)

    def _outputs(self, X):
        """Raw module outputs for ``X`` (float32), computed batch by batch."""
        X_model = self._model_input(X)
        return _net.predict_outputs(self.net_, X_model, batch_size=self.batch_size)

    def _embed(self, X):
        """Pooled embeddings for ``X`` (float32), computed batch by batch."""
        X_model = self._model_input(X)
        return _net.embed(self.net_, X_model, batch_size=self.batch_size)
