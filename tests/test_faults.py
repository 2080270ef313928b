"""Hostile input and faults (issue 14): a clear error or an honest result, never a silent wrong one.

Sections follow the numbered items of the issue: a fit that does not complete
(2), honest convergence (4), solvers that cannot hang (5), weights (6),
kernel arguments (7), BLAS threads under concurrency (8), dask chunks without
rows (9), and the smaller items (10), then a property-based test over random
shapes, scales and weights.
"""

import copy
import math
import re
import threading
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

import fastlr
from fastlr import training
from fastlr.dispatch import BACKENDS
from fastlr.kernels.base import KernelInputError
from fastlr.solvers import SOLVERS
from tests.conftest import ALL_BACKENDS

pytestmark = pytest.mark.filterwarnings("ignore:solver=.*these parameters have no effect:UserWarning")


def _numpy_backend_class():
    return type(fastlr.get_backend("numpy"))


class FailingBackend(_numpy_backend_class()):
    """NumPy's kernels, raising ``error`` at evaluation number ``after`` (the fault to inject)."""

    summary = "a test backend that fails mid-fit"

    def __init__(self, error, after=3):
        self.error, self.after, self.calls = error, after, 0

    def _count(self):
        self.calls += 1
        if self.calls >= self.after:
            raise self.error

    def _cost_gradient(self, X, y, w, b, sample_weight):
        self._count()
        return super()._cost_gradient(X, y, w, b, sample_weight)

    def _softmax_cost_gradient(self, X, y, W, b, sample_weight):
        self._count()
        return super()._softmax_cost_gradient(X, y, W, b, sample_weight)


@pytest.fixture
def registered():
    names = []

    def register(name, backend):
        fastlr.register_backend(name, backend)
        names.append(name)

    yield register
    for name in names:
        fastlr.unregister_backend(name)


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _within(seconds, call):
    """Run ``call`` in a daemon thread; its exception, or a failure if it is still running after ``seconds``.

    A hung solver fails the test instead of hanging the suite.
    """
    outcome = {}

    def target():
        try:
            outcome["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"still running after {seconds} s: the solver loop is unbounded")
    return outcome


# -- 2. a fit that does not complete leaves the estimator exactly as it was ----------------------
def _fitted_state(model):
    return {name: copy.deepcopy(value) for name, value in vars(model).items() if name.endswith("_")}


def _assert_same_state(before, after):
    assert sorted(before) == sorted(after)
    for name, value in before.items():
        if isinstance(value, list):
            assert all(np.array_equal(a, b) for a, b in zip(value, after[name], strict=True)), name
        else:
            assert np.array_equal(value, after[name]), name


FAULTS = {
    # name: (parameters of the failing refit, the backend to register or None, the exception expected)
    "exception": (dict(backend="failing", solver="lbfgs"), lambda: FailingBackend(RuntimeError("disk on fire")),
                  RuntimeError),
    "keyboard-interrupt": (dict(backend="failing", solver="lbfgs"), lambda: FailingBackend(KeyboardInterrupt()),
                           KeyboardInterrupt),
    "divergence": (dict(backend="numpy", solver="gd", learning_rate=1e5, max_iter=100), None, fastlr.DivergenceError),
    "nan-in-X": (dict(backend="numpy"), None, ValueError),
}


def _wider_problem(nan=False):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((80, 5))
    if nan:
        X[7, 2] = np.nan
    return X, np.array(["a", "b", "c"])[rng.integers(0, 3, 80)]


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("fitted_before", [True, False], ids=["refit", "first-fit"])
def test_a_fit_that_fails_leaves_the_estimator_as_it_was(fault, fitted_before, cancer, registered):
    params, backend, error = FAULTS[fault]
    if backend is not None:
        registered("failing", backend())
    X, y = cancer
    model = fastlr.LogisticRegression(backend="numpy")
    if fitted_before:
        model.fit(X[:, :3], y)
        before, predictions = _fitted_state(model), model.predict_proba(X[:, :3])
    model.set_params(**params)
    new_X, new_y = _wider_problem(nan=fault == "nan-in-X")
    with pytest.raises(error):
        model.fit(new_X, new_y)
    if fitted_before:
        _assert_same_state(before, _fitted_state(model))
        np.testing.assert_array_equal(model.predict_proba(X[:, :3]), predictions)
        with pytest.raises(ValueError, match="5 features"):
            model.predict(_wider_problem()[0])  # the old model, not a mix that predicts on the new width
    else:
        assert _fitted_state(model) == {}
        with pytest.raises(NotFittedError):
            check_is_fitted(model)


def test_new_dataframe_columns_in_a_failed_refit_change_nothing(cancer):
    pandas = pytest.importorskip("pandas")
    X, y = cancer
    old = pandas.DataFrame(X[:, :3], columns=["radius", "texture", "perimeter"])
    model = fastlr.LogisticRegression(backend="numpy").fit(old, y)
    before = _fitted_state(model)
    new_X, new_y = _wider_problem()
    wider = pandas.DataFrame(new_X, columns=["radius", "texture", "perimeter", "area", "smoothness"])
    model.set_params(solver="gd", learning_rate=1e5, max_iter=100)
    with pytest.raises(fastlr.DivergenceError):
        model.fit(wider, new_y)
    _assert_same_state(before, _fitted_state(model))
    assert list(model.feature_names_in_) == ["radius", "texture", "perimeter"]
    np.testing.assert_array_equal(model.predict(old), fastlr.LogisticRegression(backend="numpy").fit(old, y).predict(old))


# -- 4. converged only when the optimality meets tol; advice that fits ---------------------------
def _timestamps(dtype=np.float64, m=2000):
    """A column of nanosecond timestamps (~1.7e18) beside an ordinary one."""
    rng = np.random.default_rng(0)
    t = 1.7e18 + rng.uniform(0, 3e16, m)
    x = rng.standard_normal(m)
    y = ((t - 1.7e18) / 3e16 + 0.3 * x + 0.3 * rng.standard_normal(m) > 0.5).astype(int)
    return np.column_stack([t, x]).astype(dtype), y


def _measured_optimality(message):
    return float(re.search(r"the optimality measure is ([0-9.e+-]+)", message).group(1))


@pytest.mark.parametrize("solver", ["lbfgs", "fista", "gd", "newton"])
def test_a_stall_on_badly_scaled_data_is_not_convergence(solver):
    X, y = _timestamps()
    with pytest.warns(ConvergenceWarning) as caught:
        fastlr.fit(X, y, backend="numpy", solver=solver)
    message = str(caught[0].message)
    assert _measured_optimality(message) > 1e-4
    assert "column 0 of X reaches 1.7" in message and "standardize the features" in message
    assert "float64" not in message  # the data is float64 already
    assert caught[0].filename == __file__  # at the caller's line


def test_newton_in_float32_on_timestamps_is_an_error_not_a_zero_coefficient():
    """The float32 Hessian overflows. A fallback to another solver would stall on the same
    data (first-order methods in float32 do), so the right answer is to stop and say why."""
    X, y = _timestamps(np.float32)
    for solver in ("newton", "newton-cg", "auto"):  # auto picks the dense Newton for two features
        with pytest.raises(FloatingPointError, match="Hessian is not finite.*standardize the features"):
            fastlr.fit(X, y, backend="numpy", solver=solver)
    with pytest.warns(ConvergenceWarning, match="standardize.*use float64 data"):
        fastlr.fit(X, y, backend="numpy", solver="lbfgs")


@pytest.mark.parametrize(
    "schedule, params, remedy",
    [("step", dict(decay_every=1), "raise decay_every"), ("exponential", dict(decay=1.0), "lower decay")],
)
def test_a_frozen_schedule_warns_with_its_remedy(schedule, params, remedy, cancer):
    X, y = cancer
    with pytest.warns(ConvergenceWarning) as caught:
        fastlr.fit(X, y, backend="numpy", solver="gd", batch_size=32, schedule=schedule, random_state=0, **params)
    message = str(caught[0].message)
    assert _measured_optimality(message) > 1e-4
    assert f"the {schedule!r} schedule had cut the learning rate" in message and remedy in message


def test_fista_does_not_claim_a_tolerance_below_rounding(cancer):
    X, y = cancer
    with pytest.warns(ConvergenceWarning, match="stalled") as caught:
        model = fastlr.fit(X, y, backend="numpy", solver="fista", tol=1e-12)
    message = str(caught[0].message)
    assert _measured_optimality(message) > 1e-12
    assert "may be finer than this problem can be solved to" in message
    assert "standardize" not in message  # the data is standardized
    assert model.n_iter_[0] < 1000


SETTINGS = [
    (solver, penalty, optimizer)
    for solver, spec in SOLVERS.items()
    for penalty in ("l2", "l1")
    if penalty in spec.penalties
    for optimizer in (["sgd", "nesterov", "adam"] if solver == "gd" else ["sgd"])
]


@pytest.mark.parametrize("solver, penalty, optimizer", SETTINGS)
def test_advice_never_names_what_is_already_in_use(solver, penalty, optimizer, cancer):
    X, y = cancer
    with pytest.warns(ConvergenceWarning) as caught:
        fastlr.fit(X, y, backend="numpy", solver=solver, penalty=penalty, optimizer=optimizer, max_iter=2,
                   tol=1e-12, C=0.5)
    message = str(caught[0].message)
    for named in re.findall(r"solver='(\w+)'", message.split(";", 1)[1]):
        assert named != solver, message
        assert penalty in SOLVERS[named].penalties, message  # a suggestion that can run this problem
    assert f"optimizer='{optimizer}'" not in message
    assert "schedule" not in message and "float64" not in message and "standardize" not in message


def test_warnings_point_at_the_callers_line(cancer):
    X, y = cancer
    with pytest.warns(UserWarning) as caught:
        fastlr.fit(X, y, backend="numpy", solver="lbfgs", batch_size=4, max_iter=1)
    assert {type(w.message) for w in caught} >= {UserWarning, ConvergenceWarning}
    assert all(w.filename == __file__ for w in caught), [(w.filename, w.lineno) for w in caught]


# -- 5. no solver loop can run unbounded ------------------------------------------------------
def _small():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 3))
    return X, (X[:, 0] > 0).astype(int)


HANGS = {
    "nan-class-weight": (lambda X, y: dict(class_weight={0: np.nan, 1: 1.0}), ValueError, "finite"),
    "inf-class-weight": (lambda X, y: dict(class_weight={0: np.inf, 1: 1.0}), ValueError, "finite"),
    "sample-weight-total-overflows": (lambda X, y: dict(sample_weight=np.full(len(y), 1e307)), ValueError,
                                      "overflows"),
    "class-weight-total-overflows": (lambda X, y: dict(class_weight={0: 1e307, 1: 1e307}), ValueError, "overflows"),
    "X-times-1e300": (lambda X, y: dict(scale=1e300), FloatingPointError, "standardize"),
}


@pytest.mark.parametrize("penalty", ["l1", "l2"])
@pytest.mark.parametrize("case", HANGS)
def test_fista_ends_quickly_with_a_clear_error(case, penalty):
    X, y = _small()
    make, error, message = HANGS[case]
    arguments = make(X, y)
    X = X * arguments.pop("scale", 1.0)
    outcome = _within(30, lambda: fastlr.fit(X, y, backend="numpy", solver="fista", penalty=penalty, **arguments))
    assert isinstance(outcome.get("error"), error), outcome
    assert message in str(outcome["error"])


@pytest.mark.parametrize("solver", ["fista", "lbfgs", "newton", "gd"])
def test_a_warm_start_from_nan_coefficients_is_a_clear_error(solver):
    X, y = _small()
    model = fastlr.LogisticRegression(backend="numpy", solver=solver, warm_start=True).fit(X, y)
    model.coef_ = np.full_like(model.coef_, np.nan)
    outcome = _within(30, lambda: model.fit(X, y))
    assert isinstance(outcome.get("error"), fastlr.DivergenceError), outcome
    assert "not finite at the starting point" in str(outcome["error"])


def test_fista_backtracking_is_bounded():
    from fastlr.solvers import fista

    X, y = _small()
    objective = fastlr.objective.Objective(fastlr.get_backend("numpy"), X, y.astype(float), None, C=1.0)
    calls = {"n": 0}
    evaluate = objective.value_and_gradient

    def nan_after_the_start(theta):
        calls["n"] += 1
        value, gradient = evaluate(theta)
        return (value if calls["n"] <= 1 else np.float64(np.nan)), gradient

    objective.value_and_gradient = nan_after_the_start
    record = fastlr.solvers.IterationRecord(objective, fastlr.solvers.SolverOptions())
    outcome = _within(30, lambda: fista.minimize_fista(objective, np.zeros(4), fastlr.solvers.SolverOptions(), record))
    assert isinstance(outcome.get("error"), FloatingPointError), outcome
    assert calls["n"] <= fista.MAX_BACKTRACKS + 2


# -- 6. weights: as strict as sample_weight, on every path --------------------------------------
BAD_CLASS_WEIGHTS = {
    "negative": ({0: -1.0, 1: 1.0}, "finite and non-negative"),
    "nan": ({0: np.nan, 1: 1.0}, "finite and non-negative"),
    "inf": ({0: 1.0, 1: np.inf}, "finite and non-negative"),
    "all-zero": ({0: 0.0, 1: 0.0}, "every class a zero weight"),
    "total-overflows": ({0: 1e308, 1: 1e308}, "overflows"),
    "absent-class": ({0: 1.0, 7: 2.0}, r"names classes that are not in y: \[7\]"),
}


def _fit_through(path, X, y, **params):
    if path == "estimator":
        return fastlr.LogisticRegression(backend="numpy", **params).fit(X, y)
    if path == "fastlr.fit":
        return fastlr.fit(X, y, backend="numpy", **params)
    da = pytest.importorskip("dask.array")
    return fastlr.LogisticRegression(**params).fit(da.from_array(X, chunks=(50, -1)), da.from_array(y, chunks=50))


@pytest.mark.parametrize("path", ["estimator", "fastlr.fit", "dask"])
@pytest.mark.parametrize("case", BAD_CLASS_WEIGHTS)
def test_bad_class_weights_are_rejected_on_every_path(case, path):
    X, y = _small()
    class_weight, message = BAD_CLASS_WEIGHTS[case]
    with pytest.raises(ValueError, match=message):
        _fit_through(path, X, y, class_weight=class_weight)


@pytest.mark.parametrize("path", ["estimator", "fastlr.fit", "dask"])
def test_a_sample_weight_total_that_overflows_is_rejected_on_every_path(path):
    X, y = _small()
    if path == "estimator":
        call = lambda: fastlr.LogisticRegression(backend="numpy").fit(X, y, sample_weight=np.full(len(y), 1e307))  # noqa: E731
    elif path == "fastlr.fit":
        call = lambda: fastlr.fit(X, y, backend="numpy", sample_weight=np.full(len(y), 1e307))  # noqa: E731
    else:
        da = pytest.importorskip("dask.array")
        call = lambda: fastlr.LogisticRegression().fit(  # noqa: E731
            da.from_array(X, chunks=(50, -1)), y, sample_weight=da.from_array(np.full(len(y), 1e307), chunks=50))
    with pytest.raises(ValueError, match="overflows"):
        call()


def test_class_weights_that_overflow_float32_are_rejected():
    X, y = _small()
    with pytest.raises(ValueError, match="overflow float32"):
        fastlr.fit(X.astype(np.float32), y, backend="numpy", class_weight={0: 1e39, 1: 1.0})


# -- 7. kernel arguments are checked before compiled code runs ----------------------------------
@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_very_long_coefficients_are_a_clean_error_on_every_backend(backend):
    kernels = fastlr.get_backend(backend)
    X, y = np.ones((8, 3)), np.zeros(8)
    long_w, long_W = np.ones(1_000_000), np.ones((2, 1_000_000))
    calls = {
        "decision_function": lambda: kernels.decision_function(X, long_w, 0.0),
        "predict_proba": lambda: kernels.predict_proba(X, long_w, 0.0),
        "cost": lambda: kernels.cost(X, y, long_w, 0.0),
        "cost_gradient": lambda: kernels.cost_gradient(X, y, long_w, 0.0),
        "cost_gradient_hessian": lambda: kernels.cost_gradient_hessian(X, y, long_w, 0.0),
        "cost_gradient_curvature": lambda: kernels.cost_gradient_curvature(X, y, long_w, 0.0),
        "softmax decision_function": lambda: kernels.decision_function(X, long_W, np.zeros(2)),
        "softmax_cost_gradient": lambda: kernels.softmax_cost_gradient(X, y.astype(np.int64), long_W, np.zeros(2)),
        "hessian_product": lambda: kernels.hessian_product(X, np.ones(8), long_w, 0.0),
    }
    for what, call in calls.items():
        with pytest.raises(KernelInputError):
            call()
            pytest.fail(f"{backend}: {what} accepted a w of 10⁶ entries for 3 columns")


@pytest.mark.parametrize("backend", [name for name in ("numba", "numba-parallel") if name in BACKENDS])
@pytest.mark.parametrize("labels", [[0, 1, 5], [0, -1, 1]], ids=["above", "negative"])
def test_numba_softmax_refuses_labels_outside_the_classes(backend, labels):
    if BACKENDS[backend].unavailable_reason():
        pytest.skip(BACKENDS[backend].unavailable_reason())
    kernels = fastlr.get_backend(backend)
    X, W, b = np.ones((3, 2)), np.zeros((2, 2)), np.zeros(2)
    y = np.array(labels, dtype=np.int64)
    for function in ("softmax_cost", "softmax_cost_gradient", "softmax_cost_gradient_probabilities"):
        with pytest.raises(KernelInputError, match="class indices y must lie in 0..1"):
            getattr(kernels, function)(X, y, W, b)


# -- 8. BLAS thread limits are restored under concurrent fits ----------------------------------
class ProcessWideBlas:
    """A stand-in for threadpoolctl's controller over a BLAS whose thread count is one
    number for the whole process: ``limit`` saves what is there and sets the limit;
    its limiter puts the saved value back. Each limiter on its own, entered
    enter-enter-leave-leave, would leave the second one's saved 1 behind."""

    def __init__(self, num_threads):
        self.num_threads = num_threads

    def limit(self, limits):
        saved, self.num_threads = self.num_threads, limits
        blas = self

        class Limiter:
            def restore_original_limits(self):
                blas.num_threads = saved

        return Limiter()


def _overlapping_fits(registered, threads_now):
    """Two fits in two threads, forced into the order: first enters its BLAS limit,
    second enters, first leaves, second leaves. Returns the thread counts each saw inside."""
    first_inside, second_inside, first_done = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    class Overlapping(_numpy_backend_class()):
        blas_threads = 1

        def __init__(self, role):
            self.role = role

        def _cost_gradient(self, X, y, w, b, sample_weight):
            if self.role not in seen:
                seen[self.role] = threads_now()
                if self.role == "first":
                    first_inside.set()
                    assert second_inside.wait(30)
                else:
                    second_inside.set()
                    assert first_done.wait(30)
            return super()._cost_gradient(X, y, w, b, sample_weight)

    registered("overlap-first", Overlapping("first"))
    registered("overlap-second", Overlapping("second"))
    X, y = _small()
    errors = []

    def fit(backend, done=None):
        try:
            fastlr.fit(X, y, backend=backend, solver="lbfgs")
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            if done is not None:
                done.set()

    first = threading.Thread(target=fit, args=("overlap-first", first_done))
    second = threading.Thread(target=fit, args=("overlap-second",))
    first.start()
    assert first_inside.wait(30)
    second.start()
    first.join(60)
    second.join(60)
    assert not errors, errors
    return seen


def test_two_fits_at_once_restore_a_process_wide_blas_setting(registered, monkeypatch):
    from fastlr import threads

    blas = ProcessWideBlas(num_threads=4)
    monkeypatch.setattr(threads, "_controller", blas)
    seen = _overlapping_fits(registered, lambda: blas.num_threads)
    assert seen == {"first": 1, "second": 1}  # both ran limited
    assert blas.num_threads == 4  # and the process got its 4 threads back


def test_two_fits_at_once_leave_the_real_blas_as_it_was(registered):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    controller = threadpoolctl.ThreadpoolController().select(user_api="blas")
    if not controller.lib_controllers:
        pytest.skip("no BLAS library that threadpoolctl can control")
    original = [lib["num_threads"] for lib in controller.info()]
    _overlapping_fits(registered, lambda: [lib["num_threads"] for lib in controller.info()])
    assert [lib["num_threads"] for lib in controller.info()] == original


def test_the_last_to_leave_restores_blas_while_the_first_thread_still_runs():
    """threadpoolctl ≥ 3.8 lets only the thread that first changed OpenBLAS's shared pool change
    it again while that thread is alive. The first limit here is set on a thread that outlives
    it; the restore comes from another thread: BLAS must get its threads back all the same."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from fastlr.threads import blas_threads_limited

    controller = threadpoolctl.ThreadpoolController().select(user_api="blas")
    if not controller.lib_controllers:
        pytest.skip("no BLAS library that threadpoolctl can control")
    original = [lib["num_threads"] for lib in controller.info()]
    first_in, second_in, first_out, finish = (threading.Event() for _ in range(4))

    def first():
        with blas_threads_limited(1):
            first_in.set()
            assert second_in.wait(30)
        first_out.set()
        finish.wait(30)  # alive until the test has read BLAS back

    def second():
        assert first_in.wait(30)
        with blas_threads_limited(1):
            second_in.set()
            assert first_out.wait(30)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    threads[1].join(60)
    try:
        assert [lib["num_threads"] for lib in controller.info()] == original
    finally:
        finish.set()
        threads[0].join(60)


# -- 9. dask chunks without rows ---------------------------------------------------------------
@pytest.fixture
def chunks_with_empty_ones():
    da = pytest.importorskip("dask.array")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 3))
    y = rng.integers(0, 3, 300)
    rows = (100, 0, 150, 0, 50)
    return X, y, da.from_array(X, chunks=(rows, 3)), da.from_array(y, chunks=(rows,))


@pytest.mark.parametrize("params", [dict(solver="lbfgs"), dict(solver="newton", multi_class="ovr"),
                                    dict(solver="fista", penalty="l1"), dict(solver="lbfgs", class_weight="balanced")])
def test_fitting_dask_chunks_without_rows(chunks_with_empty_ones, params):
    X, y, X_chunked, y_chunked = chunks_with_empty_ones
    weights = np.linspace(0.5, 2.0, len(y))
    chunked = fastlr.LogisticRegression(**params).fit(X_chunked, y_chunked, sample_weight=weights)
    in_memory = fastlr.LogisticRegression(backend="numpy", **params).fit(X, y, sample_weight=weights)
    np.testing.assert_allclose(chunked.coef_, in_memory.coef_, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("method", ["predict", "predict_proba", "predict_log_proba", "decision_function"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_predicting_dask_chunks_without_rows(chunks_with_empty_ones, method, n_classes):
    X, y, X_chunked, _ = chunks_with_empty_ones
    model = fastlr.LogisticRegression(backend="numpy").fit(X, y % n_classes)
    lazy = getattr(model, method)(X_chunked)
    computed = lazy.compute()
    assert computed.shape == lazy.shape
    np.testing.assert_array_equal(computed, getattr(model, method)(X))


# -- 10. the smaller items ----------------------------------------------------------------------
@pytest.mark.parametrize("backend", ALL_BACKENDS)
@pytest.mark.parametrize("z", [17.0, 37.0, 50.0, 700.0])
def test_the_loss_of_a_confident_example_is_exact(backend, z):
    """ℓ = log(1 + e^{−z}) for y = 1 at margin z (and for y = 0 at −z): 4e-8 relative
    error at z = 17 and 0 instead of 8.5e-17 at z = 37 before the fix. Reference:
    ``math.log1p(math.exp(-z))``, exact to a rounding in double precision."""
    kernels = fastlr.get_backend(backend)
    X = np.array([[1.0], [1.0]])
    reference = math.log1p(math.exp(-z))
    for labels, w in (([1.0, 1.0], z), ([0.0, 0.0], -z)):
        y = np.array(labels)
        for function in ("cost", "cost_gradient", "cost_gradient_hessian", "cost_gradient_curvature"):
            result = getattr(kernels, function)(X, y, np.array([w]), 0.0)
            cost = float(result[0] if isinstance(result, tuple) else result)
            assert cost == pytest.approx(reference, rel=1e-14, abs=0), (function, labels)


def test_one_vs_rest_probabilities_when_every_margin_underflows():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((90, 2))
    y = rng.integers(0, 3, 90)
    model = fastlr.fit(X, y, backend="numpy", multi_class="ovr")
    sigma = 1 / (1 + np.exp(-model.decision_function(X)))
    expected = sigma / sigma.sum(axis=1, keepdims=True)  # scikit-learn's formula, where σ does not underflow
    np.testing.assert_allclose(model.predict_proba(X), expected, rtol=1e-12)
    np.testing.assert_allclose(model.predict_log_proba(X), np.log(expected), rtol=1e-12, atol=1e-14)
    shifted = copy.deepcopy(model)
    shifted.intercept_ = model.intercept_ - 1000.0  # every margin below −745: every σ(z_k) is 0 in float64
    assert np.all(shifted.decision_function(X) < -745)
    # σ(z_k) ≈ e^{z_k} there, so the normalized σ is the softmax of the margins: a shift by 1000 changes nothing.
    np.testing.assert_allclose(shifted.predict_proba(X), _softmax(model.decision_function(X)), rtol=1e-9)
    assert np.all(np.isfinite(shifted.predict_log_proba(X)))


def _softmax(Z):
    return np.exp(Z - np.logaddexp.reduce(Z, axis=1, keepdims=True))


@pytest.mark.parametrize(
    "params, named",
    [
        (dict(solver="lbfgs", batch_size=8), "batch_size=8 (read only with solver='gd')"),
        (dict(solver="newton", optimizer="adam"), "optimizer='adam' (read only with solver='gd')"),
        (dict(solver="lbfgs", learning_rate=0.1), "learning_rate=0.1"),
        (dict(solver="gd", decay=0.5), "decay=0.5 (read only with solver='gd' with schedule='time' or"),
        (dict(solver="gd", schedule="time", decay_every=3), "decay_every=3"),
        (dict(solver="gd", n_iter_no_change=9), "n_iter_no_change=9"),
        (dict(solver="gd", batch_size=16, validation_fraction=0.3), "validation_fraction=0.3"),
    ],
)
def test_parameters_that_have_no_effect_warn(params, named, cancer):
    X, y = cancer
    with pytest.warns(UserWarning, match="these parameters have no effect here") as caught:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fastlr.fit(X, y, backend="numpy", max_iter=5, random_state=0, **params)
    assert any(named in str(w.message) for w in caught), [str(w.message) for w in caught]


@pytest.mark.parametrize("params", [dict(penalty="l1", l1_ratio=1.0, solver="fista"), dict(penalty="l2", l1_ratio=0.0),
                                    dict(solver="gd", schedule="step", decay_every=5),
                                    dict(solver="gd", batch_size=16, n_iter_no_change=3, random_state=0)])
def test_parameters_that_are_read_do_not_warn(params, cancer):
    X, y = cancer
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        fastlr.fit(X, y, backend="numpy", max_iter=5, **params)


def test_a_fit_intercept_string_is_refused():
    X, y = _small()
    with pytest.raises(ValueError, match="'fit_intercept' parameter"):
        fastlr.fit(X, y, backend="numpy", fit_intercept="False")


def test_newton_refuses_a_hessian_that_does_not_fit_in_memory(monkeypatch):
    monkeypatch.setattr(training.memory, "available_bytes", lambda: 10_000_000)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 600))
    y = np.arange(20) % 2
    with pytest.raises(MemoryError, match=r"601 x 601 Hessian of 2.89 MB, 4 copies .* 10 MB .* use solver='newton-cg' or 'lbfgs'"):
        fastlr.fit(X, y, backend="numpy", solver="newton")
    fastlr.fit(X, y, backend="numpy", solver="lbfgs")  # the advice works


def test_newton_asks_for_free_memory_only_for_a_hessian_that_could_matter(monkeypatch):
    asked = []
    monkeypatch.setattr(training.memory, "available_bytes", lambda: asked.append(True) or 10_000_000)
    X, y = _small()
    fastlr.fit(X, y, backend="numpy", solver="newton")  # a few kB of Hessian copies
    assert not asked
    rng = np.random.default_rng(0)
    fastlr.fit(rng.standard_normal((20, 200)), np.arange(20) % 2, backend="numpy", solver="newton", C=0.1)
    assert asked  # 4 x 201² float64 = 1.3 MB


# -- a property: finite result or clear error, never a silent NaN model or a false "converged" ------
def _sigmoid(z):
    return np.exp(-np.logaddexp(0, -z))


def _optimality(model, X, y, sample_weight):
    """The max-norm of the gradient of the mean L2 objective at the fitted model, in float64,
    computed here from the formulas (one row of coef_ per sub-problem)."""
    X = X.astype(np.float64)
    s = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    total = s.sum()
    classes = model.classes_
    C = model.C
    penalty = 0.0 if model.penalty is None else 1.0 / (C * total)
    coef, intercept = model.coef_.astype(np.float64), model.intercept_.astype(np.float64)
    if len(classes) > 2 and model.multi_class != "ovr":
        Z = X @ coef.T + intercept
        P = np.exp(Z - np.logaddexp.reduce(Z, axis=1, keepdims=True))
        R = (P - (y[:, None] == classes[None, :])) * s[:, None] / total
        gradient = [R.T @ X + penalty * coef, R.sum(axis=0) if model.fit_intercept else np.zeros(0)]
        return max(np.abs(g).max() if g.size else 0.0 for g in gradient)
    targets = [classes[1]] if len(classes) == 2 else list(classes)
    worst = 0.0
    for row, target in enumerate(targets):
        r = (_sigmoid(X @ coef[row] + intercept[row]) - (y == target)) * s / total
        worst = max(worst, np.abs(X.T @ r + penalty * coef[row]).max(), abs(r.sum()) if model.fit_intercept else 0.0)
    return worst


@st.composite
def problems(draw):
    m = draw(st.integers(2, 60))
    n = draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    decades = draw(st.lists(st.floats(-6, 6), min_size=n, max_size=n))
    X = rng.standard_normal((m, n)) * 10.0 ** np.array(decades)
    n_classes = draw(st.sampled_from([2, 3]))
    y = rng.integers(0, n_classes, m)
    y[: min(m, n_classes)] = np.arange(min(m, n_classes))  # every class present when m allows
    weights = draw(st.sampled_from(["none", "uniform", "with-zeros", "huge"]))
    sample_weight = {
        "none": None,
        "uniform": rng.uniform(0.1, 10, m),
        "with-zeros": np.where(rng.random(m) < 0.3, 0.0, rng.uniform(0.1, 3, m)),
        "huge": rng.uniform(1e100, 1e200, m),
    }[weights]
    params = dict(
        solver=draw(st.sampled_from(["auto", "lbfgs", "newton", "gd", "fista"])),
        penalty=draw(st.sampled_from(["l2", None, "l1"])),
        C=draw(st.sampled_from([1e-3, 1.0, 1e3])),
        multi_class=draw(st.sampled_from(["auto", "ovr"])),
        max_iter=draw(st.sampled_from([5, 200])),
        tol=draw(st.sampled_from([1e-3, 1e-6])),
        backend=draw(st.sampled_from([name for name in ("numpy", "numba") if fastlr.dispatch.is_usable(name)])),
    )
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    return X.astype(dtype), y, sample_weight, params


#: What "a clear error" may be: bad input or settings, an overflow named as such, Newton's Hessian too big.
CLEAR_ERRORS = (ValueError, ArithmeticError, MemoryError)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_any_problem_ends_in_a_finite_model_or_a_clear_error(problem):
    X, y, sample_weight, params = problem
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = fastlr.fit(X, y, sample_weight=sample_weight, **params)
        except CLEAR_ERRORS as exc:
            assert str(exc).strip(), f"{type(exc).__name__} without a message"
            event(f"error: {type(exc).__name__}")
            return
    assert np.all(np.isfinite(model.coef_)) and np.all(np.isfinite(model.intercept_)), "a NaN model, silently"
    assert np.all(np.isfinite(model.predict_proba(X)))
    claimed_converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    event("converged" if claimed_converged else "ConvergenceWarning")
    if claimed_converged and model.penalty != "l1" and np.all(np.isfinite(X.astype(np.float64) ** 2)):
        measured = _optimality(model, X, y, sample_weight)
        # The kernels' gradient is exact to the rounding of a residual σ(z) − y in X's dtype, times |x|.
        rounding = 4 * np.finfo(X.dtype).eps * max(1.0, float(np.abs(X).max()))
        assert measured <= 1.05 * params["tol"] + rounding, (measured, params)


def test_separable_float32_fit_whose_margins_float32_cannot_resolve_warns():
    """Hypothesis's find: penalty=None on two separable float32 rows, Newton-CG (numpy backend;
    numba's Newton-CG stops earlier, at a point that meets tol in float64 too). The coefficients
    grow to ~1e11, every float32 residual rounds to zero and the float32 gradient meets tol,
    while the float64 gradient at that point is 28: the fit must not pass as converged.
    The dense Newton (what ``auto`` picks for two features) stops at a point that meets tol
    in float64, and says nothing."""
    backend = "numpy"
    X = np.array([[34.55842, 82.16181], [33.04371, -130.31572]], dtype=np.float32)
    y, sample_weight = np.array([0, 1]), np.array([4.29093184, 8.29425568])
    with pytest.warns(ConvergenceWarning, match="float32 rounds the margins .* cannot be trusted"):
        model = fastlr.fit(X, y, sample_weight=sample_weight, penalty=None, tol=1e-6, backend=backend,
                           solver="newton-cg")
    assert np.abs(model.coef_).sum() > 1e6  # the growth the warning names
    assert _optimality(model, X, y, sample_weight) > 1.0  # and the float64 gradient is far from zero
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = fastlr.fit(X, y, sample_weight=sample_weight, penalty=None, tol=1e-6, backend=backend)
    assert model.solver_ == "newton" and _optimality(model, X, y, sample_weight) <= 1e-6


def test_well_posed_float32_fit_does_not_warn_about_margins():
    """The margin check stays silent on an ordinary penalized float32 fit (breast cancer, standardized)."""
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        fastlr.fit(X, y, backend="numpy", tol=1e-4)
