"""scikit-learn conformance: every public estimator passes the common checks.

scikit-learn feeds numeric 2-D arrays. The text transformers read each number
as text (each cell one text for TextCleaner, one token per cell for
Tokenizer) and reject NaN and inf like missing text; the sequence estimators
read them as tabular rows, one token per feature.

The models are tiny so the battery runs quickly; they still have to *learn*
(``check_classifiers_train`` and ``check_regressors_train`` demand real
accuracy), so they train for more epochs than the unit-test preset.
"""

import pytest
from sklearn.utils import estimator_checks as checks
from sklearn.utils.estimator_checks import parametrize_with_checks

from sktfm import (
    Seq2SeqTranslator,
    TextCleaner,
    Tokenizer,
    TransformerClassifier,
    TransformerEncoder,
    TransformerImputer,
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

CHECK_CONFIG_TRANSLATOR = dict(
    d_model=16,
    n_heads=2,
    n_encoder_layers=1,
    n_decoder_layers=1,
    dim_feedforward=32,
    max_epochs=2,
    device="cpu",
)

TEXT_ESTIMATORS = [
    TextCleaner(),
    Tokenizer(),
    Tokenizer(output="padded", max_len=8),
    Tokenizer(kind="char", output="padded", max_len=16),
]
SEQUENCE_ESTIMATORS = [
    TransformerEncoder(**CHECK_CONFIG),
    TransformerClassifier(**CHECK_CONFIG),
    TransformerRegressor(**CHECK_CONFIG),
    TransformerImputer(**CHECK_CONFIG),
]

# These checks compare two transform outputs with assert_allclose, which
# subtracts them: TextCleaner outputs strings, which cannot be subtracted. The
# property each check is after (same output for fit_transform and transform,
# after pickling, on subsets, in any order, in a pipeline, from lists) is
# tested with string equality in tests/text/test_cleaner.py::TestSklearnCheckIntent.
_ALLCLOSE_CHECKS = [
    "check_estimators_pickle",
    "check_fit_idempotent",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_pipeline_consistency",
    "check_transformer_data_not_an_array",
    "check_transformer_general",
]
_STRING_OUTPUT = (
    "TextCleaner returns strings, which assert_allclose cannot compare; the "
    "same property is tested with string equality in test_cleaner.py"
)
_TEXT_CLEANER_XFAILS = dict.fromkeys(_ALLCLOSE_CHECKS, _STRING_OUTPUT)

# With its default output="ids", Tokenizer returns a 1-D object array holding
# one int64 array per sample (sequences differ in length). _ALLCLOSE_CHECKS
# compare such outputs with assert_allclose, and numpy's isclose cannot
# compare arrays of arrays. The same properties are tested per sequence in
# tests/text/test_tokenizer_ids_output.py, and the padded int64 matrix
# (output="padded", same code path) passes all of them here.
_TOKENIZER_IDS_XFAILS = dict.fromkeys(
    _ALLCLOSE_CHECKS,
    "Tokenizer(output='ids') returns a 1-D object array of variable-length id "
    "arrays, which assert_allclose cannot compare; tested per sequence in "
    "test_tokenizer_ids_output.py, and output='padded' passes this check",
)

# check_methods_subset_invariance predicts one row at a time and compares with
# the whole batch at rtol=1e-7, i.e. bit for bit in float32. On some CPUs
# (seen on AVX2, not on AVX-512) MKL's float32 GEMM picks a different kernel,
# and so a different summation order, for a 1-row than for a 30-row product:
# any BLAS-backed float32 model then differs in the last bits (measured 4e-6
# relative). The property users rely on, the same prediction however the rows
# are batched, is tested at rtol=1e-5 in
# test_batch_invariance.py::test_tabular_rows_predicted_alone_match_the_batch.
# Not strict: where the kernels agree the check passes.
_BLAS_ROW_NOISE = dict(
    check_methods_subset_invariance=(
        "float32 GEMM rounding depends on the number of rows on some CPUs; "
        "tested at rtol=1e-5 in test_batch_invariance.py"
    )
)


# Fitting with integer weights and fitting on the rows repeated that many times
# minimise the same expected loss, but they are not the same stochastic fit:
# mini-batches are drawn from n rows rather than sum(w) rows (other shuffles,
# other batches, another number of steps per epoch and so another learning-rate
# schedule), so the two models agree statistically, not to rtol=1e-7. Weights
# of ones do give exactly the fit without weights; zero weights, integer weights
# against repeated rows, weighted validation and data-parallel steps are tested
# in tests/estimators/test_sample_weight.py.
_SAMPLE_WEIGHT_EQUIVALENCE = dict(
    check_sample_weight_equivalence_on_dense_data=(
        "stochastic mini-batch training: weights and repeated rows give the same "
        "expected loss, not the same random batches; tested statistically in "
        "tests/estimators/test_sample_weight.py"
    )
)


def expected_failed_checks(estimator):
    """Checks that cannot apply, each with its reason."""
    if isinstance(estimator, TextCleaner):
        return _TEXT_CLEANER_XFAILS
    if isinstance(estimator, Tokenizer) and estimator.output == "ids":
        return _TOKENIZER_IDS_XFAILS
    if isinstance(estimator, (TransformerEncoder, TransformerClassifier, TransformerRegressor)):
        return {**_BLAS_ROW_NOISE, **_SAMPLE_WEIGHT_EQUIVALENCE}
    if isinstance(estimator, TransformerImputer):
        return _BLAS_ROW_NOISE
    return {}


@parametrize_with_checks(
    TEXT_ESTIMATORS, expected_failed_checks=expected_failed_checks, xfail_strict=True
)
def test_text_estimators_sklearn_compatible(estimator, check):
    check(estimator)


@parametrize_with_checks(
    SEQUENCE_ESTIMATORS, expected_failed_checks=expected_failed_checks, xfail_strict=False
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


# Seq2SeqTranslator maps strings to strings: it declares no 2-D numeric input
# (tags.input_tags.two_d_array=False), so parametrize_with_checks, which only
# feeds numeric arrays, skips it as it skips scikit-learn's own text
# vectorizers. The checks that need no data run here; the data checks'
# properties (fit returns self, parameters untouched, only `_` attributes
# added, NotFittedError, subset invariance, pickling) are tested on text in
# tests/estimators/test_translator.py.
TRANSLATOR_API_CHECKS = [
    checks.check_estimator_cloneable,
    checks.check_estimator_tags_renamed,
    checks.check_valid_tag_types,
    checks.check_estimator_repr,
    checks.check_no_attributes_set_in_init,
    checks.check_parameters_default_constructible,
    checks.check_get_params_invariance,
    checks.check_set_params,
    checks.check_do_not_raise_errors_in_init_or_set_params,
    checks.check_mixin_order,
]


@pytest.mark.parametrize("check", TRANSLATOR_API_CHECKS, ids=lambda check: check.__name__)
def test_translator_api_checks(check):
    check("Seq2SeqTranslator", Seq2SeqTranslator(**CHECK_CONFIG_TRANSLATOR))
