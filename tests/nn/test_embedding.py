"""Token, positional, tabular and sequence embeddings."""

import math

import pytest
import torch

from sktfm.nn import (
    FeatureTokenizer,
    LearnedPositionalEncoding,
    SequenceEmbedding,
    SinusoidalPositionalEncoding,
    TokenEmbedding,
)

B, T, C, F = 3, 5, 16, 4


def test_token_embedding_is_scaled_by_sqrt_d_model():
    emb = TokenEmbedding(30, C, padding_idx=0)
    ids = torch.randint(1, 30, (B, T))
    ids[0, -1] = 0
    out = emb(ids)
    assert out.shape == (B, T, C)
    torch.testing.assert_close(out, emb.embedding.weight[ids] * math.sqrt(C))
    assert torch.all(out[0, -1] == 0)  # padding row stays zero
    # Unit-scale output, comparable to the positional encoding it is added to.
    assert 0.5 < emb(torch.arange(1, 30)).std() < 2.0


@pytest.mark.parametrize("d_model", [16, 7], ids=["even", "odd"])
def test_sinusoidal_values_follow_the_paper(d_model):
    pe = SinusoidalPositionalEncoding(d_model, max_len=50)
    table = pe.pe.double()
    for pos in (0, 1, 17, 49):
        for i in range(d_model):
            angle = pos / 10000 ** (2 * (i // 2) / d_model)
            expected = math.sin(angle) if i % 2 == 0 else math.cos(angle)
            assert abs(table[pos, i].item() - expected) < 1e-6, (pos, i)
    assert "pe" not in pe.state_dict()  # non-persistent buffer


@pytest.mark.parametrize("cls", [SinusoidalPositionalEncoding, LearnedPositionalEncoding])
def test_positional_encoding_adds_offset_slice(cls):
    pe = cls(C, max_len=10)
    table = pe.pe if cls is SinusoidalPositionalEncoding else pe.embedding.weight
    x = torch.randn(B, T, C)
    torch.testing.assert_close(pe(x), x + table[:T])
    torch.testing.assert_close(pe(x, offset=5), x + table[5:10])
    with pytest.raises(ValueError, match="max_len=10"):
        pe(x, offset=6)
    with pytest.raises(ValueError, match="max_len=10"):
        pe(torch.randn(B, 11, C))


def test_learned_positional_encoding_is_trained():
    pe = LearnedPositionalEncoding(C, max_len=10)
    assert "embedding.weight" in pe.state_dict()
    pe(torch.randn(B, T, C)).sum().backward()
    assert pe.embedding.weight.grad[:T].abs().sum() > 0
    assert torch.all(pe.embedding.weight.grad[T:] == 0)


def test_feature_tokenizer_shapes_and_formula():
    tok = FeatureTokenizer(F, C)
    bound = 1 / math.sqrt(C)
    for p in tok.parameters():  # rtdl init
        assert p.abs().max() <= bound
    x = torch.randn(B, F)
    out = tok(x)
    assert out.shape == (B, F + 1, C)
    torch.testing.assert_close(out[:, 0], tok.cls.expand(B, C))  # [CLS] at position 0
    expected = x[..., None] * tok.value_weight + tok.feature_embedding.weight
    torch.testing.assert_close(out[:, 1:], expected)


def test_feature_tokenizer_masked_tokens_hide_the_value():
    tok = FeatureTokenizer(F, C)
    x = torch.randn(B, F, requires_grad=True)
    mask = torch.rand(B, F) < 0.5
    mask[0, 1] = True
    other = torch.where(mask, torch.randn(B, F) * 100, x.detach())
    other[0, 1] = float("nan")  # even a missing value must not leak
    out, out_other = tok(x, mask=mask), tok(other, mask=mask)
    torch.testing.assert_close(out, out_other)
    hidden = (tok.mask_embedding + tok.feature_embedding.weight).expand(B, F, C)
    torch.testing.assert_close(out[:, 1:][mask], hidden[mask])
    tok(other.requires_grad_(), mask=mask).sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in tok.parameters())
    assert torch.all(other.grad[mask] == 0)


def test_feature_tokenizer_rejects_wrong_width():
    with pytest.raises(ValueError, match="n_features=4"):
        FeatureTokenizer(F, C)(torch.randn(B, F + 1))
    with pytest.raises(ValueError, match="mask"):
        FeatureTokenizer(F, C)(torch.randn(B, F), mask=torch.zeros(B, 2, dtype=torch.bool))


def test_sequence_embedding():
    emb = SequenceEmbedding(F, C)
    x = torch.randn(B, T, F)
    out, padding = emb(x)
    assert out.shape == (B, T, C) and not padding.any()
    torch.testing.assert_close(out, emb.proj(x))
    mask = torch.zeros(B, T, dtype=torch.bool)
    mask[:, 2] = True
    masked, _ = emb(x, mask=mask)
    torch.testing.assert_close(masked[:, 2], emb.mask_embedding.expand(B, C))
    torch.testing.assert_close(masked[~mask], out[~mask])
    with pytest.raises(ValueError, match="n_features=4"):
        emb(torch.randn(B, T, F + 1))


def test_token_embedding_starts_from_given_vectors_on_the_given_rows():
    torch.manual_seed(0)
    emb = TokenEmbedding(30, C, padding_idx=0)
    before = emb.embedding.weight.detach().clone()
    vectors = torch.randn(30, C)
    rows = torch.zeros(30, dtype=torch.bool)
    rows[[0, 3, 7, 8]] = True  # the padding id is asked for too, and refused
    emb.initialize_from(vectors, rows)
    after = emb.embedding.weight.detach()
    torch.testing.assert_close(after[[3, 7, 8]], vectors[[3, 7, 8]] / math.sqrt(C))
    assert torch.all(after[0] == 0)
    untouched = ~rows
    untouched[0] = False
    torch.testing.assert_close(after[untouched], before[untouched])
    # Unit-variance vectors land at the scale of the default initialisation.
    emb.initialize_from(vectors, torch.ones(30, dtype=torch.bool))
    assert 0.8 < emb(torch.arange(1, 30)).std() < 1.2


def test_token_embedding_refuses_vectors_of_another_shape():
    emb = TokenEmbedding(30, C)
    with pytest.raises(ValueError, match=r"do not fit an embedding table of shape \(30, 16\)"):
        emb.initialize_from(torch.randn(30, C + 1), torch.ones(30, dtype=torch.bool))
    with pytest.raises(ValueError, match="rows of shape"):
        emb.initialize_from(torch.randn(30, C), torch.ones(29, dtype=torch.bool))
