"""FeedForward (sktfm.nn.feedforward): the formula, blocked CPU inference, dropout, gradients."""

import pytest
import torch
import torch.nn.functional as F

from sktfm.nn import FeedForward

C, FF = 16, 32
_ACTIVATIONS = {"gelu": F.gelu, "relu": F.relu}


def _reference(ff, x, activation):
    """``W_2 act(W_1 x + b_1) + b_2`` in float64 from the module's parameters."""
    w1, b1 = ff.linear1.weight.double(), ff.linear1.bias.double()
    w2, b2 = ff.linear2.weight.double(), ff.linear2.bias.double()
    return _ACTIVATIONS[activation](x.double() @ w1.T + b1) @ w2.T + b2


@pytest.mark.parametrize("activation", ["gelu", "relu"])
@pytest.mark.parametrize("shape", [(3, 5, C), (1, C), (2, 100, C)], ids=["BTC", "one-row", "many"])
@pytest.mark.parametrize("grad", [True, False], ids=["train-path", "inference-path"])
def test_matches_a_float64_reference(activation, shape, grad):
    # Without gradients on the CPU, few-row products take Linear's transposed route.
    ff = FeedForward(C, FF, dropout=0.0, activation=activation)
    x = torch.randn(shape)
    with torch.set_grad_enabled(grad):
        out = ff(x)
    assert out.shape == shape and out.dtype == torch.float32
    torch.testing.assert_close(out.double(), _reference(ff, x, activation), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("rows", [1024, 2500])
def test_blocked_inference_matches_the_reference(rows):
    # Inference on at least two blocks of rows runs the network a block at a
    # time; 2500 rows leave a last block that is not full.
    ff = FeedForward(C, 2048, dropout=0.0).eval()
    assert ff.chunk_rows == 512 and rows >= 2 * ff.chunk_rows
    x = torch.randn(rows // 4, 4, C)
    with torch.no_grad():
        out = ff(x)
    assert out.shape == x.shape
    torch.testing.assert_close(out.double(), _reference(ff, x, "gelu"), rtol=1e-5, atol=1e-5)


def test_gradients_match_the_reference():
    ff = FeedForward(C, FF, dropout=0.0, activation="gelu")
    x = torch.randn(2, 3, C, requires_grad=True)
    upstream = torch.randn(2, 3, C)
    (ff(x) * upstream).sum().backward()
    params = [ff.linear1.weight, ff.linear1.bias, ff.linear2.weight, ff.linear2.bias]
    x64 = x.detach().double().requires_grad_()
    p64 = [p.detach().double().requires_grad_() for p in params]
    ref = F.gelu(x64 @ p64[0].T + p64[1]) @ p64[2].T + p64[3]
    expected = torch.autograd.grad((ref * upstream.double()).sum(), [x64, *p64])
    for got, want in zip([x.grad] + [p.grad for p in params], expected):
        torch.testing.assert_close(got.double(), want, rtol=1e-5, atol=1e-5)


def test_dropout_acts_on_the_hidden_units_in_training_only():
    ff = FeedForward(C, FF, dropout=0.5)
    x = torch.randn(4, C)
    expected = _reference(ff, x, "gelu")
    torch.testing.assert_close(ff.eval()(x).double(), expected, rtol=1e-5, atol=1e-5)
    n = 4000
    with torch.no_grad():
        draws = ff.train()(x.expand(n, 4, C)).double()  # (n, 4, C): n independent masks
    assert not torch.allclose(draws[0], draws[1])
    # Dropout sits before W_2, not on the output: outputs are never zeroed.
    assert (draws == 0).sum() == 0
    # Inverted dropout keeps the expectation: the mean of the draws is the eval output.
    error = (draws.mean(0) - expected).abs()
    assert torch.all(error < 5 * draws.std(0) / n**0.5 + 1e-6), error.max()


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="activation='tanh'"):
        FeedForward(C, FF, activation="tanh")
    with pytest.raises(ValueError, match="dim_feedforward=0"):
        FeedForward(C, 0)
