"""TransformerClassifier: the encoder with a classification head."""

from functools import partial

import numpy as np
from scipy.special import softmax
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_consistent_length, column_or_1d

from ._encoder_base import BaseEncoderEstimator
from ._parameters import with_class_weight, with_ensemble_size
from ._targets import label_indices


class TransformerClassifier(ClassifierMixin, BaseEncoderEstimator):
    """Transformer encoder with a softmax head, for binary and multiclass labels.

    Text, pre-tokenized text, tabular rows (each feature one token, as in
    FT-Transformer) and numeric sequences (time series of equal or unequal
    lengths, cut into patch tokens) are encoded by a stack of
    self-attention layers, pooled to one vector and classified. Training runs
    through skorch on GPU when one is present.

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels, in the order of ``predict_proba``'s columns.

    {attributes}

    See Also
    --------
    TransformerEncoder : The same encoder as a feature extractor.
    TransformerRegressor : The same encoder with a regression head.

    Examples
    --------
    >>> from sktfm import TransformerClassifier
    >>> X = ["good movie", "great film", "bad movie", "awful film"] * 5
    >>> y = [1, 1, 0, 0] * 5
    >>> clf = TransformerClassifier(d_model=16, n_heads=2, n_layers=1,
    ...                             dim_feedforward=32, max_epochs=60,
    ...                             random_state=0).fit(X, y)
    >>> clf.predict(["good film", "awful movie"]).tolist()
    [1, 0]
    """

    _parameters = with_class_weight(with_ensemble_size(BaseEncoderEstimator._parameters))

    def _check_fitted(self, require):
        super()._check_fitted(require)
        classes = require("classes_", np.ndarray)
        head = self._module_spec.get("head_kwargs")
        if isinstance(head, dict) and head.get("n_outputs", len(classes)) != len(classes):
            raise ValueError(
                f"The saved TransformerClassifier has {len(classes)} classes_ but a head "
                f"of {head['n_outputs']} outputs."
            )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the classifier.

        Parameters
        ----------
        X : list of str, array-like or DataFrame
            Training input of any type listed under ``input_type``.
        y : array-like of shape (n_samples,)
            Class labels of any type (ints, strings, ...).

        Returns
        -------
        self : TransformerClassifier
            The fitted classifier.
        """
        return self._fit_guarded(self._fit, X, y)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None):
        """Train for one more epoch, or start with one epoch when unfitted.

        Parameters
        ----------
        X : list of str, array-like or DataFrame
            Training input, of the type seen at the first fit.
        y : array-like of shape (n_samples,)
            Class labels.
        classes : array-like or None, default=None
            Every label the model will see, needed on the first call when
            this batch does not show them all; ignored afterwards.

        Returns
        -------
        self : TransformerClassifier
            The updated classifier.
        """
        return self._partial_fit_guarded(partial(self._fit, partial=True, classes=classes), X, y)

    def _fit(self, X, y, *, partial=False, classes=None, deadline=None):
        self._require_y(y)
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        resuming = self._resuming(partial)
        X_model = self._prepare_X(X, reset=not resuming)
        check_consistent_length(X_model, y)
        if not resuming:
            self.classes_ = np.unique(y if classes is None else classes)
        y_encoded = self._encode_labels(y)
        if len(self.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in the "
                f"data, but the data contains only one class: {self.classes_[0]!r}."
            )
        epochs = 1 if partial else self.max_epochs
        if resuming:
            return self._continue_training(X_model, y_encoded, epochs=epochs, deadline=deadline)
        if partial and isinstance(self.class_weight, str):
            raise ValueError(
                'class_weight="balanced" is not supported by partial_fit: one batch does '
                "not tell the class frequencies. Pass a dict of weights, or use fit."
            )
        return self._fit_module(
            X_model,
            y_encoded,
            objective="classification",
            stratify=y_encoded,
            n_outputs=len(self.classes_),
            epochs=epochs,
            deadline=deadline,
            class_weight=self._class_weights(y),
        )

    def _class_weights(self, y):
        """``class_weight`` resolved against the labels: one weight per class, or None."""
        if self.class_weight is None:
            return None
        weights = compute_class_weight(self.class_weight, classes=self.classes_, y=y)
        return tuple(float(weight) for weight in weights)

    def _encode_labels(self, y):
        """Indices of ``y`` in ``classes_``; unseen labels are an error."""
        return label_indices(
            self.classes_,
            y,
            hint="Pass every label with `classes=` on the first "
            "partial_fit, or refit without warm_start.",
        )

    def predict_proba(self, X):
        """Class probabilities, columns ordered as ``classes_``.

        Parameters
        ----------
        X : list of str, array-like or DataFrame
            Input of the type seen at fit.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities summing to one per row.
        """
        return softmax(self._outputs(X).astype(np.float64), axis=1)

    def predict(self, X):
        """Most probable class per sample.

        Parameters
        ----------
        X : list of str, array-like or DataFrame
            Input of the type seen at fit.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        best = np.argmax(self._outputs(X), axis=1)  # checks fitted first
        return self.classes_[best]
