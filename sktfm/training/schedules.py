"""Learning-rate schedules: multipliers of the peak ``lr``, one step per batch.

Classes rather than lambdas so that fitted nets stay picklable.
"""

__all__ = ["InverseSqrtWarmup", "LinearWarmup", "LinearWarmupDecay"]


class LinearWarmup:
    """Learning-rate multiplier rising linearly from ~0 to 1 over ``warmup_steps``."""

    def __init__(self, warmup_steps):
        self.warmup_steps = warmup_steps

    def __call__(self, step):
        return min(1.0, (step + 1) / self.warmup_steps)


class LinearWarmupDecay:
    """Linear warm-up over ``warmup_steps``, then linear decay to 0 at ``total_steps``.

    The schedule BERT and sentence-transformers fine-tune with.

    >>> schedule = LinearWarmupDecay(warmup_steps=2, total_steps=10)
    >>> [round(schedule(step), 3) for step in range(0, 12, 2)]
    [0.5, 0.875, 0.625, 0.375, 0.125, 0.0]
    """

    def __init__(self, warmup_steps, total_steps):
        self.warmup_steps = warmup_steps
        self.total_steps = total_steps

    def __call__(self, step):
        step += 1
        if step <= self.warmup_steps:
            return step / self.warmup_steps
        remaining = self.total_steps - step
        return max(0.0, remaining / max(1, self.total_steps - self.warmup_steps))


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
