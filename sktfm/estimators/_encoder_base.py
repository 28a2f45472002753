"""The encoder base: what the encoder, classifier and regressor share.

:class:`BaseEncoderEstimator` adds to the training base the encoder side of
DESIGN.md: the shared hyperparameters, input-type resolution and validation
(text, tokens, tabular rows, numeric sequences), the tokenizer, the backbone
(from scratch or ``pretrained``), pooling and batched inference. The
subclasses add only what their task needs (targets, heads, outputs).
"""

import warnings

import numpy as np
from sklearn.base import clone
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from .. import _pretrained, tables
from ..data import INPUT_TYPES, infer_input_type, resolve_input_type, text_column
from ..series import as_padded_series, auto_patch_size, instance_normalize, max_steps
from ..text import MASK_ID, N_SPECIAL, PretrainedTokenizer, Tokenizer
from ..training import inference
from ..training.builder import TASK_OBJECTIVES
from ..training.plan import plan_regularisation
from ._members import fit_members
from ._parameters import ARCHITECTURE, ENCODER_INPUT, TEXT, TRAINING, with_attention_dropout
from ._signature import inapplicable
from ._table_input import TableInput
from ._targets import mean_and_scale
from ._training import BaseTrainedEstimator

SHARED_ATTRIBUTES_DOC = """\
    input_type_ : str
        The input type found (or given) at fit.

    n_features_in_ : int
        Number of features seen at fit (tabular and sequence input, and
        one-column DataFrames of text).

    feature_types_ : tuple of str
        Tabular input only: each column's type, ``"numeric"``,
        ``"categorical"`` or ``"text"`` (see ``categorical_features`` and
        ``text_features``).

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names, when ``X`` was a DataFrame with string column names.

    patch_size_ : int
        Time steps per token (sequence input only): ``patch_size``, or what
        ``"auto"`` resolved to.

    tokenizer_ : Tokenizer
        The tokenizer fitted on the text (text and tokens input, and tables
        with text columns).

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

_INPUT_KIND = {"text": "tokens", "tokens": "tokens", "tabular": "features", "sequence": "sequence"}


class BaseEncoderEstimator(TableInput, BaseTrainedEstimator, register=False):
    """Shared hyperparameters, input handling and inference of the encoder estimators."""

    _parameters = with_attention_dropout({**ENCODER_INPUT, **ARCHITECTURE, **TEXT, **TRAINING})

    def _check_fitted(self, require):
        super()._check_fitted(require)
        input_type = require("input_type_", str, values=INPUT_TYPES)
        if input_type in ("text", "tokens"):
            require("tokenizer_", (Tokenizer, PretrainedTokenizer))
        else:
            require("n_features_in_", int)
            for name in ("_feature_mean", "_feature_scale"):
                require(name, np.ndarray)
        if input_type == "tabular":
            require("feature_types_", tuple)
            # How a mixed table's columns become model input (None: a numeric table).
            layout = require("_table_layout", (tables.TableLayout, type(None)))
            if layout is not None and "text" in layout.kinds:
                require("tokenizer_", Tokenizer)

    def _fill_older_format(self, version):
        super()._fill_older_format(version)
        if version < 2 and self.input_type_ == "sequence" and not hasattr(self, "patch_size_"):
            self.patch_size_ = 1  # fitted before patch tokens: one step per token
        if version < 4 and self.input_type_ == "tabular":
            self.feature_types_ = ("numeric",) * self.n_features_in_  # before mixed tables
            self._table_layout = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__doc__ and "{attributes}" in cls.__doc__:
            cls.__doc__ = cls.__doc__.replace("{attributes}", SHARED_ATTRIBUTES_DOC.lstrip())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.three_d_array = True
        tags.input_tags.allow_nan = True  # a table's missing cells (a series' padding)
        return tags

    # ------------------------------------------------------------------ input
    def _make_tokenizer(self):
        if self._pretrained_path() is not None:
            return PretrainedTokenizer(
                self.pretrained, max_len=self.max_len, truncation=self.truncation
            )
        if isinstance(self.tokenizer, Tokenizer):
            tokenizer = clone(self.tokenizer)
        else:
            tokenizer = Tokenizer(kind=self.tokenizer, vocab_size=self.vocab_size)
        return tokenizer.set_params(max_len=self.max_len, truncation=self.truncation, output="ids")

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
            if self._pretrained_path() is not None and self.input_type_ not in ("text", "tokens"):
                raise ValueError(
                    f"pretrained models read text; X looks like {self.input_type_} input."
                )
            self._warn_inapplicable()
        else:
            self._check_input_type(X)
        kind = self.input_type_
        if kind in ("text", "tokens"):
            return self._prepare_text(X, reset=reset)
        if kind == "tabular":
            return self._prepare_tabular(X, reset=reset)
        return self._prepare_sequence(X, reset=reset)

    def _warn_inapplicable(self):
        """Warn once, naming them, about parameters set that this fit's input ignores."""
        values = self.get_params(deep=False)
        names = inapplicable(self._parameters, values, self.input_type_)
        if names:
            settings = ", ".join(f"{name}={values[name]!r}" for name in names)
            warnings.warn(
                f"{type(self).__name__}: {settings} apply to other input than "
                f"{self.input_type_} and do nothing here; leave them at their defaults "
                "to silence this warning.",
                UserWarning,
                stacklevel=5,
            )

    def _prepare_text(self, X, *, reset):
        if self.input_type_ == "text":
            if hasattr(X, "columns") or np.ndim(X) == 2:
                # One text column: record (or check) its name like any column.
                validate_data(self, X, skip_check_array=True, reset=reset)
            X = text_column(X)
        if reset:
            self.tokenizer_ = self._make_tokenizer().fit(X)
        return list(self.tokenizer_.transform(X))

    def _standardized(self, X):
        """``X`` scaled by the training statistics, as float32 the model can bear."""
        Z = (X - self._feature_mean) / self._feature_scale
        largest = np.nanmax(np.abs(Z), initial=0.0)  # NaN: sequence padding
        if not largest <= 1e17:
            raise ValueError(
                f"X has values {largest:.3g} standard deviations from the training "
                "mean; the float32 model overflows past ~1e17. Rescale X."
            )
        return Z.astype(np.float32)

    def _check_layout(self, X):
        """At fit, warn when ``sequence_layout="auto"`` reads what looks channels first."""
        if self.sequence_layout != "auto":
            return
        shape = X[0].shape if isinstance(X, (list, tuple)) else np.shape(X)[1:]
        if len(shape) == 2 and shape[1] > shape[0]:
            warnings.warn(
                f"Series of shape {tuple(shape)} are read as {shape[0]} time steps of "
                f"{shape[1]} features (channels last). If they are aeon/sktime's "
                "(n_channels, n_timepoints), pass sequence_layout='channels_first'; set "
                "sequence_layout='channels_last' to silence this warning.",
                UserWarning,
                stacklevel=5,
            )

    def _prepare_sequence(self, X, *, reset):
        if reset:
            self._check_layout(X)
        layout = "channels_first" if self.sequence_layout == "channels_first" else "channels_last"
        X = as_padded_series(X, layout=layout)
        if reset:
            self.n_features_in_ = X.shape[2]
            self.patch_size_ = (
                auto_patch_size(X.shape[1]) if self.patch_size == "auto" else self.patch_size
            )
        elif X.shape[2] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[2]} features, but {type(self).__name__} is "
                f"expecting {self.n_features_in_} features as input."
            )
        patch = self.patch_size_
        limit = max_steps(patch, self.patch_stride or patch, self.max_len)
        if X.shape[1] > limit:
            if not self.truncation:
                raise ValueError(
                    f"Series have up to {X.shape[1]} steps, over the {limit} steps of "
                    f"max_len={self.max_len} patches of {patch}; set truncation=True, "
                    "raise max_len or patch_size."
                )
            X = X[:, :limit]
        padding = np.isnan(X[:, :, 0])  # (n, T), validated: whole trailing steps
        if self.series_scaling == "instance":
            X = instance_normalize(X)
        if reset:
            steps = X.reshape(-1, X.shape[2])
            self._feature_mean, self._feature_scale = mean_and_scale(steps[~padding.ravel()])
        X = self._standardized(X)
        if (np.isnan(X).any(axis=2) != padding).any():  # an overflow, not padding
            raise ValueError("X has values too large to scale in float64 or float32; rescale X.")
        return X

    # --------------------------------------------------------------- training
    def _pretrained_config(self):
        """The pretrained checkpoint's backbone arguments (its ``config.json``), checked."""
        kwargs = _pretrained.backbone_kwargs(self.pretrained)
        if self.max_len > kwargs["max_positions"]:
            raise ValueError(
                f"max_len={self.max_len} exceeds the {kwargs['max_positions']} "
                "positions of the pretrained model; lower max_len."
            )
        return kwargs

    def _backbone_kwargs(self, X_model, regularisation, pretrained_config=None):
        """The backbone's arguments for this fit (``regularisation`` from its plan)."""
        if pretrained_config is not None:
            return dict(
                architecture="bert",
                **{**pretrained_config, "dropout": regularisation.dropout},
                attention_dropout=regularisation.attention_dropout,
                pooling=regularisation.pooling,
            )
        kind = _INPUT_KIND[self.input_type_]
        sizes = {}
        if kind == "tokens":
            sizes["vocab_size"] = self.tokenizer_.vocab_size_
        else:
            sizes["n_features"] = np.shape(X_model)[-1]
        if kind == "sequence":
            sizes["patch_size"] = self.patch_size_
            sizes["patch_stride"] = self.patch_stride
        if kind == "features":
            sizes["missing"] = True  # NaN cells: each column's missing token
            periodic = self._periodic_columns(X_model)
            if any(periodic):
                sizes["periodic_columns"] = periodic
            layout = self._table_layout
            if layout is not None:
                sizes["n_features"] = len(layout.kinds)
                sizes["cardinalities"] = layout.cardinalities
                if any(layout.text_widths):
                    sizes["text_widths"] = layout.text_widths
                    sizes["vocab_size"] = self.tokenizer_.vocab_size_
        return dict(
            input_kind=kind,
            n_layers=self.n_layers,
            **sizes,
            **self._shared_module_kwargs(regularisation),
            attention_dropout=regularisation.attention_dropout,
        )

    def _fit_module(
        self,
        X_model,
        y=None,
        *,
        objective,
        stratify=None,
        epochs=None,
        deadline=None,
        class_weight=None,
        **head_kwargs,
    ):
        """Plan this fit, then split, build, seed and train the module for ``objective``.

        ``class_weight``: the classifier's weight of each class (see
        :func:`~sktfm.training.plan.plan_fit`). Sample weights travel inside
        ``y`` (:func:`~sktfm.training.losses.weighted_targets`), so the
        validation split, ensemble members and data-parallel ranks keep them.
        """
        rng = check_random_state(self.random_state)
        seed = self._seed(rng)
        train, valid = self._split(X_model, y, rng, stratify)
        pretrained = self._pretrained_path()
        pretrained_config = None if pretrained is None else self._pretrained_config()
        regularisation = plan_regularisation(
            self.get_params(deep=False),
            text_from_scratch=pretrained is None and _INPUT_KIND[self.input_type_] == "tokens",
            n_samples=len(X_model),
            checkpoint_dropout=None if pretrained_config is None else pretrained_config["dropout"],
            ensemble="ensemble_size" in self._parameters,
            table_text=self.input_type_ == "tabular" and "text" in self.feature_types_,
        )
        plan = self._plan(
            n_train=len(train[0]),
            epochs=epochs,
            deadline=deadline,
            pretrained=pretrained is not None,
            regularisation=regularisation,
            class_weight=class_weight,
        )
        if objective == "masked_tokens":
            head_kwargs.update(
                vocab_size=self.tokenizer_.vocab_size_,
                mask_id=getattr(self.tokenizer_, "mask_id_", MASK_ID),
                n_special=getattr(self.tokenizer_, "n_special_", N_SPECIAL),
            )
        module_kwargs = self._backbone_kwargs(X_model, regularisation, pretrained_config)
        n_members = regularisation.ensemble_size or 1
        if n_members > 1 and objective in TASK_OBJECTIVES:
            return fit_members(
                self,
                X_model,
                y,
                n_members=n_members,
                rng=rng,
                stratify=stratify,
                objective=objective,
                plan=plan,
                module_kwargs=module_kwargs,
                head_kwargs=head_kwargs,
                pretrained=pretrained,
            )
        return self._train_net(
            objective,
            module_kwargs,
            train,
            valid,
            plan=plan,
            seed=seed,
            head_kwargs=head_kwargs,
            pretrained=pretrained,
        )

    # -------------------------------------------------------------- inference
    def _model_input(self, X):
        check_is_fitted(self, "net_")
        return self._prepare_X(X, reset=False)

    def _outputs(self, X):
        """Raw module outputs for ``X`` (float32), computed batch by batch."""
        X_model = self._model_input(X)
        return inference.predict_outputs(self.net_, X_model, batch_size=self.batch_size)

    def _embed(self, X):
        """Pooled embeddings for ``X`` (float32), computed batch by batch."""
        X_model = self._model_input(X)
        return inference.embed(self.net_, X_model, batch_size=self.batch_size)

    def attention_weights(self, X):
        """Self-attention weights of every layer and head, per sample, for plots.

        Parameters
        ----------
        X : list of str, array-like or DataFrame
            Input of the type seen at fit.

        Returns
        -------
        weights : list of ndarray of shape (n_layers, n_heads, n_tokens, n_tokens)
            One float32 array per sample; rows attend over columns. The
            tokens are the sample's own: position 0 is the [CLS] token,
            then its tokens (text), features (tabular) or steps
            (sequences), without padding. See
            :func:`sktfm.plotting.plot_attention`.
        """
        X_model = self._model_input(X)
        return inference.self_attention(self.net_, X_model, batch_size=self.batch_size)
