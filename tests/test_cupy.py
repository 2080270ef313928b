"""GPU-only behaviour of the cupy backend; skipped, with the reason, without a CUDA device.

The cross-backend agreement tests (tests/test_kernels.py, tests/test_fit.py)
run on cupy too, through the registry parametrization.
"""

import numpy as np
import pytest

import fastlr
from fastlr import config
from fastlr.dispatch import BACKENDS
from tests.conftest import make_problem

REASON = BACKENDS["cupy"].unavailable_reason()
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(REASON is not None, reason=f"cupy: {REASON}")]


@pytest.fixture(scope="module")
def cp():
    import cupy

    return cupy


@pytest.fixture(scope="module")
def kernels():
    return fastlr.get_backend("cupy")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 33, 100, 1000])
def test_fused_pass_equals_two_pass_cublas(cp, kernels, dtype, n):
    X, y, w, b, s = make_problem(m=50_000, n=n, dtype=dtype, weighted=True)
    Xd, yd, wd, sd = (cp.asarray(a) for a in (X, y, w, s))
    fused = kernels.cost_gradient(Xd, yd, wd, b, sd)
    two_pass = kernels.cost_gradient_two_pass(Xd, yd, wd, b, sd)
    reference = fastlr.get_backend("numpy").cost_gradient(X.astype(np.float64), y, w.astype(np.float64), b, s)
    rtol = 1e-10 if dtype == np.float64 else 1e-4
    for got, other, want in zip(fused, two_pass, reference):
        assert got.dtype == dtype
        np.testing.assert_allclose(cp.asnumpy(got), want, rtol=rtol, atol=rtol * 1e-2)
        np.testing.assert_allclose(cp.asnumpy(other), want, rtol=10 * rtol, atol=rtol * 1e-2)


def test_wide_data_falls_back_to_cublas(cp, kernels):
    X, y, w, b, _ = make_problem(m=2_000, n=1_500)
    got = kernels.cost_gradient(cp.asarray(X), cp.asarray(y), cp.asarray(w), b)
    want = fastlr.get_backend("numpy").cost_gradient(X, y, w, b)
    np.testing.assert_allclose(cp.asnumpy(got[1]), want[1], rtol=1e-10)


def test_results_are_deterministic(cp, kernels):
    X, y, w, b, s = (cp.asarray(a) if isinstance(a, np.ndarray) else a for a in make_problem(m=200_000, n=50))
    first = kernels.cost_gradient(X, y, w, b)
    for _ in range(3):
        again = kernels.cost_gradient(X, y, w, b)
        assert bool((again[1] == first[1]).all()) and float(again[0]) == float(first[0])


@pytest.mark.parametrize("classes", [3, 10, 40])
def test_fused_softmax_matches_numpy(cp, kernels, classes):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20_000, 30))
    W, b = rng.standard_normal((classes, 30)), rng.standard_normal(classes)
    y, s = rng.integers(0, classes, 20_000), rng.uniform(0.5, 2, 20_000)
    got = kernels.softmax_cost_gradient(*(cp.asarray(a) for a in (X, y, W, b, s)))
    want = fastlr.get_backend("numpy").softmax_cost_gradient(X, y, W, b, s)
    for value, expected in zip(got, want):
        np.testing.assert_allclose(cp.asnumpy(value), expected, rtol=1e-10, atol=1e-13)


def test_pinned_transfer_round_trips(cp, kernels, monkeypatch):
    monkeypatch.setattr(config, "CUDA_PINNED_TRANSFER_BYTES", 4096)
    X = np.random.default_rng(0).standard_normal((1001, 37))
    np.testing.assert_array_equal(cp.asnumpy(kernels.to_device(X)), X)


@pytest.mark.parametrize("solver", ["lbfgs", "newton", "newton-cg", "gd"])
def test_fit_on_device_data_matches_the_cpu(cp, breast_cancer, solver):
    X, y = breast_cancer
    gpu = fastlr.fit(cp.asarray(X), cp.asarray(y), solver=solver, tol=1e-7, max_iter=50_000)
    cpu = fastlr.fit(X, y, backend="numpy", solver=solver, tol=1e-7, max_iter=50_000)
    assert gpu.backend_ == "cupy" and isinstance(gpu.coef_, np.ndarray)
    np.testing.assert_allclose(gpu.coef_, cpu.coef_, rtol=1e-5, atol=1e-6)
    proba_device = gpu.predict_proba(cp.asarray(X))
    assert isinstance(proba_device, cp.ndarray)
    np.testing.assert_allclose(cp.asnumpy(proba_device), gpu.predict_proba(X), rtol=1e-10)
    np.testing.assert_array_equal(gpu.predict(cp.asarray(X)), cpu.predict(X))


def test_numpy_input_with_the_cupy_backend(breast_cancer):
    X, y = breast_cancer
    model = fastlr.fit(X.astype(np.float32), y, backend="cupy", solver="lbfgs")
    assert model.backend_ == "cupy" and model.coef_.dtype == np.float32


def test_multinomial_on_the_device(cp):
    from sklearn.datasets import load_digits
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    for solver in ("lbfgs", "newton-cg"):
        gpu = fastlr.fit(cp.asarray(X), cp.asarray(y), solver=solver, tol=1e-8)
        cpu = fastlr.fit(X, y, backend="numpy", solver=solver, tol=1e-8)
        np.testing.assert_allclose(gpu.predict_proba(X), cpu.predict_proba(X), atol=1e-5)


@pytest.mark.parametrize("solver", ["lbfgs", "newton-cg", "newton"])
def test_non_finite_device_X_is_found_by_the_first_evaluation(cp, breast_cancer, solver):
    X, y = breast_cancer
    X = X.copy()
    X[5, 3] = np.nan
    with pytest.raises(ValueError, match="^Input X contains NaN or infinity$"):
        fastlr.fit(cp.asarray(X), cp.asarray(y), solver=solver)


def test_sampled_newton_cg_on_the_device(cp):
    """Many rows per parameter: the Hessian on a device row sample, the start from its solution."""
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=60_000, n_features=10, random_state=0)
    gpu = fastlr.fit(cp.asarray(X), cp.asarray(y), solver="newton-cg", tol=1e-8)
    cpu = fastlr.fit(X, y, backend="numpy", solver="newton-cg", tol=1e-8)
    np.testing.assert_allclose(gpu.coef_, cpu.coef_, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("classes, n", [(2, 1000), (3, 7), (10, 100), (17, 40), (32, 64), (33, 64), (100, 600)])
def test_softmax_kernel_shapes_match_numpy(cp, kernels, dtype, classes, n):
    """Every regime of K: the fused kernel (K ≤ 32 where W fits the registers) and the GEMM
    path, weighted, against NumPy in float64; the GEMM path at the same K agrees too."""
    rng = np.random.default_rng(classes)
    m = 5_003
    X = rng.standard_normal((m, n)).astype(dtype)
    W, b = (0.3 * rng.standard_normal((classes, n))).astype(dtype), rng.standard_normal(classes).astype(dtype)
    y, s = rng.integers(0, classes, m), rng.uniform(0.5, 2, m).astype(dtype)
    want = fastlr.get_backend("numpy").softmax_cost_gradient(*(a.astype(np.float64) for a in (X, y, W, b, s)))
    device = [cp.asarray(a) for a in (X, y, W, b, s)]
    rtol = 1e-9 if dtype == np.float64 else 2e-4
    fused = kernels.softmax_cost_gradient(*device)
    gemm = kernels.softmax_cost_gradient_gemm(*device)
    for got in (fused, gemm):
        for value, expected in zip(got, want):
            assert value.dtype == dtype
            np.testing.assert_allclose(cp.asnumpy(value), expected, rtol=rtol, atol=rtol * 1e-2)


def test_residual_kernel_matches_the_array_epilogue(cp, kernels):
    from fastlr.kernels import gemm_softmax

    rng = np.random.default_rng(2)
    Z = cp.asarray(rng.standard_normal((1000, 70)) * 30)
    labels = cp.asarray(rng.integers(-1, 70, 1000))  # some out of range: NaN losses
    b, s = cp.asarray(rng.standard_normal(70)), cp.asarray(rng.uniform(0.5, 2, 1000))
    Z_kernel, Z_reference = Z.copy(), Z.copy()
    losses = kernels._residual_rows(Z_kernel, labels, b, s)
    expected = gemm_softmax.residual_rows(cp, Z_reference, labels, b, s)
    np.testing.assert_allclose(cp.asnumpy(losses), cp.asnumpy(expected), rtol=1e-12)
    np.testing.assert_allclose(cp.asnumpy(Z_kernel), cp.asnumpy(Z_reference), rtol=1e-11, atol=1e-15)


def test_tensor_float_32_is_an_opt_in(cp, kernels, monkeypatch):
    rng = np.random.default_rng(3)
    X = cp.asarray(rng.standard_normal((4000, 600), dtype=np.float32))
    W, b = cp.asarray(0.1 * rng.standard_normal((100, 600), dtype=np.float32)), cp.zeros(100, np.float32)
    y = cp.asarray(rng.integers(0, 100, 4000))
    exact = kernels.softmax_cost_gradient(X, y, W, b)
    monkeypatch.setattr(config, "CUDA_SOFTMAX_TF32", True)
    fast = kernels.softmax_cost_gradient(X, y, W, b)
    np.testing.assert_allclose(cp.asnumpy(fast[1]), cp.asnumpy(exact[1]), rtol=2e-2, atol=1e-4)
    monkeypatch.setattr(config, "CUDA_SOFTMAX_TF32", False)
    again = kernels.softmax_cost_gradient(X, y, W, b)
    np.testing.assert_array_equal(cp.asnumpy(again[1]), cp.asnumpy(exact[1]))
