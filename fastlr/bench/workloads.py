"""Workloads shared by every fastlr benchmark: seeded data and the calls to time.

The asv suite (``benchmarks/asv_*.py``), the pytest-benchmark suite
(``benchmarks/test_bench_*.py``) and ``fastlr bench`` (:mod:`fastlr.bench.command`)
all take their data and their timed calls from here, so the three measure the
same thing. Nothing here times anything.

Sizes
-----
X has shape (m, n) with n = ``N_FEATURES`` = 50 and m in ``ROW_COUNTS``
(10³ … 10⁷). At m = 10⁷, X takes 4.0 GB in float64 (2.0 GB in float32); the
suites hold one dataset at a time, so the largest case needs X plus a few
m-long temporaries, well within a 24 GiB machine. ``FASTLR_BENCH_QUICK=1`` in
the environment shrinks every size, so that CI can run every benchmark once.

Implementations
---------------
An operation runs on each registered backend (:func:`fastlr.dispatch.backend_report`)
and on its peers: a plain NumPy two-pass gradient for ``gradient`` (the
vectorized baseline) and scikit-learn's fastest solver for ``fit``. Cases that
cannot run (a backend unusable here, the python backend beyond the rows it
finishes in seconds) raise :class:`SkipCase`, a ``NotImplementedError``, which
asv takes as "skip" when raised in ``setup``.
"""

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Callable, Mapping, Optional

import numpy as np
from scipy.special import expit
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression

from fastlr.bench import reference
from fastlr.bench.reference import sklearn_objective
from fastlr.dispatch import BACKENDS, get_backend, unavailable_reason
from fastlr.estimator import fit

#: Features per row. At 50, one float64 row is 400 bytes against two exp/log1p
#: per row, so the fused pass is bound by memory, the regime a roofline is about,
#: and X at m = 10⁷ still fits comfortably in memory.
N_FEATURES = 50
ROW_COUNTS = (10**3, 10**4, 10**5, 10**6, 10**7)
QUICK_ROW_COUNTS = (10**3, 10**4)
DTYPES = ("float32", "float64")
SEED = 0
#: Rows of the slice that warm-up calls (JIT compilation) run on: Numba compiles
#: one specialization per dtype and layout, whatever the number of rows.
WARMUP_ROWS = 256

#: ``fit`` runs to a fixed tolerance: max-norm of the gradient of the mean
#: objective, the criterion of fastlr and of scikit-learn's lbfgs and newton-cholesky.
FIT_SOLVER = "lbfgs"
FIT_C = 1.0
FIT_TOL = 1e-6
FIT_MAX_ITER = 10_000
#: scikit-learn's fastest solver when m ≫ n: on make_classification(50 000, 50),
#: tol=1e-6, newton-cholesky took 0.33 s, lbfgs 0.53 s and newton-cg 0.78 s.
SKLEARN_FIT_SOLVER = "newton-cholesky"

#: Time to optimum: make_classification(n_samples, n_features), C = 1, tol = 1e-6,
#: fastlr on this backend against scikit-learn; the yardstick is scikit-learn's
#: newton-cholesky run to ``REFERENCE_TOL``.
OPTIMUM_SHAPE = (500_000, 100)
QUICK_OPTIMUM_SHAPE = (10_000, 100)
OPTIMUM_BACKEND = "numba-parallel"
REFERENCE_TOL = 1e-10

Thunk = Callable[[], object]


class SkipCase(NotImplementedError):
    """A case that cannot run here; asv skips it when ``setup`` raises this."""


def quick_mode() -> bool:
    """True when ``FASTLR_BENCH_QUICK`` is set to anything but ``""`` or ``"0"``."""
    return os.environ.get("FASTLR_BENCH_QUICK", "") not in ("", "0")


def row_counts() -> tuple:
    """The values of m the suites run: ``ROW_COUNTS``, or ``QUICK_ROW_COUNTS`` in quick mode."""
    return QUICK_ROW_COUNTS if quick_mode() else ROW_COUNTS


class RowsOfX:
    """m and dtype of a dataset's X (dense here, CSR in :mod:`fastlr.bench.sparse_workloads`)."""

    @property
    def m(self) -> int:
        return self.X.shape[0]

    @property
    def dtype(self) -> str:
        return self.X.dtype.name


@dataclass(frozen=True)
class Dataset(RowsOfX):
    """Binary data and the point at which kernels are evaluated.

    X : ndarray of shape (m, n), C-contiguous, float32 or float64
    y : ndarray of shape (m,), labels 0/1 in X's dtype
    w : ndarray of shape (n,) and b, a scalar, both in X's dtype
    z : ndarray of shape (m,), the margins X w + b (the input of ``sigmoid``)
    """

    X: np.ndarray
    y: np.ndarray
    w: np.ndarray
    b: np.floating
    z: np.ndarray

    @property
    def nbytes(self) -> int:
        """Bytes of X: what every pass must read at least once."""
        return self.X.nbytes

    def head(self, rows: int) -> "Dataset":
        """The first ``rows`` rows (views, no copy)."""
        return Dataset(self.X[:rows], self.y[:rows], self.w, self.b, self.z[:rows])


def make_dataset(m: int, n: int = N_FEATURES, dtype: str = "float64", seed: int = SEED) -> Dataset:
    """Seeded logistic data: X ~ N(0, 1), y ~ Bernoulli(σ(X w*)) with w* ~ N(0, 1/n).

    With ‖w*‖ ≈ 1 the true margins are about N(0, 1): labels neither separable
    nor pure noise, so fits converge in a few dozen iterations. X is drawn in
    ``dtype`` directly, never through a float64 copy.
    """
    dtype = np.dtype(dtype)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n), dtype=dtype)
    w_true = (rng.standard_normal(n) / np.sqrt(n)).astype(dtype)
    y = (rng.random(m, dtype=dtype) < expit(X @ w_true)).astype(dtype)
    w, b = w_true / 2, dtype.type(0.1)  # any point off the optimum will do
    return Dataset(X, y, w, b, X @ w + b)


# -- operations -----------------------------------------------------------------
def _synchronized(kernels, thunk: Thunk) -> Thunk:
    """``thunk`` that also waits for a device backend to finish (reading back one
    element of the result), so timings cover the work; on the CPU, ``thunk`` itself."""
    if kernels.xp is np:
        return thunk

    def run():
        result = thunk()
        last = result[-1] if isinstance(result, tuple) else result
        kernels.to_host(kernels.xp.ravel(last)[-1:])
        return result

    return run


def _sigmoid_call(backend: str, data: Dataset) -> Thunk:
    kernels = get_backend(backend)
    return _synchronized(kernels, partial(kernels.sigmoid, kernels.to_device(data.z)))


def _binary_kernel_call(function_name: str, kernels_of=get_backend) -> Callable[[str, Dataset], Thunk]:
    """Caller of the kernel ``function_name(X, y, w, b)`` of a backend (``kernels_of(name)``:
    the backend, or its CSR companion), data on its device."""

    def call(backend, data):
        kernels = kernels_of(backend)
        X, y, w = (kernels.to_device(array) for array in (data.X, data.y, data.w))
        return _synchronized(kernels, partial(getattr(kernels, function_name), X, y, w, data.b))

    return call


#: Classes of the ``softmax_cost_gradient`` workload (issue 15's K = 10).
SOFTMAX_CLASSES = 10


def _softmax_inputs(kernels, data: Dataset) -> tuple:
    """(X, labels, W, b) of the K = ``SOFTMAX_CLASSES`` workload on the device of ``kernels``:
    labels are the deciles of the binary margins z, W (K, n) spreads w over the classes, b = 0."""
    edges = np.quantile(data.z, np.linspace(0, 1, SOFTMAX_CLASSES + 1)[1:-1])
    labels = np.digitize(data.z, edges).astype(np.int64)
    W = np.outer(np.linspace(-1, 1, SOFTMAX_CLASSES), data.w).astype(data.X.dtype)
    b = np.zeros(SOFTMAX_CLASSES, dtype=data.X.dtype)
    return tuple(kernels.to_device(array) for array in (data.X, labels, W, b))


def _softmax_call(backend: str, data: Dataset) -> Thunk:
    """The multinomial cost and gradient (:func:`_softmax_inputs`)."""
    kernels = get_backend(backend)
    return _synchronized(kernels, partial(kernels.softmax_cost_gradient, *_softmax_inputs(kernels, data)))


def _softmax_hessian_product_call(backend: str, data: Dataset) -> Thunk:
    """Newton-CG's step on the softmax: one Hessian-vector product at the probabilities of
    :func:`_softmax_inputs`'s W (computed here, outside the timed call), V = W reversed."""
    kernels = get_backend(backend)
    X, labels, W, b = _softmax_inputs(kernels, data)
    probabilities = kernels.softmax_cost_gradient_probabilities(X, labels, W, b)[3]
    return _synchronized(kernels, partial(kernels.softmax_hessian_product, X, probabilities, None, W[::-1].copy(), b))


def _softmax_margins_call(backend: str, data: Dataset) -> Thunk:
    """The K-class margins X Wᵀ + b of prediction (:func:`_softmax_inputs`'s W, b)."""
    kernels = get_backend(backend)
    X, _, W, b = _softmax_inputs(kernels, data)
    return _synchronized(kernels, partial(kernels.decision_function, X, W, b))


def _fit_call(backend: str, data: Dataset) -> Thunk:
    X = get_backend(backend).to_device(data.X)
    return partial(fit, X, data.y, backend=backend, solver=FIT_SOLVER, C=FIT_C, tol=FIT_TOL, max_iter=FIT_MAX_ITER)


def _numpy_two_pass_gradient(data: Dataset) -> Thunk:
    """The vectorized baseline: r = σ(X w + b) − y reads X once, Xᵀ r / m reads it again."""
    X, y, w, b = data.X, data.y, data.w, data.b

    def run():
        residual = expit(X @ w + b) - y
        return X.T @ residual / len(y), residual.mean()

    return run


def _sklearn_fit(data: Dataset) -> Thunk:
    model = SklearnLogisticRegression(solver=SKLEARN_FIT_SOLVER, C=FIT_C, tol=FIT_TOL, max_iter=FIT_MAX_ITER)
    return partial(model.fit, data.X, data.y)


@dataclass(frozen=True)
class Operation:
    """One timed operation and how each implementation runs it.

    ``call(backend, data)`` returns a zero-argument callable running the operation
    on a fastlr backend; ``peers`` maps other implementations to the same for
    them. ``input_nbytes(data)`` is the size of the input that the operation
    must read at least once (``None`` for ``fit``, which reads X once per
    iteration). ``max_rows`` caps m per implementation.
    """

    name: str
    call: Callable[[str, Dataset], Thunk]
    input_nbytes: Optional[Callable[[Dataset], int]]
    peers: Mapping[str, Callable[[Dataset], Thunk]] = field(default_factory=dict)
    max_rows: Mapping[str, int] = field(default_factory=dict)

    def implementations(self) -> list:
        """Every registered backend, then the peers."""
        return [*BACKENDS, *self.peers]

    def check_runnable(self, implementation: str, m: int) -> None:
        """Raise :class:`SkipCase` (saying why) unless ``implementation`` can run on m rows here."""
        if implementation not in self.implementations():
            raise SkipCase(f"{implementation} does not implement {self.name}")
        cap = self.max_rows.get(implementation)
        if cap is not None and m > cap:
            raise SkipCase(f"{implementation} {self.name} is capped at m={cap} (beyond, it takes minutes)")
        reason = unavailable_reason(implementation) if implementation in BACKENDS else None
        if reason is not None:
            raise SkipCase(f"{implementation}: {reason}")

    def bind(self, implementation: str, data: Dataset) -> Thunk:
        """A zero-argument callable that runs this operation on ``data``."""
        if implementation in self.peers:
            return self.peers[implementation](data)
        return self.call(implementation, data)

    def bytes_read(self, data: Dataset) -> Optional[int]:
        """Bytes the operation must read from memory at least once, or None (``fit``)."""
        return None if self.input_nbytes is None else self.input_nbytes(data)

    def warm_up(self, implementation: str, data: Dataset) -> None:
        """Run once on a few rows: JIT compilation and thread start-up happen here, not in a timed call."""
        self.bind(implementation, data.head(WARMUP_ROWS))()


def _x_bytes(data: Dataset) -> int:
    return data.X.nbytes


# The python backend loops in the interpreter: about 0.2 s per cost_gradient at
# 10⁴ × 50, and a fit makes tens of passes. Its caps keep each call to seconds.
OPERATIONS = {
    operation.name: operation
    for operation in (
        Operation("sigmoid", _sigmoid_call, lambda data: data.z.nbytes, max_rows={"python": 10**6}),
        Operation("cost", _binary_kernel_call("cost"), _x_bytes, max_rows={"python": 10**5}),
        Operation(
            "gradient",
            _binary_kernel_call("gradient"),
            _x_bytes,
            peers={"numpy-two-pass": _numpy_two_pass_gradient},
            max_rows={"python": 10**5},
        ),
        Operation("cost_gradient", _binary_kernel_call("cost_gradient"), _x_bytes, max_rows={"python": 10**5}),
        Operation("softmax_cost_gradient", _softmax_call, _x_bytes, max_rows={"python": 10**3}),
        Operation("softmax_hessian_product", _softmax_hessian_product_call, _x_bytes, max_rows={"python": 10**3}),
        Operation("softmax_decision_function", _softmax_margins_call, _x_bytes, max_rows={"python": 10**3}),
        Operation("fit", _fit_call, None, peers={"sklearn": _sklearn_fit}, max_rows={"python": 10**4}),
    )
}
KERNEL_OPERATIONS = ("sigmoid", "cost", "gradient", "cost_gradient")


def implementations(operation_names) -> list:
    """Every implementation of at least one of the operations, in registry order."""
    return list(dict.fromkeys(name for op in operation_names for name in OPERATIONS[op].implementations()))


IMPLEMENTATIONS = implementations(OPERATIONS)
#: The implementations that are not fastlr backends.
PEERS = [name for name in IMPLEMENTATIONS if name not in BACKENDS]


def blas_threads(implementation: str) -> Optional[int]:
    """BLAS threads while ``implementation`` runs: what a fit on that backend uses
    (1 for the Numba backends, whose threads BLAS threads would compete with)."""
    return get_backend(implementation).blas_threads if implementation in BACKENDS else None


def _threaded_sum(data: Dataset) -> Thunk:
    """Σ X by row blocks, one block per core, summed on a thread each (NumPy
    releases the GIL while it reduces): a read of X that every core takes part in."""
    blocks = np.array_split(data.X, os.cpu_count() or 1)
    pool = ThreadPoolExecutor(len(blocks))  # its threads end when the callable is dropped
    return lambda: sum(pool.map(np.sum, blocks))


#: The roof: ways to read all of X once (BLAS gemv, NumPy's sum on one thread
#: and on every core: one core alone rarely saturates memory); the fastest sets
#: the roof.
READ_PROBES = {
    "X @ w": lambda data: partial(np.matmul, data.X, data.w),
    "X.sum()": lambda data: data.X.sum,
    "X.sum() threaded": _threaded_sum,
}


# -- time to optimum --------------------------------------------------------------
#: Rows of the warm-up fit before a time-to-optimum race: enough for every
#: compiled path a full fit takes (numba-parallel's per-thread passes start at
#: 2 × ``config.NUMBA_MIN_ROWS_PER_THREAD`` rows), so JIT compilation stays out
#: of the timed fits.
OPTIMUM_WARMUP_ROWS = 20_000


#: Informative features of a many-class race: make_classification needs 2^informative ≥ 2K
#: clusters (K = 10: 20 ≤ 1024); the binary race keeps its default of 2.
OPTIMUM_MULTICLASS_INFORMATIVE = 10


def make_optimum_problem(dtype: str = "float64", n_classes: int = 2) -> tuple:
    """(X, y) of ``make_classification(*OPTIMUM_SHAPE)`` (its quick shape in quick mode), X in
    ``dtype``; with ``n_classes`` > 2 a softmax problem with ``OPTIMUM_MULTICLASS_INFORMATIVE``
    informative features."""
    n_samples, n_features = QUICK_OPTIMUM_SHAPE if quick_mode() else OPTIMUM_SHAPE
    shape = {} if n_classes == 2 else dict(n_classes=n_classes, n_informative=OPTIMUM_MULTICLASS_INFORMATIVE)
    X, y = make_classification(n_samples=n_samples, n_features=n_features, random_state=SEED, **shape)
    return X.astype(dtype, copy=False), y


def _fastlr_solver(solver: str, X, y):
    return fit(X, y, backend=OPTIMUM_BACKEND, solver=solver, C=FIT_C, tol=FIT_TOL, max_iter=FIT_MAX_ITER)


def _sklearn_solver(solver: str, X, y, tol: float = FIT_TOL):
    return SklearnLogisticRegression(solver=solver, C=FIT_C, tol=tol, max_iter=FIT_MAX_ITER).fit(X, y)


def sklearnex_estimator():
    """scikit-learn-intelex's LogisticRegression class (oneDAL), the optional CPU peer
    (``pip install 'fastlr[peers]'``); :class:`SkipCase` when it is not installed."""
    try:
        from sklearnex.linear_model import LogisticRegression as IntelLogisticRegression
    except ImportError as error:
        raise SkipCase(f"scikit-learn-intelex is not installed ({error}); pip install 'fastlr[peers]'") from error
    return IntelLogisticRegression


def _sklearnex_lbfgs(X, y):
    return sklearnex_estimator()(solver="lbfgs", C=FIT_C, tol=FIT_TOL, max_iter=FIT_MAX_ITER).fit(X, y)


#: Solvers raced to the optimum; each maps (X, y) to a fitted model, or raises
#: :class:`SkipCase` when it cannot run here (a peer that is not installed).
OPTIMUM_SOLVERS = {
    "fastlr-auto": partial(_fastlr_solver, "auto"),
    "fastlr-newton-cg": partial(_fastlr_solver, "newton-cg"),
    "fastlr-lbfgs": partial(_fastlr_solver, "lbfgs"),
    "fastlr-newton": partial(_fastlr_solver, "newton"),
    "sklearn-lbfgs": partial(_sklearn_solver, "lbfgs"),
    "sklearn-newton-cholesky": partial(_sklearn_solver, "newton-cholesky"),
    "sklearnex-lbfgs": _sklearnex_lbfgs,
}


def reference_objective(X, y) -> float:
    """scikit-learn's best: C·Σℓ + ½‖w‖² at newton-cholesky's solution to ``REFERENCE_TOL`` (in float64)."""
    X = np.asarray(X, dtype=np.float64)
    model = _sklearn_solver("newton-cholesky", X, y, tol=REFERENCE_TOL)
    return sklearn_objective(X, y, model.coef_, model.intercept_, FIT_C)


def relative_gap(model, X, y, best: float) -> float:
    """(J(model) − J*) / |J*| with J scikit-learn's objective and J* :func:`reference_objective`."""
    return reference.relative_gap(sklearn_objective(X, y, model.coef_, model.intercept_, FIT_C), best)


# -- C chosen by cross-validation ----------------------------------------------------
#: LogisticRegressionCV's grid (``np.logspace(-4, 4, 10)``) and folds (``StratifiedKFold(5)``)
#: on make_classification(*CV_SHAPE, n_informative=CV_INFORMATIVE), three ways: fastlr's
#: warm-started path, scikit-learn's LogisticRegressionCV (its lbfgs, also a warm-started
#: path) and GridSearchCV over fastlr.LogisticRegression (a cold fit per C and fold).
#: At tol=1e-4 the neg-log-loss plateau of 200 000 rows is flat to ~1e-5 beyond C ≈ 0.01,
#: and each search's rounding of its fits picks a different C there; at tol=1e-6 all
#: three agree.
CV_SHAPE = (200_000, 100)
QUICK_CV_SHAPE = (1_500, 30)
CV_INFORMATIVE = 20
CV_CS = 10
CV_FOLDS = 5
CV_TOL = 1e-6
CV_SCORING = "neg_log_loss"
CV_MAX_ITER = 10_000


def make_cv_problem() -> tuple:
    """(X, y) of the cross-validation benchmark (its quick shape in quick mode), float64."""
    n_samples, n_features = QUICK_CV_SHAPE if quick_mode() else CV_SHAPE
    return make_classification(
        n_samples=n_samples, n_features=n_features, n_informative=CV_INFORMATIVE, random_state=SEED
    )


def _cv_grid():
    from sklearn.model_selection import StratifiedKFold

    return np.logspace(-4, 4, CV_CS), StratifiedKFold(CV_FOLDS)


def _fastlr_cv(X, y, backend: str = OPTIMUM_BACKEND):
    from fastlr.model_selection import LogisticRegressionCV

    Cs, folds = _cv_grid()
    model = LogisticRegressionCV(
        Cs=Cs, cv=folds, l1_ratios=(0.0,), scoring=CV_SCORING, tol=CV_TOL, max_iter=CV_MAX_ITER,
        use_legacy_attributes=False, backend=backend,
    ).fit(X, y)
    return model, float(model.C_)


def _sklearn_cv(X, y):
    from sklearn.linear_model import LogisticRegressionCV as SklearnLogisticRegressionCV

    Cs, folds = _cv_grid()
    model = SklearnLogisticRegressionCV(
        Cs=Cs, cv=folds, l1_ratios=(0.0,), scoring=CV_SCORING, tol=CV_TOL, max_iter=CV_MAX_ITER,
        use_legacy_attributes=False,
    ).fit(X, y)
    return model, float(model.C_)


def _fastlr_grid_search(X, y, backend: str = OPTIMUM_BACKEND):
    from sklearn.model_selection import GridSearchCV

    from fastlr.estimator import LogisticRegression

    Cs, folds = _cv_grid()
    search = GridSearchCV(
        LogisticRegression(backend=backend, tol=CV_TOL, max_iter=CV_MAX_ITER), {"C": Cs}, cv=folds, scoring=CV_SCORING
    ).fit(X, y)
    return search, float(search.best_params_["C"])


#: The searches compared; each maps (X, y) to (fitted search, selected C).
CV_SEARCHES = {
    "fastlr LogisticRegressionCV": _fastlr_cv,
    "scikit-learn LogisticRegressionCV": _sklearn_cv,
    "GridSearchCV(fastlr.LogisticRegression)": _fastlr_grid_search,
}
