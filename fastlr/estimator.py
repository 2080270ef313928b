"""The scikit-learn estimator, and :func:`fastlr.fit` which returns one.

``LogisticRegression.fit`` is the fit pipeline, one step per line: validate
the parameters (declaratively, scikit-learn's ``_parameter_constraints``),
prepare the data (:mod:`fastlr.inputs`: one adapter per kind of input), plan
(:func:`fastlr.training.make_plan`), run (:func:`fastlr.training.train`), and
set the fitted attributes, all at once at the end, so that a fit that fails
or is interrupted leaves the estimator as it was.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from fastlr import inputs, training, validation
from fastlr.dispatch import backend_for, is_dask_array
from fastlr.messages import warn_at_caller
from fastlr.solvers import OPTIMIZERS, SCHEDULES
from fastlr.threads import blas_threads_limited

PENALTIES = ("l2", "l1", "elasticnet", None)
MULTI_CLASS = ("auto", "ovr", "multinomial")


class LogisticRegression(ClassifierMixin, BaseEstimator):
    """Logistic regression whose per-iteration math runs on a chosen backend.

    Minimises C·Σ s_i ℓ_i + ½‖w‖² (for ``penalty="l2"``; ``"l1"`` uses ‖w‖₁,
    ``"elasticnet"`` mixes both by ``l1_ratio``), with ℓ_i the binary
    cross-entropy (or the softmax cross-entropy for ``multi_class="multinomial"``),
    never penalizing the intercept: scikit-learn's objective, so both reach the
    same optimum for the same C.

    Parameters
    ----------
    backend : {"auto", "python", "numpy", "numba", "numba-parallel", "cupy"}, default="auto"
        Kernel backend (see :func:`fastlr.available_backends`). ``"auto"`` picks
        from the data and the machine, or the default set by :func:`fastlr.use_backend`.
    solver : {"auto", "gd", "lbfgs", "newton", "fista"}, default="auto"
        ``"auto"``: Newton for few features, L-BFGS for many or for the softmax,
        FISTA for L1 and elastic net.
    penalty : {"l2", "l1", "elasticnet", None}, default="l2"
    C : float, default=1.0
        Inverse regularization strength, C = 1/λ.
    l1_ratio : float in [0, 1], default=None
        Share of L1 in ``"elasticnet"``.
    fit_intercept : bool, default=True
    max_iter : int, default=1000
        Iterations (epochs for mini-batch and stochastic descent).
    tol : float, default=1e-4
        Stop when the max-norm of the gradient (of the minimum-norm subgradient
        with L1) falls to ``tol``; for stochastic descent, when the epoch cost
        (or validation loss) improves by less than ``tol`` for
        ``n_iter_no_change`` epochs.
    learning_rate : float or "auto", default="auto"
        Initial step size α₀ of ``solver="gd"``.
    optimizer : {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"}, default="sgd"
    schedule : {"constant", "time", "exponential", "step"}, default="constant"
    decay : float, default=0.01
        k in the ``"time"`` and ``"exponential"`` schedules.
    decay_every : int, default=50
        Period of the ``"step"`` schedule (halving).
    batch_size : int or None, default=None
        None for full-batch descent, 1 for SGD, k for mini-batches.
    random_state : int, RandomState or None, default=None
        Seeds the mini-batch shuffling and the early-stopping split.
    class_weight : dict, "balanced" or None, default=None
    multi_class : {"auto", "ovr", "multinomial"}, default="auto"
        ``"auto"`` is multinomial for more than two classes.
    early_stopping : bool, default=False
        Stochastic ``gd`` only: hold out ``validation_fraction`` of the rows and
        stop when their loss stops improving.
    validation_fraction : float, default=0.1
    n_iter_no_change : int, default=5
    warm_start : bool, default=False
        Start from the previous fit's coefficients.
    verbose : bool, default=False
        Show a progress bar with the current cost.

    Attributes
    ----------
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
    intercept_ : ndarray of shape (1,) or (n_classes,)
    classes_ : ndarray of shape (n_classes,)
    n_iter_ : ndarray of shape (1,) or (n_classes,) for one-vs-rest
    cost_history_ : ndarray of shape (n_iter,), or a list of them for one-vs-rest
        The objective after each iteration (epoch), in the mean form
        (1/Σs)Σ s_i ℓ_i + penalty/(C·Σs).
    backend_ : str
        The backend that ran the fit.
    solver_ : str
        The solver that ran the fit (``"auto"`` resolved).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Defined only when X has string feature names (a DataFrame).
    """

    def __init__(
        self,
        *,
        backend="auto",
        solver="auto",
        penalty="l2",
        C=1.0,
        l1_ratio=None,
        fit_intercept=True,
        max_iter=1000,
        tol=1e-4,
        learning_rate="auto",
        optimizer="sgd",
        schedule="constant",
        decay=0.01,
        decay_every=50,
        batch_size=None,
        random_state=None,
        class_weight=None,
        multi_class="auto",
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        warm_start=False,
        verbose=False,
    ):
        self.backend = backend
        self.solver = solver
        self.penalty = penalty
        self.C = C
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.learning_rate = learning_rate
        self.optimizer = optimizer
        self.schedule = schedule
        self.decay = decay
        self.decay_every = decay_every
        self.batch_size = batch_size
        self.random_state = random_state
        self.class_weight = class_weight
        self.multi_class = multi_class
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start
        self.verbose = verbose

    _parameter_constraints = {
        "backend": [str],  # the registry names the known ones
        "solver": [str],  # so does the solver registry
        "penalty": [StrOptions({"l2", "l1", "elasticnet"}), None],
        "C": [Interval(Real, 0, None, closed="right")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both"), None],
        "fit_intercept": ["boolean"],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "optimizer": [StrOptions(set(OPTIMIZERS))],
        "schedule": [StrOptions(set(SCHEDULES))],
        "decay": [Interval(Real, 0, None, closed="left")],
        "decay_every": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "multi_class": [StrOptions(set(MULTI_CLASS))],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
    }

    # -- fitting ------------------------------------------------------------
    def fit(self, X, y, sample_weight=None):
        """Fit the model.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            NumPy, pandas or CuPy; float32 stays float32, anything else becomes
            float64. Sparse matrices (``scipy.sparse`` in any format,
            ``cupyx.scipy.sparse`` on the GPU) are fitted as CSR over their
            stored entries. A dask array is fitted chunk by chunk with one
            map-reduce per evaluation (:mod:`fastlr.distributed`).
        y : array-like of shape (n_samples,)
            Any labels with at least two classes.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights s_i.

        Returns
        -------
        self
        """
        self._validate_params()
        if self.penalty == "elasticnet" and self.l1_ratio is None:
            raise ValueError("penalty='elasticnet' needs l1_ratio in [0, 1], got None")
        data = inputs.prepare_training_data(
            X, y, sample_weight, backend=self.backend, class_weight=self.class_weight,
            estimator_name=type(self).__name__,
        )
        plan = training.make_plan(self.get_params(), data)
        with blas_threads_limited(data.backend.blas_threads):
            trained = training.train(data, plan, warm=self._warm_start_point(data))
        return self._set_fitted(data, plan, trained)

    def _set_fitted(self, data, plan, trained):
        """Every fitted attribute at once; a ConvergenceWarning when a problem did not converge."""
        dtype = data.dtype
        histories = [np.asarray(result.cost_history, dtype=np.float64) for result in trained.results]
        fitted = {
            "classes_": data.classes,
            "coef_": trained.coef.astype(dtype),
            "intercept_": trained.intercept.astype(dtype),
            "n_iter_": trained.n_iter.astype(np.int32),
            "cost_history_": histories[0] if len(histories) == 1 else histories,
            "backend_": data.backend_name,
            "solver_": plan.solver.name,
            "n_features_in_": data.n_features,
        }
        self.__dict__.update(fitted)
        if data.feature_names is not None:
            self.feature_names_in_ = data.feature_names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        message = training.convergence_message(plan, trained)
        if message is not None:
            warn_at_caller(message, ConvergenceWarning)
        return self

    def _warm_start_point(self, data):
        """The previous fit's (coef, intercept) in float64 when ``warm_start`` applies, else None."""
        if not (self.warm_start and hasattr(self, "coef_")):
            return None
        n_classes = len(data.classes)
        expected_rows = 1 if n_classes == 2 else n_classes
        if self.coef_.shape != (expected_rows, data.n_features):
            return None
        return self.coef_.astype(np.float64), self.intercept_.astype(np.float64)

    # -- prediction ------------------------------------------------------------
    def _prediction_backend(self, X):
        check_is_fitted(self)
        return backend_for(self.backend_, X)

    def _checked_for_prediction(self, X, backend):
        """(X validated for prediction, the backend that computes on it: its CSR companion for sparse X)."""
        if inputs.SparseInput.handles(X):
            return inputs.SparseInput.for_prediction(self, X, backend)
        if backend.xp is not np and backend.accepts(X):
            return validation.check_device_matrix(backend.xp.asarray(X), backend.xp, self.n_features_in_), backend
        X = validate_data(self, X, reset=False, dtype=validation.FLOAT_DTYPES, order="C", accept_sparse=False)
        return X, backend

    def _lazy_prediction(self, method, X):
        """``method`` applied chunk-wise to a dask array: a dask array, nothing computed."""
        from fastlr import distributed  # dask is an optional extra

        return distributed.predict_lazily(self, method, X)

    def decision_function(self, X):
        """Margins z = X wᵀ + b: shape (n_samples,) for two classes, else (n_samples, n_classes)."""
        if is_dask_array(X):
            return self._lazy_prediction("decision_function", X)
        X, backend = self._checked_for_prediction(X, self._prediction_backend(X))
        coef = backend.to_device(self.coef_.astype(X.dtype, copy=False))
        intercept = backend.to_device(self.intercept_.astype(X.dtype, copy=False))
        if coef.shape[0] == 1:
            return backend.decision_function(X, coef[0], intercept[0])
        return backend.decision_function(X, coef, intercept)

    def _is_softmax(self):
        return self.coef_.shape[0] > 1 and self.multi_class != "ovr"

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order."""
        if is_dask_array(X):
            return self._lazy_prediction("predict_proba", X)
        backend = self._prediction_backend(X)
        xp = backend.xp
        margins = self.decision_function(X)
        if margins.ndim == 1:
            positive = backend.sigmoid(margins)
            return xp.stack([1 - positive, positive], axis=1)
        if self._is_softmax():
            return backend.softmax(margins)
        # One-vs-rest: each class's own probability, normalized (as scikit-learn).
        scores = backend.sigmoid(margins)
        return scores / scores.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X):
        """log of :meth:`predict_proba`, computed from the margins without underflow."""
        if is_dask_array(X):
            return self._lazy_prediction("predict_log_proba", X)
        backend = self._prediction_backend(X)
        xp = backend.xp
        margins = self.decision_function(X)
        if margins.ndim == 1:
            # log σ(z) = −softplus(−z), log(1 − σ(z)) = −softplus(z)
            return -xp.stack([xp.logaddexp(0, margins), xp.logaddexp(0, -margins)], axis=1)
        if self._is_softmax():
            top = margins.max(axis=1, keepdims=True)
            return margins - (top + xp.log(xp.exp(margins - top).sum(axis=1, keepdims=True)))
        return xp.log(self.predict_proba(X))

    def predict(self, X):
        """The most probable class of each row, as a label from ``classes_``."""
        if is_dask_array(X):
            return self._lazy_prediction("predict", X)
        backend = self._prediction_backend(X)
        margins = self.decision_function(X)
        index = (margins > 0).astype(int) if margins.ndim == 1 else margins.argmax(axis=1)
        return self.classes_[np.asarray(backend.to_host(index))]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def fit(
    X,
    y,
    backend="auto",
    solver="auto",
    C=1.0,
    max_iter=1000,
    tol=1e-4,
    learning_rate="auto",
    fit_intercept=True,
    sample_weight=None,
    verbose=False,
    **params,
):
    """Fit a :class:`LogisticRegression` on (X, y) and return it.

    Every keyword of :class:`LogisticRegression` is accepted (``penalty``,
    ``optimizer``, ``batch_size``, ...).

    Examples
    --------
    >>> import numpy as np, fastlr
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 3)); y = (X[:, 0] > 0).astype(int)
    >>> model = fastlr.fit(X, y, backend="numpy")
    >>> model.coef_.shape, model.backend_
    ((1, 3), 'numpy')
    """
    model = LogisticRegression(
        backend=backend,
        solver=solver,
        C=C,
        max_iter=max_iter,
        tol=tol,
        learning_rate=learning_rate,
        fit_intercept=fit_intercept,
        verbose=verbose,
        **params,
    )
    return model.fit(X, y, sample_weight=sample_weight)
