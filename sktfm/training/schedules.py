"""Learning-rate schedules: multipliers of the peak ``lr``, one step per batch.

Classes rather than lambdas so that fitted nets stay picklable.
"""

__all__ = ["InverseSqrtWarmup", "LinearWarmup"]


class LinearWarmup:
    """Learning-rate multiplier rising linearly from ~0 to 1 over ``warmup_steps``."""

    def __init__(self, warmup_steps):
        self.warmup_steps = warmup_steps

    def __call__(self, step):
        return min(1.0, (step + 1) / self.warmup_steps)


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
