"""Tokenizer: the same behaviour tests run on each kind (word, char, bpe)."""

import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError

from sktfm.text import (
    BOS_ID,
    CLS_ID,
    EOS_ID,
    MASK_ID,
    N_SPECIAL,
    PAD_ID,
    SEP_ID,
    SPECIAL_TOKENS,
    UNK_ID,
    TextCleaner,
    Tokenizer,
)

LONG_TEXT = "cat " * 2500  # 10,000 characters, 2,500 words


def test_special_token_constants():
    assert SPECIAL_TOKENS == ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[BOS]", "[EOS]")
    assert (PAD_ID, UNK_ID, CLS_ID, SEP_ID, MASK_ID, BOS_ID, EOS_ID) == tuple(range(7))
    assert N_SPECIAL == 7


class _TokenizerTests:
    """Behaviour every tokenizer kind shares; subclasses set ``kind``."""

    kind = None

    def make(self, **params):
        return Tokenizer(self.kind, **params)

    # ------------------------------------------------------------- fitting

    def test_fitted_attributes(self, corpus):
        tok = self.make().fit(corpus)
        assert tok.input_kind_ == "text"
        assert tok.vocab_size_ == len(tok.vocabulary_)
        assert tok.vocab_size_ == tok.tokenizer_.get_vocab_size()
        assert sorted(tok.vocabulary_.values()) == list(range(tok.vocab_size_))
        assert not hasattr(tok, "n_features_in_")

    def test_special_tokens_have_ids_0_to_6(self, corpus):
        tok = self.make().fit(corpus)
        for token_id, token in enumerate(SPECIAL_TOKENS):
            assert tok.vocabulary_[token] == token_id
            assert tok.tokenizer_.token_to_id(token) == token_id

    def test_vocab_size_respected(self, corpus):
        tok = self.make(vocab_size=N_SPECIAL + 12).fit(corpus)
        assert N_SPECIAL < tok.vocab_size_ <= N_SPECIAL + 12
        ids = np.concatenate(tok.transform(corpus))
        assert ids.max() < tok.vocab_size_

    def test_fit_is_deterministic(self, corpus):
        first = self.make(vocab_size=20).fit(corpus)
        second = self.make(vocab_size=20).fit(corpus[::-1])
        assert first.vocabulary_ == second.vocabulary_

    def test_refit_forgets_previous_input(self, corpus):
        tok = self.make().fit(pd.DataFrame({"a": ["x y", "y"], "b": ["z", "x"]}))
        assert tok.n_features_in_ == 2
        tok.fit(corpus)
        assert tok.input_kind_ == "text"
        assert not hasattr(tok, "n_features_in_")
        assert not hasattr(tok, "feature_names_in_")

    # ----------------------------------------------------------- transform

    def test_ids_output(self, corpus):
        ids = self.make().fit(corpus).transform(corpus)
        assert isinstance(ids, np.ndarray) and ids.dtype == object
        assert ids.shape == (len(corpus),)
        for seq in ids:
            assert isinstance(seq, np.ndarray)
            assert seq.dtype == np.int64 and seq.ndim == 1
        assert len(ids[0]) > 0

    def test_no_special_tokens_added(self, corpus):
        ids = self.make().fit(corpus).transform(["the cat"])[0]
        assert not np.isin(ids, [PAD_ID, CLS_ID, SEP_ID, BOS_ID, EOS_ID]).any()

    def test_padded_output(self, corpus):
        tok = self.make(output="padded", max_len=12).fit(corpus)
        padded = tok.transform(corpus)
        assert padded.shape == (len(corpus), 12)
        assert padded.dtype == np.int64
        ids = self.make(max_len=12).fit(corpus).transform(corpus)
        for row, seq in zip(padded, ids):
            np.testing.assert_array_equal(row[: len(seq)], seq)
            assert (row[len(seq) :] == PAD_ID).all()

    def test_padded_width_does_not_depend_on_batch(self, corpus):
        tok = self.make(output="padded", max_len=40).fit(corpus)
        together = tok.transform(corpus)
        one_by_one = np.vstack([tok.transform([text]) for text in corpus])
        np.testing.assert_array_equal(together, one_by_one)

    def test_unseen_maps_to_unk(self, corpus):
        tok = self.make().fit(corpus)
        ids = tok.transform(["Ω"])[0]
        assert len(ids) > 0 and UNK_ID in ids
        seen = tok.transform(["the cat"])[0]
        assert UNK_ID not in seen

    def test_special_token_text_is_not_special(self, corpus):
        specials = [PAD_ID, CLS_ID, SEP_ID, MASK_ID, BOS_ID, EOS_ID]
        tok = self.make().fit(corpus)
        texts = ["the [PAD] cat [MASK]", "[CLS]"]
        for model in (tok, pickle.loads(pickle.dumps(tok))):
            ids = np.concatenate(model.transform(texts))
            assert not np.isin(ids, specials).any()
        tok = self.make().fit([["the", "cat"]])
        ids = tok.transform([["[PAD]", "the", "[MASK]"]])[0]
        assert len(ids) > 0 and not np.isin(ids, specials).any()

    def test_empty_string(self, corpus):
        tok = self.make().fit(corpus)
        ids = tok.transform(["", "the cat"])
        assert ids[0].shape == (0,) and ids[0].dtype == np.int64
        padded = self.make(output="padded", max_len=5).fit(corpus).transform([""])
        np.testing.assert_array_equal(padded, [[PAD_ID] * 5])
        assert tok.decode([[]])[0] == ""

    def test_fit_on_empty_strings_only(self):
        tok = self.make().fit(["", ""])
        assert tok.vocab_size_ == N_SPECIAL
        assert set(tok.transform(["abc"])[0].tolist()) <= {UNK_ID}

    def test_long_text_is_truncated(self, corpus):
        assert len(LONG_TEXT) == 10_000
        ids = self.make(max_len=64).fit(corpus + [LONG_TEXT]).transform([LONG_TEXT])
        assert len(ids[0]) == 64
        tok = self.make(max_len=64, output="padded").fit(corpus)
        padded = tok.transform([LONG_TEXT])
        assert padded.shape == (1, 64) and (padded != PAD_ID).all()

    def test_long_text_without_truncation_raises(self, corpus):
        tok = self.make(max_len=64, truncation=False).fit(corpus)
        assert len(tok.transform(["the cat"])[0]) <= 64
        with pytest.raises(
            ValueError,
            match=r"Row 1 of X has \d+ tokens, more than max_len=64; set "
            r"truncation=True or raise max_len",
        ):
            tok.transform(["the cat", LONG_TEXT])

    def test_long_text_with_large_max_len(self, corpus):
        tok = self.make(max_len=20_000).fit(corpus + [LONG_TEXT])
        assert tok.decode(tok.transform([LONG_TEXT]))[0].split() == ["cat"] * 2500

    def test_emoji_and_cjk(self, corpus):
        tok = self.make().fit(corpus)
        texts = ["日本語のテキスト", "party 🎉🎉 👍"]
        for ids in tok.transform(texts):
            assert len(ids) > 0 and UNK_ID not in ids
        assert list(tok.decode(tok.transform(texts))) == texts

    def test_decode_round_trip(self, corpus):
        tok = self.make().fit(corpus)
        texts = ["the cat sat on the mat", "a dog", "with emoji 👍"]
        np.testing.assert_array_equal(tok.decode(tok.transform(texts)), texts)

    def test_decode_accepts_padded_and_lists(self, corpus):
        texts = ["the cat", "a dog sat"]
        tok = self.make(output="padded", max_len=20).fit(corpus)
        padded = tok.transform(texts)
        decoded = tok.decode(padded)
        assert decoded.dtype == object and decoded.shape == (2,)
        np.testing.assert_array_equal(decoded, texts)
        np.testing.assert_array_equal(tok.inverse_transform(padded), texts)
        np.testing.assert_array_equal(tok.decode(padded.tolist()), texts)

    def test_decode_rejects_bad_ids(self, corpus):
        tok = self.make().fit(corpus)
        with pytest.raises(ValueError, match="contains id 100000, outside"):
            tok.decode([[7, 100000]])
        with pytest.raises(ValueError, match="sequence of integers"):
            tok.decode([[7.5]])
        with pytest.raises(ValueError, match="pass \\[ids\\]"):
            tok.decode(np.array([7, 8]))
        with pytest.raises(NotFittedError):
            self.make().decode([[7]])

    # ------------------------------------------------------ other inputs

    def test_pretokenized_input(self, corpus):
        tokens = [text.split() for text in corpus]
        tok = self.make().fit(tokens)
        assert tok.input_kind_ == "tokens"
        ids = tok.transform([["the", "cat"], [], ("a", "dog")])
        assert [len(seq) > 0 for seq in ids] == [True, False, True]
        assert UNK_ID not in np.concatenate(ids)

    def test_columns_input(self):
        X = pd.DataFrame({"colour": ["red", "blue", "red"], "size": [1, 2, 3]})
        tok = self.make(output="padded", max_len=10).fit(X)
        assert tok.input_kind_ == "columns"
        assert tok.n_features_in_ == 2
        np.testing.assert_array_equal(tok.feature_names_in_, ["colour", "size"])
        out = tok.transform(X)
        assert out.shape == (3, 10)
        with pytest.warns(UserWarning, match="does not have valid feature names"):
            np.testing.assert_array_equal(tok.transform(X.to_numpy()), out)

    def test_one_column_dataframe_is_text(self, corpus):
        X = pd.DataFrame({"text": corpus})
        tok = self.make().fit(X)
        assert tok.input_kind_ == "text" and tok.n_features_in_ == 1
        np.testing.assert_array_equal(tok.feature_names_in_, ["text"])
        expected = self.make().fit(corpus).transform(corpus)
        for got, want in zip(tok.transform(X), expected):
            np.testing.assert_array_equal(got, want)
        # A 1-D input of the same texts is accepted too.
        for got, want in zip(tok.transform(pd.Series(corpus)), expected):
            np.testing.assert_array_equal(got, want)

    def test_input_kind_must_match_fit(self, corpus):
        tok = self.make().fit(corpus)
        with pytest.raises(ValueError, match="fitted on text .* but got pre-tokenized"):
            tok.transform([["the", "cat"]])
        with pytest.raises(ValueError, match="fitted on text .* but got a 2-D array"):
            tok.transform(np.array([["a", "b"], ["c", "d"]]))

    def test_wrong_column_count(self):
        X = np.array([["a", "b", "c"], ["b", "c", "a"]])
        tok = self.make(output="padded", max_len=4).fit(X)
        with pytest.raises(
            ValueError, match="X has 2 features, but Tokenizer is expecting 3 features"
        ):
            tok.transform(X[:, :2])
        with pytest.raises(ValueError, match="Reshape your data"):
            tok.transform(["a b c"])

    # ------------------------------------------------------------- errors

    @pytest.mark.parametrize(
        "bad, match",
        [
            (["the cat", None], "X contains None/NaN at row 1"),
            (["the cat", np.nan], "X contains None/NaN at row 1"),
            (pd.Series(["a", pd.NA], dtype="string"), "X contains None/NaN at row 1"),
            ([["the", None]], "X contains None/NaN at row 0, token 1"),
            (np.array([["a", "b"], ["c", np.nan]], dtype=object), "row 1, column 1"),
            ([], "0 samples"),
            (np.empty((0, 3)), "0 samples"),
            (np.zeros((2, 2, 2)), "3 dimensions"),
            (np.array([1.0, 2.0]), "Reshape your data"),
        ],
    )
    def test_bad_input_raises_value_error(self, bad, match):
        with pytest.raises(ValueError, match=match):
            self.make().fit(bad)

    @pytest.mark.parametrize(
        "bad, match",
        [
            (["a", b"bytes"], r"X\[1\] is bytes, expected str"),
            (["a", {"k": 1}], r"X\[1\] is dict, expected str"),
            (["a", 3], r"X\[1\] is int, expected str"),
            ([["a"], "b"], "mixes pre-tokenized samples"),
            ("one text", "wrap it in a list"),
        ],
    )
    def test_bad_input_raises_type_error(self, bad, match):
        with pytest.raises(TypeError, match=match):
            self.make().fit(bad)

    def test_nan_rejected_at_transform(self, corpus):
        tok = self.make().fit(corpus)
        with pytest.raises(ValueError, match="None/NaN at row 0"):
            tok.transform([None])

    def test_not_fitted(self, corpus):
        with pytest.raises(NotFittedError):
            self.make().transform(corpus)

    def test_bad_parameters(self, corpus):
        with pytest.raises(InvalidParameterError, match="'kind' parameter"):
            Tokenizer(kind="sentencepiece").fit(corpus)
        with pytest.raises(InvalidParameterError, match="'vocab_size' parameter"):
            self.make(vocab_size=N_SPECIAL).fit(corpus)
        with pytest.raises(InvalidParameterError, match="'output' parameter"):
            self.make(output="dense").fit(corpus)

    # ----------------------------------------------- scikit-learn plumbing

    def test_feature_names_out(self, corpus):
        tok = self.make(output="padded", max_len=3).fit(corpus)
        np.testing.assert_array_equal(
            tok.get_feature_names_out(), ["tokenizer0", "tokenizer1", "tokenizer2"]
        )
        with pytest.raises(ValueError, match="only defined for output='padded'"):
            self.make().fit(corpus).get_feature_names_out()

    def test_set_output_pandas(self, corpus):
        tok = self.make(output="padded", max_len=4).set_output(transform="pandas")
        out = tok.fit_transform(corpus)
        assert isinstance(out, pd.DataFrame)
        assert list(out.columns) == [f"tokenizer{i}" for i in range(4)]

    def test_pickle_and_joblib_round_trip(self, corpus, tmp_path):
        tok = self.make(output="padded", max_len=16).fit(corpus)
        expected = tok.transform(corpus)
        restored = pickle.loads(pickle.dumps(tok))
        np.testing.assert_array_equal(restored.transform(corpus), expected)
        joblib.dump(tok, tmp_path / "tok.joblib")
        restored = joblib.load(tmp_path / "tok.joblib")
        np.testing.assert_array_equal(restored.transform(corpus), expected)
        np.testing.assert_array_equal(restored.decode(expected), tok.decode(expected))
        assert restored.vocabulary_ == tok.vocabulary_

    def test_clone(self, corpus):
        tok = self.make(vocab_size=50, max_len=9).fit(corpus)
        cloned = clone(tok)
        assert cloned.get_params() == tok.get_params()
        assert not hasattr(cloned, "tokenizer_")

    def test_in_pipeline(self, corpus):
        pipe = make_pipeline(TextCleaner(lowercase=True), self.make(output="padded", max_len=8))
        out = pipe.fit_transform(["<b>The</b>  CAT", "the dog"])
        assert out.shape == (2, 8)
        np.testing.assert_array_equal(out[0], pipe.transform(["the cat"])[0])


class TestWordTokenizer(_TokenizerTests):
    kind = "word"

    def test_words_and_punctuation(self, corpus):
        tok = self.make().fit(corpus + ["hello, world!"])
        ids = tok.transform(["hello, world!"])[0]
        tokens = [tok.tokenizer_.id_to_token(i) for i in ids]
        # "▁" marks a word that follows a space, so decode restores the text.
        assert tokens == ["▁hello", ",", "▁world", "!"]

    def test_decode_restores_hyphens_and_spacing(self, corpus):
        texts = ["quatre-vingt-dix-neuf", "hello, world (again)!", "two  spaces"]
        tok = self.make().fit(corpus + texts)
        assert tok.decode(tok.transform(texts)).tolist() == texts

    def test_unseen_word_is_one_unk(self, corpus):
        ids = self.make().fit(corpus).transform(["the zebra sat"])[0]
        assert ids.tolist()[1] == UNK_ID and len(ids) == 3

    def test_token_with_space_stays_one_token(self):
        tok = self.make().fit([["New York", "is", "big"], ["New York"]])
        assert "New York" in tok.vocabulary_
        assert "New" not in tok.vocabulary_
        ids = tok.transform([["New York", "is"], ["New"]])
        assert ids[0].tolist() == [tok.vocabulary_["New York"], tok.vocabulary_["is"]]
        assert ids[1].tolist() == [UNK_ID]
        assert tok.decode(ids)[0] == "New York is"

    def test_min_frequency(self):
        tok = self.make(min_frequency=2).fit(["a a b", "a c c"])
        assert "▁a" in tok.vocabulary_ and "▁c" in tok.vocabulary_
        assert "▁b" not in tok.vocabulary_
        assert tok.transform(["b"])[0].tolist() == [UNK_ID]

    def test_keeps_most_frequent_words(self):
        tok = self.make(vocab_size=N_SPECIAL + 2).fit(["a a a b b c", "a b d"])
        assert set(tok.vocabulary_) == set(SPECIAL_TOKENS) | {"▁a", "▁b"}
        assert tok.vocabulary_["▁a"] == N_SPECIAL  # most frequent first

    def test_columns_one_token_per_cell(self):
        X = np.array([["red car", 1], ["blue", 2.5]], dtype=object)
        tok = self.make(output="padded", max_len=3).fit(X)
        assert "red car" in tok.vocabulary_ and "2.5" in tok.vocabulary_
        out = tok.transform(X)
        assert (out[:, :2] != PAD_ID).all() and (out[:, 2] == PAD_ID).all()

    def test_empty_or_unseen_cell_is_one_unk(self):
        X = pd.DataFrame({"a": ["x", "", "y"], "b": ["z", "x", "y"]})
        tok = self.make(output="padded", max_len=2).fit(X)
        out = tok.transform(pd.DataFrame({"a": ["", "x"], "b": ["z", "new"]}))
        assert out.tolist() == [
            [UNK_ID, tok.vocabulary_["z"]],
            [tok.vocabulary_["x"], UNK_ID],
        ]


class TestCharTokenizer(_TokenizerTests):
    kind = "char"

    def test_exact_round_trip_with_whitespace(self, corpus):
        texts = ["  the\tcat\n sat  ", "🎉 日本"]
        tok = self.make().fit(corpus + texts)
        np.testing.assert_array_equal(tok.decode(tok.transform(texts)), texts)

    def test_one_token_per_character(self, corpus):
        tok = self.make().fit(corpus)
        assert len(tok.transform(["the cat 🎉"])[0]) == len("the cat 🎉")
        assert " " in tok.vocabulary_

    def test_vocab_keeps_most_frequent_characters(self):
        tok = self.make(vocab_size=N_SPECIAL + 2).fit(["aaab", "aabbc"])
        assert set(tok.vocabulary_) == set(SPECIAL_TOKENS) | {"a", "b"}
        assert tok.transform(["abc"])[0].tolist()[-1] == UNK_ID


class TestBPETokenizer(_TokenizerTests):
    kind = "bpe"

    def test_rare_word_split_into_known_pieces(self, corpus):
        tok = self.make().fit(corpus * 3)
        ids = tok.transform(["cats sat"])[0]
        assert UNK_ID not in ids
        assert tok.decode([ids])[0] == "cats sat"

    def test_frequent_words_merged(self):
        tok = self.make(vocab_size=60).fit(["the cat sat on the mat"] * 5)
        assert len(tok.transform(["the cat"])[0]) < len("the cat")
