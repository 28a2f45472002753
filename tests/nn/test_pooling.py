"""Pooling ignores padding."""

import pytest
import torch

from sktfm.nn import Pooling

B, T, C = 3, 6, 8
LENGTHS = [6, 4, 1]


@pytest.fixture
def batch():
    x = torch.randn(B, T, C)
    padding = torch.arange(T)[None, :] >= torch.tensor(LENGTHS)[:, None]
    # Padded states much larger than real ones: they would dominate if not ignored.
    x = torch.where(padding[..., None], 100 + torch.rand(B, T, C), x)
    return x, padding


def test_mean_ignores_padding(batch):
    x, padding = batch
    out = Pooling("mean")(x, padding)
    expected = torch.stack([x[b, :n].mean(0) for b, n in enumerate(LENGTHS)])
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(Pooling("mean")(x), x.mean(1))


def test_max_ignores_padding(batch):
    x, padding = batch
    out = Pooling("max")(x, padding)
    expected = torch.stack([x[b, :n].amax(0) for b, n in enumerate(LENGTHS)])
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(Pooling("max")(x), x.amax(1))


def test_cls_picks_position_zero(batch):
    x, padding = batch
    torch.testing.assert_close(Pooling("cls")(x, padding), x[:, 0])


@pytest.mark.parametrize("mode", ["mean", "max"])
def test_all_padding_rows_and_empty_sequences_are_zeros(mode, batch):
    x, padding = batch
    padding[1] = True
    out = Pooling(mode)(x, padding)
    assert torch.all(out[1] == 0) and torch.isfinite(out).all()
    assert torch.all(Pooling(mode)(torch.randn(B, 0, C)) == 0)


def test_unknown_mode():
    with pytest.raises(ValueError, match="mode='sum'"):
        Pooling("sum")
