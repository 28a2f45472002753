"""The training base shared by every estimator that fits a torch module.

:class:`BaseTrainedEstimator` owns what training means for a scikit-learn
user: the training parameters, a fit that leaves a previous fit untouched
when it fails, continued training (``warm_start``, ``partial_fit``), the
validation split of early stopping, saving and restoring the fitted net, and
pickling. It holds no tensor code: :mod:`sktfm.training` builds and runs the
nets.
"""

import dataclasses
import time

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ..data import SequenceDataset
from ..persistence import Persistable, SavedWeights
from ..text.cooccurrence import cooccurrence_vectors
from ..text.special_tokens import PAD_ID
from ..training import TransformerNet, make_module, make_net, resolve_device, seeded
from ..training.budget import steps_per_epoch, use_validation_split
from ..training.builder import restore_module
from ..training.callbacks import resume_callbacks
from ..training.distributed import DataParallelNet, fit_data_parallel
from ..training.plan import FitPlan, plan_fit
from ..training.runtime import available_device
from ..training.schedules import LinearWarmup
from ._convergence import report_stop
from ._older_formats import fill_format_1, older_plan
from ._sections import in_sections
from ._signature import constraints, make_init, parameters_doc

_MAX_SEED = np.iinfo(np.int32).max


class BaseTrainedEstimator(Persistable, BaseEstimator, register=False):
    """Training parameters, guarded and continued fits, persistence of the net.

    Subclasses define ``_parameters``, the
    :class:`~sktfm.estimators._parameters.Parameter` entries (in signature
    order) from which their ``__init__``, their ``_parameter_constraints`` and
    their docstring's ``{parameters}`` block are made.
    """

    _parameters = {}
    # Rebuilt on load from ``_module_spec`` and the weights, never stored.
    _not_saved = ("net_", "module_", "_training_module")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "_parameters" in vars(cls):  # a new parameter list: a new signature
            cls._parameters = in_sections(cls._parameters)
            cls.__init__ = make_init(cls._parameters)
            cls.__init__.__qualname__ = f"{cls.__qualname__}.__init__"
            cls.__init__.__module__ = cls.__module__
        cls._parameter_constraints = constraints(cls, cls._parameters)
        if cls.__doc__ and "{parameters}" in cls.__doc__:
            cls.__doc__ = cls.__doc__.replace(
                "{parameters}", parameters_doc(cls, cls._parameters).lstrip()
            )

    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: never edit the live object
        if "net_" in state:
            # ``module_`` is the net's module: pickled once, inside the net.
            state.pop("module_", None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if "net_" in self.__dict__:
            self.module_ = self.net_.module_
            # skorch maps a CUDA-fitted net to the CPU when no GPU is here;
            # report where the model now lives.
            self.device_ = str(self.net_.device)

    # ------------------------------------------------------------ persistence
    def export_onnx(self, path):
        """Write the fitted model as ONNX graphs, tokenizer and config into a folder.

        See :func:`sktfm.export_onnx`, which this calls; serve the folder with
        :class:`sktfm.onnx.OnnxPredictor`. Needs the ``onnx`` extra.

        Parameters
        ----------
        path : str or path-like
            The folder to write.

        Returns
        -------
        path : pathlib.Path
            The folder.
        """
        from ..onnx import export_onnx

        return export_onnx(self, path)

    def _check_saveable(self):
        check_is_fitted(self, "net_")

    def _saved_module(self):
        return self.module_

    def _check_fitted(self, require):
        require("_module_spec", dict)
        require("n_iter_", int)
        require("_fit_plan", FitPlan)

    #: Fitted attributes that format 1 folders may lack, and what they meant then.
    _older_defaults = {}

    def _fill_older_format(self, version):
        """Fill in what folders of before format 3 lack (see :mod:`._older_formats`)."""
        if version == 1:
            fill_format_1(self, self._older_defaults)
        if version < 3:
            self._fit_plan = older_plan(self.get_params(deep=False), vars(self))

    def _restore(self, folder, *, device):
        """Rebuild module and net as ``fit`` builds them, around the saved weights."""
        device = available_device(device)
        if not hasattr(self, "_module_spec"):
            raise ValueError(f"{folder.path} holds no module spec for its weights.")
        module = restore_module(self._module_spec, SavedWeights(folder), device=device)
        # A TransformerEncoder keeps its backbone only; its net trains (and so
        # computes losses) for the objective recorded at fit.
        objective = getattr(self, "_training_spec", self._module_spec)["objective"]
        self._record_plan(self._fit_plan)  # the saved plan is what the fit resolved
        settings = dataclasses.replace(self._fit_plan.net, callbacks=self.callbacks)
        net = self._restored_net(
            module, objective=objective, settings=settings, device=device, history=self.history_
        )
        self._adopt_net(net, device=device, n_iter=self.n_iter_)

    def _restored_net(self, module, *, objective, settings, device, history):
        """A net around the trained ``module`` (a loaded model, an ensemble), ready to predict."""
        net = self._build_net(
            module, objective=objective, settings=settings, device=device, restored=True
        )
        net.initialize()
        net.module_ = module
        module.eval()
        net.history_ = history
        return net

    def _adopt_net(self, net, *, device, n_iter=None):
        """Set the fitted state from a trained ``net``: the one place it is assembled."""
        self.device_ = device
        self.net_ = net
        self.module_ = net.module_
        self.history_ = net.history_
        self.n_iter_ = len(net.history_) if n_iter is None else n_iter

    # Module arguments that every module takes under the estimator's own name.
    _SHARED_MODULE_ARGUMENTS = (
        "d_model",
        "n_heads",
        "dim_feedforward",
        "dropout",
        "activation",
        "norm_first",
        "positional",
        "max_len",
        "pooling",
    )

    def _shared_module_kwargs(self, regularisation=None):
        """The architecture arguments common to every module, padding id included.

        ``regularisation`` (a plan's) gives ``dropout`` and ``pooling`` where
        the estimator resolves them from the data.
        """
        kwargs = {name: getattr(self, name) for name in self._SHARED_MODULE_ARGUMENTS}
        if regularisation is not None:
            kwargs.update(dropout=regularisation.dropout, pooling=regularisation.pooling)
        return {**kwargs, "padding_idx": PAD_ID}

    def _record_plan(self, plan):
        """Keep ``plan`` and write the fitted attributes it resolved: the one place
        they are set (by ``fit``, and by ``sktfm.load`` from the saved plan)."""
        for name, value in plan.fitted_attributes().items():
            setattr(self, name, value)
        self._fit_plan = plan.recorded()

    # --------------------------------------------------------------- training
    def _build_net(
        self,
        module,
        *,
        objective,
        settings,
        device,
        valid=None,
        epochs=None,
        lr_schedule=None,
        deadline=None,
        monitor=None,
        extra_callbacks=(),
        restored=False,
    ):
        """The skorch net for ``module``: the one builder, for fit and for load.

        ``settings`` are a fit plan's (see :mod:`sktfm.training.plan`), or
        those a restored model was fitted with (its saved plan's).
        """
        return make_net(
            module,
            objective=objective,
            settings=settings,
            device=device,
            valid=valid,
            max_epochs=epochs,
            lr_schedule=lr_schedule,
            monitor=monitor,
            deadline=deadline,
            extra_callbacks=extra_callbacks,
            restored=restored,
            net_class=DataParallelNet if self.strategy == "ddp" else TransformerNet,
        )

    def _plan(
        self,
        *,
        n_train,
        epochs,
        deadline,
        pretrained=False,
        regularisation=None,
        translation=None,
        class_weight=None,
        decay=None,
    ):
        """This fit's :class:`~sktfm.training.plan.FitPlan`, recorded as fitted attributes."""
        plan = plan_fit(
            self.get_params(deep=False),
            n_train=n_train,
            device=resolve_device(self.device),
            pretrained=pretrained,
            regularisation=regularisation,
            translation=translation,
            class_weight=class_weight,
            epochs=epochs,
            decay=decay,
            deadline=deadline,
        )
        self._record_plan(plan)
        return plan

    def _train_net(
        self,
        objective,
        module_kwargs,
        train,
        valid,
        *,
        plan,
        seed,
        head_kwargs=None,
        pretrained=None,
        monitor="valid_loss",
        schedule=LinearWarmup,
        **net_options,
    ):
        """Build the module and its net under ``seed``, train it as ``plan`` says.

        ``train`` and ``valid`` are ``(X, y)`` pairs of model-ready samples
        (``valid`` may be None); ``monitor`` is the validation metric of early
        stopping; ``schedule`` the warm-up of a budget that does not decay;
        ``net_options`` go to :meth:`_build_net`.
        """
        if valid is None:  # too little data to hold out: stop on the training loss
            monitor = "train_loss" if self.early_stopping == "auto" else None
        token_vectors = None
        regularisation = plan.regularisation
        if regularisation is not None and regularisation.embedding_init == "cooccurrence":
            token_vectors = cooccurrence_vectors(
                train[0],
                module_kwargs["vocab_size"],
                module_kwargs["d_model"],
                random_state=seed,
            )
        with seeded(seed):
            module = make_module(
                objective,
                module_kwargs,
                **(head_kwargs or {}),
                pretrained=pretrained,
                token_vectors=token_vectors,
            )
            net = self._build_net(
                module,
                objective=objective,
                settings=plan.net,
                device=plan.device,
                valid=valid,
                epochs=plan.epochs,
                lr_schedule=plan.budget.lr_schedule(schedule, deadline=plan.deadline),
                deadline=plan.deadline,
                monitor=monitor,
                **net_options,
            )
            self._run_fit(net, *train, seed=seed)
        self.early_stopping_ = monitor
        report_stop(self, net)
        # Everything needed to rebuild the module without pickle (sktfm.load).
        self._module_spec = {
            "objective": objective,
            "module_kwargs": module_kwargs,
            "head_kwargs": dict(head_kwargs or {}),
        }
        self._adopt_net(net, device=plan.device)
        return self

    def _run_fit(self, net, X, y=None, *, seed, epochs=None, resume=False):
        """Train ``net`` on model-ready data, here or data-parallel (``strategy``)."""
        dataset = SequenceDataset(X, y)
        if self.strategy == "ddp":
            return fit_data_parallel(
                net, dataset, n_processes=self.n_processes, seed=seed, epochs=epochs
            )
        if resume:
            return net.partial_fit(dataset, epochs=epochs)
        return net.fit(dataset, y=None)

    def _continue_training(self, X_model, y=None, *, epochs, deadline=None):
        """Train the fitted net for ``epochs`` more epochs on model-ready data."""
        if epochs == "auto":
            epochs = self.max_epochs_
        seed = int(check_random_state(self.random_state).randint(_MAX_SEED))
        seed += len(self.net_.history)  # new shuffles each call
        resume_callbacks(
            self.net_,
            epochs=epochs,
            steps_per_epoch=steps_per_epoch(len(X_model), self.batch_size),
            deadline=deadline,
        )
        with seeded(seed):
            self._run_fit(self.net_, X_model, y, seed=seed, epochs=epochs, resume=True)
        report_stop(self, self.net_)
        self.history_ = self.net_.history
        self.n_iter_ = len(self.net_.history)
        return self

    def _split(self, X_model, y, rng, stratify):
        """``(train, valid)`` pairs; ``valid`` is None unless early stopping holds some out."""
        n_samples = len(X_model)
        if not use_validation_split(self.early_stopping, n_samples, self.validation_fraction):
            return (X_model, y), None
        if n_samples < 2:
            raise ValueError(
                f"early_stopping needs at least 2 samples to hold some out; got {n_samples}."
            )
        indices = np.arange(n_samples)
        seed = rng.randint(_MAX_SEED)
        try:
            train, valid = train_test_split(
                indices,
                test_size=self.validation_fraction,
                random_state=seed,
                stratify=stratify,
            )
        except ValueError:  # a class too rare to stratify on
            train, valid = train_test_split(
                indices, test_size=self.validation_fraction, random_state=seed
            )

        def take(data, idx):
            if data is None:
                return None
            return [data[i] for i in idx] if isinstance(data, list) else data[idx]

        return (take(X_model, train), take(y, train)), (take(X_model, valid), take(y, valid))

    def _resuming(self, partial):
        """Whether this fit continues the fitted model rather than starting afresh."""
        return hasattr(self, "net_") and (partial or self.warm_start)

    def _fit_guarded(self, fit, X, y):
        """Run ``fit`` so that a failure leaves a previous fit untouched.

        ``fit`` gets the ``deadline`` of ``max_time``, counted from now.
        """
        state = self.__dict__.copy()
        deadline = None if self.max_time is None else time.monotonic() + self.max_time
        try:
            return fit(X, y, deadline=deadline)
        except Exception:
            self.__dict__.clear()
            self.__dict__.update(state)
            raise

    def _partial_fit_guarded(self, fit, X, y):
        """:meth:`_fit_guarded` for ``partial_fit``, parameters validated first.

        scikit-learn's ``_fit_context`` validates the parameters of a
        ``partial_fit`` only while the estimator is unfitted, yet
        ``set_params`` may have changed them since: they are checked as
        ``fit`` checks them, before anything is touched.
        """
        self._validate_params()
        return self._fit_guarded(fit, X, y)

    def _require_y(self, y):
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )

    @staticmethod
    def _seed(rng):
        """A torch seed drawn from ``rng``."""
        return int(rng.randint(_MAX_SEED))
