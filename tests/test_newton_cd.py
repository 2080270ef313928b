"""newton-cd, the proximal Newton solver for L1 and elastic net, against independent references.

The references: scikit-learn's saga run to convergence (tol=1e-15), and, for
the inner coordinate descent, SciPy's L-BFGS-B on the split form z = u − v,
u, v ≥ 0, of the same quadratic model. Data: standardized make_classification
(saga converges there in a fraction of a second) and the breast-cancer data.
"""

import warnings

import numpy as np
import pytest
from scipy.optimize import minimize
from sklearn.datasets import load_breast_cancer, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

import fastlr
from fastlr.solvers.newton_cd import face_newton_step, solve_model
from tests.conftest import backend_params, saga_optimum

BACKENDS = backend_params(["numpy", "numba", "numba-parallel", "cupy"])
GRID = [(0.05, 1.0), (0.5, 1.0), (0.5, 0.5), (5.0, 0.3)]  # (C, l1_ratio)


@pytest.fixture(scope="module")
def problem():
    X, y = make_classification(300, 8, n_informative=4, random_state=0)
    return StandardScaler().fit_transform(X), y


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("C, l1_ratio", GRID)
def test_reaches_sagas_optimum_at_tol_1e_12(backend, C, l1_ratio, problem):
    X, y = problem
    reference = saga_optimum(X, y, C=C, l1_ratio=l1_ratio)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # converged, honestly
        model = fastlr.fit(X, y, backend=backend, l1_ratio=l1_ratio, C=C, tol=1e-12)
    assert model.solver_ == "newton-cd"
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=0, atol=1e-10)
    np.testing.assert_allclose(model.intercept_, reference.intercept_, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(model.coef_ == 0, reference.coef_ == 0)  # the same exact zeros
    assert model.n_iter_[0] <= 20


def test_python_backend_agrees(problem):
    X, y = problem
    X, y = X[:120], y[:120]
    reference = saga_optimum(X, y, C=0.5, l1_ratio=1.0)
    model = fastlr.fit(X, y, backend="python", l1_ratio=1.0, C=0.5, tol=1e-11)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=0, atol=1e-9)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_integer_sample_weights_are_repeated_rows(fit_intercept, problem):
    X, y = problem
    weights = np.random.default_rng(0).integers(0, 4, len(y))
    params = dict(backend="numpy", l1_ratio=0.7, C=0.5, tol=1e-12, fit_intercept=fit_intercept)
    weighted = fastlr.fit(X, y, sample_weight=weights.astype(float), **params)
    repeated = fastlr.fit(np.repeat(X, weights, axis=0), np.repeat(y, weights), **params)
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=0, atol=1e-10)
    np.testing.assert_allclose(weighted.intercept_, repeated.intercept_, rtol=0, atol=1e-10)


def test_one_vs_rest_is_a_binary_problem_per_class():
    X, y = make_classification(400, 6, n_informative=4, n_classes=3, random_state=1)
    X = StandardScaler().fit_transform(X)
    model = fastlr.fit(X, y, backend="numpy", l1_ratio=1.0, C=0.3, tol=1e-12, multi_class="ovr")
    assert model.solver_ == "newton-cd" and model.coef_.shape == (3, 6)
    for k in range(3):
        reference = saga_optimum(X, (y == k).astype(int), C=0.3, l1_ratio=1.0)
        np.testing.assert_allclose(model.coef_[k], reference.coef_[0], rtol=0, atol=1e-9)


def test_warm_start_at_the_optimum_stops_at_once(problem):
    X, y = problem
    model = fastlr.LogisticRegression(backend="numpy", l1_ratio=1.0, C=0.5, tol=1e-10, warm_start=True).fit(X, y)
    first = model.coef_.copy()
    model.fit(X, y)
    assert model.n_iter_[0] == 0
    np.testing.assert_array_equal(model.coef_, first)


def test_max_iter_warns_with_the_measured_figure(problem):
    X, y = problem
    with pytest.warns(ConvergenceWarning, match=r"'newton-cd' did not converge in max_iter=2 .* optimality measure is"):
        model = fastlr.fit(X, y, backend="numpy", l1_ratio=1.0, C=5.0, tol=1e-14, max_iter=2)
    assert model.n_iter_[0] == 2


def test_an_ill_conditioned_problem_stops_stalled_without_spinning():
    """Unscaled breast cancer (features up to 4e3) and weak L1: tol=1e-14 is out of reach.
    The solver must say so, with the figure it reached, long before max_iter."""
    X, y = load_breast_cancer(return_X_y=True)
    with pytest.warns(ConvergenceWarning, match="stalled") as caught:
        model = fastlr.fit(X, y, backend="numpy", l1_ratio=1.0, C=1e4, tol=1e-14, max_iter=100_000)
    assert model.n_iter_[0] < 1000
    assert "above tol=1e-14" in str(caught[0].message)


def test_softmax_is_refused_naming_the_solvers_that_can():
    X, y = make_classification(200, 5, n_informative=3, n_classes=3, random_state=0)
    with pytest.raises(ValueError, match="'newton-cd' does not support the multinomial.*'fista'"):
        fastlr.fit(X, y, backend="numpy", solver="newton-cd", l1_ratio=1.0)


def split_form_minimum(H, g, theta, l1, n_penalized):
    """The quadratic model's minimizer by SciPy's L-BFGS-B on z_w = θ_w + u − v, u, v ≥ 0 (an
    algorithm independent of coordinate descent)."""
    p = len(theta)
    free = p - n_penalized

    # variables: u, v ≥ 0 with z_w = u − v, and the free coordinates themselves
    start = np.concatenate([np.maximum(theta[:n_penalized], 0), np.maximum(-theta[:n_penalized], 0), theta[n_penalized:]])

    def objective(params):
        u, v, rest = params[:n_penalized], params[n_penalized:2 * n_penalized], params[2 * n_penalized:]
        z = np.concatenate([u - v, rest])
        d = z - theta
        value = g @ d + 0.5 * d @ H @ d + l1 * (u.sum() + v.sum())
        grad = g + H @ d
        return value, np.concatenate([grad[:n_penalized] + l1, -grad[:n_penalized] + l1, grad[n_penalized:]])

    bounds = [(0, None)] * (2 * n_penalized) + [(None, None)] * free
    result = minimize(objective, start, jac=True, method="L-BFGS-B", bounds=bounds,
                      options={"ftol": 1e-16, "gtol": 1e-13, "maxiter": 20_000, "maxfun": 40_000})
    u, v = result.x[:n_penalized], result.x[n_penalized:2 * n_penalized]
    return np.concatenate([u - v, result.x[2 * n_penalized:]])


@pytest.mark.parametrize("seed", range(4))
def test_inner_solve_is_the_models_minimizer(seed):
    rng = np.random.default_rng(seed)
    p = 7
    A = rng.standard_normal((40, p))
    H = A.T @ A / 40 + 1e-3 * np.eye(p)
    g, theta = rng.standard_normal(p), rng.standard_normal(p) * (rng.random(p) < 0.5)
    l1 = 1.0
    z = solve_model(H, g, theta, l1, p - 1, tol=1e-13)
    reference = split_form_minimum(H, g, theta, l1, p - 1)

    def model(point):
        d = point - theta
        return g @ d + 0.5 * d @ H @ d + l1 * np.abs(point[:-1]).sum()

    assert model(z) <= model(reference) + 1e-12
    np.testing.assert_allclose(z, reference, atol=1e-6)
    # soft-thresholding gives exact zeros where the minimizer is zero
    np.testing.assert_array_equal(z[:-1][np.abs(reference[:-1]) < 1e-7], 0.0)


def test_without_l1_the_inner_solve_is_one_newton_step():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((30, 5))
    H, g, theta = A.T @ A / 30 + np.eye(5), rng.standard_normal(5), rng.standard_normal(5)
    np.testing.assert_allclose(solve_model(H, g, theta, 0.0, 4, 1e-12), theta - np.linalg.solve(H, g), atol=1e-12)
    np.testing.assert_allclose(face_newton_step(H, g, theta, theta, 0.0, 4), theta - np.linalg.solve(H, g), atol=1e-12)
