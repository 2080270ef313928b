"""Every backend against the python reference and against finite differences."""

import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit, logsumexp

import fastlr
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


@pytest.mark.parametrize("backend", FAST_BACKENDS)
def test_a_one_element_intercept_is_the_scalar_one(backend):
    """b may be a scalar or an array of shape (1,): the same numbers either way."""
    kernels = get_backend(backend)
    X, y, w, b, _ = make_problem(m=60, n=3)
    Xd, yd, wd = on_device(kernels, X, y, w)
    for name in ("cost", "cost_gradient", "cost_gradient_hessian"):
        one_element, scalar = (getattr(kernels, name)(Xd, yd, wd, value) for value in (np.array([b]), b))
        for got, want in zip(*(result if isinstance(result, tuple) else (result,) for result in (one_element, scalar))):
            np.testing.assert_array_equal(host(kernels, got), host(kernels, want))
    np.testing.assert_array_equal(
        host(kernels, kernels.decision_function(Xd, wd, np.array([b]))), host(kernels, kernels.decision_function(Xd, wd, b))
    )


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


# -- the numba-parallel paths, above the parallel threshold -------------------------------
@pytest.fixture
def three_ranges(monkeypatch):
    """numba-parallel with three row ranges on 3·64 rows or more, and a count of the
    calls that went to its threads (so a test can tell the parallel path ran)."""
    pytest.importorskip("numba")
    from fastlr import config
    from fastlr.kernels import numba_parallel

    monkeypatch.setattr(config, "NUMBA_THREADS", 3)
    monkeypatch.setattr(config, "NUMBA_MIN_ROWS_PER_THREAD", 64)
    calls = []
    run = numba_parallel.RangeThreads.run

    def counted(self, row_pass, bounds, inputs, outputs):
        calls.append((row_pass.__name__, len(bounds)))
        return run(self, row_pass, bounds, inputs, outputs)

    monkeypatch.setattr(numba_parallel.RangeThreads, "run", counted)
    return calls


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_parallel_pass_matches_the_reference(three_ranges, dtype):
    """Binary cost and gradient, Newton's pass, the softmax, margins and probabilities on
    three threads, against the python reference (the fit and prediction paths)."""
    kernels, reference = get_backend("numba-parallel"), get_backend("python")
    rtol, atol = RTOL[dtype], RTOL[dtype] * 1e-2
    X, y, w, b, s = make_problem(m=1001, n=6, dtype=dtype, weighted=True)
    for got, want in [
        (kernels.cost(X, y, w, b, s), reference.cost(X, y, w, b, s)),
        *zip(kernels.cost_gradient(X, y, w, b, s), reference.cost_gradient(X, y, w, b, s)),
        *zip(kernels.cost_gradient_hessian(X, y, w, b, s), reference.cost_gradient_hessian(X, y, w, b, s)),
        (kernels.predict_proba(X, w, b), reference.predict_proba(X, w, b)),
    ]:
        assert np.asarray(got).dtype == dtype
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)
    X, y, W, b, s = _softmax_problem(m=1001, dtype=dtype)
    for got, want in zip(kernels.softmax_cost_gradient(X, y, W, b, s), reference.softmax_cost_gradient(X, y, W, b, s)):
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)
    np.testing.assert_allclose(kernels.softmax_cost(X, y, W, b, s), reference.softmax_cost(X, y, W, b, s), rtol=rtol)
    Z = kernels.decision_function(X, W, b)
    np.testing.assert_allclose(Z, reference.decision_function(X, W, b), rtol=rtol, atol=atol)
    np.testing.assert_allclose(kernels.softmax(Z), reference.softmax(Z.astype(np.float64)), rtol=rtol, atol=atol)
    ran = {name for name, ranges in three_ranges if ranges == 3}
    assert ran == {
        "binary_rows", "hessian_rows", "softmax_rows", "binary_margins", "margins_rows", "sigmoid_block", "softmax_range"
    }


def test_parallel_newton_fit_and_prediction_match_the_serial_backend(three_ranges, breast_cancer):
    """The default path for more than a few thousand rows and few features (Newton, then
    predict_proba) on three threads gives the serial backend's model and probabilities."""
    X, y = breast_cancer
    parallel = fastlr.fit(X, y, backend="numba-parallel", solver="newton", tol=1e-10)
    serial = fastlr.fit(X, y, backend="numba", solver="newton", tol=1e-10)
    np.testing.assert_allclose(parallel.coef_, serial.coef_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(parallel.predict_proba(X), serial.predict_proba(X), rtol=1e-9, atol=1e-15)
    assert {"hessian_rows", "binary_margins", "sigmoid_block"} <= {name for name, _ in three_ranges}


def test_a_failing_range_raises_after_every_range_has_finished():
    pytest.importorskip("numba")
    import threading
    import time

    from fastlr.kernels.numba_parallel import RangeThreads

    finished = []
    lock = threading.Lock()

    def row_pass(lo, hi, out):
        if lo > 0:
            time.sleep(0.05)
            with lock:
                finished.append(lo)
        if hi == 30:
            raise RuntimeError("range 2")

    with pytest.raises(RuntimeError, match="range 2"):
        RangeThreads().run(row_pass, [(0, 10), (10, 20), (20, 30)], (), lambda r: [None])
    assert sorted(finished) == [10, 20]


def test_parallel_passes_run_in_a_forked_child():
    """Worker threads do not survive fork: a child starts its own instead of waiting forever."""
    pytest.importorskip("numba")
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this platform")
    script = textwrap.dedent(
        """
        import multiprocessing, numpy as np
        from fastlr import config, get_backend
        config.NUMBA_THREADS, config.NUMBA_MIN_ROWS_PER_THREAD = 2, 64
        kernels = get_backend("numba-parallel")
        X, y, w = np.ones((500, 3)), np.zeros(500), np.zeros(3)
        kernels.cost(X, y, w, 0.0)  # the parent's workers start here
        def child(queue):
            queue.put(float(kernels.cost(X, y, w, 0.0)))
        queue = multiprocessing.get_context("fork").Queue()
        process = multiprocessing.get_context("fork").Process(target=child, args=(queue,))
        process.start()
        print(queue.get(timeout=60))
        process.join(60)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert float(result.stdout) == pytest.approx(np.log(2.0))


def test_every_fit_path_compiles_one_kernel_per_dtype():
    """Every solver, binary and multinomial, and every prediction, in float32 and float64:
    each row pass is specialized once per dtype, never per flag or call path."""
    pytest.importorskip("numba")
    script = textwrap.dedent(
        """
        from fastlr import warmup
        from fastlr.kernels import numba_common, numba_math
        warmup.warm_up()
        passes = [numba_common.binary_rows, numba_common.hessian_rows, numba_common.softmax_rows,
                  numba_common.margins_rows, numba_common.softmax_range, numba_math.sigmoid_block]
        for row_pass in passes:
            print(row_pass.__name__, len(row_pass.signatures))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    counts = dict(line.split() for line in result.stdout.splitlines())
    assert counts == {name: "2" for name in counts} and len(counts) == 6, counts


def test_vectorized_math_is_as_exact_as_libm():
    """The SIMD exp, log1p and log of numba_math against NumPy's libm, within a few units in
    the last place, through the subnormals, at the ends of their ranges and for NaN."""
    numba = pytest.importorskip("numba")
    from fastlr.kernels import numba_math

    ulp = np.finfo(np.float64).eps
    rng = np.random.default_rng(0)
    x = np.concatenate([-rng.uniform(0, 1, 20_000), -rng.uniform(0, 745, 20_000), [0.0, -0.0, -1e-300, -745.1, -746.0, -1e4, -np.inf]])
    got = x.copy()
    numba_math.exp_block(got, got.size)
    want = np.exp(x)
    normal = want >= np.finfo(np.float64).tiny
    assert np.max(np.abs(got[normal] - want[normal]) / want[normal]) < 4 * ulp
    assert np.max(np.abs(got[~normal] - want[~normal])) <= 5e-324  # one step of the subnormals
    nan = np.array([np.nan])
    numba_math.exp_block(nan, 1)
    assert np.isnan(nan[0])

    log1p = numba.njit(lambda e: [numba_math.log1p_unit(v) for v in e])
    e = np.concatenate([rng.uniform(0, 1, 20_000), 10.0 ** -rng.uniform(0, 323, 2_000), [0.0, 1.0, 5e-324]])
    got, want = np.array(log1p(e)), np.log1p(e)
    positive = want > 0
    assert got[~positive].tolist() == [0.0] and np.max(np.abs(got[positive] - want[positive]) / want[positive]) < 4 * ulp

    x = np.concatenate([
        rng.uniform(0, 1, 20_000), rng.uniform(1, 1e3, 20_000), 10.0 ** -rng.uniform(0, 323, 2_000),
        [0.0, 1.0, np.sqrt(2.0) - 1, 1e-17, 5e-324, 1e308],
    ])
    got = np.empty_like(x)
    numba_math.log1p_block(x, x.size, got)
    want = np.log1p(x)
    assert got[x == 0.0].tolist() == [0.0]
    positive = x > 0
    assert np.max(np.abs(got[positive] - want[positive]) / want[positive]) < 4 * ulp


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_gemm_softmax_pass_matches_the_reference_on_numpy(dtype, weighted):
    """The chunked GEMM path of the GPU's many-class softmax, run over NumPy with the
    array-library epilogue: chunk edges (37 rows a chunk) and the float64 sums across chunks."""
    from fastlr.kernels import gemm_softmax

    X, y, W, b, s = _softmax_problem(m=500, n=7, k=5, dtype=dtype)
    s = s if weighted else None
    want = get_backend("python").softmax_cost_gradient(X, y, W, b, s)
    for with_gradient in (True, False):
        got = gemm_softmax.softmax_gemm_pass(np, X, y, W, b, s, with_gradient, 37, gemm_softmax.numpy_epilogue)
        assert all(value.dtype == dtype for value in got)
        np.testing.assert_allclose(got[0], want[0], rtol=RTOL[dtype])
        if with_gradient:
            for value, expected in zip(got[1:], want[1:]):
                np.testing.assert_allclose(value, expected, rtol=RTOL[dtype], atol=RTOL[dtype] * 1e-2)
    y_bad = y.copy()
    y_bad[3] = 5
    cost = gemm_softmax.softmax_gemm_pass(np, X, y_bad, W, b, s, True, 37, gemm_softmax.numpy_epilogue)[0]
    assert np.isnan(cost)


def test_numba_backends_pickle_for_dask_workers():
    """A backend travels in dask's task graphs: it pickles, and the copy uses the
    receiving process's worker threads."""
    pytest.importorskip("numba")
    import pickle

    X, y, w, b, _ = make_problem(m=500, n=4)
    for name in ("numba", "numba-parallel"):
        original = get_backend(name)
        copy = pickle.loads(pickle.dumps(original))
        assert copy._threads is original._threads
        np.testing.assert_array_equal(copy.cost_gradient(X, y, w, b)[1], original.cost_gradient(X, y, w, b)[1])
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


@pytest.mark.parametrize("backend", ["numba", "numba-parallel"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_classes", [1, 2, 10, 13])
def test_multiclass_margins_in_blocks_match_numpy(backend, dtype, n_classes):
    """The K-class margins, written block by block from the register-blocked scores, against
    NumPy's X @ Wᵀ + b: rows over several blocks and a partial one (odd m: a row left over
    from the row pairs), classes in groups and left over; float32 stays float32."""
    from fastlr.kernels.numba_common import MARGIN_BLOCK_ROWS

    rng = np.random.default_rng(n_classes)
    m = 20_000 + 3 if backend == "numba-parallel" else 5 * MARGIN_BLOCK_ROWS + 3
    X = rng.standard_normal((m, 37)).astype(dtype)
    W, c = rng.standard_normal((n_classes, 37)).astype(dtype), rng.standard_normal(n_classes).astype(dtype)
    Z = get_backend(backend).decision_function(X, W, c)
    assert Z.dtype == dtype and Z.shape == (m, n_classes)
    np.testing.assert_allclose(Z, X.astype(float) @ W.T.astype(float) + c, rtol=RTOL[dtype], atol=RTOL[dtype])


@pytest.mark.parametrize("backend", ["numba", "numba-parallel"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_classes", [10, 13])
def test_softmax_hessian_product_in_register_tiles_matches_the_python_reference(backend, dtype, n_classes):
    """The blocked softmax Hessian product at shapes that run its vector tiles and their tails
    (n = 37: whole tiles, a one-vector and a half-vector tile, scalar columns; K = 13: a class
    group and 3 classes alone) over several blocks and a last partial one, weighted, against
    the python backend's row loops."""
    from fastlr.kernels.numba_common import block_rows

    kernels, reference = get_backend(backend), get_backend("python")
    X, y, W, b, s = _softmax_problem(m=2_003, n=37, k=n_classes, dtype=dtype, seed=n_classes)
    assert X.shape[0] % block_rows(37, X.itemsize, X.shape[0]) and X.shape[0] > 4 * block_rows(37, X.itemsize, X.shape[0])
    rng = np.random.default_rng(7)
    V, v_b = rng.standard_normal(W.shape).astype(dtype), rng.standard_normal(n_classes).astype(dtype)
    P = reference.softmax_cost_gradient_probabilities(X, y, W, b, s)[3]
    got = kernels.softmax_hessian_product(X, P.astype(dtype), s, V, v_b)
    want = reference.softmax_hessian_product(X, P, s, V, v_b)
    for value, expected in zip(got, want):
        np.testing.assert_allclose(value, expected, rtol=RTOL[dtype], atol=RTOL[dtype] * 1e-2)


@pytest.mark.parametrize("n, itemsize, m", [(100, 8, 10**6), (100, 4, 10**6), (37, 8, 500), (1, 8, 10**6),
                                             (10**6, 8, 10**6), (100, 8, 13), (100, 8, 11), (100, 8, 1)])
def test_block_rows_are_whole_row_groups_within_the_block_bytes(n, itemsize, m):
    """Blocks hold whole groups of the scores kernels' rows (a multiple of 12 whenever 12
    rows fit), never more than NUMBA_BLOCK_BYTES of X (one row at least) nor more than m."""
    from fastlr import config
    from fastlr.kernels.numba_common import ROW_GROUPS, block_rows

    rows = block_rows(n, itemsize, m)
    assert 1 <= rows <= m
    assert rows == 1 or rows * n * itemsize <= config.NUMBA_BLOCK_BYTES
    fitting = min(m, config.NUMBA_BLOCK_BYTES // (n * itemsize))
    assert rows % ROW_GROUPS == 0 if fitting >= ROW_GROUPS else rows == max(1, fitting)
    assert rows > fitting - ROW_GROUPS  # cut down by less than one group


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_classes", [1, 2, 3, 4, 5, 7, 10, 12, 13])
@pytest.mark.parametrize("count", [1, 3, 4, 9, 10])
@pytest.mark.parametrize("registers", [32, 16])
def test_small_gemm_block_scores_match_numpy(dtype, n_classes, count, registers):
    """Each register file's block scores (their groups of classes and rows, and the
    left-over classes and rows) against NumPy's product on the same block: the
    shape the host does not use is tested too, its code being plain Numba."""
    from fastlr.kernels import numba_small_gemm

    rng = np.random.default_rng(n_classes * 100 + count)
    n, start = 17, 2
    X = rng.standard_normal((start + count + 3, n)).astype(dtype)
    W = rng.standard_normal((n_classes, n)).astype(dtype)
    tolerance = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    Z = np.full((n_classes, count + 2), np.nan, dtype=dtype)
    numba_small_gemm.SCORE_BLOCKS[registers](X, W, start, count, Z)
    np.testing.assert_allclose(Z[:, :count], W @ X[start : start + count].T, **tolerance)
    assert np.isnan(Z[:, count:]).all()  # nothing written past the block


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_classes", [1, 4, 5, 10, 13])
@pytest.mark.parametrize("n", [1, 3, 4, 8, 9, 17, 100])
@pytest.mark.parametrize("count", [0, 1, 9])
def test_small_gemm_block_products_match_numpy(dtype, n_classes, n, count):
    """The vector-register tiles of the block products and the classes and columns
    left over from them (n below one vector, between one and two, above) against
    NumPy's product on the same rows, added to what P held; R is left alone."""
    from fastlr.kernels import numba_small_gemm

    rng = np.random.default_rng(1000 * n_classes + 10 * n + count)
    start = 2
    X = rng.standard_normal((start + count + 3, n)).astype(dtype)
    R = rng.standard_normal((n_classes, count + 2)).astype(dtype)
    before = R.copy()
    P = np.ones((n_classes, n), dtype=dtype)
    numba_small_gemm.add_block_products(X, R, start, count, P)
    tolerance = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(P, 1 + R[:, :count] @ X[start : start + count], **tolerance)
    assert P.dtype == dtype and np.array_equal(R, before)


def test_small_gemm_products_tile_refuses_a_strided_x():
    """The tiles read X with vector loads: an X whose rows are not contiguous is a
    typing error, never a wrong read."""
    import numba
    from numba import njit

    from fastlr.kernels import numba_vector_tiles

    tile = numba_vector_tiles.products_tile(1, 1)

    @njit
    def call(X, R, P):
        tile(X, R, 0, X.shape[0], P, 0, 0)

    X = np.ones((4, 8))[:, ::2]
    with pytest.raises(numba.core.errors.TypingError):
        call(X, np.ones((1, 4)), np.zeros((1, 4)))
