"""MultiHeadAttention against torch.nn.MultiheadAttention and a float64 reference."""

import math

import pytest
import torch

from sktfm.nn import KVCache, MultiHeadAttention, attention_mask

B, C, H = 3, 16, 4
D = C // H


def _padding(b, lengths, t):
    """(b, t) bool, True = padding after each row's length."""
    return torch.arange(t)[None, :] >= torch.tensor(lengths)[:, None]


def _inputs(tq, tk, cross, dtype=torch.float32):
    q = torch.randn(B, tq, C, dtype=dtype)
    kv = torch.randn(B, tk, C, dtype=dtype) if cross else q
    return q, kv


def _masks(kind, tq, tk):
    """Our (key_padding_mask, causal) for a mask kind; no row is fully masked."""
    padding = _padding(B, [tk, tk - 2, 2], tk) if kind in ("padding", "both") else None
    return padding, kind in ("causal", "both")


def _copy_from_torch(theirs, ours):
    wq, wk, wv = theirs.in_proj_weight.chunk(3)
    bq, bk, bv = theirs.in_proj_bias.chunk(3)
    with torch.no_grad():
        for proj, w, b in ((ours.q_proj, wq, bq), (ours.k_proj, wk, bk), (ours.v_proj, wv, bv)):
            proj.weight.copy_(w)
            proj.bias.copy_(b)
        ours.out_proj.weight.copy_(theirs.out_proj.weight)
        ours.out_proj.bias.copy_(theirs.out_proj.bias)


def reference_attention(mha, query, key, padding, causal):
    """float64 multi-head attention written out head by head (Vaswani et al. eq. 1)."""
    f64 = {n: p.detach().double() for n, p in mha.named_parameters()}
    query, key = query.double(), key.double()
    tq, tk = query.shape[1], key.shape[1]
    q = query @ f64["q_proj.weight"].T + f64["q_proj.bias"]
    k = key @ f64["k_proj.weight"].T + f64["k_proj.bias"]
    v = key @ f64["v_proj.weight"].T + f64["v_proj.bias"]
    allowed = torch.ones(B, tq, tk, dtype=torch.bool)
    if padding is not None:
        allowed &= ~padding[:, None, :]
    if causal:
        i, j = torch.arange(tq)[:, None], torch.arange(tk)[None, :]
        allowed &= j <= i + (tk - tq)
    heads, weights = [], []
    for h in range(H):
        sl = slice(h * D, (h + 1) * D)
        scores = q[..., sl] @ k[..., sl].transpose(1, 2) / math.sqrt(D)  # (B, Tq, Tk)
        w = scores.masked_fill(~allowed, float("-inf")).softmax(-1)
        heads.append(w @ v[..., sl])
        weights.append(w)
    out = torch.cat(heads, -1) @ f64["out_proj.weight"].T + f64["out_proj.bias"]
    return out, torch.stack(weights, 1)  # (B, Tq, C), (B, H, Tq, Tk)


SHAPES = [pytest.param(6, 6, False, id="self"), pytest.param(3, 5, True, id="cross")]
KINDS = ["none", "padding", "causal", "both"]


@pytest.mark.parametrize("need_weights", [False, True], ids=["fused", "manual"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("tq, tk, cross", SHAPES)
def test_matches_torch_multihead_attention(tq, tk, cross, kind, need_weights):
    theirs = torch.nn.MultiheadAttention(C, H, batch_first=True)
    theirs.train()  # dropout=0; training mode keeps torch on its reference (non fast) path
    ours = MultiHeadAttention(C, H)
    _copy_from_torch(theirs, ours)
    query, kv = _inputs(tq, tk, cross)
    padding, causal = _masks(kind, tq, tk)
    # torch's bool attn_mask means "not allowed": the strict upper triangle past the offset.
    attn_mask = torch.ones(tq, tk, dtype=torch.bool).triu(tk - tq + 1) if causal else None

    expected, expected_w = theirs(
        query, kv, kv, key_padding_mask=padding, attn_mask=attn_mask, need_weights=True
    )
    out, weights = ours(
        query, kv, kv, key_padding_mask=padding, causal=causal, need_weights=need_weights
    )
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)
    if need_weights:
        assert weights.shape == (B, H, tq, tk)
        torch.testing.assert_close(weights.mean(1), expected_w, rtol=1e-5, atol=1e-6)
    else:
        assert weights is None


@pytest.mark.parametrize("need_weights", [False, True], ids=["fused", "manual"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("tq, tk, cross", SHAPES)
def test_matches_float64_reference(tq, tk, cross, kind, need_weights):
    mha = MultiHeadAttention(C, H)
    query, kv = _inputs(tq, tk, cross)
    padding, causal = _masks(kind, tq, tk)
    expected, expected_w = reference_attention(mha, query, kv, padding, causal)

    # Same module in float64: only summation order differs, so agreement is near eps64.
    out64, w64 = mha.double()(
        query.double(),
        kv.double(),
        key_padding_mask=padding,
        causal=causal,
        need_weights=need_weights,
    )
    torch.testing.assert_close(out64, expected, rtol=1e-5, atol=1e-12)
    assert (out64 - expected).norm() / expected.norm() <= 1e-12

    # float32 against the float64 reference: float32 rounding (eps ~1.2e-7) over
    # C=16-term dot products and softmax. Norm-wise relative error stays well
    # under 1e-5; element-wise we allow 1e-4 relative for entries near zero.
    out32, w32 = mha.float()(
        query, kv, key_padding_mask=padding, causal=causal, need_weights=need_weights
    )
    assert (out32.double() - expected).norm() / expected.norm() <= 1e-5
    torch.testing.assert_close(out32.double(), expected, rtol=1e-4, atol=1e-5)
    if need_weights:
        torch.testing.assert_close(w64, expected_w, rtol=1e-5, atol=1e-12)
        torch.testing.assert_close(w32.double(), expected_w, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("tq, tk, cross", SHAPES)
def test_bfloat16_inference_matches_float64_reference(tq, tk, cross, kind, monkeypatch):
    """CPU bfloat16 inference takes sktfm's own matmul-softmax path, not torch's kernel."""
    mha = MultiHeadAttention(C, H).eval()
    query, kv = _inputs(tq, tk, cross)
    padding, causal = _masks(kind, tq, tk)
    expected, _ = reference_attention(mha, query, kv, padding, causal)
    calls = []
    manual = MultiHeadAttention._manual_attention
    monkeypatch.setattr(
        MultiHeadAttention, "_manual_attention", lambda *args: calls.append(1) or manual(*args)
    )
    with torch.inference_mode():
        out, _ = mha.bfloat16()(
            query.bfloat16(), kv.bfloat16(), key_padding_mask=padding, causal=causal
        )
    assert calls and out.dtype == torch.bfloat16
    # bfloat16 keeps 8 significant bits (eps 2^-8 ~ 4e-3): inputs, weights and
    # the attention probabilities are each rounded once.
    assert (out.double() - expected).norm() / expected.norm() <= 2e-2


def test_fused_and_manual_paths_agree_in_cross_attention():
    mha = MultiHeadAttention(C, H).eval()
    query, kv = torch.randn(B, 2, C), torch.randn(B, 7, C)
    padding = _padding(B, [7, 4, 1], 7)
    fused, _ = mha(query, kv, key_padding_mask=padding)
    manual, weights = mha(query, kv, key_padding_mask=padding, need_weights=True)
    assert fused.shape == (B, 2, C) and weights.shape == (B, H, 2, 7)
    torch.testing.assert_close(fused, manual, rtol=1e-5, atol=1e-6)


def test_masked_positions_get_exactly_zero_weight():
    mha = MultiHeadAttention(C, H)
    x = torch.randn(B, 6, C)
    padding = _padding(B, [6, 4, 2], 6)
    _, weights = mha(x, key_padding_mask=padding, causal=True, need_weights=True)
    allowed = attention_mask(padding, causal=True, q_len=6, k_len=6).expand(B, H, 6, 6)
    assert torch.all(weights[~allowed] == 0.0)
    assert torch.all(weights[allowed] > 0.0)
    torch.testing.assert_close(weights.sum(-1), torch.ones(B, H, 6))


@pytest.mark.parametrize("need_weights", [False, True], ids=["fused", "manual"])
def test_fully_masked_rows_are_finite_zeros(need_weights):
    mha = MultiHeadAttention(C, H)
    x = torch.randn(B, 5, C, requires_grad=True)
    padding = _padding(B, [5, 0, 3], 5)  # sample 1: every key is padding
    out, weights = mha(x, key_padding_mask=padding, need_weights=need_weights)
    assert torch.isfinite(out).all()
    assert torch.all(out[1] == 0.0)
    assert torch.isfinite(out[[0, 2]]).all() and out[[0, 2]].abs().sum() > 0
    if need_weights:
        assert torch.all(weights[1] == 0.0)
    out.sum().backward()
    assert torch.isfinite(x.grad).all()


@pytest.mark.parametrize("need_weights", [False, True], ids=["fused", "manual"])
def test_causal_with_more_queries_than_keys_zeroes_early_rows(need_weights):
    # Offset Tk - Tq = -2: queries 0 and 1 may attend nothing.
    mha = MultiHeadAttention(C, H)
    query, kv = torch.randn(B, 5, C), torch.randn(B, 3, C)
    out, _ = mha(query, kv, causal=True, need_weights=need_weights)
    assert torch.isfinite(out).all()
    assert torch.all(out[:, :2] == 0.0) and torch.all(out[:, 2:] != 0.0)


@pytest.mark.parametrize("need_weights", [False, True], ids=["fused", "manual"])
def test_causal_offset_matches_last_rows_of_full_sequence(need_weights):
    # What a KV cache will do: the last Tq queries against all Tk keys must equal
    # the last Tq rows of causal self-attention over the whole sequence.
    mha = MultiHeadAttention(C, H).eval()
    x = torch.randn(B, 7, C)
    full, _ = mha(x, causal=True)
    tail, weights = mha(x[:, -3:], x, causal=True, need_weights=need_weights)
    torch.testing.assert_close(tail, full[:, -3:], rtol=1e-5, atol=1e-6)
    if need_weights:
        # Query i (of 3) sees keys 0 .. i + 4.
        assert torch.all(weights[..., 0, 5:] == 0) and torch.all(weights[..., 1, 6:] == 0)
        assert torch.all(weights[..., 2, :] > 0)


def test_attention_mask_helper():
    assert attention_mask(None, causal=False, q_len=3, k_len=4) is None
    causal = attention_mask(None, causal=True, q_len=2, k_len=4)
    assert causal.shape == (1, 1, 2, 4)
    assert causal[0, 0].tolist() == [[True, True, True, False], [True, True, True, True]]
    padding = _padding(2, [4, 1], 4)
    both = attention_mask(padding, causal=True, q_len=2, k_len=4)
    assert both.shape == (2, 1, 2, 4)
    assert both[1, 0].tolist() == [[True, False, False, False]] * 2
    with pytest.raises(TypeError, match="bool"):
        attention_mask(padding.long(), causal=False, q_len=2, k_len=4)
    with pytest.raises(ValueError, match="Tk=5"):
        attention_mask(padding, causal=False, q_len=2, k_len=5)


def test_dropout_only_in_training_and_gradients_flow():
    mha = MultiHeadAttention(C, H, dropout=0.5)
    x = torch.randn(B, 6, C)
    mha.eval()
    fused, _ = mha(x)
    manual, _ = mha(x, need_weights=True)
    torch.testing.assert_close(fused, manual, rtol=1e-5, atol=1e-6)
    mha.train()
    for need_weights in (False, True):
        out, _ = mha(x, key_padding_mask=_padding(B, [6, 3, 1], 6), need_weights=need_weights)
        assert not torch.allclose(out, fused)
        mha.zero_grad()
        out.sum().backward()
        for name, p in mha.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_invalid_arguments():
    with pytest.raises(ValueError, match=r"n_heads=3 must divide d_model=16"):
        MultiHeadAttention(16, 3)
    with pytest.raises(ValueError, match="dropout"):
        MultiHeadAttention(16, 2, dropout=1.0)
    with pytest.raises(ValueError, match="d_model=16"):
        MultiHeadAttention(16, 2)(torch.randn(2, 3, 8))
    assert MultiHeadAttention(16, 2, bias=False).q_proj.bias is None


# --- KV cache -----------------------------------------------------------------


def _feed_in_chunks(mha, x, chunks, cache, **kw):
    """Run ``x`` (B, T, C) through ``mha`` chunk by chunk with ``cache``; concat outputs."""
    outs, weights, start = [], [], 0
    for size in chunks:
        out, w = mha(x[:, start : start + size], cache=cache, **kw)
        outs.append(out)
        weights.append(w)
        start += size
    return torch.cat(outs, dim=1), weights


@pytest.mark.parametrize("need_weights", [False, True], ids=["fused", "manual"])
def test_cached_self_attention_equals_uncached(need_weights):
    mha = MultiHeadAttention(C, H).eval()
    x = torch.randn(B, 7, C)
    full, full_w = mha(x, causal=True, need_weights=True)
    cache = KVCache()
    chunks = [1, 1, 2, 1, 1, 1]  # one token at a time, plus a two-token chunk
    out, weights = _feed_in_chunks(mha, x, chunks, cache, causal=True, need_weights=need_weights)
    assert len(cache) == 7 and cache.k.shape == cache.v.shape == (B, H, 7, D)
    torch.testing.assert_close(out, full, rtol=1e-5, atol=1e-6)
    if need_weights:
        # Step 0 sees key 0 only: its weights are the first row of the full map.
        assert weights[0].shape == (B, H, 1, 1)
        torch.testing.assert_close(weights[-1], full_w[:, :, -1:, :], rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(weights[2], full_w[:, :, 2:4, :4], rtol=1e-5, atol=1e-6)


def test_cached_self_attention_with_padding_mask_covering_the_cache():
    mha = MultiHeadAttention(C, H).eval()
    x = torch.randn(B, 6, C)
    padding = _padding(B, [6, 4, 2], 6)  # right padding: every query keeps key 0
    full, _ = mha(x, key_padding_mask=padding, causal=True)
    cache, outs = KVCache(), []
    for t in range(6):
        step = x[:, t : t + 1]
        out, _ = mha(step, key_padding_mask=padding[:, : t + 1], causal=True, cache=cache)
        outs.append(out)
    torch.testing.assert_close(torch.cat(outs, dim=1), full, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("need_weights", [False, True], ids=["fused", "manual"])
def test_cached_cross_attention_projects_memory_once(need_weights):
    mha = MultiHeadAttention(C, H).eval()
    query, memory = torch.randn(B, 5, C), torch.randn(B, 8, C)
    padding = _padding(B, [8, 5, 1], 8)
    full, full_w = mha(query, memory, key_padding_mask=padding, need_weights=True)
    calls = []
    mha.k_proj.register_forward_hook(lambda mod, inp, out: calls.append(inp[0].shape))
    cache = KVCache(static=True)
    kw = dict(key=memory, key_padding_mask=padding, need_weights=need_weights)
    out, weights = _feed_in_chunks(mha, query, [1] * 5, cache, **kw)
    assert calls == [(B, 8, C)]  # projected on the first step only
    assert len(cache) == 8
    torch.testing.assert_close(out, full, rtol=1e-5, atol=1e-6)
    if need_weights:
        torch.testing.assert_close(torch.cat(weights, dim=2), full_w, rtol=1e-5, atol=1e-6)


def test_cache_reorder_selects_rows():
    mha = MultiHeadAttention(C, H).eval()
    x = torch.randn(B, 4, C)
    index = torch.tensor([2, 0, 0])
    cache = KVCache()
    mha(x[:, :3], causal=True, cache=cache)
    cache.reorder(index)
    out, _ = mha(x[index, 3:], causal=True, cache=cache)  # last query of the reordered rows
    expected, _ = mha(torch.cat([x[index, :3], x[index, 3:]], dim=1), causal=True)
    torch.testing.assert_close(out, expected[:, 3:], rtol=1e-5, atol=1e-6)


def test_cache_errors_name_the_fix():
    mha = MultiHeadAttention(C, H)
    cache = KVCache()
    mha(torch.randn(B, 2, C), cache=cache)
    with pytest.raises(ValueError, match="reorder"):
        mha(torch.randn(B + 1, 1, C), cache=cache)
    static = KVCache(static=True)
    mha(torch.randn(B, 1, C), torch.randn(B, 4, C), cache=static)
    with pytest.raises(ValueError, match="reorder"):
        mha(torch.randn(B + 1, 1, C), torch.randn(B + 1, 4, C), cache=static)
    assert "static=True" in repr(static) and len(KVCache()) == 0
