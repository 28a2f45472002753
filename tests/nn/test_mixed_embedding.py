"""FeatureTokenizer on mixed tables: category codes, text words and their padding (#33)."""

import math

import pytest
import torch

from sktfm.nn import FeatureTokenizer, MaskedFeatureModel, TransformerBackbone

C = 8
NAN = float("nan")
# Columns: numeric, categorical (3 codes), text (width 3), categorical (2 codes).
CARDINALITIES = (0, 3, 0, 2)
WIDTHS = (0, 0, 3, 0)
F = len(CARDINALITIES)


def _mixed(**kwargs):
    return FeatureTokenizer(
        F, C, missing=True, cardinalities=CARDINALITIES, text_widths=WIDTHS, vocab_size=12,
        **kwargs,
    )  # fmt: skip


def _rows():
    # cells (age, code, text present, code), then the text column's 3 ids (0 = padding)
    return torch.tensor(
        [
            [0.5, 2.0, 0.0, 1.0, 5.0, 6.0, 0.0],
            [-1.0, 0.0, 0.0, 0.0, 7.0, 0.0, 0.0],
            [NAN, NAN, NAN, 1.0, 0.0, 0.0, 0.0],  # missing number, category and text
        ]
    )


def test_shapes_and_the_padding_of_text_words():
    tok = _mixed()
    x = _rows()
    assert tok(x).shape == (3, 1 + F + 3, C)  # [CLS], cells, the text column's words
    padding = tok.padding(x)
    expected = torch.zeros(3, 1 + F + 3, dtype=torch.bool)
    expected[0, -1] = True
    expected[1, -2:] = True
    expected[2, -3:] = True
    torch.testing.assert_close(padding, expected)
    assert FeatureTokenizer(F, C, cardinalities=CARDINALITIES).padding(x[:, :F]) is None


def test_a_categorical_cell_is_its_categorys_embedding_plus_its_columns():
    tok = _mixed()
    tokens = tok(_rows())
    feature = tok.feature_embedding.weight
    offset = tok.category_offset.tolist()
    assert offset == [0, 0, 3, 3]  # column 3's codes follow column 1's three
    for row, f, code in [(0, 1, 2), (0, 3, 1), (1, 1, 0), (1, 3, 0), (2, 3, 1)]:
        expected = tok.category_embedding[offset[f] + code] + feature[f]
        torch.testing.assert_close(tokens[row, 1 + f], expected, rtol=0, atol=0)
    # a numeric cell beside them is as FT-Transformer makes it
    torch.testing.assert_close(tokens[0, 1], 0.5 * tok.value_weight[0] + feature[0])


def test_a_text_word_is_its_embedding_plus_its_column_and_position():
    tok = _mixed()
    tokens = tok(_rows())
    pe = tok.text_position.pe
    for j, word in enumerate([5, 6]):
        expected = tok.token_embedding.weight[word] * math.sqrt(C) + tok.feature_embedding.weight[2]
        torch.testing.assert_close(tokens[0, 1 + F + j], expected + pe[j])
    # the text column's own cell: present (0) is its value token at 0; missing is its missing token
    torch.testing.assert_close(tokens[0, 1 + 2], tok.feature_embedding.weight[2])


def test_missing_cells_take_their_columns_missing_token():
    tok = _mixed()
    tokens = tok(_rows())
    assert torch.isfinite(tokens).all()
    for f in range(3):  # number, category and text of row 2 are missing
        expected = tok.missing_embedding[f] + tok.feature_embedding.weight[f]
        torch.testing.assert_close(tokens[2, 1 + f], expected, rtol=0, atol=0)


def test_masked_cells_hide_their_category():
    tok = _mixed()
    x = _rows()
    mask = torch.zeros(3, F, dtype=torch.bool)
    mask[:, 1] = True  # hide column 1 in every row, whatever its code
    other = x.clone()
    other[:, 1] = torch.tensor([1.0, 2.0, 0.0])
    out, out_other = tok(x, mask=mask), tok(other, mask=mask)
    torch.testing.assert_close(out, out_other, rtol=0, atol=0)
    hidden = tok.mask_embedding + tok.feature_embedding.weight[1]
    for row in range(3):
        torch.testing.assert_close(out[row, 2], hidden)
    out.sum().backward()
    assert torch.all(tok.category_embedding.grad[:3] == 0)  # column 1's codes: never read


def test_gradients_reach_the_categories_and_words_used_and_spare_padding():
    tok = _mixed()
    tok(_rows()).pow(2).sum().backward()
    grad = tok.category_embedding.grad
    assert all(grad[row].abs().sum() > 0 for row in (0, 2, 3, 4))  # codes seen
    assert torch.all(grad[1] == 0)  # column 1, code 1: in no row
    words = tok.token_embedding.weight.grad
    assert all(words[i].abs().sum() > 0 for i in (5, 6, 7))
    assert torch.all(words[0] == 0)  # padding learns nothing
    assert tok.missing_embedding.grad[:3].abs().sum() > 0
    assert all(torch.isfinite(p.grad).all() for p in tok.parameters() if p.grad is not None)


def test_codes_at_the_edge_of_each_column_look_up_their_own_rows():
    tok = _mixed()
    x = torch.zeros(1, F + 3)
    x[0, 1], x[0, 3] = 2.0, 1.0  # the last code of each categorical column
    tokens = tok(x)
    feature = tok.feature_embedding.weight
    torch.testing.assert_close(tokens[0, 2], tok.category_embedding[2] + feature[1])
    torch.testing.assert_close(tokens[0, 4], tok.category_embedding[4] + feature[3])


def test_numeric_only_tokenizer_is_bit_identical_to_before():
    # Mixed-table weights come from a generator of their own: with no
    # categorical or text column, the tokenizer is the one of numeric tables,
    # weights, outputs and torch's random state after it alike.
    torch.manual_seed(5)
    before = FeatureTokenizer(F, C, missing=True)
    after_before = torch.rand(3)
    torch.manual_seed(5)
    numeric = FeatureTokenizer(F, C, missing=True, cardinalities=(0,) * F, text_widths=(0,) * F)
    after_numeric = torch.rand(3)
    torch.testing.assert_close(after_numeric, after_before, rtol=0, atol=0)
    assert numeric.state_dict().keys() == before.state_dict().keys()
    for name, value in before.state_dict().items():
        torch.testing.assert_close(numeric.state_dict()[name], value, rtol=0, atol=0)
    x = torch.randn(6, F)
    x[0, 2] = NAN
    torch.testing.assert_close(numeric(x), before(x), rtol=0, atol=0)
    assert numeric.padding(x) is None


def test_mixed_columns_leave_the_shared_weights_as_a_numeric_table_draws_them():
    torch.manual_seed(5)
    before = FeatureTokenizer(F, C, missing=True)
    after_before = torch.rand(3)
    torch.manual_seed(5)
    mixed = _mixed()
    for name, value in before.state_dict().items():
        torch.testing.assert_close(mixed.state_dict()[name], value, rtol=0, atol=0)
    # Category and word embeddings take nothing from torch's random state:
    # the layers built after the tokenizer start as for a numeric table.
    torch.testing.assert_close(torch.rand(3), after_before, rtol=0, atol=0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(cardinalities=(0, 3)), "one non-negative int per column"),
        (dict(cardinalities=(0, -1, 0, 0)), "one non-negative int per column"),
        (dict(text_widths=(0, 0, 3, 0)), "vocab_size"),
    ],
)
def test_mixed_settings_are_checked(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FeatureTokenizer(F, C, **kwargs)


def test_input_without_the_text_ids_is_an_error():
    with pytest.raises(ValueError, match="4 cells \\+ 3 text ids"):
        _mixed()(torch.zeros(2, F))


def test_masked_cell_pretraining_predicts_categories_of_their_own_column():
    torch.manual_seed(0)
    backbone = TransformerBackbone(
        input_kind="features", n_features=F, d_model=C, n_heads=2, n_layers=1,
        dim_feedforward=16, missing=True, cardinalities=CARDINALITIES, text_widths=WIDTHS,
        vocab_size=12,
    )  # fmt: skip
    x = _rows().repeat(20, 1)
    model = MaskedFeatureModel(backbone, mask_prob=0.5)
    pred, target, logits, codes = model(x)
    assert pred.shape == target.shape and torch.isfinite(target).all()
    assert len(codes) > 0 and logits.shape == (len(codes), sum(CARDINALITIES))
    # each hidden category's target code is one its own column may take
    assert torch.isfinite(logits.gather(1, codes[:, None])).all()
    allowed = torch.isfinite(logits).sum(dim=1)
    assert set(allowed.tolist()) <= {3, 2}
    loss = torch.nn.functional.cross_entropy(logits, codes)
    loss.backward()
    assert torch.isfinite(loss)
    # text columns are never hidden
    assert not model._hide_cells(torch.zeros(500, F + 3))[:, 2].any()
