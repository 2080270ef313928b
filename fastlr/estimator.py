"""The scikit-learn estimator, and :func:`fastlr.fit` which returns one.

``LogisticRegression.fit`` is the fit pipeline, one step per line: validate
the parameters (declaratively, scikit-learn's ``_parameter_constraints``),
prepare the data (:mod:`fastlr.inputs`: one adapter per kind of input), plan
(:func:`fastlr.training.make_plan`), run (:func:`fastlr.training.train`), and
set the fitted attributes, all at once at the end, so that a fit that fails
or is interrupted leaves the estimator as it was.
"""

import functools
import types
from numbers import Integral, Real

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Hidden, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from fastlr import array_api, callbacks, inputs, training, validation
from fastlr import penalty as penalties
from fastlr.dispatch import backend_for, is_dask_array
from fastlr.messages import warn_at_caller
from fastlr.solvers import OPTIMIZERS, SCHEDULES
from fastlr.solvers.aliases import check_dual
from fastlr.threads import blas_threads_limited

PENALTIES = (penalties.FROM_L1_RATIO, *penalties.NAMED)
MULTI_CLASS = ("auto", "ovr", "multinomial")
N_JOBS_IGNORED = (
    "'n_jobs' has no effect since 1.8 and will be removed in 1.10. You provided 'n_jobs={n_jobs}', please leave it "
    "unspecified. (fastlr: every backend parallelizes its own passes over X; threads per problem would compete "
    "with them.)"
)


class LogisticRegression(*callbacks.CALLBACK_BASES, ClassifierMixin, BaseEstimator):
    """Logistic regression whose per-iteration math runs on a chosen backend.

    Minimises C·Σ s_i ℓ_i + ρ‖w‖₁ + (1 − ρ)·½‖w‖², ρ = ``l1_ratio`` (0: L2,
    1: L1, between: elastic net; ``C=np.inf``: no penalty), with ℓ_i the binary
    cross-entropy (or the softmax cross-entropy for more than two classes),
    never penalizing the intercept: scikit-learn's objective, so both reach the
    same optimum for the same C. Every parameter of scikit-learn 1.9's
    ``LogisticRegression`` is accepted, with its meaning, so the two exchange in
    a pipeline or a saved configuration.

    Parameters
    ----------
    backend : {"auto", "python", "numpy", "numba", "numba-parallel", "cupy"}, default="auto"
        Kernel backend (see :func:`fastlr.available_backends`). ``"auto"`` picks
        from the data and the machine, or the default set by :func:`fastlr.use_backend`.
    solver : str, default="auto"
        fastlr's ``"gd"``, ``"lbfgs"``, ``"newton"``, ``"newton-cg"``, ``"newton-cd"``,
        ``"fista"``, or scikit-learn's ``"newton-cholesky"``, ``"sag"``, ``"saga"``,
        ``"liblinear"`` as aliases of the fastlr solver that reaches the same optimum
        (:mod:`fastlr.solvers.aliases`; liblinear's penalized intercept is the one
        difference, and a warning says so). ``"auto"``: whichever reaches the
        optimum first for the shape (:func:`fastlr.solvers.auto_solver`): the
        dense Newton for binary problems with up to 30 features and 30 000 rows,
        Newton-CG for other small problems, for the softmax with up to 1000
        features and where m is large enough to sample the Hessian, L-BFGS
        otherwise; the
        proximal Newton ``newton-cd`` for binary L1 and elastic net, FISTA for
        the softmax or many features.
    penalty : {"auto", "l2", "l1", "elasticnet", None}, default="auto"
        ``"auto"`` takes the penalty from ``l1_ratio`` and ``C`` (scikit-learn ≥ 1.8's
        rule); the named penalties are the older spelling, and contradicting
        ``l1_ratio`` with them raises (:mod:`fastlr.penalty`).
    C : float, default=1.0
        Inverse regularization strength, C = 1/λ; ``np.inf`` for no penalty.
    l1_ratio : float in [0, 1], default=0.0
        ρ, the L1 share of the penalty: 0 is L2, 1 is L1, between is elastic net.
    dual : bool, default=False
        Only False: fastlr solves the primal problem (True raises, naming the solvers).
    intercept_scaling : float, default=1
        Accepted for scikit-learn's liblinear, where the intercept is penalized as the
        weight of a constant feature of this value. fastlr never penalizes the
        intercept, so it has no effect.
    n_jobs : int or None, default=None
        No effect (as in scikit-learn ≥ 1.8, which warns the same): each backend
        runs its passes over X on every core already.
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
        ``"auto"`` is multinomial for more than two classes (scikit-learn ≥ 1.8
        always is; ``"ovr"`` is fastlr's, for one-vs-rest problems).
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
        penalty="auto",
        C=1.0,
        l1_ratio=0.0,
        dual=False,
        intercept_scaling=1.0,
        n_jobs=None,
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
        self.dual = dual
        self.intercept_scaling = intercept_scaling
        self.n_jobs = n_jobs
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
        "penalty": [
            StrOptions({penalties.FROM_L1_RATIO, "l2", "l1", "elasticnet"}),
            Hidden(StrOptions({penalties.SKLEARN_DEFAULT})),
            None,
        ],
        "C": [Interval(Real, 0, None, closed="right")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both"), None],
        "dual": ["boolean"],
        "intercept_scaling": [Interval(Real, 0, None, closed="neither")],
        "n_jobs": [None, Integral],
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
        penalty = self._check_parameters()
        with callbacks.managed(self):
            data = inputs.prepare_training_data(
                X, y, sample_weight, backend=self.backend, class_weight=self.class_weight,
                estimator_name=type(self).__name__,
            )
            plan = training.make_plan(self._plan_params(penalty), data, defaults=parameter_defaults())
            fit_callbacks = None
            if callbacks.wanted(self):
                n_problems = 1 if plan.multinomial or len(data.classes) == 2 else len(data.classes)
                fit_callbacks = callbacks.FitCallbacks(self, X, y, sample_weight, n_problems, plan.options.max_iter)
            with blas_threads_limited(data.backend.blas_threads):
                trained = training.train(data, plan, warm=self._warm_start_point(data), callbacks=fit_callbacks)
            self._set_fitted(data, plan, trained)
            self._place_fitted(X, y)
            if fit_callbacks is not None:
                fit_callbacks.finish()
        return self

    if not callbacks.CALLBACK_BASES:
        set_callbacks = callbacks.CallbacksUnavailable.set_callbacks

    def _check_parameters(self):
        """The checks ``_parameter_constraints`` cannot express; returns the resolved penalty."""
        penalty = penalties.resolve(self.penalty, self.l1_ratio, self.C)
        check_dual(self.solver, self.dual)
        if self.n_jobs is not None:
            warn_at_caller(N_JOBS_IGNORED.format(n_jobs=self.n_jobs), FutureWarning)
        return penalty

    def _plan_params(self, penalty):
        """The parameters with the penalty resolved, as :func:`fastlr.training.make_plan` takes them:
        read by the names :func:`parameter_defaults` holds, not by ``get_params()``, which
        inspects ``__init__``'s signature on every call (100 µs a fit)."""
        params = {name: getattr(self, name) for name in parameter_defaults()}
        return {**params, "penalty": penalty.name, "l1_ratio": penalty.l1_ratio}

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
        message = training.convergence_message(plan, trained, data) or training.unresolved_margins_message(trained, data)
        if message is not None:
            warn_at_caller(message, ConvergenceWarning)
        return self

    def _place_fitted(self, X, y):
        """Under scikit-learn's ``array_api_dispatch``: the fitted arrays in X's namespace and on
        its device, ``classes_`` in y's (as scikit-learn's LogisticRegression); else NumPy stays."""
        where, classes_where = array_api.fitted_placements(X, y)
        if where is not None:
            self.coef_, self.intercept_, self.n_iter_ = (where.put(a) for a in (self.coef_, self.intercept_, self.n_iter_))
            history = self.cost_history_
            self.cost_history_ = [where.put(h) for h in history] if isinstance(history, list) else where.put(history)
        if classes_where is not None:
            self.classes_ = classes_where.put(self.classes_)

    def _warm_start_point(self, data):
        """The previous fit's (coef, intercept) in float64 when ``warm_start`` applies, else None."""
        if not (self.warm_start and hasattr(self, "coef_")):
            return None
        n_classes = len(data.classes)
        expected_rows = 1 if n_classes == 2 else n_classes
        coef = self._dense_coef()
        if tuple(coef.shape) != (expected_rows, data.n_features):
            return None

        def on_host(array):
            return np.asarray(data.backend.to_host(data.backend.to_device(array_api.computable(array))), dtype=np.float64)

        return on_host(coef), on_host(self.intercept_)

    # -- sparse coefficients (scikit-learn's SparseCoefMixin) -----------------------
    def _dense_coef(self):
        return self.coef_.toarray() if sparse.issparse(self.coef_) else self.coef_

    def sparsify(self):
        """Store ``coef_`` as a scipy.sparse CSR matrix (worth it when most weights are zero, e.g. with L1).

        Prediction works the same; :meth:`densify` converts back. Returns self.
        """
        check_is_fitted(self, msg=f"Estimator, {type(self).__name__}, must be fitted before sparsifying.")
        self.coef_ = sparse.csr_matrix(self.coef_)
        return self

    def densify(self):
        """Store ``coef_`` as a NumPy array again (the default after ``fit``). Returns self."""
        check_is_fitted(self, msg=f"Estimator, {type(self).__name__}, must be fitted before densifying.")
        self.coef_ = self._dense_coef()
        return self

    # -- prediction ------------------------------------------------------------
    def _checked_for_prediction(self, X, backend):
        """(X validated for prediction, the backend that computes on it: its CSR companion for sparse X)."""
        if inputs.SparseInput.handles(X):
            return inputs.SparseInput.for_prediction(self, X, backend)
        if backend.xp is not np and backend.accepts(X):
            return validation.check_device_matrix(backend.xp.asarray(X), backend.xp, self.n_features_in_), backend
        X = validate_data(self, X, reset=False, dtype=validation.FLOAT_DTYPES, order="C", accept_sparse=False)
        return X, backend

    @staticmethod
    def _on_backend(array, backend, dtype):
        """A fitted array (NumPy, or another library's under array-API dispatch) on ``backend``, in ``dtype``."""
        return backend.to_device(array_api.computable(array)).astype(dtype, copy=False)

    def _margins(self, X, method):
        """(backend, z = X Wᵀ + b) computed where X lives: shape (n_samples,) or (n_samples, n_classes).
        ``method``: the public method asking, named in scikit-learn's namespace error."""
        check_is_fitted(self)
        array_api.check_same_namespace(X, self, f"{type(self).__name__}.{method}()")
        X = array_api.computable(X)
        X, backend = self._checked_for_prediction(X, backend_for(self.backend_, X))
        coef = self._on_backend(self._dense_coef(), backend, X.dtype)
        intercept = self._on_backend(self.intercept_, backend, X.dtype)
        if coef.shape[0] == 1:
            return backend, backend.decision_function(X, coef[0], intercept[0])
        return backend, backend.decision_function(X, coef, intercept)

    @staticmethod
    def _answer(X, result):
        """``result`` in the namespace and on the device of X when X is not a NumPy array."""
        placement = array_api.Placement.of(X)
        return result if placement is None else placement.put(result)

    def _lazy_prediction(self, method, X):
        """``method`` applied chunk-wise to a dask array: a dask array, nothing computed."""
        from fastlr import distributed  # dask is an optional extra

        return distributed.predict_lazily(self, method, X)

    def decision_function(self, X):
        """Margins z = X wᵀ + b: shape (n_samples,) for two classes, else (n_samples, n_classes)."""
        if is_dask_array(X):
            return self._lazy_prediction("decision_function", X)
        return self._answer(X, self._margins(X, "decision_function")[1])

    def _is_softmax(self):
        return self.coef_.shape[0] > 1 and self.multi_class != "ovr"

    @staticmethod
    def _one_vs_rest_probabilities(backend, margins):
        if margins.ndim == 1:
            # σ(−z) rather than 1 − σ(z): no cancellation, and no 0 where σ(z) rounds to 1
            return backend.xp.stack([backend.sigmoid(-margins), backend.sigmoid(margins)], axis=1)
        return backend.softmax(LogisticRegression._one_vs_rest_log_scores(margins, backend.xp))

    @staticmethod
    def _one_vs_rest_log_scores(margins, xp):
        """log σ(z_k) = −softplus(−z_k) for each class's own margin. One-vs-rest
        probabilities are σ(z_k) / Σ_j σ(z_j) (as scikit-learn's), the softmax of
        these: a row whose every σ(z_k) underflows to 0 still sums to 1."""
        return -xp.logaddexp(0, -margins)

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order:
        the softmax of the margins, or σ of each (binary, one-vs-rest normalized as scikit-learn)."""
        if is_dask_array(X):
            return self._lazy_prediction("predict_proba", X)
        backend, margins = self._margins(X, "predict_proba")
        if self._is_softmax():
            return self._answer(X, backend.softmax(margins))
        return self._answer(X, self._one_vs_rest_probabilities(backend, margins))

    def _predict_proba_lr(self, X):
        """One-vs-rest probabilities: each class's σ(margin), normalized to sum to 1
        (scikit-learn's ``LinearClassifierMixin._predict_proba_lr``, whatever the loss)."""
        backend, margins = self._margins(X, "_predict_proba_lr")
        return self._answer(X, self._one_vs_rest_probabilities(backend, margins))

    def predict_log_proba(self, X):
        """log of :meth:`predict_proba`, computed from the margins without underflow."""
        if is_dask_array(X):
            return self._lazy_prediction("predict_log_proba", X)
        backend, margins = self._margins(X, "predict_log_proba")
        xp = backend.xp
        if margins.ndim == 1:
            # log σ(z) = −softplus(−z), log(1 − σ(z)) = −softplus(z)
            result = -xp.stack([xp.logaddexp(0, margins), xp.logaddexp(0, -margins)], axis=1)
        else:
            scores = margins if self._is_softmax() else self._one_vs_rest_log_scores(margins, xp)
            top = scores.max(axis=1, keepdims=True)
            result = scores - (top + xp.log(xp.exp(scores - top).sum(axis=1, keepdims=True)))
        return self._answer(X, result)

    def predict(self, X):
        """The most probable class of each row, as a label from ``classes_`` (in ``classes_``'s kind)."""
        if is_dask_array(X):
            return self._lazy_prediction("predict", X)
        backend, margins = self._margins(X, "predict")
        index = (margins > 0).astype(int) if margins.ndim == 1 else margins.argmax(axis=1)
        index = np.asarray(backend.to_host(index))
        classes = self.classes_
        if not isinstance(classes, np.ndarray):  # fitted under array_api_dispatch: on y's device
            classes = array_api.computable(classes)
            classes = np.asarray(backend_for(self.backend_, classes).to_host(classes))
        labels = classes[index]
        # Under array_api_dispatch scikit-learn answers in X's namespace and on its device; text
        # labels have no array-API dtype and stay NumPy, as scikit-learn's classes_ do. Without
        # dispatch, labels are NumPy whatever X is (a CuPy X included).
        if array_api.dispatch_enabled() and labels.dtype.kind in "biufc":
            return self._answer(X, labels)
        return labels

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.array_api_support = True  # every solver: arrays are viewed on the backend (fastlr.array_api)
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


@functools.cache
def parameter_defaults():
    """Every :class:`LogisticRegression` parameter's default (read-only), read once per
    process: ``get_params()`` inspects ``__init__``'s signature, 0.6 ms, a tenth of a small fit."""
    return types.MappingProxyType(LogisticRegression().get_params())
