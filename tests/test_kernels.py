"""Every backend against the python reference and against finite differences."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit, logsumexp

from fastlr import get_backend
from tests.conftest import ALL_BACKENDS, FAST_BACKENDS, make_problem

CONTRACT = (
    "sigmoid", "decision_function", "predict_proba", "cost", "gradient", "cost_gradient",
    "cost_gradient_hessian", "softmax", "softmax_cost", "softmax_cost_gradient",
    "xp", "to_device", "to_host", "check_every", "blas_threads",
)
RTOL = {np.float64: 1e-10, np.float32: 2e-4}


def host(kernels, value):
    return np.asarray(kernels.to_host(value))


def on_device(kernels, *arrays):
    return [None if a is None else kernels.to_device(a) for a in arrays]


@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_backend_implements_the_whole_contract(backend):
    kernels = get_backend(backend)
    missing = [name for name in CONTRACT if not hasattr(kernels, name)]
    assert not missing, f"{backend} lacks {missing}"


@pytest.mark.parametrize("backend", ALL_BACKENDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_exact_at_the_extremes_without_warnings(backend, dtype):
    kernels = get_backend(backend)
    z = np.array([-1e4, -745.0, -80.0, -1.0, 0.0, 1.0, 80.0, 745.0, 1e4], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = host(kernels, kernels.sigmoid(*on_device(kernels, z)))
    assert out.dtype == dtype
    assert out[0] == 0 or out[0] < np.finfo(dtype).tiny  # zero or subnormal
    assert out[-1] == 1
    np.testing.assert_allclose(out, expit(z.astype(np.float64)), rtol=RTOL[dtype], atol=np.finfo(dtype).tiny)


@pytest.mark.parametrize("backend", FAST_BACKENDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_cost_gradient_matches_python_reference(backend, dtype, weighted):
    kernels, reference = get_backend(backend), get_backend("python")
    X, y, w, b, s = make_problem(m=9000, n=11, dtype=dtype, weighted=weighted)  # > one thread's rows
    expected = reference.cost_gradient(X, y, w, b, s)
    cost, dw, db = kernels.cost_gradient(*on_device(kernels, X, y, w), b, *on_device(kernels, s))
    for got, want in zip((cost, dw, db), expected):
        got = host(kernels, got)
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, rtol=RTOL[dtype], atol=RTOL[dtype] * 1e-2)
    separate_cost = kernels.cost(*on_device(kernels, X, y, w), b, *on_device(kernels, s))
    separate_dw, separate_db = kernels.gradient(*on_device(kernels, X, y, w), b, *on_device(kernels, s))
    np.testing.assert_allclose(host(kernels, separate_cost), host(kernels, cost), rtol=RTOL[dtype])
    np.testing.assert_allclose(host(kernels, separate_dw), host(kernels, dw), rtol=RTOL[dtype], atol=1e-12)
    np.testing.assert_allclose(host(kernels, separate_db), host(kernels, db), rtol=RTOL[dtype], atol=1e-12)


def _central_difference(f, x, eps=1e-6):
    grad = np.zeros_like(x)
    for j in range(len(x)):
        step = np.zeros_like(x)
        step[j] = eps
        grad[j] = (f(x + step) - f(x - step)) / (2 * eps)
    return grad


@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_gradient_matches_central_differences(backend):
    kernels = get_backend(backend)
    X, y, w, b, s = make_problem(m=200, n=5, weighted=True)
    Xd, yd, sd = on_device(kernels, X, y, s)

    def cost_of(params):
        return float(host(kernels, kernels.cost(Xd, yd, kernels.to_device(params[:-1]), params[-1], sd)))

    numeric = _central_difference(cost_of, np.append(w, b))
    dw, db = kernels.gradient(Xd, yd, kernels.to_device(w), b, sd)
    np.testing.assert_allclose(np.append(host(kernels, dw), host(kernels, db)), numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_hessian_matches_differences_of_the_gradient(backend):
    kernels = get_backend(backend)
    X, y, w, b, s = make_problem(m=150, n=4, weighted=True)
    Xd, yd, sd = on_device(kernels, X, y, s)

    def gradient_of(params):
        dw, db = kernels.gradient(Xd, yd, kernels.to_device(params[:-1]), params[-1], sd)
        return np.append(host(kernels, dw), host(kernels, db))

    params = np.append(w, b)
    numeric = np.column_stack(
        [_central_difference(lambda p, j=j: gradient_of(p)[j], params) for j in range(len(params))]
    )
    cost, dw, db, hessian = kernels.cost_gradient_hessian(Xd, yd, kernels.to_device(w), b, sd)
    np.testing.assert_allclose(host(kernels, hessian), numeric, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(host(kernels, cost), get_backend("python").cost(X, y, w, b, s), rtol=1e-10)


@pytest.mark.parametrize("backend", ALL_BACKENDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cost_is_exact_for_margins_in_the_thousands(backend, dtype):
    """softplus(z) − y z: z for a wrong label, e^{−|z|} (here 0) for a right one."""
    kernels = get_backend(backend)
    X = np.array([[1.0], [1.0], [-1.0], [-1.0]], dtype=dtype)
    y = np.array([1.0, 0.0, 1.0, 0.0], dtype=dtype)
    w = np.array([3000.0], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cost, dw, db = kernels.cost_gradient(*on_device(kernels, X, y, w), dtype(0))
    # rows: z=3000,y=1 → 0; z=3000,y=0 → 3000; z=−3000,y=1 → 3000; z=−3000,y=0 → 0
    assert float(host(kernels, cost)) == pytest.approx(1500.0, rel=1e-6)
    np.testing.assert_allclose(host(kernels, dw), [0.5], rtol=1e-6)
    assert np.isfinite(float(host(kernels, db)))


def _softmax_problem(m=400, n=6, k=4, dtype=np.float64, scale=1.0, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n)).astype(dtype)
    W = (scale * rng.standard_normal((k, n))).astype(dtype)
    b = rng.standard_normal(k).astype(dtype)
    y = rng.integers(0, k, m)
    s = rng.uniform(0.1, 2.0, m).astype(dtype)
    return X, y, W, b, s


@pytest.mark.parametrize("backend", FAST_BACKENDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softmax_cost_gradient_matches_python_reference(backend, dtype):
    kernels, reference = get_backend(backend), get_backend("python")
    X, y, W, b, s = _softmax_problem(m=9000, dtype=dtype)
    expected = reference.softmax_cost_gradient(X, y, W, b, s)
    got = kernels.softmax_cost_gradient(*on_device(kernels, X, y, W, b, s))
    for value, want in zip(got, expected):
        value = host(kernels, value)
        assert value.dtype == dtype
        np.testing.assert_allclose(value, want, rtol=RTOL[dtype], atol=RTOL[dtype] * 1e-2)


@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_softmax_gradient_matches_central_differences(backend):
    kernels = get_backend(backend)
    X, y, W, b, s = _softmax_problem(m=120, n=3, k=3)
    Xd, yd, sd = on_device(kernels, X, y, s)
    k, n = W.shape

    def cost_of(params):
        W_, b_ = params[: k * n].reshape(k, n), params[k * n:]
        return float(host(kernels, kernels.softmax_cost(Xd, yd, *on_device(kernels, W_, b_), sd)))

    numeric = _central_difference(cost_of, np.concatenate([W.ravel(), b]))
    _, dW, db = kernels.softmax_cost_gradient(Xd, yd, *on_device(kernels, W, b), sd)
    analytic = np.concatenate([host(kernels, dW).ravel(), host(kernels, db)])
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_softmax_is_stable_for_huge_margins(backend):
    kernels = get_backend(backend)
    Z = np.array([[1e4, 0.0, -1e4], [-800.0, -800.0, -801.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        P = host(kernels, kernels.softmax(kernels.to_device(Z)))
    np.testing.assert_allclose(P, np.exp(Z - logsumexp(Z, axis=1, keepdims=True)), rtol=1e-12, atol=1e-300)
    X = np.array([[1.0, 0.0], [0.0, 1.0]])
    W = np.array([[2000.0, 0.0], [0.0, 0.0], [-2000.0, 0.0]])
    y = np.array([2, 0])
    cost = host(kernels, kernels.softmax_cost(*on_device(kernels, X, y, W, np.zeros(3))))
    # row 0: lse = 2000, z_y = −2000 → 4000; row 1: all zero margins → log 3
    assert float(cost) == pytest.approx((4000.0 + np.log(3.0)) / 2, rel=1e-12)


@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_decision_function_and_probabilities(backend):
    kernels = get_backend(backend)
    X, _, w, b, _ = make_problem(m=50, n=4)
    z = host(kernels, kernels.decision_function(*on_device(kernels, X, w), b))
    np.testing.assert_allclose(z, X @ w + b, rtol=1e-12)
    p = host(kernels, kernels.predict_proba(*on_device(kernels, X, w), b))
    np.testing.assert_allclose(p, expit(X @ w + b), rtol=1e-12)
    W, c = np.vstack([w, -w]), np.array([b, 0.5])
    Z = host(kernels, kernels.decision_function(*on_device(kernels, X, W, c)))
    np.testing.assert_allclose(Z, X @ W.T + c, rtol=1e-12)


def test_numba_parallel_is_deterministic_for_a_thread_count():
    numba = pytest.importorskip("numba")
    kernels = get_backend("numba-parallel")
    X, y, w, b, s = make_problem(m=40_000, n=9, weighted=True)
    first = kernels.cost_gradient(X, y, w, b, s)
    for _ in range(3):
        again = kernels.cost_gradient(X, y, w, b, s)
        assert again[0] == first[0] and np.array_equal(again[1], first[1]) and again[2] == first[2]
    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one_thread = kernels.cost_gradient(X, y, w, b, s)
    finally:
        numba.set_num_threads(previous)
    np.testing.assert_allclose(one_thread[1], first[1], rtol=1e-12)


@settings(max_examples=30, deadline=None)
@given(
    m=st.integers(1, 60),
    n=st.integers(1, 6),
    scale=st.sampled_from([0.1, 1.0, 30.0, 500.0]),
    seed=st.integers(0, 2**16),
)
def test_fused_numba_agrees_with_numpy_on_random_problems(m, n, scale, seed):
    pytest.importorskip("numba")
    X, y, w, b, s = make_problem(m=m, n=n, scale=scale, seed=seed, weighted=True)
    want = get_backend("numpy").cost_gradient(X, y, w, b, s)
    for backend in ("numba", "numba-parallel"):
        got = get_backend(backend).cost_gradient(X, y, w, b, s)
        for value, expected in zip(got, want):
            np.testing.assert_allclose(value, expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_hessian_products_match_the_hessian_and_differences(backend):
    """The binary product against the dense Hessian, the softmax product against central
    differences of the softmax gradient."""
    kernels = get_backend(backend)
    X, y, w, b, s = make_problem(m=120, n=4, weighted=True)
    Xd, yd, sd = on_device(kernels, X, y, s)
    _, _, _, hessian = kernels.cost_gradient_hessian(Xd, yd, kernels.to_device(w), b, sd)
    _, _, _, curvature = kernels.cost_gradient_curvature(Xd, yd, kernels.to_device(w), b, sd)
    v = np.random.default_rng(3).standard_normal(5)
    hv, hv_b = kernels.hessian_product(Xd, curvature, kernels.to_device(v[:4]), v[4])
    got = np.append(host(kernels, hv), host(kernels, hv_b))
    np.testing.assert_allclose(got, host(kernels, hessian) @ v, rtol=1e-10, atol=1e-12)

    X, y, W, b, s = _softmax_problem(m=90, n=3, k=3)
    Xd, yd, sd = on_device(kernels, X, y, s)
    k, n = W.shape
    _, _, _, P = kernels.softmax_cost_gradient_probabilities(Xd, yd, *on_device(kernels, W, b), sd)
    V, v_b = np.random.default_rng(4).standard_normal((k, n)), np.random.default_rng(5).standard_normal(k)
    HV, Hv_b = kernels.softmax_hessian_product(Xd, P, sd, *on_device(kernels, V, v_b))

    def gradient_of(params):
        W_, b_ = params[: k * n].reshape(k, n), params[k * n:]
        _, dW, db = kernels.softmax_cost_gradient(Xd, yd, *on_device(kernels, W_, b_), sd)
        return np.concatenate([host(kernels, dW).ravel(), host(kernels, db)])

    params, direction = np.concatenate([W.ravel(), b]), np.concatenate([V.ravel(), v_b])
    eps = 1e-6
    numeric = (gradient_of(params + eps * direction) - gradient_of(params - eps * direction)) / (2 * eps)
    analytic = np.concatenate([host(kernels, HV).ravel(), host(kernels, Hv_b)])
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("m", [60, 20_000], ids=["serial", "parallel"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_fused_second_order_passes_match_the_generic_ones(m, dtype, weighted):
    """The Numba curvature, probability and Hessian-vector passes (one read of X each) against the
    generic two-pass versions of the base class, on the serial path and on the per-thread one."""
    pytest.importorskip("numba")
    rng = np.random.default_rng(11)
    X, y, w, b, s = make_problem(m=m, n=7, dtype=dtype, weighted=weighted)
    labels = rng.integers(0, 4, m)
    W, c = rng.standard_normal((4, 7)).astype(dtype), rng.standard_normal(4).astype(dtype)
    v, V, v_b = rng.standard_normal(7), rng.standard_normal((4, 7)), rng.standard_normal(4)
    generic = get_backend("numpy")

    def passes(kernels):
        binary = kernels.cost_gradient_curvature(X, y, w, b, s)
        softmax = kernels.softmax_cost_gradient_probabilities(X, labels, W, c, s)
        return [*binary, *kernels.hessian_product(X, binary[3], v, 0.7), *softmax,
                *kernels.softmax_hessian_product(X, softmax[3], s, V, v_b)]

    want = passes(generic)
    rtol = RTOL[dtype]
    for backend in ("numba", "numba-parallel"):
        got = passes(get_backend(backend))
        for value, expected in zip(got, want):
            np.testing.assert_allclose(np.asarray(value, dtype=float), np.asarray(expected, dtype=float),
                                       rtol=rtol, atol=rtol * 1e-2)
        assert got[3].dtype == np.float64 and got[9].dtype == dtype  # D in float64, P in X's dtype
