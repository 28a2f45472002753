"""TransformerEncoder: a Transformer as a scikit-learn feature extractor."""

import warnings
from functools import partial

import numpy as np
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_array, check_consistent_length

from ..training import make_module
from ._encoder_base import BaseEncoderEstimator
from ._targets import label_indices, mean_and_scale
from ._weights import check_sample_weight, with_sample_weight


class TransformerEncoder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEncoderEstimator):
    """Transformer encoder that turns each sample into a ``d_model`` vector.

    ``fit(X)`` learns without labels: masked-token modelling on text (15% of
    tokens hidden and predicted, as in BERT), masked-feature reconstruction
    on tabular rows, or masked-patch reconstruction on numeric sequences (15%
    of the patches hidden and their values predicted). ``fit(X, y)`` trains a
    classification (discrete ``y``) or regression (continuous ``y``) head and
    drops it after fit. ``transform`` returns the pooled encoder states, ready
    for PCA, TruncatedSVD or any downstream model.

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    {attributes}

    See Also
    --------
    TransformerClassifier : The encoder with a classification head.
    TransformerRegressor : The encoder with a regression head.

    Examples
    --------
    >>> from sktfm import TransformerEncoder
    >>> X = ["the cat sat", "a dog ran", "the dog sat", "a cat ran"] * 4
    >>> encoder = TransformerEncoder(d_model=16, n_heads=2, n_layers=1,
    ...                              dim_feedforward=32, max_epochs=2,
    ...                              random_state=0)
    >>> encoder.fit_transform(X).shape
    (16, 16)
    """

    def _check_fitted(self, require):
        super()._check_fitted(require)
        require("_target_encoding", (tuple, type(None)))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

    @property
    def _n_features_out(self):
        return self.d_model

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Fit the encoder, self-supervised without ``y``, supervised with it.

        Parameters
        ----------
        X : list of str, array-like or DataFrame
            Training input of any type listed under ``input_type``.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
            Optional targets: class labels train a classification head,
            continuous values a regression head; the head is dropped after fit.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample in the supervised loss (and in
            the validation loss of early stopping), as in
            :meth:`TransformerClassifier.fit`. Needs ``y``: the
            self-supervised losses are means over masked tokens or cells,
            which take no sample weights (a ValueError says so).

        Returns
        -------
        self : TransformerEncoder
            The fitted encoder.
        """
        return self._fit_guarded(partial(self._fit, sample_weight=sample_weight), X, y)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, sample_weight=None):
        """Train for one more epoch, or start with one epoch when unfitted.

        Training continues the objective of the first fit: self-supervised
        when it had no ``y``, the same classification or regression task
        otherwise.

        Parameters
        ----------
        X : list of str, array-like or DataFrame
            Training input, of the type seen at the first fit.
        y : array-like or None, default=None
            Targets, when the first fit had them.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sample in this call's supervised loss (see :meth:`fit`).

        Returns
        -------
        self : TransformerEncoder
            The updated encoder.
        """
        step = partial(self._fit, partial=True, sample_weight=sample_weight)
        return self._partial_fit_guarded(step, X, y)

    def _fit(self, X, y, *, partial=False, sample_weight=None, deadline=None):
        if y is None and sample_weight is not None:
            raise ValueError(
                "TransformerEncoder takes sample_weight with y only: the self-supervised "
                "loss (masked tokens or cells) has no per-sample weights. Pass y, or "
                "leave sample_weight out."
            )
        epochs = 1 if partial else self.max_epochs
        if self._resuming(partial):
            return self._continue(X, y, sample_weight, epochs=epochs, deadline=deadline)
        X_model = self._prepare_X(X, reset=True)
        self._target_encoding = None
        if y is None:
            objective = (
                "masked_tokens" if self.input_type_ in ("text", "tokens") else "masked_features"
            )
            self._fit_module(X_model, objective=objective, epochs=epochs, deadline=deadline)
        else:
            y_model, objective, n_outputs, stratify = self._encode_targets(X_model, y)
            weights = check_sample_weight(sample_weight, X_model)
            self._fit_module(
                X_model,
                with_sample_weight(y_model, weights),
                objective=objective,
                stratify=stratify,
                n_outputs=n_outputs,
                epochs=epochs,
                deadline=deadline,
            )
        # The head has served its purpose: ``module_`` is exactly the feature
        # extractor ``transform`` runs. The model with its head is kept aside,
        # private, so that partial_fit and warm_start can continue training.
        self._training_module = self.net_.module_
        self._training_spec = self._module_spec
        self.module_ = self.net_.module_ = self.net_.module_.backbone
        self._module_spec = {**self._module_spec, "objective": "backbone", "head_kwargs": {}}
        return self

    def _encode_targets(self, X_model, y):
        """Model-ready targets and the task they define; learned on the first fit."""
        y = check_array(y, ensure_2d=False, dtype=None, input_name="y")
        check_consistent_length(X_model, y)
        if self._target_encoding is None:
            if type_of_target(y).startswith("continuous"):
                y_2d = y.astype(np.float64).reshape(len(y), -1)
                self._target_encoding = ("regression", *mean_and_scale(y_2d))
            else:
                if y.ndim == 2 and y.shape[1] == 1:
                    y = y.ravel()
                if y.ndim != 1:
                    raise ValueError(
                        "TransformerEncoder supports one label column for supervised "
                        f"fit; got y of shape {y.shape}."
                    )
                self._target_encoding = ("classification", np.unique(y))
        if self._target_encoding[0] == "regression":
            _, mean, scale = self._target_encoding
            y_2d = y.astype(np.float64).reshape(len(y), -1)
            if y_2d.shape[1] != len(mean):
                raise ValueError(f"y has {y_2d.shape[1]} outputs; the first fit had {len(mean)}.")
            return ((y_2d - mean) / scale).astype(np.float32), "regression", len(mean), None
        classes = self._target_encoding[1]
        y = y.ravel() if y.ndim == 2 and y.shape[1] == 1 else y
        index = label_indices(classes, y, hint="Continue with the labels of the first fit.")
        return index, "classification", max(len(classes), 2), index

    def _continue(self, X, y, sample_weight, *, epochs, deadline=None):
        """Continue the first fit's objective: self-supervised, or the same task."""
        X_model = self._prepare_X(X, reset=False)
        supervised = self._target_encoding is not None
        if (y is not None) != supervised:
            first = "with y" if supervised else "without y"
            raise ValueError(
                f"This TransformerEncoder was first fitted {first}; continue "
                "training the same way, or refit it."
            )
        y_model = None
        if y is not None:
            weights = check_sample_weight(sample_weight, X_model)
            y_model = with_sample_weight(self._encode_targets(X_model, y)[0], weights)
        model = self._training_model()
        self.net_.module_ = model
        self.net_.initialize_optimizer()  # optimise the whole model again
        try:
            self._continue_training(X_model, y_model, epochs=epochs, deadline=deadline)
        finally:
            self.module_ = self.net_.module_ = model.backbone
        return self

    def _training_model(self):
        """The backbone with its training head, rebuilt if it was not kept.

        A model loaded with :func:`sktfm.load` has its backbone only: the head
        is rebuilt from the recorded spec and starts afresh, with a warning.
        """
        if getattr(self, "_training_module", None) is None:
            warnings.warn(
                "This TransformerEncoder has no training head (it was loaded from "
                "disk): training continues with a new head on the trained backbone.",
                stacklevel=4,
            )
            spec = self._training_spec
            model = make_module(spec["objective"], spec["module_kwargs"], **spec["head_kwargs"]).to(
                self.device_
            )
            model.backbone = self.module_
            self._training_module = model
        return self._training_module

    def transform(self, X):
        """Embed each sample as the pooled encoder state.

        Parameters
        ----------
        X : list of str, array-like or DataFrame
            Input of the type seen at fit.

        Returns
        -------
        X_new : ndarray of shape (n_samples, d_model), dtype float32
            One embedding per sample, computed in batches of ``batch_size``.
        """
        return self._embed(X)
