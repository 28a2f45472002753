"""TransformerEncoder: a Transformer as a scikit-learn feature extractor."""

import numpy as np
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_array, check_consistent_length

from ._base import SHARED_ATTRIBUTES_DOC, SHARED_PARAMETERS_DOC, BaseTransformerEstimator


class TransformerEncoder(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseTransformerEstimator
):
    """Transformer encoder that turns each sample into a ``d_model`` vector.

    ``fit(X)`` learns without labels: masked-token modelling on text (15% of
    tokens hidden and predicted, as in BERT) or masked-feature reconstruction
    on tabular rows and numeric sequences. ``fit(X, y)`` trains a
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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

    @property
    def _n_features_out(self):
        return self.d_model

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the encoder, self-supervised without ``y``, supervised with it.

        Parameters
        ----------
        X : list of str, array-like or DataFrame
            Training input of any type listed under ``input_type``.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
            Optional targets: class labels train a classification head,
            continuous values a regression head; the head is dropped after fit.

        Returns
        -------
        self : TransformerEncoder
            The fitted encoder.
        """
        return self._fit_guarded(self._fit, X, y)

    def _fit(self, X, y):
        X_model = self._prepare_X(X, reset=True)
        if y is None:
            objective = (
                "masked_tokens" if self.input_type_ in ("text", "tokens")
                else "masked_features"
            )
            self._fit_module(X_model, objective=objective)
        else:
            self._fit_supervised(X_model, y)
        # The head has served its purpose: keep the backbone only, so that
        # ``module_`` is exactly the feature extractor ``transform`` runs.
        self.module_ = self.net_.module_ = self.net_.module_.backbone
        self._module_spec = {**self._module_spec, "objective": "backbone", "head_kwargs": {}}
        return self

    def _fit_supervised(self, X_model, y):
        y = check_array(y, ensure_2d=False, dtype=None, input_name="y")
        check_consistent_length(X_model, y)
        if type_of_target(y).startswith("continuous"):
            y = y.astype(np.float64).reshape(len(y), -1)
            scale = y.std(axis=0)
            y = (y - y.mean(axis=0)) / np.where(scale > 0, scale, 1.0)
            self._fit_module(X_model, y.astype(np.float32), objective="regression",
                             n_outputs=y.shape[1])
            return
        classes, y_encoded = np.unique(y.ravel() if y.ndim == 2 and y.shape[1] == 1 else y,
                                       return_inverse=True)
        if y_encoded.ndim != 1:
            raise ValueError(
                "TransformerEncoder supports one label column for supervised fit; "
                f"got y of shape {y.shape}."
            )
        self._fit_module(X_model, y_encoded.astype(np.int64), objective="classification",
                         stratify=y_encoded, n_outputs=max(len(classes), 2))

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


TransformerEncoder.__doc__ = TransformerEncoder.__doc__.format(
    parameters=SHARED_PARAMETERS_DOC, attributes=SHARED_ATTRIBUTES_DOC
)
