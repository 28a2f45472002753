"""The series helpers: NaN-padding, validation, patch length and per-series scaling."""

import numpy as np
import pytest

from sktfm.series import (
    TARGET_PATCHES,
    as_padded_series,
    auto_patch_size,
    instance_normalize,
    is_series_list,
    max_steps,
    series_lengths,
)


def _series(lengths, n_channels=2, seed=0):
    rng = np.random.RandomState(seed)
    return [rng.normal(size=(n, n_channels)) + 3.0 for n in lengths]


# ----------------------------------------------------------------- padding
def test_list_of_unequal_series_is_nan_padded_with_its_values():
    series = _series([3, 5, 1])
    X = as_padded_series(series)
    assert X.shape == (3, 5, 2)
    assert X.dtype == np.float64
    for i, s in enumerate(series):
        np.testing.assert_array_equal(X[i, : len(s)], s)
        assert np.isnan(X[i, len(s) :]).all()
    np.testing.assert_array_equal(series_lengths(X), [3, 5, 1])


def test_equal_length_array_is_returned_unchanged():
    X = np.random.RandomState(0).normal(size=(4, 6, 3))
    np.testing.assert_array_equal(as_padded_series(X), X)


def test_extra_trailing_all_nan_steps_are_trimmed():
    series = _series([3, 5])
    X = np.full((2, 9, 2), np.nan)
    for i, s in enumerate(series):
        X[i, : len(s)] = s
    out = as_padded_series(X)
    assert out.shape == (2, 5, 2)
    np.testing.assert_array_equal(out, as_padded_series(series))


def test_float32_array_stays_float32_and_ints_become_float64():
    X = np.random.RandomState(0).normal(size=(2, 3, 1))
    assert as_padded_series(X.astype(np.float32)).dtype == np.float32
    assert as_padded_series(np.arange(6).reshape(2, 3, 1)).dtype == np.float64


def test_channels_first_list_equals_transposing_by_hand():
    series = _series([4, 7, 2], n_channels=3)
    first = as_padded_series([s.T for s in series], layout="channels_first")
    np.testing.assert_array_equal(first, as_padded_series(series))


def test_channels_first_array_equals_transposing_by_hand():
    X = np.random.RandomState(0).normal(size=(4, 3, 8))  # (n, channels, steps)
    out = as_padded_series(X, layout="channels_first")
    assert out.shape == (4, 8, 3)
    np.testing.assert_array_equal(out, X.transpose(0, 2, 1))


def test_unknown_layout_is_an_error():
    with pytest.raises(ValueError, match="layout"):
        as_padded_series(np.ones((1, 2, 1)), layout="nct")


def test_is_series_list():
    assert is_series_list(_series([2, 3]))
    assert is_series_list(tuple(_series([2, 3])))
    assert not is_series_list([])
    assert not is_series_list(np.ones((2, 3, 1)))
    assert not is_series_list([np.ones(3), np.ones(4)])
    assert not is_series_list([[1.0, 2.0], [3.0]])


# ------------------------------------------------------------------ errors
def test_interior_nan_names_the_series_and_the_step():
    series = _series([4, 6, 5])
    series[2][1] = np.nan  # the whole step 1 of series 2: not trailing
    with pytest.raises(ValueError, match=r"Series 2 has NaN at step 1, before its last value"):
        as_padded_series(series)


def test_interior_nan_in_an_array_names_the_series_and_the_step():
    X = np.random.RandomState(0).normal(size=(3, 6, 2))
    X[1, 3, :] = np.nan
    with pytest.raises(ValueError, match=r"Series 1 has NaN at step 3"):
        as_padded_series(X)


@pytest.mark.parametrize("step", [1, 4], ids=["inside", "last"])
def test_nan_in_only_some_channels_of_a_step_is_an_error(step):
    series = _series([5, 5])
    series[0][step, 1] = np.nan  # channel 0 still has a value: not padding
    with pytest.raises(ValueError, match=rf"Series 0 has NaN at step {step}"):
        as_padded_series(series)


def test_an_empty_all_nan_series_is_an_error():
    series = _series([3, 4])
    series[1][:] = np.nan
    with pytest.raises(ValueError, match=r"Series 1 is empty"):
        as_padded_series(series)


def test_a_zero_length_series_is_an_error():
    series = [*_series([3]), np.empty((0, 2))]
    with pytest.raises(ValueError, match=r"Series 1 is empty"):
        as_padded_series(series)


def test_an_empty_list_is_an_error():
    with pytest.raises(ValueError, match="empty"):
        as_padded_series([])


def test_a_one_dimensional_series_in_a_list_is_an_error():
    series = [*_series([3, 4], n_channels=1), np.ones(5)]
    with pytest.raises(ValueError, match=r"Series 2 has shape \(5,\).*reshape\(-1, 1\)"):
        as_padded_series(series)


def test_series_with_different_channel_counts_are_an_error():
    series = [*_series([3, 4], n_channels=2), *_series([5], n_channels=3)]
    with pytest.raises(
        ValueError, match=r"different channel counts \[2, 3\]: series 0 has 2, series 2 has 3"
    ):
        as_padded_series(series)


def test_a_2d_array_is_not_a_collection_of_series():
    with pytest.raises(ValueError, match="3-D array"):
        as_padded_series(np.ones((4, 3)))


@pytest.mark.parametrize("value", [np.inf, -np.inf])
@pytest.mark.parametrize("form", ["list", "array"])
def test_infinity_is_an_error(value, form):
    series = _series([3, 3])
    series[1][2, 0] = value
    X = series if form == "list" else np.stack(series)
    with pytest.raises(ValueError, match="infinity"):
        as_padded_series(X)


@pytest.mark.parametrize("form", ["list", "array"])
def test_non_numeric_series_are_a_type_error(form):
    strings = np.array([["a", "b"], ["c", "d"]])
    X = [strings, strings] if form == "list" else np.stack([strings, strings])
    with pytest.raises(TypeError, match="numeric"):
        as_padded_series(X)


def test_object_series_are_a_type_error():
    X = np.empty((1, 2, 1), dtype=object)
    X[:] = 1.0
    with pytest.raises(TypeError, match="numeric"):
        as_padded_series(X)


# ------------------------------------------------------------- patch length
@pytest.mark.parametrize(
    ("length", "expected"),
    [(1, 1), (24, 1), (32, 1), (33, 2), (64, 2), (65, 3), (150, 5), (1460, 46)],
)
def test_auto_patch_size(length, expected):
    assert auto_patch_size(length) == expected
    # About TARGET_PATCHES patches, never more.
    assert -(-length // expected) <= TARGET_PATCHES


def test_max_steps_fill_max_tokens_patches():
    assert max_steps(1, 1, 10) == 10
    assert max_steps(4, 4, 10) == 40
    assert max_steps(4, 2, 10) == 22  # overlapping: 9 strides + one patch


# ------------------------------------------------------------------ scaling
def test_instance_normalize_gives_mean_0_std_1_per_series_and_channel():
    rng = np.random.RandomState(0)
    series = [rng.normal(loc=5.0 * i, scale=1.0 + i, size=(n, 3)) for i, n in enumerate([4, 9, 6])]
    X = as_padded_series(series)
    Z = instance_normalize(X)
    lengths = series_lengths(X)
    for i, n in enumerate(lengths):
        valid = Z[i, :n]
        np.testing.assert_allclose(valid.mean(axis=0), 0.0, atol=1e-12)
        np.testing.assert_allclose(valid.std(axis=0), 1.0, atol=1e-12)
        assert np.isnan(Z[i, n:]).all()  # padding stays padding
        # Scaling per series: the values are those of the series on its own.
        np.testing.assert_allclose(
            valid, (series[i] - series[i].mean(axis=0)) / series[i].std(axis=0)
        )


def test_instance_normalize_centres_a_constant_channel_without_dividing_by_zero():
    rng = np.random.RandomState(0)
    X = np.stack([np.full(6, 7.5), rng.normal(size=6)], axis=1)[None]  # (1, 6, 2)
    X = np.concatenate([X, np.full((1, 2, 2), np.nan)], axis=1)  # 2 padding steps
    with np.errstate(all="raise"):
        Z = instance_normalize(X)
    np.testing.assert_array_equal(Z[0, :6, 0], 0.0)
    np.testing.assert_allclose(Z[0, :6, 1].std(), 1.0)
    assert np.isnan(Z[0, 6:]).all()


def test_instance_normalize_of_a_large_constant_is_centred_only():
    # Rounding noise on a level of 1e9 is not a shape to blow up to unit scale.
    X = np.full((1, 5, 1), 1e9) + np.array([0.0, 1e-3, 0.0, -1e-3, 0.0])[None, :, None]
    Z = instance_normalize(X)
    assert np.isfinite(Z).all()
    np.testing.assert_allclose(Z[0, :, 0], [0.0, 1e-3, 0.0, -1e-3, 0.0], atol=1e-6)
