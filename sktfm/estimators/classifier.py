"""TransformerClassifier: the encoder with a classification head."""

from functools import partial

import numpy as np
from scipy import sparse
from scipy.special import expit, softmax
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_array, check_consistent_length, column_or_1d

from ._encoder_base import BaseEncoderEstimator
from ._parameters import with_class_weight, with_ensemble_size
from ._targets import label_indices
from ._weights import check_sample_weight, with_sample_weight


class TransformerClassifier(ClassifierMixin, BaseEncoderEstimator):
    """Transformer encoder with a classification head: binary, multiclass or multilabel.

    Text, pre-tokenized text, tabular rows (each feature one token, as in
    FT-Transformer) and numeric sequences (time series of equal or unequal
    lengths, cut into patch tokens) are encoded by a stack of
    self-attention layers, pooled to one vector and classified. Training runs
    through skorch on GPU when one is present.

    An indicator matrix ``y`` of shape (n_samples, n_labels) (0/1 or bool,
    dense or sparse) trains multilabel classification, as
    :class:`~sklearn.neural_network.MLPClassifier` does: one sigmoid output
    per label, trained with binary cross-entropy; ``predict`` returns the
    indicator matrix (threshold 0.5) and ``predict_proba`` each label's
    probability.

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels, in the order of ``predict_proba``'s columns;
        ``np.arange(n_labels)`` for a multilabel ``y``.

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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # an indicator matrix of labels
        tags.classifier_tags.multi_label = True
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the classifier.

        Parameters
        ----------
        X : list of str, array-like or DataFrame
            Training input of any type listed under ``input_type``.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels of any type (ints, strings, ...), or a multilabel
            indicator matrix (0/1 or bool, dense or sparse).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample in the training loss (and in
            the validation loss of early stopping): each batch's loss is
            ``sum(w_i * loss_i) / sum(w_i)``, the weights multiplied by
            ``class_weight``'s. A weight of 0 removes a sample's influence,
            an integer weight counts it about as that many copies would.
            None: every sample weighs 1.

        Returns
        -------
        self : TransformerClassifier
            The fitted classifier.
        """
        return self._fit_guarded(partial(self._fit, sample_weight=sample_weight), X, y)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train for one more epoch, or start with one epoch when unfitted.

        Parameters
        ----------
        X : list of str, array-like or DataFrame
            Training input, of the type seen at the first fit.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or an indicator matrix with the labels of the
            first fit.
        classes : array-like or None, default=None
            Every label the model will see, needed on the first call when
            this batch does not show them all; ignored afterwards (and for
            an indicator ``y``, whose columns are the labels).
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sample in this call's loss (see :meth:`fit`).

        Returns
        -------
        self : TransformerClassifier
            The updated classifier.
        """
        step = partial(self._fit, partial=True, classes=classes, sample_weight=sample_weight)
        return self._partial_fit_guarded(step, X, y)

    def _fit(self, X, y, *, partial=False, classes=None, sample_weight=None, deadline=None):
        self._require_y(y)
        multilabel = type_of_target(y, input_name="y") == "multilabel-indicator"
        resuming = self._resuming(partial)
        if resuming and multilabel != self._multilabel():
            kinds = ("class labels", "an indicator matrix")
            raise ValueError(
                f"y is {kinds[multilabel]}, but this {type(self).__name__} was fitted "
                f"on {kinds[not multilabel]}; continue with the same kind of y, or refit."
            )
        X_model = self._prepare_X(X, reset=not resuming)
        if multilabel:
            y_model, stratify = self._indicator(y, resuming=resuming), None
        else:
            y = column_or_1d(y, warn=True)
            check_classification_targets(y)
            if not resuming:
                self.classes_ = np.unique(y if classes is None else classes)
            y_model = stratify = self._encode_labels(y)
        check_consistent_length(X_model, y_model)
        weights = check_sample_weight(sample_weight, X_model)
        if not multilabel:
            self._check_two_classes(y_model, weights, partial=partial)
        y_model = with_sample_weight(y_model, weights)
        epochs = 1 if partial else self.max_epochs
        if resuming:
            return self._continue_training(X_model, y_model, epochs=epochs, deadline=deadline)
        if partial and isinstance(self.class_weight, str):
            raise ValueError(
                'class_weight="balanced" is not supported by partial_fit: one batch does '
                "not tell the class frequencies. Pass a dict of weights, or use fit."
            )
        return self._fit_module(
            X_model,
            y_model,
            objective="multilabel" if multilabel else "classification",
            stratify=stratify,  # None: a multilabel split cannot stratify
            n_outputs=len(self.classes_),
            epochs=epochs,
            deadline=deadline,
            class_weight=None if multilabel else self._class_weights(y),
        )

    def _multilabel(self):
        """Whether the fitted model predicts an indicator matrix (sigmoid outputs)."""
        return self._module_spec["objective"] == "multilabel"

    def _indicator(self, y, *, resuming):
        """A multilabel ``y`` as float32 0/1 targets; ``classes_`` learned on the first fit."""
        if self.class_weight is not None:
            raise ValueError(
                "class_weight is not supported with a multilabel indicator y; weigh "
                "the samples with sample_weight instead."
            )
        y = check_array(y, accept_sparse=True, dtype=None, input_name="y")
        y = (y.toarray() if sparse.issparse(y) else y).astype(np.float32)
        if not resuming:
            self.classes_ = np.arange(y.shape[1])
        elif y.shape[1] != len(self.classes_):
            raise ValueError(
                f"y has {y.shape[1]} labels, but {type(self).__name__} was fitted "
                f"with {len(self.classes_)}."
            )
        return y

    def _check_two_classes(self, y_encoded, weights, *, partial):
        """A fit needs two classes, and two classes that weigh something."""
        if len(self.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in the "
                f"data, but the data contains only one class: {self.classes_[0]!r}."
            )
        if weights is not None and not partial:
            weighed = np.unique(y_encoded[weights > 0])
            if len(weighed) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes with a "
                    "positive sample_weight, but only the class "
                    f"{self.classes_[weighed[:1]].tolist()[0]!r} has one."
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
        proba : ndarray of shape (n_samples, n_classes) or (n_samples, n_labels)
            Probabilities summing to one per row; for a multilabel model,
            each label's probability.
        """
        outputs = self._outputs(X).astype(np.float64)  # checks fitted first
        return expit(outputs) if self._multilabel() else softmax(outputs, axis=1)

    def predict(self, X):
        """Most probable class per sample (multilabel: each label over 0.5).

        Parameters
        ----------
        X : list of str, array-like or DataFrame
            Input of the type seen at fit.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_labels)
            Labels from ``classes_``; for a multilabel model, the int64
            indicator matrix.
        """
        outputs = self._outputs(X)  # checks fitted first
        if self._multilabel():
            return (expit(outputs.astype(np.float64)) > 0.5).astype(np.int64)
        return self.classes_[np.argmax(outputs, axis=1)]
