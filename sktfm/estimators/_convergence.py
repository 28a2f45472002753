"""Why training stopped, told to the user: interrupted, or cut while still improving."""

import warnings

from sklearn.exceptions import ConvergenceWarning

from ..training.budget import TOLERANCE

__all__ = ["report_stop"]


def report_stop(estimator, net):
    """Warn when training ended on the user's Ctrl-C, or on a budget while
    improving or (``max_time``) too soon to tell."""
    reason = net.stop_reason_
    name, epochs = type(estimator).__name__, len(net.history)
    if reason == "interrupted":
        kept = "best" if estimator.early_stopping_ else "latest"
        warnings.warn(
            f"{name}: training was interrupted after {epochs} epoch(s); the "
            f"estimator is fitted with the {kept} weights so far.",
            stacklevel=4,
        )
        return
    monitor = estimator.early_stopping_ or "train_loss"
    patience = estimator.patience_
    if reason == "early_stopping":
        return
    budget = f"max_time={estimator.max_time} s" if reason == "max_time" else f"{epochs} epochs"
    if reason == "max_time" and sum(monitor in row for row in net.history) < 2:
        # One measurement (or none) cannot show that training had converged
        # (partial_fit's single epochs are the user's plan, not a budget cut).
        warnings.warn(
            f"{name}: training stopped after {budget}, too soon to tell whether "
            f"{monitor} had stopped improving. Raise max_epochs or max_time, or "
            "continue with warm_start=True or partial_fit.",
            ConvergenceWarning,
            stacklevel=4,
        )
    elif _still_improving(net.history, monitor, patience):
        warnings.warn(
            f"{name}: training stopped after {budget} while {monitor} was still "
            f"improving (within the last {patience} epochs). Raise max_epochs or "
            "max_time, or continue with warm_start=True or partial_fit.",
            ConvergenceWarning,
            stacklevel=4,
        )


def _still_improving(history, key, patience):
    """Whether ``key`` improved by more than the tolerance in the last ``patience`` epochs.

    With fewer epochs than ``patience``, the last ones are compared with the first.
    """
    values = [row[key] for row in history if key in row]
    if len(values) < 2:
        return False
    if not key.endswith("loss"):  # a score such as valid_bleu: higher is better
        values = [-value for value in values]
    recent, before = values[-patience:], values[:-patience] or values[:1]
    return min(recent) < min(before) - TOLERANCE
