"""sktfm.training.runtime: device, precision and seeding."""

import warnings

import pytest
import torch

from sktfm.training import runtime


@pytest.fixture
def no_cuda(monkeypatch):
    """A CPU-only machine, whatever this one has."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)


def test_resolve_device_on_a_cpu_only_machine(no_cuda):
    assert runtime.resolve_device("cpu") == "cpu"
    assert runtime.resolve_device("auto") == "cpu"
    # An explicit CUDA device is passed through (fit fails later, in torch);
    # only available_device refuses it.
    assert runtime.resolve_device("cuda") == "cuda"


@pytest.mark.parametrize("device", ["cuda", "cuda:1"])
def test_available_device_names_the_missing_cuda_device(no_cuda, device):
    with pytest.raises(ValueError, match=rf"device='{device}'.*CUDA is not available"):
        runtime.available_device(device)
    assert runtime.available_device("auto") == "cpu"
    assert runtime.available_device("cpu") == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_available_device_refuses_cuda_here():
    with pytest.raises(ValueError, match="device='cuda'"):
        runtime.available_device("cuda")


@pytest.mark.parametrize(
    "precision, device, expected",
    [
        ("bf16", "cuda", "bfloat16"),
        ("bfloat16", "cuda:0", "bfloat16"),
        ("fp32", "cpu", "float32"),
        ("float32", "cuda", "float32"),
        ("auto", "cpu", "float32"),
    ],
)
def test_resolve_precision_aliases(precision, device, expected):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # none of these warns
        assert runtime.resolve_precision(precision, device) == expected


def test_auto_precision_is_float32_when_cuda_is_absent(no_cuda):
    assert runtime.resolve_precision("auto", "cuda") == "float32"


def test_auto_precision_is_bfloat16_on_a_capable_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: True)
    assert runtime.resolve_precision("auto", "cuda:0") == "bfloat16"
    assert runtime.resolve_precision("auto", "cpu") == "float32"


@pytest.mark.parametrize("native", [True, False])
def test_bfloat16_on_cpu_warns_only_without_native_support(monkeypatch, native):
    monkeypatch.setattr(runtime, "cpu_has_native_bf16", lambda: native)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert runtime.resolve_precision("bf16", "cpu") == "bfloat16"
    assert bool([w for w in caught if "without native bfloat16" in str(w.message)]) is not native


def test_cpu_has_native_bf16_is_a_bool():
    assert isinstance(runtime.cpu_has_native_bf16(), bool)


def test_seeded_repeats_draws_and_leaves_the_callers_rng_alone():
    torch.manual_seed(123)
    expected_next = torch.rand(5)  # what the caller draws next without seeded()
    torch.manual_seed(123)
    with runtime.seeded(7):
        first = torch.rand(5)
    after = torch.rand(5)
    with runtime.seeded(7):
        second = torch.rand(5)
    with runtime.seeded(8):
        other = torch.rand(5)
    torch.testing.assert_close(first, second, rtol=0, atol=0)
    assert not torch.equal(first, other)
    torch.testing.assert_close(after, expected_next, rtol=0, atol=0)


def test_seeded_restores_the_callers_rng_after_an_error():
    torch.manual_seed(5)
    state = torch.get_rng_state()
    with pytest.raises(RuntimeError, match="boom"), runtime.seeded(1):
        torch.rand(3)
        raise RuntimeError("boom")
    assert torch.equal(torch.get_rng_state(), state)


def test_the_main_process_is_no_parallel_worker():
    assert runtime.parallel_worker() is None
