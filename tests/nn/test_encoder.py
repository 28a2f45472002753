"""EncoderLayer and Encoder: torch reference, padding, gradients.

FeedForward has its own module, test_feedforward.py.
"""

import pytest
import torch

from sktfm.nn import Encoder, EncoderLayer, Packing

B, T, C, H, FF = 3, 6, 16, 2, 32


def _padding(lengths, t=T):
    return torch.arange(t)[None, :] >= torch.tensor(lengths)[:, None]  # (B, T), True = pad


@pytest.mark.parametrize("norm_first", [True, False], ids=["pre-norm", "post-norm"])
def test_encoder_layer_matches_torch(norm_first):
    """Same weights as torch.nn.TransformerEncoderLayer -> same output."""
    theirs = torch.nn.TransformerEncoderLayer(
        C, H, FF, dropout=0.0, activation="gelu", batch_first=True, norm_first=norm_first
    ).train()  # training mode keeps torch off its fused fast path
    ours = EncoderLayer(C, H, FF, dropout=0.0, norm_first=norm_first)
    wq, wk, wv = theirs.self_attn.in_proj_weight.chunk(3)
    bq, bk, bv = theirs.self_attn.in_proj_bias.chunk(3)
    pairs = {
        "self_attn.q_proj": (wq, bq),
        "self_attn.k_proj": (wk, bk),
        "self_attn.v_proj": (wv, bv),
        "self_attn.out_proj": (theirs.self_attn.out_proj.weight, theirs.self_attn.out_proj.bias),
        "feedforward.linear1": (theirs.linear1.weight, theirs.linear1.bias),
        "feedforward.linear2": (theirs.linear2.weight, theirs.linear2.bias),
        "norm1": (theirs.norm1.weight, theirs.norm1.bias),
        "norm2": (theirs.norm2.weight, theirs.norm2.bias),
    }
    with torch.no_grad():
        for name, (w, b) in pairs.items():
            module = ours.get_submodule(name)
            module.weight.copy_(w)
            module.bias.copy_(b)
    x, padding = torch.randn(B, T, C), _padding([T, 4, 2])
    expected = theirs(x, src_key_padding_mask=padding)
    out, weights = ours(x, key_padding_mask=padding)
    assert weights is None
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("norm_first", [True, False], ids=["pre-norm", "post-norm"])
def test_encoder_shapes_and_weights(norm_first):
    enc = Encoder(3, C, H, FF, norm_first=norm_first)
    assert len(enc.layers) == 3
    assert isinstance(enc.norm, torch.nn.LayerNorm if norm_first else torch.nn.Identity)
    x = torch.randn(B, T, C)
    assert enc(x).shape == (B, T, C)
    out, weights = enc(x, key_padding_mask=_padding([T, 3, 1]), need_weights=True)
    assert out.shape == (B, T, C)
    assert len(weights) == 3 and all(w.shape == (B, H, T, T) for w in weights)
    assert torch.all(weights[0][2, :, :, 1:] == 0)  # sample 2 has one real token


@pytest.mark.parametrize("norm_first", [True, False], ids=["pre-norm", "post-norm"])
def test_padded_values_do_not_leak(norm_first):
    enc = Encoder(2, C, H, FF, norm_first=norm_first).eval()
    padding = _padding([T, 4, 2])
    x = torch.randn(B, T, C)
    x_other = torch.where(padding[..., None], torch.randn(B, T, C) * 10, x)
    for need_weights in (False, True):
        out = enc(x, key_padding_mask=padding, need_weights=need_weights)
        out_other = enc(x_other, key_padding_mask=padding, need_weights=need_weights)
        if need_weights:
            out, out_other = out[0], out_other[0]
        torch.testing.assert_close(out[~padding], out_other[~padding], rtol=1e-5, atol=1e-6)
        if need_weights:
            assert not torch.allclose(out[padding], out_other[padding])  # the check has teeth
        else:
            # Packed path: padding never enters a position-wise layer and comes out as zeros.
            assert torch.all(out[padding] == 0)


@pytest.mark.parametrize("norm_first", [True, False], ids=["pre-norm", "post-norm"])
def test_packed_path_matches_padded_path(norm_first):
    # need_weights=True runs every layer on the padded (B, T, C) batch; without it
    # position-wise layers run on the packed real tokens. Same real-token outputs.
    enc = Encoder(2, C, H, FF, norm_first=norm_first).eval()
    padding = _padding([T, 4, 2])
    x = torch.randn(B, T, C)
    packed = enc(x, key_padding_mask=padding)
    padded, _ = enc(x, key_padding_mask=padding, need_weights=True)
    torch.testing.assert_close(packed[~padding], padded[~padding], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("need_weights", [False, True])
def test_all_false_padding_mask_equals_no_mask(need_weights):
    # A batch without padding drops its mask (unmasked attention is faster).
    enc = Encoder(2, C, H, FF).eval()
    x = torch.randn(B, T, C)
    no_padding = torch.zeros(B, T, dtype=torch.bool)
    masked = enc(x, key_padding_mask=no_padding, need_weights=need_weights)
    unmasked = enc(x, need_weights=need_weights)
    if need_weights:
        torch.testing.assert_close(masked[1], unmasked[1])
        masked, unmasked = masked[0], unmasked[0]
    torch.testing.assert_close(masked, unmasked)


@pytest.mark.parametrize("with_padding", [False, True], ids=["no-padding", "padding"])
def test_inference_in_blocks_matches_whole_batch(with_padding):
    # CPU inference encodes a few sequences at a time (blocks of >= 1024 tokens)
    # and cuts each block's trailing padding; the whole batch runs at once with
    # gradients on. Same states, zeros at every padding position.
    enc = Encoder(2, C, H, FF).eval()
    batch, length = 40, 64  # 1024 // 64 = 16 sequences a block: 3 blocks
    lengths = torch.full((batch,), length)
    if with_padding:
        lengths = torch.randint(1, length + 1, (batch,))
        lengths[:16] = lengths[:16].clamp(max=20)  # the first block is cut to 20 columns or fewer
    padding = torch.arange(length)[None, :] >= lengths[:, None]
    x = torch.randn(batch, length, C)
    whole = enc(x, key_padding_mask=padding)  # gradients on: one pass
    with torch.no_grad():
        blocks = enc(x, key_padding_mask=padding)
    assert blocks.shape == (batch, length, C)
    torch.testing.assert_close(blocks, whole.detach(), rtol=1e-5, atol=1e-5)
    assert torch.all(blocks[padding] == 0)


def test_packing_round_trip_and_gradients():
    padding = _padding([T, 4, 2])
    packing = Packing(padding)
    x = torch.randn(B, T, C, requires_grad=True)
    packed = packing.pack(x)
    assert packed.shape == (int((~padding).sum()), C)
    restored = packing.unpack(packed)
    assert torch.equal(restored[~padding], x[~padding])
    assert torch.all(restored[padding] == 0)
    restored.sum().backward()
    assert torch.equal(x.grad, (~padding)[..., None].expand(B, T, C).float())


@pytest.mark.parametrize("norm_first", [True, False], ids=["pre-norm", "post-norm"])
def test_every_parameter_gets_a_finite_gradient(norm_first):
    enc = Encoder(2, C, H, FF, dropout=0.1, activation="relu", norm_first=norm_first).train()
    x = torch.randn(B, T, C, requires_grad=True)
    out = enc(x, key_padding_mask=_padding([T, 3, 1]))
    assert torch.isfinite(out).all()
    out.pow(2).mean().backward()
    for name, p in enc.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name
    assert torch.isfinite(x.grad).all()


def test_invalid_arguments():
    with pytest.raises(ValueError, match="n_layers=0"):
        Encoder(0, C, H, FF)
    with pytest.raises(ValueError, match="n_heads=3 must divide d_model=16"):
        EncoderLayer(C, 3, FF)
