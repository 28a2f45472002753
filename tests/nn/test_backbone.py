"""TransformerBackbone for token ids, tabular rows and numeric sequences."""

import pytest
import torch

from sktfm.nn import TransformerBackbone

B, T, F, V = 3, 5, 4, 30


def _tokens(**kw):
    return TransformerBackbone(input_kind="tokens", vocab_size=V, max_len=16, **kw)


def _ids():
    ids = torch.randint(1, V, (B, T))
    ids[1, 3:] = 0  # padding
    return ids


@pytest.mark.parametrize("positional", ["sinusoidal", "learned"])
@pytest.mark.parametrize("pooling", ["mean", "cls", "max"])
def test_tokens(tiny_nn, positional, pooling):
    bb = _tokens(positional=positional, pooling=pooling, **tiny_nn)
    ids = _ids()
    states, padding = bb.encode(ids)
    assert states.shape == (B, T + 1, 16)
    assert padding.shape == (B, T + 1)
    assert not padding[:, 0].any()  # [CLS] is never padding
    assert torch.equal(padding[:, 1:], ids == 0)
    pooled = bb(ids)
    assert pooled.shape == (B, 16) and torch.isfinite(pooled).all()
    if pooling == "cls":
        torch.testing.assert_close(pooled, states[:, 0])


def test_tokens_need_weights(tiny_nn):
    bb = _tokens(**tiny_nn)
    states, padding, weights = bb.encode(_ids(), need_weights=True)
    assert len(weights) == tiny_nn["n_layers"]
    assert weights[0].shape == (B, tiny_nn["n_heads"], T + 1, T + 1)
    assert torch.all(weights[0][1, :, :, 4:] == 0)  # sample 1 is padded from token 3 on


@pytest.mark.parametrize("pooling", ["mean", "max", "cls"])
def test_tokens_trailing_padding_does_not_change_the_embedding(tiny_nn, pooling):
    bb = _tokens(pooling=pooling, **tiny_nn).eval()
    ids = _ids()
    longer = torch.cat([ids, torch.zeros(B, 4, dtype=torch.long)], dim=1)
    torch.testing.assert_close(bb(ids), bb(longer), rtol=1e-5, atol=1e-6)


def test_all_empty_token_batch(tiny_nn):
    bb = _tokens(**tiny_nn).eval()
    empty = torch.zeros(B, 0, dtype=torch.long)
    states, padding = bb.encode(empty)
    assert states.shape == (B, 1, 16) and padding.shape == (B, 1)
    pooled = bb(empty)
    assert pooled.shape == (B, 16) and torch.isfinite(pooled).all()
    # A row that is all padding embeds exactly like an empty one.
    all_pad = torch.zeros(B, T, dtype=torch.long)
    torch.testing.assert_close(bb(all_pad), pooled, rtol=1e-5, atol=1e-6)


def test_tokens_errors(tiny_nn):
    bb = _tokens(**tiny_nn)
    with pytest.raises(ValueError, match="max_len=16"):
        bb(torch.randint(1, V, (B, 17)))
    with pytest.raises(ValueError, match="mask"):
        bb.encode(_ids(), mask=torch.zeros(B, T, dtype=torch.bool))
    with pytest.raises(TypeError, match="integer"):
        bb(torch.randn(B, T))


def test_features(tiny_nn):
    bb = TransformerBackbone(input_kind="features", n_features=F, **tiny_nn)
    assert bb.positional is None
    x = torch.randn(B, F)
    states, padding = bb.encode(x)
    assert states.shape == (B, F + 1, 16) and padding is None
    pooled = bb(x)
    assert pooled.shape == (B, 16) and torch.isfinite(pooled).all()
    hidden, _ = bb.encode(x, mask=torch.rand(B, F) < 0.5)
    assert not torch.allclose(hidden, states)
    with pytest.raises(ValueError, match="n_features=4"):
        bb(torch.randn(B, F + 1))


def test_sequence(tiny_nn):
    bb = TransformerBackbone(input_kind="sequence", n_features=F, max_len=8, **tiny_nn)
    x = torch.randn(B, T, F)
    states, padding = bb.encode(x)
    assert states.shape == (B, T + 1, 16) and padding is None  # no NaN: no padding
    pooled = bb(x)
    assert pooled.shape == (B, 16) and torch.isfinite(pooled).all()
    hidden, _, weights = bb.encode(x, mask=torch.rand(B, T) < 0.5, need_weights=True)
    assert hidden.shape == states.shape and weights[0].shape == (B, 2, T + 1, T + 1)
    with pytest.raises(ValueError, match="max_len=8"):
        bb(torch.randn(B, 9, F))
    with pytest.raises(ValueError, match=r"\(B, T, F\)"):
        bb(torch.randn(B, F))


@pytest.mark.parametrize(
    "input_kind, x",
    [
        ("tokens", lambda: torch.randint(1, V, (B, T))),
        ("features", lambda: torch.randn(B, F)),
        ("sequence", lambda: torch.randn(B, T, F)),
    ],
)
def test_every_parameter_gets_a_finite_gradient(tiny_nn, input_kind, x):
    bb = TransformerBackbone(input_kind=input_kind, vocab_size=V, n_features=F, **tiny_nn).train()
    x = x()
    # Hide the first feature / step so the mask embedding is used too.
    mask = None if input_kind == "tokens" else torch.arange(x.shape[1]).expand(B, -1) == 0
    states, padding = bb.encode(x, mask=mask)
    out = bb.pooling(states, padding)
    out.pow(2).mean().backward()
    for name, p in bb.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(input_kind="image"), "input_kind='image'"),
        (dict(input_kind="tokens"), "vocab_size"),
        (dict(input_kind="features"), "n_features"),
        (dict(input_kind="sequence", n_features=0), "n_features"),
        (dict(input_kind="tokens", vocab_size=V, positional="rotary"), "positional='rotary'"),
        (dict(input_kind="tokens", vocab_size=V, pooling="sum"), "pooling='sum'"),
        (
            dict(input_kind="tokens", vocab_size=V, d_model=16, n_heads=3),
            r"n_heads=3 must divide d_model=16",
        ),
    ],
)
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TransformerBackbone(**kwargs)
