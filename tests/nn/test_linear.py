"""sktfm.nn.Linear: nn.Linear's results, parameters and gradients on every path."""

import pytest
import torch
import torch.nn.functional as F

from sktfm.nn import Linear


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize(
    "shape", [(1, 24), (2, 24), (7, 3, 24), (32, 1, 24), (128, 24), (129, 24), (40, 9, 24)]
)
def test_matches_f_linear_without_gradients(shape, bias):
    # (2..128 rows take the W @ x^T route; 1 and more than 128 rows take F.linear.)
    layer = Linear(24, 40, bias=bias)
    x = torch.randn(*shape)
    expected = F.linear(x, layer.weight, layer.bias)
    with torch.inference_mode():
        out = layer(x)
    assert out.shape == expected.shape
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
    # The result is a tensor like any other: views, in-place ops and reshapes work.
    assert out.reshape(-1).shape == (expected.numel(),)


def test_training_path_is_f_linear_exactly_and_gets_gradients():
    layer = Linear(24, 40)
    x = torch.randn(8, 24, requires_grad=True)
    out = layer(x)
    assert torch.equal(out, F.linear(x, layer.weight, layer.bias))
    out.square().sum().backward()
    assert layer.weight.grad is not None and x.grad is not None


def test_state_dict_is_nn_linears():
    layer = Linear(5, 3)
    reference = torch.nn.Linear(5, 3)
    assert layer.state_dict().keys() == reference.state_dict().keys()
    reference.load_state_dict(layer.state_dict())
    x = torch.randn(4, 5)
    with torch.no_grad():
        torch.testing.assert_close(layer(x), reference(x))


def test_bf16_autocast_keeps_its_own_kernels():
    layer = Linear(24, 40)
    x = torch.randn(6, 24)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        out = layer(x)
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(
        out.float(), F.linear(x, layer.weight, layer.bias), rtol=2e-2, atol=2e-2
    )
