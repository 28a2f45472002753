"""sktfm's CPU dropout: same distribution and gradients as torch's, reproducible."""

import pytest
import torch
import torch.nn.functional as F

from sktfm.nn import Dropout, dropout


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_drops_a_share_p_and_keeps_the_expectation(p):
    x = torch.rand(400_000) + 0.5  # no zeros of its own
    y = dropout(x, p)
    dropped = y == 0
    assert abs(dropped.float().mean().item() - p) < 0.005
    torch.testing.assert_close(y[~dropped], x[~dropped] / (1 - p), rtol=1e-4, atol=0)
    # E[y] = x: the sum's relative error has standard deviation ~sqrt(p / ((1 - p) n)).
    assert abs(y.sum().item() / x.sum().item() - 1) < 5 * (p / ((1 - p) * x.numel())) ** 0.5


def test_mask_positions_are_independent_of_their_lane():
    # Each element reads its own 16 of the generator's 64-bit words: every one
    # of the four lanes of a word must drop at the same rate.
    y = dropout(torch.ones(4, 100_000), 0.3)
    lanes = (y == 0).float().view(-1, 4).mean(0)
    assert torch.all((lanes - 0.3).abs() < 0.01), lanes


def test_reproducible_under_manual_seed_and_fresh_otherwise():
    x = torch.randn(1000)
    torch.manual_seed(3)
    first = dropout(x, 0.5)
    torch.manual_seed(3)
    torch.testing.assert_close(dropout(x, 0.5), first, rtol=0, atol=0)
    assert not torch.equal(dropout(x, 0.5), first)


def test_gradient_is_the_mask_times_the_scale():
    x = torch.randn(5000, requires_grad=True)
    y = dropout(x, 0.2)
    upstream = torch.randn(5000)
    y.backward(upstream)
    kept = y.detach() != 0
    expected = torch.where(kept, upstream / 0.8, torch.zeros(()))
    torch.testing.assert_close(x.grad, expected, rtol=1e-4, atol=1e-6)


def test_edge_probabilities_eval_mode_and_dtype():
    x = torch.randn(3, 7)
    assert dropout(x, 0.0) is x and dropout(x, 0.5, training=False) is x
    assert torch.all(dropout(x, 1.0) == 0)
    assert dropout(x.bfloat16(), 0.5).dtype == torch.bfloat16
    with pytest.raises(ValueError, match="p=1.5"):
        dropout(x, 1.5)


def test_module_is_a_torch_dropout():
    layer = Dropout(0.25)
    assert isinstance(layer, torch.nn.Dropout) and layer.p == 0.25
    x = torch.randn(4, 50)
    assert torch.equal(layer.eval()(x), x)
    out = layer.train()(x)
    assert out.shape == x.shape and 0 < (out == 0).sum() < x.numel()
    torch.manual_seed(0)
    in_place = Dropout(0.25, inplace=True)(x.clone())  # torch's own in-place dropout
    torch.manual_seed(0)
    torch.testing.assert_close(in_place, F.dropout(x, 0.25, training=True))
