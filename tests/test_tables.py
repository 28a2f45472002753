"""sktfm.tables: column types, categories and the encoded model input of mixed tables (#33)."""

import numpy as np
import pandas as pd
import pytest

from sktfm import tables
from sktfm.tables import (
    TEXT_MIN_DISTINCT,
    TEXT_MIN_WORDS,
    TableLayout,
    category_key,
    encode_table,
    feature_types,
    fit_layout,
    table_columns,
)


def _types(X, categorical_features="auto", text_features="auto"):
    columns, declared = table_columns(X)
    names = [str(c) for c in X.columns] if hasattr(X, "columns") else None
    return feature_types(
        columns,
        declared,
        categorical_features=categorical_features,
        text_features=text_features,
        names=names,
    )


def _texts(n, words=5):
    """``n`` distinct strings of ``words`` words each."""
    return [" ".join(f"w{i}x{k}" for k in range(words)) for i in range(n)]


def test_columns_split_numbers_from_the_rest_with_their_gaps():
    X = pd.DataFrame(
        {
            "n": pd.array([1, None, 3], dtype="Int64"),
            "s": pd.array(["a", pd.NA, "b"], dtype="string"),
            "o": ["x", None, np.nan],
        }
    )
    columns, declared = table_columns(X)
    assert declared == ["numeric", None, None]
    assert columns[0].dtype == np.float64 and np.isnan(columns[0][1])
    assert columns[1].tolist() == ["a", None, "b"]
    assert columns[2].tolist() == ["x", None, None]  # NaN in an object column: missing


def test_dtypes_decide_before_content():
    X = pd.DataFrame(
        {
            "category": pd.Series(["a", "b"] * 5, dtype="category"),
            "bool": [True, False] * 5,
            "boolean": pd.array([True, None] * 5, dtype="boolean"),
            "Int64": pd.array([1, pd.NA] * 5, dtype="Int64"),
            "Float64": pd.array([0.5, pd.NA] * 5, dtype="Float64"),
            "float": np.arange(10.0),
        }
    )
    assert _types(X) == (
        "categorical",
        "categorical",
        "categorical",
        "numeric",
        "numeric",
        "numeric",
    )


def test_auto_reads_short_strings_as_categories_and_long_distinct_ones_as_text():
    n = 20
    X = pd.DataFrame(
        {
            "city": ["paris", "rome"] * (n // 2),
            "title": _texts(n, words=int(TEXT_MIN_WORDS)),
            # as many words, but few distinct values: a category (a long label)
            "plan": ["basic plan with phone", "premium plan with fibre"] * (n // 2),
            "string": pd.array(_texts(n), dtype="string"),
            "numbers_as_objects": pd.Series([1, 2.5] * (n // 2), dtype=object),
        }
    )
    assert _types(X) == ("categorical", "text", "categorical", "text", "numeric")
    # text_features=None: no column is text, strings are categories
    assert _types(X, text_features=None)[:4] == ("categorical",) * 4


def test_the_text_thresholds_are_the_documented_ones():
    assert (TEXT_MIN_WORDS, TEXT_MIN_DISTINCT) == (3.0, 0.3)
    n = 20
    two_words = pd.DataFrame({"t": [f"a{i} b{i}" for i in range(n)]})
    assert _types(two_words) == ("categorical",)  # 2 words on average < 3
    few_distinct = [f"one two three {i % 5}" for i in range(n)]  # 5 / 20 < 30% distinct
    assert _types(pd.DataFrame({"t": few_distinct})) == ("categorical",)
    distinct = [f"one two three {i % 6}" for i in range(n)]  # 6 / 20 = 30%
    assert _types(pd.DataFrame({"t": distinct})) == ("text",)


@pytest.mark.parametrize(
    "spec", [["b"], [1], [False, True, False]], ids=["names", "indices", "mask"]
)
def test_columns_are_named_by_names_indices_or_a_mask(spec):
    X = pd.DataFrame({"a": [1.0, 2.0], "b": [3, 4], "c": ["x", "y"]})
    assert _types(X, categorical_features=spec) == ("numeric", "categorical", "categorical")
    assert _types(X, text_features=spec) == ("numeric", "text", "categorical")


@pytest.mark.parametrize(
    "kwargs, X, match",
    [
        (dict(categorical_features=["nope"]), "frame", "does not have: \\['nope'\\]"),
        (dict(categorical_features=[3]), "frame", "out of range for 3 columns"),
        (dict(categorical_features=[-1]), "frame", "out of range"),
        (dict(text_features=[True, False]), "frame", "one entry per column \\(3\\)"),
        (dict(categorical_features=[[0]]), "frame", "1-D"),
        (dict(categorical_features=["c"], text_features=["c"]), "frame", "in both"),
        (dict(categorical_features=["a"]), "array", "no column\\s+names"),
        (dict(categorical_features=None), "frame", "categorical_features=None"),
    ],
    ids=["unknown-name", "index", "negative", "mask-length", "2-D", "both", "no-names", "none"],
)
def test_column_specs_are_checked_as_histgradientboosting_checks_them(kwargs, X, match):
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [3, 4], "c": ["x", "y"]})
    X = frame if X == "frame" else frame.to_numpy(dtype=object)
    with pytest.raises(ValueError, match=match):
        _types(X, **{"categorical_features": "auto", "text_features": "auto", **kwargs})


def test_category_key_reads_integers_alike_whatever_their_type():
    assert category_key(1) == category_key(1.0) == category_key(np.int64(1)) == "1"
    assert category_key(1.5) == "1.5"
    assert category_key(True) == category_key(np.bool_(True)) == "True"
    assert category_key("Paris") == "Paris"


def test_layout_keeps_frequent_categories_most_frequent_first():
    city = np.array(["b", "a", "c", "a", "b", "a", None, "d"], dtype=object)
    layout = fit_layout([city], ("categorical",), min_frequency=2)
    assert layout.categories == (("a", "b"),)  # c, d: once each; None is no category
    assert layout.cardinalities == (3,)  # a, b and the unseen code 0
    assert fit_layout([city], ("categorical",), min_frequency=1).categories == (
        ("a", "b", "c", "d"),  # ties by name: the layout does not depend on row order
    )
    # a float: a share of the rows (3 / 8 rows, as OneHotEncoder counts it)
    assert fit_layout([city], ("categorical",), min_frequency=0.3).categories == (("a",),)


def test_layout_of_a_numeric_column_named_categorical_leaves_its_gaps_missing():
    rooms = np.array([1.0, 2.0, np.nan, 1.0, np.nan])  # a numeric dtype: NaN, not None
    layout = fit_layout([rooms], ("categorical",), min_frequency=1)
    assert layout.categories == (("1", "2"),)  # no "nan" category
    Z = encode_table([rooms], layout, mean=np.zeros(1), scale=np.ones(1))
    np.testing.assert_array_equal(Z[:, 0], [1, 2, np.nan, 1, np.nan])


def test_encode_table_cells_then_text_ids():
    age = np.array([30.0, np.nan, 50.0])
    city = np.array(["rome", "oslo", None], dtype=object)
    note = np.array(["a b", None, "c"], dtype=object)
    layout = TableLayout(
        kinds=("numeric", "categorical", "text"),
        categories=((), ("rome",), ()),
        text_widths=(0, 0, 3),
    )
    text_ids = {2: [np.array([5, 6]), np.array([], int), np.array([7, 8, 9, 10])]}
    Z = encode_table(
        [age, city, note], layout, mean=np.array([40.0, 0, 0]), scale=np.array([10.0, 1, 1]),
        text_ids=text_ids,
    )  # fmt: skip
    assert Z.dtype == np.float32 and Z.shape == (3, 3 + 3)
    expected = [
        [-1, 1, 0, 5, 6, 0],  # age standardised, rome = code 1, a present text
        [np.nan, 0, np.nan, 0, 0, 0],  # oslo never seen: the unseen code 0
        [1, np.nan, 0, 7, 8, 9],  # a text longer than its width is cut
    ]
    np.testing.assert_array_equal(Z, np.array(expected, np.float32))


def test_layout_text_width_is_the_longest_row():
    note = np.array(["a", "b"], dtype=object)
    layout = fit_layout([note], ("text",), min_frequency=1, text_lengths={0: np.array([2, 7])})
    assert layout.text_widths == (7,) and layout.cardinalities == (0,)
    # a text column with no word anywhere still holds one id
    assert fit_layout([note], ("text",), min_frequency=1).text_widths == (1,)


def test_numeric_block_is_nan_outside_numeric_columns():
    block = tables.numeric_block(
        [np.array([1.0, 2.0]), np.array(["a", "b"], dtype=object)], ("numeric", "categorical")
    )
    np.testing.assert_array_equal(block, [[1, np.nan], [2, np.nan]])


def test_a_non_number_in_a_numeric_column_at_predict_is_an_error():
    layout = fit_layout([np.array([1.0])], ("numeric",), min_frequency=1)
    with pytest.raises(ValueError, match="Column 0 was numeric"):
        encode_table([np.array(["x"], dtype=object)], layout, mean=np.zeros(1), scale=np.ones(1))
