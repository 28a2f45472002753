"""DecoderLayer and Decoder: torch reference, causality, KV cache, gradients."""

import pytest
import torch

from sktfm.nn import Decoder, DecoderLayer

B, T, S, C, H, FF = 3, 6, 5, 16, 2, 32


def _padding(lengths, t):
    return torch.arange(t)[None, :] >= torch.tensor(lengths)[:, None]  # (B, t), True = pad


def _copy_attention(theirs, ours):
    wq, wk, wv = theirs.in_proj_weight.chunk(3)
    bq, bk, bv = theirs.in_proj_bias.chunk(3)
    return {
        "q_proj": (wq, bq),
        "k_proj": (wk, bk),
        "v_proj": (wv, bv),
        "out_proj": (theirs.out_proj.weight, theirs.out_proj.bias),
    }


def _copy_from_torch(theirs, ours):
    pairs = {
        **{f"self_attn.{k}": v for k, v in _copy_attention(theirs.self_attn, ours).items()},
        **{f"cross_attn.{k}": v for k, v in _copy_attention(theirs.multihead_attn, ours).items()},
        "feedforward.linear1": (theirs.linear1.weight, theirs.linear1.bias),
        "feedforward.linear2": (theirs.linear2.weight, theirs.linear2.bias),
        "norm1": (theirs.norm1.weight, theirs.norm1.bias),
        "norm2": (theirs.norm2.weight, theirs.norm2.bias),
        "norm3": (theirs.norm3.weight, theirs.norm3.bias),
    }
    with torch.no_grad():
        for name, (w, b) in pairs.items():
            module = ours.get_submodule(name)
            module.weight.copy_(w)
            module.bias.copy_(b)


@pytest.mark.parametrize("norm_first", [True, False], ids=["pre-norm", "post-norm"])
def test_decoder_layer_matches_torch(norm_first):
    """Same weights as torch.nn.TransformerDecoderLayer -> same output."""
    theirs = torch.nn.TransformerDecoderLayer(
        C, H, FF, dropout=0.0, activation="gelu", batch_first=True, norm_first=norm_first
    ).train()  # dropout=0; training mode keeps torch on its reference path
    ours = DecoderLayer(C, H, FF, dropout=0.0, norm_first=norm_first)
    _copy_from_torch(theirs, ours)
    x, memory = torch.randn(B, T, C), torch.randn(B, S, C)
    tgt_padding, memory_padding = _padding([T, 4, 2], T), _padding([S, 3, 1], S)
    causal = torch.ones(T, T, dtype=torch.bool).triu(1)  # torch: True = not allowed
    expected = theirs(
        x,
        memory,
        tgt_mask=causal,
        tgt_key_padding_mask=tgt_padding,
        memory_key_padding_mask=memory_padding,
    )
    out, weights = ours(x, memory, tgt_padding_mask=tgt_padding, memory_padding_mask=memory_padding)
    assert weights is None
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("norm_first", [True, False], ids=["pre-norm", "post-norm"])
def test_decoder_is_causal(norm_first):
    dec = Decoder(2, C, H, FF, norm_first=norm_first).eval()
    x, memory = torch.randn(B, T, C), torch.randn(B, S, C)
    changed = x.clone()
    changed[:, 4:] = torch.randn(B, T - 4, C)
    out, out_changed = dec(x, memory), dec(changed, memory)
    torch.testing.assert_close(out[:, :4], out_changed[:, :4], rtol=0, atol=1e-6)
    assert not torch.allclose(out[:, 4:], out_changed[:, 4:])


@pytest.mark.parametrize("norm_first", [True, False], ids=["pre-norm", "post-norm"])
def test_decoder_shapes_and_cross_weights(norm_first):
    dec = Decoder(3, C, H, FF, norm_first=norm_first)
    assert len(dec.layers) == 3
    assert isinstance(dec.norm, torch.nn.LayerNorm if norm_first else torch.nn.Identity)
    x, memory = torch.randn(B, T, C), torch.randn(B, S, C)
    assert dec(x, memory).shape == (B, T, C)
    memory_padding = _padding([S, 3, 1], S)
    out, weights = dec(x, memory, memory_padding_mask=memory_padding, need_weights=True)
    assert out.shape == (B, T, C)
    assert len(weights) == 3 and all(w.shape == (B, H, T, S) for w in weights)
    assert torch.all(weights[0][2, ..., 1:] == 0)  # sample 2 has one source token
    torch.testing.assert_close(weights[1].sum(-1), torch.ones(B, H, T))


@pytest.mark.parametrize("norm_first", [True, False], ids=["pre-norm", "post-norm"])
def test_cached_decoder_equals_full_prefix(norm_first):
    dec = Decoder(2, C, H, FF, norm_first=norm_first).eval()
    x, memory = torch.randn(B, T, C), torch.randn(B, S, C)
    memory_padding = _padding([S, 3, 1], S)
    full, full_w = dec(x, memory, memory_padding_mask=memory_padding, need_weights=True)
    cache = dec.new_cache()
    assert len(cache) == 2 and Decoder.cache_length(cache) == 0
    for t in range(T):
        out, weights = dec(
            x[:, t : t + 1],
            memory,
            memory_padding_mask=memory_padding,
            cache=cache,
            need_weights=True,
        )
        assert Decoder.cache_length(cache) == t + 1
        torch.testing.assert_close(out, full[:, t : t + 1], rtol=1e-5, atol=1e-5)
        for w, fw in zip(weights, full_w):
            torch.testing.assert_close(w, fw[:, :, t : t + 1], rtol=1e-5, atol=1e-6)
    assert cache[0]["self_attn"].k.shape == (B, H, T, C // H)
    assert cache[1]["cross_attn"].k.shape == (B, H, S, C // H)


def test_reordered_cache_continues_the_selected_rows():
    dec = Decoder(2, C, H, FF).eval()
    x, memory = torch.randn(B, T, C), torch.randn(B, S, C)
    index = torch.tensor([1, 1, 0])
    cache = dec.new_cache()
    dec(x[:, :4], memory, cache=cache)
    Decoder.reorder_cache(cache, index)
    out = dec(x[index, 4:], memory[index], cache=cache)
    expected = dec(x[index], memory[index])[:, 4:]
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)


def test_target_padding_does_not_leak_into_real_positions():
    dec = Decoder(2, C, H, FF).eval()
    x, memory = torch.randn(B, T, C), torch.randn(B, S, C)
    padding = _padding([T, 4, 2], T)
    other = torch.where(padding[..., None], torch.randn(B, T, C) * 10, x)
    out = dec(x, memory, tgt_padding_mask=padding)
    out_other = dec(other, memory, tgt_padding_mask=padding)
    torch.testing.assert_close(out[~padding], out_other[~padding], rtol=1e-5, atol=1e-6)


def test_empty_memory_rows_stay_finite():
    dec = Decoder(2, C, H, FF)
    x, memory = torch.randn(B, T, C), torch.randn(B, S, C)
    out = dec(x, memory, memory_padding_mask=_padding([S, 0, 2], S))
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("norm_first", [True, False], ids=["pre-norm", "post-norm"])
def test_every_parameter_gets_a_finite_gradient(norm_first):
    dec = Decoder(2, C, H, FF, dropout=0.1, activation="relu", norm_first=norm_first).train()
    x = torch.randn(B, T, C, requires_grad=True)
    memory = torch.randn(B, S, C, requires_grad=True)
    out = dec(
        x,
        memory,
        tgt_padding_mask=_padding([T, 4, 2], T),
        memory_padding_mask=_padding([S, 3, 1], S),
    )
    assert torch.isfinite(out).all()
    out.pow(2).mean().backward()
    for name, p in dec.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name
    assert torch.isfinite(x.grad).all() and torch.isfinite(memory.grad).all()


def test_invalid_arguments():
    with pytest.raises(ValueError, match="n_layers=0"):
        Decoder(0, C, H, FF)
    with pytest.raises(ValueError, match="n_heads=3 must divide d_model=16"):
        DecoderLayer(C, 3, FF)
    with pytest.raises(ValueError, match="activation='tanh'"):
        DecoderLayer(C, H, FF, activation="tanh")
    dec = Decoder(2, C, H, FF)
    with pytest.raises(ValueError, match="new_cache"):
        dec(torch.randn(B, 1, C), torch.randn(B, S, C), cache=Decoder(3, C, H, FF).new_cache())
