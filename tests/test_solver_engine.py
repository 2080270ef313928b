"""The solver engine: L-BFGS against SciPy's, its device-side decisions run on NumPy, Newton-CG
with a sampled Hessian, the line search, the stall rule, the Hessian-vector products of the
objective and the choice of ``solver="auto"``."""

import warnings

import numpy as np
import pytest
from scipy.optimize import minimize
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression
from sklearn.preprocessing import StandardScaler

import fastlr
from fastlr import config
from fastlr.bench.reference import relative_gap, sklearn_objective
from fastlr.dispatch import get_backend
from fastlr.objective import Objective
from fastlr.solvers import SOLVERS, SolverOptions, auto_solver, solve
from fastlr.solvers.line_search import accepted, shorter_step
from fastlr.solvers.record import IterationRecord
from tests.conftest import backend_params

BACKENDS = backend_params(["numpy", "numba-parallel", "cupy"])


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def binary_objective(breast_cancer, backend="numpy", dtype=np.float64, **params):
    X, y = breast_cancer
    kernels = get_backend(backend)
    X = kernels.to_device(np.ascontiguousarray(X, dtype=dtype))
    return Objective(kernels, X, kernels.to_device(y.astype(dtype)), None, **params)


# -- L-BFGS ------------------------------------------------------------------------------
def test_lbfgs_agrees_with_scipy_on_the_same_objective(breast_cancer):
    """The same F from the same θ₀ to the same tolerance: SciPy's L-BFGS-B and fastlr's
    array-namespace L-BFGS reach the same point and about the same number of iterations."""
    objective = binary_objective(breast_cancer)
    tol = 1e-7
    scipy_result = minimize(
        lambda theta: tuple(np.asarray(part, dtype=float) for part in objective.value_and_gradient(theta)),
        np.zeros(objective.n_params), jac=True, method="L-BFGS-B",
        options={"gtol": tol, "ftol": 0.0, "maxiter": 10_000, "maxcor": config.LBFGS_MEMORY},
    )
    ours = solve(SOLVERS["lbfgs"], objective, np.zeros(objective.n_params), SolverOptions(tol=tol, max_iter=10_000))
    assert ours.converged and np.abs(scipy_result.jac).max() <= tol
    assert abs(relative_gap(ours.cost_history[-1], scipy_result.fun)) < 1e-9
    np.testing.assert_allclose(ours.theta, scipy_result.x, rtol=1e-4, atol=1e-5)
    assert abs(ours.n_iter - scipy_result.nit) <= 0.2 * scipy_result.nit


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_lbfgs_with_decisions_on_the_device_reaches_the_same_optimum(breast_cancer, dtype):
    """``check_every > 1`` (a GPU's setting) keeps every accept/shorten decision in ``xp.where``
    and reads back only every 10 iterations: on NumPy that path must give the host path's optimum,
    with rejected steps recorded as iterations that leave F where it was."""
    objective = binary_objective(breast_cancer, dtype=dtype)
    tol = 1e-8 if dtype == np.float64 else 1e-5
    options = SolverOptions(tol=tol, max_iter=10_000)
    on_host = solve(SOLVERS["lbfgs"], objective, objective.zeros(), options, check_every=1)
    on_device = solve(SOLVERS["lbfgs"], objective, objective.zeros(), options, check_every=10)
    assert on_host.converged and on_device.converged
    assert on_device.n_iter % 10 == 0 and len(on_device.cost_history) == on_device.n_iter + 1
    assert np.all(np.diff(on_device.cost_history) <= 1e-6 * on_device.cost_history[0])
    assert relative_gap(on_device.cost_history[-1], on_host.cost_history[-1]) < (1e-10 if dtype == np.float64 else 1e-6)


def test_float32_lbfgs_converges_where_values_no_longer_resolve_decreases(breast_cancer):
    """In float32 F has 7 digits: the approximate Wolfe test accepts steps by their gradients,
    so L-BFGS converges without a ConvergenceWarning and without extra evaluations."""
    X, y = breast_cancer
    calls = []
    kernels = get_backend("numpy")
    original = type(kernels)._cost_gradient

    def counted(self, *args):
        calls.append(1)
        return original(self, *args)

    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        type(kernels)._cost_gradient = counted
        try:
            model = fastlr.fit(X.astype(np.float32), y, backend="numpy", solver="lbfgs", tol=2e-6)
        finally:
            type(kernels)._cost_gradient = original
    assert len(calls) <= model.n_iter_[0] + 3


# -- Newton-CG on a row sample ----------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("problem", ["binary", "softmax"])
def test_newton_cg_with_a_sampled_hessian_reaches_the_optimum(problem, backend, breast_cancer, digits, monkeypatch):
    """With few rows per parameter allowed, the Hessian (and the starting point) come from a row
    sample: the Hessian products must run on the sample's rows only, and the fit still reach
    scikit-learn's optimum."""
    X, y = breast_cancer if problem == "binary" else digits
    n_params = (X.shape[1] + 1) * (1 if problem == "binary" else 10)
    rows_per_parameter = 8 if problem == "binary" else 2  # 248 of 569 rows, 1300 of 1797
    monkeypatch.setattr(config, "NEWTON_CG_HESSIAN_ROWS_PER_PARAMETER", rows_per_parameter)
    monkeypatch.setattr(config, "NEWTON_CG_HESSIAN_SAMPLE_FACTOR", 1)
    kernels = get_backend(backend)
    hook = "_hessian_product" if problem == "binary" else "_softmax_hessian_product"
    rows_seen = []
    original = getattr(type(kernels), hook)

    def spied(self, X_, *args):
        rows_seen.append(X_.shape[0])
        return original(self, X_, *args)

    monkeypatch.setattr(type(kernels), hook, spied)
    model = fastlr.fit(X, y, backend=backend, solver="newton-cg", tol=1e-9, max_iter=1000)
    assert rows_seen and set(rows_seen) == {rows_per_parameter * n_params}
    reference = SklearnLogisticRegression(solver="newton-cg", tol=1e-10, max_iter=10_000).fit(X, y)
    best = sklearn_objective(X, y, reference.coef_, reference.intercept_)
    assert abs(relative_gap(sklearn_objective(X, y, model.coef_, model.intercept_), best)) < 1e-8
    assert len(model.cost_history_) == model.n_iter_[0] + 1
    assert model.cost_history_[-1] <= model.cost_history_[0]


def test_row_sample_is_memoized_seeded_and_the_whole_objective_when_small(breast_cancer):
    objective = binary_objective(breast_cancer)
    assert objective.row_sample(objective.n_samples) is objective
    sample = objective.row_sample(100)
    assert sample is objective.row_sample(100) and sample.n_samples == 100
    again = binary_objective(breast_cancer).row_sample(100)
    np.testing.assert_array_equal(sample.X, again.X)
    assert sample.l2_strength == objective.l2_strength  # the full problem's penalty, as a mini-batch


# -- the objective's Hessian-vector products ------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("n_classes", [1, 3])
def test_objective_hessian_product_matches_differences_of_the_gradient(backend, fit_intercept, n_classes,
                                                                       breast_cancer):
    """∇²F v (penalty included) against central differences of ∇F along v."""
    X, y = breast_cancer
    X = X[:200, :6]
    labels = (y[:200] if n_classes == 1 else np.random.default_rng(2).integers(0, 3, 200)).astype(float)
    kernels = get_backend(backend)
    weights = np.random.default_rng(3).uniform(0.5, 2.0, 200)
    target = labels if n_classes == 1 else labels.astype(np.int64)
    objective = Objective(
        kernels, kernels.to_device(np.ascontiguousarray(X)), kernels.to_device(target), kernels.to_device(weights),
        n_classes=n_classes, C=0.3, fit_intercept=fit_intercept,
    )
    rng = np.random.default_rng(4)
    theta = kernels.to_device(0.3 * rng.standard_normal(objective.n_params))
    v = kernels.to_device(rng.standard_normal(objective.n_params))
    _, _, curvature = objective.value_gradient_curvature(theta)
    analytic = np.asarray(kernels.to_host(objective.hessian_product(curvature, v)))
    eps = 1e-6
    gradient = [np.asarray(kernels.to_host(objective.value_and_gradient(theta + sign * eps * v)[1])) for sign in (1, -1)]
    np.testing.assert_allclose(analytic, (gradient[0] - gradient[1]) / (2 * eps), rtol=1e-6, atol=1e-9)


# -- the line search and the stop rules -------------------------------------------------------------
def test_line_search_accepts_by_gradients_below_the_rounding_of_values():
    xp = np
    value, slope = np.float64(1.0), np.float64(-1e-9)
    # a value 1e-13 higher (rounding) with a slope that fell by half: accepted by approximate Wolfe
    assert accepted(xp, value, slope, value + 1e-13, 0.5 * slope, 1.0, noise=1e-12)
    # the same with the slope grown positive beyond (2δ − 1)φ'(0): overshot, rejected
    assert not accepted(xp, value, slope, value + 1e-13, -0.9 * slope, 1.0, noise=1e-12)
    # a real increase is rejected whatever the slope
    assert not accepted(xp, value, slope, value + 1e-3, 0.5 * slope, 1.0, noise=1e-12)
    assert not accepted(xp, value, slope, np.float64(np.nan), 0.5 * slope, 1.0, noise=1e-12)
    assert accepted(xp, value, np.float64(-1.0), value - 0.5, np.float64(0.0), 1.0, noise=0.0)  # Armijo


def test_shorter_step_is_the_secant_zero_kept_between_a_tenth_and_a_half():
    xp = np
    # φ'(0) = −1, φ'(1) = 3: φ' vanishes at 0.25
    assert float(shorter_step(xp, -1.0, 2.0, 3.0, 1.0)) == pytest.approx(0.25)
    assert float(shorter_step(xp, -1.0, 2.0, 1000.0, 1.0)) == pytest.approx(0.1)
    assert float(shorter_step(xp, -1.0, 2.0, -0.5, 1.0)) == pytest.approx(0.5)  # φ' still negative
    assert float(shorter_step(xp, -1.0, np.inf, np.nan, 1.0)) == pytest.approx(0.1)


def test_a_flat_cost_with_a_shrinking_gradient_is_not_a_stall(breast_cancer):
    objective = binary_objective(breast_cancer)
    record = IterationRecord(objective, SolverOptions(tol=1e-12, max_iter=100))
    record.start(0.5, 1e-3)
    record.step(0.5, 1e-4)
    assert not record.done  # F at its rounding, the gradient still falling
    record.step(0.5, 2e-4)
    assert record.stop_reason == "stalled"


# -- solver="auto" -----------------------------------------------------------------------------------
def test_auto_solver_follows_the_measured_crossovers(monkeypatch):
    monkeypatch.setattr(config, "AUTO_NEWTON_CG_MAX_ELEMENTS", 10**5)
    monkeypatch.setattr(config, "AUTO_SOFTMAX_NEWTON_MAX_FEATURES", 1000)
    monkeypatch.setattr(config, "NEWTON_CG_HESSIAN_ROWS_PER_PARAMETER", 250)
    monkeypatch.setattr(config, "NEWTON_CG_HESSIAN_SAMPLE_FACTOR", 8)
    monkeypatch.setattr(config, "AUTO_NEWTON_MAX_FEATURES", 30)
    monkeypatch.setattr(config, "AUTO_NEWTON_MAX_ROWS", 30_000)
    assert auto_solver("l1", 10**6, 100, 1) == "newton-cd"  # binary L1: proximal Newton
    assert auto_solver("elasticnet", 10**4, 5000, 1) == "fista"  # its (n+1)² model too wide
    assert auto_solver("l1", 10**4, 30, 10) == "fista"  # the softmax
    assert auto_solver("l2", 500, 30, 1) == "newton"  # narrow: the (n+1)² Hessian costs about a gradient
    assert auto_solver(None, 30_000, 1, 1) == "newton"
    assert auto_solver("l2", 500, 31, 1) == "newton-cg"  # small
    assert auto_solver("l2", 30_001, 5, 1) == "newton-cg"  # sampled: 8 × 250 × 6 ≤ m
    assert auto_solver("l2", 500, 30, 10) == "newton-cg"  # the softmax: (K(n+1))² Hessian, never dense
    assert auto_solver("l2", 500, 30, 1, sparse=True) == "newton-cg"  # CSR: never the dense Hessian
    assert auto_solver("l2", 10**5, 100, 1) == "lbfgs"  # too few rows to sample the Hessian
    assert auto_solver("l2", 500_000, 100, 1) == "newton-cg"  # sampled: 8 × 250 × 101 ≤ m
    assert auto_solver(None, 10**5, 1000, 1) == "lbfgs"
    assert auto_solver("l2", 10**5, 64, 10) == "newton-cg"  # softmax, few features
    assert auto_solver("l2", 10**5, 1000, 10) == "newton-cg"  # softmax, up to the measured crossover
    assert auto_solver("l2", 10**5, 1001, 10) == "lbfgs"
