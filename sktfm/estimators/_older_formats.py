"""What folders saved in an older format lack, filled in at load.

Format 1 folders predate the resolved training attributes (``max_epochs_``,
``lr_`` ...); folders of before format 3 hold no fit plan. The current code
relies on both, so :func:`sktfm.load` fills them in from what the folder
does hold, here and nowhere else.
"""

import dataclasses

from skorch.history import History

from ..training.budget import Budget
from ..training.plan import AUTO_OFF, FitPlan, NetSettings, Regularisation, TranslationChoices

__all__ = ["fill_format_1", "older_plan"]

# The training parameters whose resolved values (``name_``) a net is built from.
_RESOLVED = ("max_epochs", "lr", "patience", "label_smoothing", "ema_decay")


def fill_format_1(estimator, defaults):
    """Give a format 1 ``estimator`` the resolved attributes it lacks.

    ``defaults`` (attribute name to value) are what its class's attributes
    meant before they existed; the parameters stand in for the resolved
    training attributes, their ``"auto"`` meaning off.
    """
    fitted = vars(estimator)
    for name, value in defaults.items():
        fitted.setdefault(name, value)
    for name in _RESOLVED:
        value = getattr(estimator, name)
        fitted.setdefault(f"{name}_", AUTO_OFF.get(name) if value == "auto" else value)
    fitted.setdefault("early_stopping_", None)
    if fitted.get("history_") is None:
        fitted["history_"] = History()


def older_plan(params, fitted):
    """The :class:`FitPlan` of a model saved before folders held it.

    Rebuilt from its resolved attributes (``fitted``) and parameters
    (``params``). What those folders did not keep (whether the rate decayed,
    the steps per epoch) shaped only the finished fit's schedule; the plan
    records no decay and 0 steps.
    """
    warmup_steps = params.get("warmup_steps")
    budget = Budget(
        max_epochs=fitted["max_epochs_"],
        patience=fitted["patience_"],
        lr=fitted["lr_"],
        warmup_steps=fitted.get("warmup_steps_", warmup_steps if type(warmup_steps) is int else 0),
        decay=False,
        steps_per_epoch=0,
    )
    resolved = {name: fitted[f"{name}_"] for name in _RESOLVED if f"{name}_" in fitted}
    names = [field.name for field in dataclasses.fields(Regularisation)]
    regularisation = None
    if all(f"{name}_" in fitted for name in names if name != "ensemble_size"):
        regularisation = Regularisation(**{n: fitted.get(f"{n}_") for n in names})
    translation = None
    if "share_vocab_" in fitted:
        translation = TranslationChoices(fitted["protected_tokens_"], fitted["share_vocab_"])
    return FitPlan(
        budget=budget,
        net=NetSettings.from_params(params, **resolved),
        epochs=budget.max_epochs,
        regularisation=regularisation,
        translation=translation,
        device=fitted.get("device_", "cpu"),
    )
