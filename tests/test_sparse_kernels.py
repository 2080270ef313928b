"""The CSR companion of every backend against the dense python reference and finite differences.

Each sparse backend computes over the stored entries only; the reference it is
checked against is the dense ``python`` backend on ``X.toarray()``, a different
code path (and for the Hessian-vector hooks the generic dense formulas), so
an error in how a CSR loop walks its rows cannot cancel out.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse
from hypothesis import given, settings
from hypothesis import strategies as st

from fastlr import config
from fastlr.dispatch import BACKENDS, get_backend, get_sparse_backend
from fastlr.kernels.base import KernelInputError
from fastlr.validation import canonical_csr
from tests.conftest import backend_params

SPARSE_BACKENDS = backend_params([name for name, entry in BACKENDS.items() if entry.load_sparse is not None])
COMPILED = backend_params(["numba", "numba-parallel"])
RTOL = {np.float64: 1e-10, np.float32: 2e-4}
CONTRACT = (
    "sigmoid", "decision_function", "predict_proba", "cost", "gradient", "cost_gradient", "cost_gradient_hessian",
    "cost_gradient_curvature", "hessian_product", "hessian_diagonal", "softmax", "softmax_cost", "softmax_cost_gradient",
    "softmax_cost_gradient_probabilities", "softmax_hessian_product",
)


def make_sparse_problem(m=3000, n=11, density=0.2, dtype=np.float64, seed=0, weighted=False, n_classes=1):
    """(X as canonical CSR with some empty rows, y, w or W, b, sample weights or None)."""
    rng = np.random.default_rng(seed)
    X = scipy.sparse.random_array((m, n), density=density, format="csr", rng=rng, dtype=np.float64)
    X.data = rng.standard_normal(X.nnz)
    X = X.multiply((rng.random(m) > 0.1)[:, None]).tocsr()  # about a tenth of the rows left empty
    X = canonical_csr(X.astype(dtype))
    if n_classes == 1:
        y = (rng.random(m) < 0.5).astype(dtype)
        w, b = rng.standard_normal(n).astype(dtype), dtype(0.3)
    else:
        y = rng.integers(0, n_classes, m)
        w, b = rng.standard_normal((n_classes, n)).astype(dtype), rng.standard_normal(n_classes).astype(dtype)
    s = rng.uniform(0.1, 2.0, m).astype(dtype) if weighted else None
    return X, y, w, b, s


def host(kernels, value):
    return np.asarray(kernels.to_host(value))


def on_device(kernels, *arrays):
    return [None if a is None else kernels.to_device(a) for a in arrays]


def assert_same(got, want, dtype, kernels):
    for value, expected in zip(got, want):
        value = host(kernels, value)
        np.testing.assert_allclose(value, expected, rtol=RTOL[dtype], atol=RTOL[dtype] * 1e-2)


@pytest.fixture(autouse=True)
def several_ranges(monkeypatch):
    """Small problems still split into one range per thread, so the parallel passes are the ones tested."""
    monkeypatch.setattr(config, "SPARSE_MIN_WORK_PER_THREAD", 500)


@pytest.mark.parametrize("backend", SPARSE_BACKENDS)
def test_every_backend_has_a_csr_companion_with_the_whole_contract(backend):
    kernels = get_sparse_backend(backend)
    missing = [name for name in CONTRACT if not hasattr(kernels, name)]
    assert not missing
    assert kernels.name == backend and kernels.xp is get_backend(backend).xp
    X, *_ = make_sparse_problem(m=10)
    assert kernels.accepts(kernels.to_device(X))


@pytest.mark.parametrize("backend", SPARSE_BACKENDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_binary_csr_kernels_match_the_dense_reference(backend, dtype, weighted):
    kernels, reference = get_sparse_backend(backend), get_backend("python")
    X, y, w, b, s = make_sparse_problem(dtype=dtype, weighted=weighted)
    dense = X.toarray()
    Xd, yd, wd, sd = on_device(kernels, X, y, w, s)
    for name in ("cost_gradient", "cost", "gradient", "cost_gradient_hessian", "cost_gradient_curvature"):
        got, want = getattr(kernels, name)(Xd, yd, wd, b, sd), getattr(reference, name)(dense, y, w, b, s)
        assert_same(got if isinstance(got, tuple) else (got,), want if isinstance(want, tuple) else (want,), dtype,
                    kernels)
    cost, dw, db = kernels.cost_gradient(Xd, yd, wd, b, sd)
    assert host(kernels, dw).dtype == dtype and host(kernels, cost).dtype == dtype
    assert_same([kernels.decision_function(Xd, wd, b)], [dense @ w + b], dtype, kernels)
    curvature = reference.cost_gradient_curvature(dense, y, w, b, s)[3]
    v = np.random.default_rng(1).standard_normal(X.shape[1])
    got = kernels.hessian_product(Xd, kernels.to_device(curvature), kernels.to_device(v), 0.7)
    assert_same(got, reference.hessian_product(dense, curvature, v, 0.7), dtype, kernels)  # float64 out, X's dtype in
    hessian = reference.cost_gradient_hessian(dense.astype(np.float64), y, w, b, s)[3]
    diagonal, diagonal_b = kernels.hessian_diagonal(Xd, kernels.to_device(curvature))
    assert_same([diagonal, diagonal_b], [np.diag(hessian)[:-1], hessian[-1, -1]], dtype, kernels)


@pytest.mark.parametrize("backend", SPARSE_BACKENDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_softmax_csr_kernels_match_the_dense_reference(backend, dtype, weighted):
    kernels, reference = get_sparse_backend(backend), get_backend("python")
    X, y, W, b, s = make_sparse_problem(m=2000, dtype=dtype, weighted=weighted, n_classes=4)
    dense = X.toarray()
    Xd, yd, Wd, bd, sd = on_device(kernels, X, y, W, b, s)
    for name in ("softmax_cost_gradient", "softmax_cost", "softmax_cost_gradient_probabilities"):
        got, want = getattr(kernels, name)(Xd, yd, Wd, bd, sd), getattr(reference, name)(dense, y, W, b, s)
        assert_same(got if isinstance(got, tuple) else (got,), want if isinstance(want, tuple) else (want,), dtype,
                    kernels)
    dW = host(kernels, kernels.softmax_cost_gradient(Xd, yd, Wd, bd, sd)[1])
    assert dW.dtype == dtype and dW.shape == W.shape and dW.flags.c_contiguous
    assert_same([kernels.decision_function(Xd, Wd, bd)], [dense @ W.T + b], dtype, kernels)
    P = reference.softmax_cost_gradient_probabilities(dense, y, W, b, s)[3]
    rng = np.random.default_rng(2)
    V, v_b = rng.standard_normal(W.shape), rng.standard_normal(W.shape[0])
    got = kernels.softmax_hessian_product(Xd, kernels.to_device(P), sd, *on_device(kernels, V, v_b))
    assert_same(got, reference.softmax_hessian_product(dense, P, s, V, v_b), dtype, kernels)


def _central_difference(f, x, eps=1e-6):
    steps = np.eye(len(x)) * eps
    return np.array([(f(x + step) - f(x - step)) / (2 * eps) for step in steps])


@pytest.mark.parametrize("backend", SPARSE_BACKENDS)
def test_csr_gradients_match_central_differences(backend):
    kernels = get_sparse_backend(backend)
    X, y, w, b, s = make_sparse_problem(m=150, n=5, density=0.4, weighted=True)
    Xd, yd, sd = on_device(kernels, X, y, s)

    def cost_of(params):
        return float(host(kernels, kernels.cost(Xd, yd, kernels.to_device(params[:-1]), params[-1], sd)))

    dw, db = kernels.gradient(Xd, yd, kernels.to_device(w), b, sd)
    np.testing.assert_allclose(
        np.append(host(kernels, dw), host(kernels, db)), _central_difference(cost_of, np.append(w, b)),
        rtol=1e-6, atol=1e-9,
    )
    X, y, W, b, s = make_sparse_problem(m=150, n=4, density=0.4, weighted=True, n_classes=3)
    Xd, yd, sd = on_device(kernels, X, y, s)
    k, n = W.shape

    def softmax_cost_of(params):
        W_, b_ = params[: k * n].reshape(k, n), params[k * n:]
        return float(host(kernels, kernels.softmax_cost(Xd, yd, *on_device(kernels, W_, b_), sd)))

    _, dW, db = kernels.softmax_cost_gradient(Xd, yd, *on_device(kernels, W, b), sd)
    np.testing.assert_allclose(
        np.concatenate([host(kernels, dW).ravel(), host(kernels, db)]),
        _central_difference(softmax_cost_of, np.concatenate([W.ravel(), b])), rtol=1e-6, atol=1e-9,
    )


@pytest.mark.parametrize("backend", SPARSE_BACKENDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_csr_cost_is_exact_for_margins_in_the_thousands(backend, dtype):
    kernels = get_sparse_backend(backend)
    X = scipy.sparse.csr_array(np.array([[1.0], [1.0], [-1.0], [-1.0], [0.0]], dtype=dtype))
    y = np.array([1.0, 0.0, 1.0, 0.0, 1.0], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cost, dw, _ = kernels.cost_gradient(*on_device(kernels, X, y, np.array([3000.0], dtype=dtype)), dtype(0))
    # 0, 3000, 3000, 0, and log 2 for the empty row (z = b = 0)
    assert float(host(kernels, cost)) == pytest.approx((6000.0 + np.log(2.0)) / 5, rel=1e-6)
    np.testing.assert_allclose(host(kernels, dw), [0.4], rtol=1e-6)


@pytest.mark.parametrize("backend", SPARSE_BACKENDS)
def test_int64_indices_give_the_same_results(backend):
    kernels = get_sparse_backend(backend)
    X, y, w, b, s = make_sparse_problem(m=500, weighted=True)
    wide = scipy.sparse.csr_array((X.data, X.indices.astype(np.int64), X.indptr.astype(np.int64)), shape=X.shape)
    assert wide.indices.dtype == np.int64
    narrow = kernels.cost_gradient(*on_device(kernels, X, y, w), b, kernels.to_device(s))
    got = kernels.cost_gradient(*on_device(kernels, wide, y, w), b, kernels.to_device(s))
    for value, expected in zip(got, narrow):
        np.testing.assert_allclose(host(kernels, value), host(kernels, expected), rtol=1e-13)


@pytest.mark.parametrize("backend", SPARSE_BACKENDS)
def test_csr_kernels_refuse_dense_and_other_formats(backend):
    kernels = get_sparse_backend(backend)
    X, y, w, b, _ = make_sparse_problem(m=20)
    for wrong in (X.toarray(), X.tocsc()):
        with pytest.raises(KernelInputError, match="CSR"):
            kernels.cost_gradient(wrong, y, w, b)


def test_row_ranges_are_balanced_by_work_not_by_rows():
    pytest.importorskip("numba")
    from fastlr.kernels.sparse_numba import balanced_bounds

    # 1000 rows: the first 10 hold 100 entries each, the other 990 none.
    lengths = np.r_[np.full(10, 100), np.zeros(990, dtype=int)]
    indptr = np.r_[0, np.cumsum(lengths)].astype(np.int32)
    bounds = balanced_bounds(indptr, 2, 0)
    assert bounds[0] == 0 and bounds[-1] == 1000 and bounds[1] == 5  # 500 entries each side
    bounds = balanced_bounds(indptr, 4, 1)  # work = entries + rows = 1990
    work = np.diff(indptr[bounds] + bounds)
    assert np.all(np.diff(bounds) >= 0) and work.max() - work.min() <= 101  # within one row's work


@pytest.mark.parametrize("backend", COMPILED)
def test_compiled_csr_passes_are_deterministic(backend):
    kernels = get_sparse_backend(backend)
    X, y, w, b, s = make_sparse_problem(m=20_000, n=300, density=0.02, weighted=True)
    first = kernels.cost_gradient(X, y, w, b, s)
    for _ in range(3):
        again = kernels.cost_gradient(X, y, w, b, s)
        assert again[0] == first[0] and np.array_equal(again[1], first[1]) and again[2] == first[2]


@settings(max_examples=25, deadline=None)
@given(
    m=st.integers(1, 60), n=st.integers(1, 8), density=st.sampled_from([0.0, 0.1, 0.5, 1.0]),
    scale=st.sampled_from([0.1, 1.0, 30.0, 500.0]), seed=st.integers(0, 2**16),
)
def test_fused_csr_passes_agree_with_scipy_products_on_random_problems(m, n, density, scale, seed):
    pytest.importorskip("numba")
    X, y, w, b, s = make_sparse_problem(m=m, n=n, density=density, seed=seed, weighted=True)
    w, b = w * scale, b * scale
    want = get_sparse_backend("numpy").cost_gradient(X, y, w, b, s)
    for backend in ("numba", "numba-parallel"):
        got = get_sparse_backend(backend).cost_gradient(X, y, w, b, s)
        for value, expected in zip(got, want):
            np.testing.assert_allclose(value, expected, rtol=1e-9, atol=1e-12)


def test_a_registered_backend_brings_its_csr_companion_or_gets_a_clear_error():
    from fastlr.dispatch import register_backend, unregister_backend
    from fastlr.kernels import numpy_vectorized, sparse_numpy

    register_backend("dense-only", numpy_vectorized.NumpyBackend())
    register_backend("with-csr", numpy_vectorized.NumpyBackend(), sparse=sparse_numpy.SparseNumpyBackend(
        numpy_vectorized.backend, "SciPy products"))
    try:
        with pytest.raises(ValueError, match=r"'dense-only' has no kernels for sparse .*'numpy'.*'with-csr'"):
            get_sparse_backend("dense-only")
        X, y, w, b, _ = make_sparse_problem(m=50)
        got = get_sparse_backend("with-csr").cost_gradient(X, y, w, b)
        for value, expected in zip(got, get_sparse_backend("numpy").cost_gradient(X, y, w, b)):
            np.testing.assert_allclose(value, expected, rtol=1e-14)
        with pytest.raises(ValueError, match="sparse"):
            import fastlr
            fastlr.LogisticRegression(backend="dense-only").fit(X, (y > 0).astype(int))
    finally:
        unregister_backend("dense-only")
        unregister_backend("with-csr")
