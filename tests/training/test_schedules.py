"""sktfm.training.schedules: learning-rate multipliers, one step per batch."""

import pickle

import pytest
import torch

from sktfm.training.schedules import InverseSqrtWarmup, LinearWarmup


def test_linear_warmup_rises_to_one_and_stays():
    schedule = LinearWarmup(4)
    assert schedule(0) == pytest.approx(0.25)  # never 0: the first step learns
    assert [schedule(step) for step in range(4)] == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert schedule(3) == 1.0  # warmup_steps - 1: the peak
    assert all(schedule(step) == 1.0 for step in (4, 10, 10_000))


def test_inverse_sqrt_warmup_peaks_at_the_end_of_warmup_then_decays():
    w = 16
    schedule = InverseSqrtWarmup(w)
    values = [schedule(step) for step in range(10 * w)]
    assert max(values) == 1.0 == schedule(w - 1)
    assert values.index(1.0) == w - 1
    # Linear warm-up: (step + 1) / w.
    assert values[:w] == pytest.approx([(step + 1) / w for step in range(w)])
    # Then the inverse square root of the (1-based) step number.
    for step in (w, 2 * w - 1, 4 * w - 1, 10 * w - 1):
        assert schedule(step) == pytest.approx((w / (step + 1)) ** 0.5)
    assert schedule(4 * w - 1) == pytest.approx(0.5)
    assert all(a > b for a, b in zip(values[w - 1 :], values[w:]))  # strictly decays


@pytest.mark.parametrize("Schedule", [LinearWarmup, InverseSqrtWarmup])
def test_schedules_pickle_and_drive_lambda_lr(Schedule):
    schedule = pickle.loads(pickle.dumps(Schedule(3)))
    assert type(schedule) is Schedule and schedule.warmup_steps == 3
    assert [schedule(s) for s in range(8)] == [Schedule(3)(s) for s in range(8)]
    # As the warm-up callback uses it: lr = peak * multiplier, stepped per batch.
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([parameter], lr=0.1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda=schedule)
    seen = []
    for _ in range(6):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert seen == pytest.approx([0.1 * schedule(step) for step in range(6)])
    # A scheduler holding the schedule pickles too (fitted nets keep it).
    pickle.dumps(scheduler.state_dict())
