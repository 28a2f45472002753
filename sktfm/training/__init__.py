"""Training layer: the skorch net, its losses, callbacks and schedules.

- :mod:`~sktfm.training.runtime`: device, precision and seeding;
- :mod:`~sktfm.training.schedules`: learning-rate schedules;
- :mod:`~sktfm.training.losses`: one criterion per objective;
- :mod:`~sktfm.training.callbacks`: skorch callbacks for the training options;
- :mod:`~sktfm.training.nets`: :class:`TransformerNet`, which trains every model;
- :mod:`~sktfm.training.builder`: estimator parameters -> module and net;
- :mod:`~sktfm.training.inference`: batched outputs, embeddings, attention, generation;
- :mod:`~sktfm.training.distributed`: data-parallel training, a leaf that only the
  estimators import.

The estimators translate their parameters into calls to these modules and
hold no tensor code of their own.
"""

from .builder import OBJECTIVES, make_module, make_net
from .callbacks import NonFiniteLoss
from .nets import TransformerNet
from .runtime import PRECISIONS, resolve_device, resolve_precision, seeded

__all__ = [
    "OBJECTIVES",
    "PRECISIONS",
    "NonFiniteLoss",
    "TransformerNet",
    "make_module",
    "make_net",
    "resolve_device",
    "resolve_precision",
    "seeded",
]
