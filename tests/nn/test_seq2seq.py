"""Seq2Seq: shapes, causality, caching, embeddings, gradients, argument checks."""

import pytest
import torch
import torch.nn.functional as F

from sktfm.nn import Seq2Seq

B, S, T, V_SRC, V_TGT = 3, 7, 6, 30, 25
PAD, BOS, EOS = 0, 5, 6
TINY = dict(d_model=16, n_heads=2, dim_feedforward=32, dropout=0.0, max_len=16)


def _model(**kw):
    return Seq2Seq(src_vocab_size=V_SRC, tgt_vocab_size=V_TGT, **{**TINY, **kw})


def _src():
    src = torch.randint(7, V_SRC, (B, S))
    src[1, 4:] = PAD
    return src


def _tgt_in():
    tgt = torch.randint(7, V_TGT, (B, T))
    tgt[:, 0] = BOS
    tgt[2, 3:] = PAD
    return tgt


@pytest.mark.parametrize("positional", ["sinusoidal", "learned"])
@pytest.mark.parametrize("norm_first", [True, False], ids=["pre-norm", "post-norm"])
def test_shapes_and_log_probabilities(positional, norm_first):
    model = _model(positional=positional, norm_first=norm_first)
    src, tgt_in = _src(), _tgt_in()
    memory, padding = model.encode(src)
    assert memory.shape == (B, S, 16) and torch.equal(padding, src == PAD)
    log_probs = model(src, tgt_in)
    assert log_probs.shape == (B, T, V_TGT) and torch.isfinite(log_probs).all()
    torch.testing.assert_close(log_probs.exp().sum(-1), torch.ones(B, T))
    decoded, weights = model.decode(tgt_in, memory, padding, need_weights=True)
    torch.testing.assert_close(decoded, log_probs)
    assert len(weights) == 2 and all(w.shape == (B, 2, T, S) for w in weights)
    assert torch.all(weights[0][1, ..., 4:] == 0)  # source padding gets no attention


@pytest.mark.parametrize("norm_first", [True, False], ids=["pre-norm", "post-norm"])
def test_later_target_tokens_never_change_earlier_log_probs(norm_first):
    model = _model(norm_first=norm_first).eval()
    src, tgt_in = _src(), _tgt_in()
    tgt_in[2, 3:] = torch.randint(7, V_TGT, (T - 3,))  # no padding: only the tokens change
    expected = model(src, tgt_in)
    for t in range(1, T):
        changed = tgt_in.clone()
        changed[:, t:] = (tgt_in[:, t:] - 7 + 3) % (V_TGT - 7) + 7  # other non-special ids
        out = model(src, changed)
        torch.testing.assert_close(out[:, :t], expected[:, :t], rtol=0, atol=1e-6)
        assert not torch.allclose(out[:, t:], expected[:, t:])


def test_source_padding_does_not_leak():
    model = _model().eval()
    src, tgt_in = _src(), _tgt_in()
    longer = torch.cat([src, torch.full((B, 3), PAD)], dim=1)  # extra padding columns
    torch.testing.assert_close(model(longer, tgt_in), model(src, tgt_in), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("positional", ["sinusoidal", "learned"])
def test_cached_decode_equals_full_prefix_step_by_step(positional):
    model = _model(positional=positional).eval()
    src = _src()
    tgt_in = torch.randint(7, V_TGT, (B, T))
    tgt_in[:, 0] = BOS
    memory, padding = model.encode(src)
    full = model.decode(tgt_in, memory, padding)  # (B, T, V)
    cache = model.decoder.new_cache()
    for t in range(T):
        step = model.decode(tgt_in[:, t : t + 1], memory, padding, cache=cache)
        assert step.shape == (B, 1, V_TGT)
        torch.testing.assert_close(step[:, 0], full[:, t], rtol=1e-5, atol=1e-5)


def test_tie_embeddings_shares_the_parameter():
    tied = _model(tie_embeddings=True)
    assert tied.output.weight is tied.tgt_embedding.embedding.weight
    assert tied.output.weight.shape == (V_TGT, 16)
    n_tied = sum(p.numel() for p in tied.parameters())
    untied = _model(tie_embeddings=False)
    assert untied.output.weight is not untied.tgt_embedding.embedding.weight
    assert sum(p.numel() for p in untied.parameters()) == n_tied + V_TGT * 16
    # The raw table is tied: logits are the final states times the unscaled weights.
    states = torch.randn(2, 16)
    expected = states @ tied.tgt_embedding.embedding.weight.T + tied.output.bias
    torch.testing.assert_close(tied.output(states), expected)


def test_share_embeddings():
    model = Seq2Seq(src_vocab_size=V_TGT, tgt_vocab_size=V_TGT, share_embeddings=True, **TINY)
    assert model.src_embedding is model.tgt_embedding
    assert model.output.weight is model.src_embedding.embedding.weight
    with pytest.raises(ValueError, match="share_embeddings=True.*src_vocab_size=30"):
        _model(share_embeddings=True)


@pytest.mark.parametrize("tie_embeddings", [True, False])
def test_every_parameter_gets_a_finite_gradient(tie_embeddings):
    model = _model(dropout=0.1, positional="learned", tie_embeddings=tie_embeddings).train()
    log_probs = model(_src(), _tgt_in())
    assert torch.isfinite(log_probs).all()
    targets = torch.randint(7, V_TGT, (B, T))
    F.nll_loss(log_probs.reshape(-1, V_TGT), targets.reshape(-1)).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name


def test_empty_source_rows_are_finite():
    model = _model()
    src = _src()
    src[0] = PAD  # an empty sentence
    memory, padding = model.encode(src)
    assert torch.isfinite(memory).all()
    assert torch.isfinite(model(src, _tgt_in())).all()
    embedded = model.embed(src)
    assert embedded.shape == (B, 16) and torch.all(embedded[0] == 0)
    expected = memory[2].mean(dim=0)  # row 2 has no padding
    torch.testing.assert_close(embedded[2], expected)
    empty_batch = model.encode(torch.zeros(2, 0, dtype=torch.long))[0]  # no columns at all
    assert empty_batch.shape == (2, 1, 16) and torch.isfinite(empty_batch).all()


def test_invalid_arguments():
    with pytest.raises(ValueError, match="positional='rotary'"):
        _model(positional="rotary")
    with pytest.raises(ValueError, match="distinct"):
        _model(bos_id=0)
    with pytest.raises(ValueError, match="eos_id=40"):
        _model(eos_id=40)
    with pytest.raises(ValueError, match="max_len=0"):
        _model(max_len=0)
    model = _model()
    with pytest.raises(TypeError, match="integer tensor"):
        model.encode(torch.randn(B, S))
    with pytest.raises(ValueError, match="max_len"):
        model.encode(torch.randint(7, V_SRC, (1, 19)))  # max_len + 2 = 18 positions
    assert model.encode(torch.randint(7, V_SRC, (1, 18)))[0].shape == (1, 18, 16)


def test_next_token_logits_are_the_last_positions_unnormalised_log_probs():
    model = _model().eval()
    src, tgt_in = _src(), _tgt_in()
    tgt_in[2, 3:] = 9  # the last position is a real token in every row
    with torch.inference_mode():
        memory, padding = model.encode(src)
        log_probs = model.decode(tgt_in, memory, padding)[:, -1]  # (B, V)
        logits = model.next_token_logits(tgt_in, memory, padding)  # (B, V)
    assert logits.shape == log_probs.shape
    torch.testing.assert_close(logits.log_softmax(dim=-1), log_probs, rtol=1e-5, atol=1e-5)
    assert torch.equal(logits.argmax(dim=-1), log_probs.argmax(dim=-1))
