"""Input validation shared by the text front end, the estimators and metrics."""

import ast
import doctest

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import sktfm.text
from sktfm.text import (
    TOKENIZER_KINDS,
    TextCleaner,
    Tokenizer,
    cleaner,
    special_tokens,
    tokenizer,
    validation,
)
from sktfm.text.validation import (
    as_text_array,
    as_token_lists,
    is_missing,
    is_token_lists,
)


@pytest.mark.parametrize("module", [sktfm.text, special_tokens, validation, cleaner, tokenizer])
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
    # A column of numbers only, among text columns, is read as text too.
    df = pd.DataFrame({"a": ["x", "y"], "n": [1.5, None]}, dtype=object)
    df.loc[1, "n"] = 2
    assert as_text_array(df).tolist() == [["x", "1.5"], ["y", "2"]]


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
        (["a", b"b"], r"X\[1\] is bytes, expected str: b'b'"),
        (["a", {"k": 1}], r"X\[1\] is dict, expected str"),
        (["a", ["b"]], r"X\[1\] is list, expected str"),
        ([{"k": 1}], r"X\[0\] is dict, expected str.*\(or a number, read as text\)"),
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
    X = [["New York", "is"], ("a", "b"), np.array(["x"]), []]
    assert is_token_lists(X)
    assert as_token_lists(X) == [["New York", "is"], ["a", "b"], ["x"], []]
    assert as_token_lists([[1, 2.5], (np.int64(3),)]) == [["1", "2.5"], ["3"]]
    assert is_token_lists(pd.Series([["a"], ["b", "c"]]))
    assert not is_token_lists(["a b", "c"])
    assert not is_token_lists(np.array([["a", "b"]]))
    with pytest.raises(TypeError, match="mixes pre-tokenized samples"):
        as_token_lists([["a"], "b c"])
    with pytest.raises(ValueError, match="None/NaN at row 1, token 0"):
        as_token_lists([["a"], [None]])


def test_is_missing():
    for value in (
        None,
        float("nan"),
        np.nan,
        np.float32("nan"),
        pd.NA,
        pd.NaT,
        np.datetime64("NaT"),
    ):
        assert is_missing(value)
    for value in ("", "nan", 0, 0.0, False, np.inf, np.datetime64("2020-01-01"), []):
        assert not is_missing(value)


def test_special_tokens_module_is_the_one_definition():
    assert TOKENIZER_KINDS == ("word", "char", "bpe")
    for name in special_tokens.__all__:
        assert getattr(sktfm.text, name) is getattr(special_tokens, name)
    assert set(special_tokens.__all__) <= set(sktfm.text.__all__)
    # Pure Python: importable by any layer without scikit-learn or torch.
    tree = ast.parse(open(special_tokens.__file__, encoding="utf-8").read())
    assert not [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]


def test_tokenizer_kind_constraint_uses_the_constant():
    options = Tokenizer._parameter_constraints["kind"][0].options
    assert options == set(TOKENIZER_KINDS)


# ----------------------------------------------------- mixed-type columns

MIXED = [
    (["a", 3, "b"], r"X\[1\] is int, expected str: 3\. A text input must not mix"),
    (["a", "b", 2.5], r"X\[2\] is float, expected str: 2\.5"),
    (("a", np.int64(7)), r"X\[1\] is int64, expected str"),
    (["a", True], r"X\[1\] is bool, expected str"),
    (["a", float("inf")], r"X\[1\] is float, expected str: inf"),
    (["a", 1 + 2j], r"X\[1\] is complex, expected str"),
    (np.array(["a", 3, "b"], dtype=object), r"X\[1\] is int, expected str"),
    (pd.Series(["a", "b", 3], index=[10, 11, 12]), r"X\.iloc\[2\] is int, expected str"),
    (pd.DataFrame({"t": ["a", 3]}), r"X\.iloc\[1, 0\] is int, expected str"),
    (np.array([["a"], [3]], dtype=object), r"X\[1, 0\] is int, expected str"),
    # Per column: the second column mixes, the first is all numbers.
    (pd.DataFrame({"n": [1, 2], "t": ["a", 5]}), r"X\.iloc\[1, 1\] is int"),
]


@pytest.mark.parametrize("X, match", MIXED)
def test_mixed_column_raises_type_error_naming_the_cell(X, match):
    with pytest.raises(TypeError, match=match):
        as_text_array(X)


@pytest.mark.parametrize("X, match", MIXED)
@pytest.mark.parametrize("make", [TextCleaner, Tokenizer], ids=["cleaner", "tokenizer"])
def test_mixed_column_rejected_by_the_transformers(make, X, match):
    with pytest.raises(TypeError, match=match):
        make().fit(X)
    fitted = make().fit(["a b", "c"])
    with pytest.raises(TypeError, match=match):  # input is checked before its kind
        fitted.transform(X)


def test_first_problem_in_order_wins():
    with pytest.raises(TypeError, match=r"X\[1\] is int"):
        as_text_array(["a", 3, None])
    with pytest.raises(ValueError, match="None/NaN at row 1"):
        as_text_array(["a", None, 3])


def test_missing_value_keeps_its_value_error_among_strings():
    for missing in (None, np.nan, pd.NA):
        with pytest.raises(ValueError, match="X contains None/NaN at row 1"):
            as_text_array(pd.Series(["a", missing, "b"], dtype=object))
        with pytest.raises(ValueError, match="X contains None/NaN at row 1"):
            TextCleaner().fit(["a", missing])
        with pytest.raises(ValueError, match="X contains None/NaN at row 1"):
            Tokenizer().fit(["a", missing])


def test_numbers_only_are_read_as_text_as_before():
    X = np.array([[1, 2.5], [3, 4]], dtype=object)
    assert as_text_array(X).tolist() == [["1", "2.5"], ["3", "4"]]
    assert TextCleaner().fit_transform(X).tolist() == [["1", "2.5"], ["3", "4"]]
    tok = Tokenizer(output="padded", max_len=2).fit(np.array([[1.0, 2.0], [3.0, 1.0]]))
    assert tok.input_kind_ == "columns"
    assert (tok.transform(np.array([[1.0, 2.0]])) >= 0).all()
    with pytest.raises(ValueError, match="Reshape your data"):
        as_text_array(np.array([1, 2.5], dtype=object))


def test_allow_numbers_false():
    with pytest.raises(TypeError, match=r"y\[0\] is int, expected str"):
        as_text_array([1, 2], allow_numbers=False, name="y")
    with pytest.raises(TypeError, match="y is an array of numbers"):
        as_text_array(np.array([[1.0]]), allow_numbers=False, name="y")
    with pytest.raises(ValueError, match="None/NaN at row 0"):
        as_text_array([None], allow_numbers=False, name="y")
    assert as_text_array(["a"], allow_numbers=False).tolist() == ["a"]


@pytest.mark.parametrize(
    "X, match",
    [
        ([["a", 1]], r"X\[0\]\[1\] is int, expected str: 1\. A text input must not mix"),
        ([["a"], [2.5]], r"X\[1\]\[0\] is float, expected str"),
        ([["a"], (b"b",)], r"X\[1\]\[0\] is bytes"),
        ([[{"k": 1}]], r"X\[0\]\[0\] is dict"),
    ],
)
def test_mixed_tokens_raise_type_error(X, match):
    with pytest.raises(TypeError, match=match):
        as_token_lists(X)
    with pytest.raises(TypeError, match=match):
        Tokenizer().fit(X)
