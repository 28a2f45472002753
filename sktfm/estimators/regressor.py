"""TransformerRegressor: the encoder with a regression head."""

from functools import partial

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.utils.validation import check_array, check_consistent_length

from ._encoder_base import BaseEncoderEstimator
from ._parameters import with_ensemble_size
from ._targets import mean_and_scale
from ._weights import check_sample_weight, with_sample_weight


class TransformerRegressor(RegressorMixin, BaseEncoderEstimator):
    """Transformer encoder with a linear head, for single and multi-output targets.

    Targets are standardised for training and mapped back at prediction, so
    the scale of ``y`` does not matter.

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    {attributes}

    See Also
    --------
    TransformerEncoder : The same encoder as a feature extractor.
    TransformerClassifier : The same encoder with a classification head.

    Examples
    --------
    >>> import numpy as np
    >>> from sktfm import TransformerRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(200, 4))
    >>> y = X @ [1.0, -2.0, 0.5, 0.0]
    >>> reg = TransformerRegressor(d_model=16, n_heads=2, n_layers=1,
    ...                            dim_feedforward=32, max_epochs=30,
    ...                            random_state=0).fit(X, y)
    >>> reg.score(X, y) > 0.9
    True
    """

    def _check_fitted(self, require):
        super()._check_fitted(require)
        require("_y_ndim", int, values=(1, 2))
        mean, scale = require("_y_mean", np.ndarray), require("_y_scale", np.ndarray)
        head = self._module_spec.get("head_kwargs")
        n_outputs = head.get("n_outputs") if isinstance(head, dict) else None
        if not mean.shape == scale.shape == (n_outputs,):
            raise ValueError(
                f"The saved TransformerRegressor's target scaling {mean.shape} does not "
                f"fit its head of {n_outputs} outputs."
            )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    _parameters = with_ensemble_size(BaseEncoderEstimator._parameters)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the regressor.

        Parameters
        ----------
        X : list of str, array-like or DataFrame
            Training input of any type listed under ``input_type``.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Numeric targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample in the training loss (and in
            the validation loss of early stopping): each batch's loss is
            ``sum(w_i * loss_i) / sum(w_i)``, and the targets are
            standardised with the weighted mean and deviation. A weight of 0
            removes a sample's influence, an integer weight counts it about
            as that many copies would. None: every sample weighs 1.

        Returns
        -------
        self : TransformerRegressor
            The fitted regressor.
        """
        return self._fit_guarded(partial(self._fit, sample_weight=sample_weight), X, y)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Train for one more epoch, or start with one epoch when unfitted.

        Parameters
        ----------
        X : list of str, array-like or DataFrame
            Training input, of the type seen at the first fit.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Numeric targets, with as many outputs as at the first fit.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sample in this call's loss (see :meth:`fit`).

        Returns
        -------
        self : TransformerRegressor
            The updated regressor.
        """
        step = partial(self._fit, partial=True, sample_weight=sample_weight)
        return self._partial_fit_guarded(step, X, y)

    def _fit(self, X, y, *, partial=False, sample_weight=None, deadline=None):
        self._require_y(y)
        y = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y")
        if y.ndim > 2:
            raise ValueError(f"y must be 1-D or 2-D, got shape {y.shape}.")
        resuming = self._resuming(partial)
        X_model = self._prepare_X(X, reset=not resuming)
        check_consistent_length(X_model, y)
        weights = check_sample_weight(sample_weight, X_model)
        y_2d = y.reshape(len(y), -1)
        if resuming and y_2d.shape[1] != len(self._y_mean):
            raise ValueError(
                f"y has {y_2d.shape[1]} outputs, but {type(self).__name__} was "
                f"fitted with {len(self._y_mean)}."
            )
        if not resuming:
            # Standardised targets train well whatever their scale; the
            # statistics of the first fit stay fixed when training continues.
            self._y_ndim = y.ndim
            self._y_mean, self._y_scale = mean_and_scale(y_2d, weights)
        y_scaled = ((y_2d - self._y_mean) / self._y_scale).astype(np.float32)
        y_scaled = with_sample_weight(y_scaled, weights)
        epochs = 1 if partial else self.max_epochs
        if resuming:
            return self._continue_training(X_model, y_scaled, epochs=epochs, deadline=deadline)
        return self._fit_module(
            X_model,
            y_scaled,
            objective="regression",
            n_outputs=y_2d.shape[1],
            epochs=epochs,
            deadline=deadline,
        )

    def predict(self, X):
        """Predicted targets.

        Parameters
        ----------
        X : list of str, array-like or DataFrame
            Input of the type seen at fit.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predictions, shaped like the ``y`` seen at fit.
        """
        y = self._outputs(X).astype(np.float64) * self._y_scale + self._y_mean
        return y.ravel() if self._y_ndim == 1 else y
