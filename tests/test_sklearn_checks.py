"""scikit-learn conformance: every public estimator passes the common checks.

The models are tiny so the whole battery runs in a couple of minutes; they
still have to *learn* (``check_classifiers_train`` and
``check_regressors_train`` demand real accuracy), so they train for more
epochs than the unit-test preset.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sktfm import (
    TextCleaner,
    Tokenizer,
    TransformerClassifier,
    TransformerEncoder,
    TransformerRegressor,
)

CHECK_CONFIG = dict(
    d_model=16,
    n_heads=2,
    n_layers=1,
    dim_feedforward=32,
    dropout=0.0,
    max_epochs=20,
    batch_size=32,
    lr=1e-2,
    device="cpu",
)

ESTIMATORS = [
    TextCleaner(),
    Tokenizer(output="padded", max_len=8),
    Tokenizer(kind="char", output="padded", max_len=8),
    TransformerEncoder(**CHECK_CONFIG),
    TransformerClassifier(**CHECK_CONFIG),
    TransformerRegressor(**CHECK_CONFIG),
]


def expected_failed_checks(estimator):
    """Checks that cannot apply, each with its reason (none so far)."""
    return {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible(estimator, check):
    check(estimator)
