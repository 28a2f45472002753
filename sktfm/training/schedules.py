"""Learning-rate schedules: multipliers of the peak ``lr``, one step per batch.

Classes rather than lambdas so that fitted nets stay picklable.
"""

import time

__all__ = ["InverseSqrtWarmup", "LinearWarmup", "LinearWarmupDecay", "Shifted"]


class LinearWarmup:
    """Learning-rate multiplier rising linearly from ~0 to 1 over ``warmup_steps``."""

    def __init__(self, warmup_steps):
        self.warmup_steps = warmup_steps

    def __call__(self, step):
        return min(1.0, (step + 1) / self.warmup_steps)


class LinearWarmupDecay:
    """Linear warm-up over ``warmup_steps``, then linear decay to 0 at ``total_steps``.

    The schedule BERT and sentence-transformers fine-tune with. With a
    ``deadline`` (a ``time.monotonic()`` time: the end of ``max_time``), the
    decay ends at whichever comes first, the last planned step or the
    deadline, so that a run cut short by time still ends on a small learning
    rate (budgeted training, Li et al., 2020). The time share is counted from
    the first step after warm-up.

    >>> schedule = LinearWarmupDecay(warmup_steps=2, total_steps=10)
    >>> [round(schedule(step), 3) for step in range(0, 12, 2)]
    [0.5, 0.875, 0.625, 0.375, 0.125, 0.0]
    """

    def __init__(self, warmup_steps, total_steps, deadline=None):
        self.warmup_steps = warmup_steps
        self.total_steps = total_steps
        self.deadline = deadline

    def __call__(self, step):
        step += 1
        if step <= self.warmup_steps:
            return step / self.warmup_steps
        remaining = (self.total_steps - step) / max(1, self.total_steps - self.warmup_steps)
        return max(0.0, min(remaining, self._time_remaining()))

    def _time_remaining(self):
        """Share of the decay's time still left before ``deadline`` (1.0 without one)."""
        if self.deadline is None:
            return 1.0
        now = time.monotonic()
        start = self.__dict__.setdefault("decay_start_", now)
        return (self.deadline - now) / max(self.deadline - start, 1e-9)


class InverseSqrtWarmup:
    """The paper's schedule (Vaswani et al., 5.3), scaled to peak at ``lr``.

    Linear warm-up over ``warmup_steps`` batches, then decay proportional to
    the inverse square root of the step number.
    """

    def __init__(self, warmup_steps):
        self.warmup_steps = warmup_steps

    def __call__(self, step):
        step += 1
        # NOTE[DIFF]: the paper's d_model ** -0.5 factor is replaced by the
        # estimator's `lr` (the peak), so `lr` means the same in every model.
        return min(step / self.warmup_steps, (self.warmup_steps / step) ** 0.5)


class Shifted:
    """``schedule`` read ``offset`` steps earlier: ``Shifted(s, k)(step) == s(step - k)``.

    skorch resumes a per-batch ``LambdaLR`` at step ``len(history)`` (the
    epochs so far); a schedule made for a continued fit starts at its own
    step 0 this way.
    """

    def __init__(self, schedule, offset):
        self.schedule = schedule
        self.offset = offset

    def __call__(self, step):
        return self.schedule(max(0, step - self.offset))
