"""Input validation helpers shared by the text front end."""

import doctest

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import sktfm.text
from sktfm.text import _validation, cleaner, tokenizer
from sktfm.text._validation import as_text_array, as_token_lists, is_token_lists


@pytest.mark.parametrize("module", [sktfm.text, _validation, cleaner, tokenizer])
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


@pytest.mark.parametrize(
    "X",
    [
        ["a", "b"],
        ("a", "b"),
        np.array(["a", "b"]),
        np.array(["a", "b"], dtype=object),
        pd.Series(["a", "b"]),
        pd.Series(["a", "b"], dtype="string"),
    ],
)
def test_1d_inputs(X):
    out = as_text_array(X)
    assert out.dtype == object and out.shape == (2,)
    assert [type(t) for t in out] == [str, str]
    assert out.tolist() == ["a", "b"]


def test_2d_inputs_keep_shape():
    df = pd.DataFrame({"a": ["x", "y"], "b": [1, 2]})
    np.testing.assert_array_equal(as_text_array(df), [["x", "1"], ["y", "2"]])
    assert as_text_array(df[["a"]]).shape == (2, 1)
    assert as_text_array([["x"], ["y"]]).shape == (2, 1)


def test_numbers_read_as_text():
    out = as_text_array(np.array([[1.5, 2.0], [3.0, -4.25]]))
    np.testing.assert_array_equal(out, [["1.5", "2.0"], ["3.0", "-4.25"]])
    assert as_text_array(np.array([[1, 2]], dtype=np.int32)).tolist() == [["1", "2"]]
    assert as_text_array(np.array([[0.1]], dtype=np.float32)).tolist() == [["0.1"]]
    assert as_text_array(["a", 1, np.int64(2), 2.5]).tolist() == ["a", "1", "2", "2.5"]


def test_empty_strings_valid():
    assert as_text_array(["", ""]).tolist() == ["", ""]


def test_allow_2d_false():
    assert as_text_array([["x"], ["y"]], allow_2d=False).tolist() == ["x", "y"]
    with pytest.raises(ValueError, match="must be 1-D"):
        as_text_array([["x", "y"]], allow_2d=False)


@pytest.mark.parametrize(
    "X, match",
    [
        (["a", None], r"texts contains None/NaN at row 1; text inputs must be strings"),
        (["a", float("nan")], "None/NaN at row 1"),
        (["a", pd.NA], "None/NaN at row 1"),
        (np.array([[1.0, np.nan]]), "None/NaN at row 0, column 1"),
        (np.array([[1.0, -np.inf]]), "inf at row 0, column 1"),
        (np.array([["a", float("inf")]], dtype=object), "inf at row 0, column 1"),
        ([], "0 samples"),
        (pd.Series([], dtype=object), "0 samples"),
        (np.empty((3, 0)), r"0 feature\(s\)"),
        (np.zeros((1, 1, 1)), "3 dimensions"),
        (np.array([1.0, 2.0]), "Reshape your data"),
        ([1, 2], "Reshape your data"),
        (np.array([[1 + 2j]]), "Complex data not supported"),
    ],
)
def test_value_errors(X, match):
    with pytest.raises(ValueError, match=match):
        as_text_array(X, name="texts")


@pytest.mark.parametrize(
    "X, match",
    [
        (["a", b"b"], "type bytes at row 1"),
        (["a", {"k": 1}], "type dict at row 1"),
        (["a", ["b"]], "type list at row 1"),
        ("abc", "wrap it in a list"),
        (sp.csr_matrix(np.eye(2)), "sparse"),
        (np.array([b"a"]), "bytes"),
        (np.array(["2020-01-01"], dtype="datetime64[D]"), "not text"),
    ],
)
def test_type_errors(X, match):
    with pytest.raises(TypeError, match=match):
        as_text_array(X)


def test_token_lists():
    X = [["New York", "is"], ("a", 1), np.array(["x"]), []]
    assert is_token_lists(X)
    assert as_token_lists(X) == [["New York", "is"], ["a", "1"], ["x"], []]
    assert is_token_lists(pd.Series([["a"], ["b", "c"]]))
    assert not is_token_lists(["a b", "c"])
    assert not is_token_lists(np.array([["a", "b"]]))
    with pytest.raises(TypeError, match="mixes pre-tokenized samples"):
        as_token_lists([["a"], "b c"])
    with pytest.raises(ValueError, match="None/NaN at row 1, token 0"):
        as_token_lists([["a"], [None]])
