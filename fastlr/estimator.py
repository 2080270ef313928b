"""The scikit-learn estimator, and :func:`fastlr.fit` which returns one."""

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from fastlr import validation
from fastlr.dispatch import get_backend, is_cupy_array, is_dask_array, resolve_backend_name
from fastlr.solvers import OPTIMIZERS, SCHEDULES, SolverOptions, select_solver
from fastlr.training import Problem, train

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

    # -- fitting ------------------------------------------------------------
    def _check_params(self):
        def one_of(name, value, allowed):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {list(allowed)!r}, got {value!r}")

        def positive(name, value, integer=False, allow_zero=False):
            kind = numbers.Integral if integer else numbers.Real
            ok = isinstance(value, kind) and not isinstance(value, bool)
            ok = ok and (value >= 0 if allow_zero else value > 0)
            if not ok:
                what = "a non-negative" if allow_zero else "a positive"
                raise ValueError(f"{name} must be {what} {'integer' if integer else 'number'}, got {value!r}")

        one_of("penalty", self.penalty, PENALTIES)
        one_of("multi_class", self.multi_class, MULTI_CLASS)
        one_of("optimizer", self.optimizer, OPTIMIZERS)
        one_of("schedule", self.schedule, SCHEDULES)
        positive("C", self.C)
        positive("max_iter", self.max_iter, integer=True)
        positive("tol", self.tol, allow_zero=True)
        positive("decay", self.decay, allow_zero=True)
        positive("decay_every", self.decay_every, integer=True)
        positive("n_iter_no_change", self.n_iter_no_change, integer=True)
        if self.learning_rate != "auto":
            positive("learning_rate", self.learning_rate)
        if self.batch_size is not None:
            positive("batch_size", self.batch_size, integer=True)
        if self.penalty == "elasticnet":
            if not isinstance(self.l1_ratio, numbers.Real) or not 0 <= self.l1_ratio <= 1:
                raise ValueError(f"penalty='elasticnet' needs l1_ratio in [0, 1], got {self.l1_ratio!r}")
        if not 0 < self.validation_fraction < 1:
            raise ValueError(f"validation_fraction must be in (0, 1), got {self.validation_fraction!r}")

    def fit(self, X, y, sample_weight=None):
        """Fit the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            NumPy, pandas or CuPy; float32 stays float32, anything else becomes
            float64. A dask array is fitted chunk by chunk with one map-reduce
            per evaluation (:mod:`fastlr.distributed`).
        y : array-like of shape (n_samples,)
            Any labels with at least two classes.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights s_i.

        Returns
        -------
        self
        """
        self._check_params()
        if is_dask_array(X):
            from fastlr import distributed  # dask is an optional extra

            return distributed.fit(self, X, y, sample_weight)
        backend = resolve_backend_name(self.backend, X)
        kernels = get_backend(backend)
        X, y, sample_weight = validation.check_fit_data(self, X, y, sample_weight, kernels)
        classes, y_index = _encode_labels(y, kernels)
        problem = self._problem(classes, X.shape[1])
        sample_weight = self._folded_weights(sample_weight, y, X.dtype, kernels)
        # The one copy of X to the device (a no-op on the CPU and for CuPy input).
        device_X = kernels.to_device(X)
        device_weight = None if sample_weight is None else kernels.to_device(sample_weight)
        with threadpool_limits(limits=kernels.blas_threads, user_api="blas"):
            trained = train(
                kernels, device_X, y_index, len(classes), device_weight, problem,
                warm=self._warm_start_point(len(classes)),
            )
        return self._set_fitted(trained, classes, X.dtype, backend, problem.solver)

    def _problem(self, classes, n_features):
        """The :class:`~fastlr.training.Problem` for these classes, solver resolved."""
        if len(classes) < 2:
            raise ValueError(
                f"fastlr needs samples of at least 2 classes in the data, but y holds only one class: "
                f"{classes[0]!r}"
            )
        n_classes = len(classes)
        multinomial = self.multi_class == "multinomial" or (self.multi_class == "auto" and n_classes > 2)
        spec = select_solver(self.solver, self.penalty, n_features, multinomial)
        return Problem(
            solver=spec,
            options=SolverOptions(
                max_iter=self.max_iter,
                tol=self.tol,
                learning_rate=self.learning_rate,
                optimizer=self.optimizer,
                schedule=self.schedule,
                decay=self.decay,
                decay_every=self.decay_every,
                batch_size=self.batch_size,
                random_state=_seed(self.random_state),
                n_iter_no_change=self.n_iter_no_change,
                verbose=self.verbose,
            ),
            multinomial=multinomial,
            C=self.C,
            penalty=self.penalty,
            l1_ratio=self.l1_ratio,
            fit_intercept=self.fit_intercept,
            early_stopping=self.early_stopping,
            validation_fraction=self.validation_fraction,
            random_state=_seed(self.random_state),
        )

    def _set_fitted(self, trained, classes, dtype, backend, spec):
        """Store the fitted attributes; warn when a solver did not converge."""
        self.classes_ = classes
        self.coef_ = trained.coef.astype(dtype)
        self.intercept_ = trained.intercept.astype(dtype)
        self.n_iter_ = trained.n_iter.astype(np.int32)
        histories = [np.asarray(h, dtype=np.float64) for h in trained.cost_history]
        self.cost_history_ = histories[0] if len(histories) == 1 else histories
        self.backend_ = backend
        self.solver_ = spec.name
        if not all(trained.converged):
            warnings.warn(
                f"fastlr solver {spec.name!r} did not converge in max_iter={self.max_iter} iterations "
                f"(tol={self.tol}): {spec.advice}.",
                ConvergenceWarning,
                stacklevel=3,
            )
        return self

    def _folded_weights(self, sample_weight, y, dtype, kernels):
        """Sample weights times class weights (scikit-learn's semantics), or None."""
        if self.class_weight is None:
            return sample_weight
        host_y = kernels.to_host(y)
        class_weights = kernels.to_device(np.asarray(compute_sample_weight(self.class_weight, host_y), dtype=dtype))
        return class_weights if sample_weight is None else sample_weight * class_weights

    def _warm_start_point(self, n_classes):
        if not (self.warm_start and hasattr(self, "coef_")):
            return None
        expected_rows = 1 if n_classes == 2 else n_classes
        if self.coef_.shape != (expected_rows, self.n_features_in_):
            return None
        return self.coef_.astype(np.float64), self.intercept_.astype(np.float64)

    # -- prediction ------------------------------------------------------------
    def _prediction_kernels(self, X):
        check_is_fitted(self)
        backend = self.backend_
        if is_cupy_array(X) != (backend == "cupy"):
            backend = resolve_backend_name("auto", X)
        return get_backend(backend)

    def _lazy_prediction(self, method, X):
        """``method`` applied chunk-wise to a dask array: a dask array, nothing computed."""
        from fastlr import distributed  # dask is an optional extra

        return distributed.predict_lazily(self, method, X)

    def decision_function(self, X):
        """Margins z = X wᵀ + b: shape (n_samples,) for two classes, else (n_samples, n_classes)."""
        if is_dask_array(X):
            return self._lazy_prediction("decision_function", X)
        kernels = self._prediction_kernels(X)
        X = validation.check_predict_data(self, X, kernels)
        coef = kernels.to_device(self.coef_.astype(X.dtype, copy=False))
        intercept = kernels.to_device(self.intercept_.astype(X.dtype, copy=False))
        if coef.shape[0] == 1:
            return kernels.decision_function(X, coef[0], intercept[0])
        return kernels.decision_function(X, coef, intercept)

    def _is_softmax(self):
        return self.coef_.shape[0] > 1 and self.multi_class != "ovr"

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order."""
        if is_dask_array(X):
            return self._lazy_prediction("predict_proba", X)
        kernels = self._prediction_kernels(X)
        xp = kernels.xp
        margins = self.decision_function(X)
        if margins.ndim == 1:
            positive = kernels.sigmoid(margins)
            return xp.stack([1 - positive, positive], axis=1)
        if self._is_softmax():
            return kernels.softmax(margins)
        # One-vs-rest: each class's own probability, normalized (as scikit-learn).
        scores = kernels.sigmoid(margins)
        return scores / scores.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X):
        """log of :meth:`predict_proba`, computed from the margins without underflow."""
        if is_dask_array(X):
            return self._lazy_prediction("predict_log_proba", X)
        kernels = self._prediction_kernels(X)
        xp = kernels.xp
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
        kernels = self._prediction_kernels(X)
        margins = self.decision_function(X)
        index = (margins > 0).astype(int) if margins.ndim == 1 else margins.argmax(axis=1)
        return self.classes_[np.asarray(kernels.to_host(index))]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


def _encode_labels(y, kernels):
    """``classes_`` (on the host) and each row's class index, kept where y lives
    (a GPU sort for CuPy labels instead of a round trip through the host)."""
    if is_cupy_array(y):
        classes, y_index = kernels.xp.unique(y, return_inverse=True)
        return np.asarray(kernels.to_host(classes)), y_index
    return np.unique(y, return_inverse=True)


def _seed(random_state):
    """An integer seed (or None) from scikit-learn's random_state conventions."""
    if random_state is None or isinstance(random_state, numbers.Integral):
        return random_state
    # A RandomState instance: draw the seed from it, as scikit-learn estimators do.
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


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
