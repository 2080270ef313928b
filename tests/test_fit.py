"""fastlr.fit end to end: scikit-learn's optimum, labels, layouts, warnings."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression

import fastlr
from tests.conftest import ALL_BACKENDS, FAST_BACKENDS, sklearn_objective


@pytest.fixture(scope="module")
def sklearn_optimum(breast_cancer):
    X, y = breast_cancer
    reference = SklearnLogisticRegression(C=1.0, tol=1e-12, max_iter=10_000).fit(X, y)
    return sklearn_objective(X, y, reference.coef_, reference.intercept_)


@pytest.mark.parametrize("backend", FAST_BACKENDS)
@pytest.mark.parametrize("solver", ["gd", "lbfgs", "newton"])
def test_fit_reaches_sklearn_optimum_on_breast_cancer(backend, solver, breast_cancer, sklearn_optimum):
    X, y = breast_cancer
    model = fastlr.fit(X, y, backend=backend, solver=solver, C=1.0, tol=1e-7, max_iter=50_000)
    gap = (sklearn_objective(X, y, model.coef_, model.intercept_) - sklearn_optimum) / sklearn_optimum
    assert abs(gap) < 1e-8
    assert model.coef_.shape == (1, X.shape[1]) and model.intercept_.shape == (1,)
    assert model.backend_ == backend and model.solver_ == solver
    assert model.n_iter_.shape == (1,) and model.n_iter_[0] > 0
    assert len(model.cost_history_) >= 1 and np.all(np.isfinite(model.cost_history_))
    assert model.score(X, y) > 0.97


def test_python_backend_fits_the_same_model(breast_cancer):
    X, y = breast_cancer
    X, y = X[:150], y[:150]
    reference = fastlr.fit(X, y, backend="python", solver="newton", tol=1e-10)
    fast = fastlr.fit(X, y, backend="numba-parallel", solver="newton", tol=1e-10)
    np.testing.assert_allclose(fast.coef_, reference.coef_, rtol=1e-8, atol=1e-10)


def test_gd_cost_history_decreases(breast_cancer):
    X, y = breast_cancer
    with pytest.warns(ConvergenceWarning):
        model = fastlr.fit(X, y, backend="numpy", solver="gd", max_iter=200, tol=0)
    history = model.cost_history_
    assert model.n_iter_[0] == 200 and len(history) == 201  # F(θ₀), then one entry per iteration
    assert np.all(np.diff(history) <= 1e-15)


@pytest.mark.parametrize(
    "labels", [np.array(["no", "yes"]), np.array([-1, 1]), np.array([3.0, 7.0])], ids=["str", "pm1", "float"]
)
def test_any_two_labels_map_back(labels, breast_cancer):
    X, y = breast_cancer
    model = fastlr.fit(X, labels[y], backend="numpy")
    np.testing.assert_array_equal(model.classes_, labels)
    reference = fastlr.fit(X, y, backend="numpy")
    np.testing.assert_array_equal(model.predict(X), labels[reference.predict(X)])


def _layouts(X):
    fortran = np.asfortranarray(X)
    strided = np.repeat(X, 2, axis=1)[:, ::2]
    readonly = X.copy()
    readonly.setflags(write=False)
    return {"fortran": fortran, "strided": strided, "readonly": readonly}


@pytest.mark.parametrize("layout", ["fortran", "strided", "readonly", "memmap"])
def test_layouts_give_the_same_model(layout, breast_cancer, tmp_path):
    X, y = breast_cancer
    if layout == "memmap":
        path = tmp_path / "X.npy"
        np.save(path, X)
        variant = np.load(path, mmap_mode="r")
    else:
        variant = _layouts(X)[layout]
    expected = fastlr.fit(X, y, backend="numba-parallel", solver="lbfgs", tol=1e-8)
    got = fastlr.fit(variant, y, backend="numba-parallel", solver="lbfgs", tol=1e-8)
    np.testing.assert_array_equal(got.coef_, expected.coef_)


@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_float32_stays_float32(backend, breast_cancer):
    X, y = breast_cancer
    X32 = X[:200].astype(np.float32)
    model = fastlr.fit(X32, y[:200], backend=backend, solver="newton", tol=1e-5)
    assert model.coef_.dtype == np.float32 and model.intercept_.dtype == np.float32
    assert model.predict_proba(X32).dtype == np.float32
    reference = fastlr.fit(X[:200], y[:200], backend="numpy", solver="newton", tol=1e-10)
    # float32 gradients carry ~1e-7 relative noise; on these correlated features
    # that moves the coefficients by up to ~1e-4.
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-3, atol=3e-4)


def test_hitting_max_iter_warns_with_advice(breast_cancer):
    X, y = breast_cancer
    with pytest.warns(ConvergenceWarning, match="'gd' did not converge in max_iter=5.*learning_rate"):
        fastlr.fit(X, y, backend="numpy", solver="gd", max_iter=5)


def test_diverging_step_stops_with_a_clear_error(breast_cancer):
    X, y = breast_cancer
    with pytest.raises(fastlr.DivergenceError, match="diverged.*learning_rate"):
        fastlr.fit(X, y, backend="numpy", solver="gd", learning_rate=1e4, max_iter=100)


def test_verbose_shows_a_progress_bar(breast_cancer, capsys):
    X, y = breast_cancer
    with pytest.warns(ConvergenceWarning):
        fastlr.fit(X, y, backend="numpy", solver="gd", max_iter=20, tol=0, verbose=True)
    assert "binary:" in capsys.readouterr().err  # the bar, named after the problem


def test_quiet_by_default(breast_cancer, capsys):
    X, y = breast_cancer
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fastlr.fit(X, y, backend="numpy", solver="lbfgs")
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_sample_weight_equals_repeated_rows(breast_cancer):
    X, y = breast_cancer
    X, y = X[:100], y[:100]
    repeats = np.random.default_rng(0).integers(0, 3, len(y))
    weighted = fastlr.fit(X, y, backend="numpy", solver="newton", sample_weight=repeats, tol=1e-10)
    repeated = fastlr.fit(np.repeat(X, repeats, axis=0), np.repeat(y, repeats), backend="numpy",
                          solver="newton", tol=1e-10)
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-7, atol=1e-9)
