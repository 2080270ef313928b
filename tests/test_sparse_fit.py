"""Sparse X end to end: the same fits as on dense X, input handling, prediction, memory."""

import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression

import fastlr
from fastlr import inputs
from fastlr.objective import SparseObjective
from tests.conftest import backend_params, sklearn_objective

CPU_BACKENDS = backend_params(["python", "numpy", "numba", "numba-parallel"])
#: (solver, extra parameters) of every solver path the sparse kernels must serve.
SOLVER_CASES = {
    "lbfgs": dict(solver="lbfgs"),
    "newton": dict(solver="newton"),
    "newton-cg": dict(solver="newton-cg"),
    "fista-l1": dict(solver="fista", penalty="l1", C=0.5),
    "fista-elasticnet": dict(solver="fista", penalty="elasticnet", l1_ratio=0.4),
    "gd": dict(solver="gd", max_iter=300, tol=0.0),  # a fixed path: where gd stalls near tol is rounding
    "minibatch": dict(solver="gd", batch_size=16, max_iter=4, random_state=0),
    "sgd": dict(solver="gd", batch_size=1, max_iter=2, random_state=0, learning_rate=0.01),
    "ovr": dict(solver="newton-cg", multi_class="ovr", n_classes=3),  # lbfgs stalls short of tol = 1e-10 there
    # A fixed path as for gd: lbfgs stalls here after 58 iterations (optimality 3e-8, the cost
    # flat in float64), and where it stalls is rounding: dense and sparse stalls were 5e-8 apart.
    "softmax": dict(solver="lbfgs", multi_class="multinomial", n_classes=3, max_iter=40, tol=0.0),
    "softmax-newton-cg": dict(solver="newton-cg", multi_class="multinomial", n_classes=3),
    "softmax-fista": dict(solver="fista", multi_class="multinomial", penalty="l1", C=0.5, n_classes=3),
}


def sparse_classification(m=300, n=12, n_classes=2, seed=0):
    """make_classification with the small values set to zero: about a third of X stored."""
    X, y = make_classification(m, n, n_informative=6, n_classes=n_classes, random_state=seed)
    X[np.abs(X) < 1.0] = 0.0
    return X, y


def fit_both(X, y, backend, sample_weight=None, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # fixed-length runs (mini-batch, SGD) stop at max_iter
        params.setdefault("tol", 1e-10)
        params.setdefault("max_iter", 2000)
        dense = fastlr.LogisticRegression(backend=backend, **params).fit(X, y, sample_weight=sample_weight)
        sparse = fastlr.LogisticRegression(backend=backend, **params).fit(
            scipy.sparse.csr_array(X), y, sample_weight=sample_weight
        )
    return dense, sparse


def assert_same_model(dense, sparse, rtol=1e-8):
    scale = np.abs(dense.coef_).max()
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=rtol, atol=rtol * scale)
    np.testing.assert_allclose(sparse.intercept_, dense.intercept_, rtol=rtol, atol=rtol * scale)
    # The same path up to rounding: sparse and dense products add in different orders, which
    # can move the last iterations of a fit to tol = 1e-10 by a few.
    np.testing.assert_allclose(sparse.n_iter_, dense.n_iter_, rtol=0.15, atol=2)


@pytest.mark.parametrize("backend", CPU_BACKENDS)
@pytest.mark.parametrize("case", list(SOLVER_CASES))
def test_sparse_and_dense_fits_agree_for_every_backend_and_solver(backend, case):
    params = dict(SOLVER_CASES[case])
    n_classes = params.pop("n_classes", 2)
    m = 60 if backend == "python" else 300  # the python loops are the reference, slow on purpose
    X, y = sparse_classification(m=m, n_classes=n_classes)
    sample_weight = np.random.default_rng(1).uniform(0.5, 2.0, m)
    dense, sparse = fit_both(X, y, backend, sample_weight=sample_weight, **params)
    assert_same_model(dense, sparse)
    assert sparse.backend_ == backend
    np.testing.assert_allclose(sparse.predict_proba(scipy.sparse.csr_array(X)), dense.predict_proba(X), atol=1e-8)


@pytest.mark.parametrize("backend", backend_params(["numpy", "numba-parallel"]))
def test_class_weights_on_sparse_data_equal_sample_weights(backend):
    X, y = sparse_classification(n_classes=3)
    Xs = scipy.sparse.csr_array(X)
    balanced = fastlr.LogisticRegression(backend=backend, class_weight="balanced", tol=1e-6).fit(Xs, y)
    counts = np.bincount(y)
    weights = (len(y) / (3 * counts))[y]
    weighted = fastlr.LogisticRegression(backend=backend, tol=1e-6).fit(Xs, y, sample_weight=weights)
    dense = fastlr.LogisticRegression(backend=backend, class_weight="balanced", tol=1e-6).fit(X, y)
    np.testing.assert_allclose(balanced.coef_, weighted.coef_, rtol=1e-8, atol=1e-10)  # the same path
    np.testing.assert_allclose(balanced.coef_, dense.coef_, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize(
    "convert",
    [
        scipy.sparse.csr_array, scipy.sparse.csr_matrix, scipy.sparse.csc_array, scipy.sparse.csc_matrix,
        scipy.sparse.coo_array, scipy.sparse.coo_matrix, scipy.sparse.lil_array, scipy.sparse.dok_matrix,
        lambda X: _with_int64_indices(scipy.sparse.csr_array(X)),
        lambda X: _with_int64_indices(scipy.sparse.csc_matrix(X)),
    ],
    ids=["csr_array", "csr_matrix", "csc_array", "csc_matrix", "coo_array", "coo_matrix", "lil_array",
         "dok_matrix", "csr_int64", "csc_int64"],
)
def test_every_sparse_format_gives_the_dense_fit(convert):
    X, y = sparse_classification()
    dense = fastlr.LogisticRegression(backend="numba", tol=1e-10).fit(X, y)
    csr = fastlr.LogisticRegression(backend="numba", tol=1e-10).fit(scipy.sparse.csr_array(X), y)
    sparse = fastlr.LogisticRegression(backend="numba", tol=1e-10).fit(convert(X), y)
    assert_same_model(dense, sparse)  # Newton-CG, preconditioned on CSR only: the same optimum
    np.testing.assert_array_equal(sparse.coef_, csr.coef_)  # every format becomes the same canonical CSR
    np.testing.assert_allclose(sparse.decision_function(convert(X)), dense.decision_function(X), rtol=1e-8)


def _with_int64_indices(X):
    X.indices, X.indptr = X.indices.astype(np.int64), X.indptr.astype(np.int64)
    return X


def test_the_canonical_csr_sums_duplicates_and_leaves_the_input_alone():
    rows, cols = np.array([0, 0, 1, 2, 2, 2]), np.array([1, 1, 0, 2, 0, 2])
    values = np.array([1.0, 2.0, -1.0, 0.5, 4.0, 0.25])
    coo = scipy.sparse.coo_array((values, (rows, cols)), shape=(3, 3))
    unsorted = scipy.sparse.csr_array((np.array([3.0, 1.0, -1.0]), np.array([2, 0, 1]), np.array([0, 2, 3, 3])),
                                      shape=(3, 3))
    unsorted_copy = (unsorted.data.copy(), unsorted.indices.copy())
    for X in (coo, unsorted):
        data = inputs.prepare_training_data(X, np.array([0, 1, 1]), backend="numpy")
        assert data.X.format == "csr" and data.X.has_canonical_format and data.X.indices.dtype == np.int32
        np.testing.assert_array_equal(data.X.toarray(), X.toarray())
        assert data.objective.func is SparseObjective
    assert np.array_equal(unsorted.data, unsorted_copy[0]) and np.array_equal(unsorted.indices, unsorted_copy[1])
    assert not unsorted.has_sorted_indices


def test_float32_sparse_stays_float32():
    X, y = sparse_classification()
    model32 = fastlr.LogisticRegression(backend="numba-parallel", tol=1e-6).fit(
        scipy.sparse.csr_array(X.astype(np.float32)), y
    )
    model64 = fastlr.LogisticRegression(backend="numba-parallel", tol=1e-6).fit(scipy.sparse.csr_array(X), y)
    assert model32.coef_.dtype == np.float32 and model32.intercept_.dtype == np.float32
    np.testing.assert_allclose(model32.coef_, model64.coef_, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize(
    ("X", "message"),
    [
        (scipy.sparse.csr_array(np.array([[1.0, np.nan], [0.0, 1.0]])), "NaN"),
        (scipy.sparse.csr_array(np.array([[1.0, np.inf], [0.0, 1.0]])), "infinity"),
        (scipy.sparse.coo_array(np.array([1.0, 0.0, 2.0])), "2D"),
        (scipy.sparse.csr_array((0, 3)), "0 sample"),
        (scipy.sparse.csr_array((np.array([1.0, 2.0]), np.array([0, 5]), np.array([0, 1, 2])), shape=(2, 3)),
         "not a valid sparse matrix"),
    ],
    ids=["nan", "inf", "1-D", "no rows", "index out of range"],
)
def test_bad_sparse_input_raises_a_value_error_naming_the_problem(X, message):
    with pytest.raises(ValueError, match=message):
        fastlr.LogisticRegression(backend="numba").fit(X, np.arange(X.shape[0]) % 2)


def test_empty_rows_and_an_all_zero_column_are_allowed():
    X, y = sparse_classification()
    X[:40] = 0.0
    X[:, 3] = 0.0
    dense, sparse = fit_both(X, y, "numba-parallel")
    assert scipy.sparse.csr_array(X)[:40].nnz == 0
    assert_same_model(dense, sparse)
    assert sparse.coef_[0, 3] == 0.0


def test_prediction_on_sparse_and_dense_x_is_the_same_whatever_was_fitted():
    X, y = sparse_classification(n_classes=3)
    Xs = scipy.sparse.csr_array(X)
    for fitted in (X, Xs):
        model = fastlr.LogisticRegression(backend="numba-parallel").fit(fitted, y)
        for method in ("decision_function", "predict_proba", "predict_log_proba", "predict"):
            sparse_result = getattr(model, method)(scipy.sparse.coo_matrix(X))
            dense_result = getattr(model, method)(X)
            np.testing.assert_allclose(sparse_result, dense_result, rtol=1e-10)
    with pytest.raises(ValueError, match="features"):
        model.predict(scipy.sparse.csr_array(X[:, :5]))


def test_l1_sparsity_matches_sklearn_saga():
    X, y = sparse_classification(m=400, n=20, seed=3)
    Xs = scipy.sparse.csr_array(X)
    C = 0.05
    ours = fastlr.LogisticRegression(backend="numba-parallel", penalty="l1", C=C, tol=1e-7, max_iter=100_000).fit(Xs, y)
    saga = SklearnLogisticRegression(l1_ratio=1.0, C=C, solver="saga", tol=1e-12, max_iter=100_000).fit(Xs, y)
    support = ours.coef_ != 0
    assert 0 < support.sum() < X.shape[1]  # a real sparse model
    np.testing.assert_array_equal(support, np.abs(saga.coef_) > 1e-6)
    np.testing.assert_allclose(ours.coef_, saga.coef_, atol=1e-5)
    gap = sklearn_objective(X, y, ours.coef_, ours.intercept_, C, l1_ratio=1.0) - sklearn_objective(
        X, y, saga.coef_, saga.intercept_, C, l1_ratio=1.0
    )
    assert gap < 1e-8


def test_newton_on_wide_sparse_data_is_refused_with_the_size_and_what_to_use():
    n = 2_000_000
    X = scipy.sparse.random_array((50, n), density=2e-6, format="csr", rng=0)
    y = np.arange(50) % 2
    with pytest.raises(MemoryError, match=r"2000001 parameters.*solver='newton-cg' or 'lbfgs'"):
        fastlr.LogisticRegression(backend="numba", solver="newton").fit(X, y)


def _peak_bytes(function):
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("backend", backend_params(["numpy", "numba-parallel"]))
@pytest.mark.parametrize("params", [dict(solver="lbfgs"), dict(solver="gd", batch_size=2000, max_iter=2)],
                         ids=["lbfgs", "minibatch"])
def test_a_wide_fit_needs_memory_in_proportion_to_the_stored_entries(backend, params):
    """A 50 000 × 40 000 CSR with 10⁶ stored values: 12 MB, where X dense would be 16 GB and
    XᵀX 12.8 GB. The peak of a fit (input conversion included) must stay within a few
    copies of the CSR plus O(m + n) vectors."""
    m, n, nnz = 50_000, 40_000, 1_000_000
    rng = np.random.default_rng(0)
    X = scipy.sparse.csr_array(
        (rng.standard_normal(nnz), (rng.integers(0, m, nnz), rng.integers(0, n, nnz))), shape=(m, n)
    )
    X.sum_duplicates()
    y = (X @ rng.standard_normal(n) > 0).astype(int)
    model = fastlr.LogisticRegression(backend=backend, max_iter=params.pop("max_iter", 15), **params)
    csr_bytes = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X[:2000], y[:2000])  # JIT compilation outside the measurement
        peak = _peak_bytes(lambda: model.fit(X, y))
    bound = 2 * csr_bytes + 20 * 8 * n + 12 * 8 * m  # measured: 1.2-1.25 CSR (the int32 copy of an int64 CSR)
    assert peak < bound, f"peak {peak / 1e6:.1f} MB above {bound / 1e6:.1f} MB (CSR {csr_bytes / 1e6:.1f} MB)"


def test_mini_batches_are_row_slices_of_the_csr():
    X, y = sparse_classification()
    data = inputs.prepare_training_data(scipy.sparse.csr_array(X), y, backend="numpy")
    objective = data.objective(data.backend, data.X, data.y_index.astype(float), None)
    rows = np.array([5, 0, 17])
    part = objective.subset(rows)
    assert part.X.format == "csr" and part.X.shape == (3, X.shape[1])
    np.testing.assert_array_equal(part.X.toarray(), X[rows])
    assert objective.largest_row_norm() == pytest.approx((X**2).sum(axis=1).max() + 1.0)


def test_sparse_chunks_in_a_dask_array_get_a_clear_error():
    da = pytest.importorskip("dask.array")
    X = da.from_array(scipy.sparse.csr_matrix(np.eye(20)), chunks=(10, 20), asarray=False)
    with pytest.raises(ValueError, match="sparse chunks"):
        fastlr.LogisticRegression(backend="numpy").fit(X, np.arange(20) % 2)


def test_the_estimator_says_it_takes_sparse_input():
    assert fastlr.LogisticRegression().__sklearn_tags__().input_tags.sparse


@pytest.mark.gpu
@pytest.mark.parametrize("case", ["lbfgs", "softmax", "fista-l1"])
def test_a_device_csr_fit_matches_the_cpu_fit(case):
    """cupyx CSR stays on the device (and host CSR goes there with backend='cupy'); same model as on the CPU."""
    from fastlr.dispatch import unavailable_reason

    reason = unavailable_reason("cupy")
    if reason is not None:
        pytest.skip(f"cupy: {reason}")
    import cupyx.scipy.sparse

    params = dict(SOLVER_CASES[case])
    n_classes = params.pop("n_classes", 2)
    X, y = sparse_classification(n_classes=n_classes)
    cpu = fastlr.LogisticRegression(backend="numba", tol=1e-8, **params).fit(scipy.sparse.csr_array(X), y)
    for device_input in (cupyx.scipy.sparse.csr_matrix(scipy.sparse.csr_matrix(X)), scipy.sparse.csr_matrix(X)):
        gpu = fastlr.LogisticRegression(backend="cupy", tol=1e-8, **params).fit(device_input, y)
        assert gpu.backend_ == "cupy"
        np.testing.assert_allclose(gpu.coef_, cpu.coef_, rtol=1e-6, atol=1e-7)
        probabilities = gpu.predict_proba(device_input)
        probabilities = probabilities.get() if hasattr(probabilities, "get") else probabilities  # CuPy for device X
        np.testing.assert_allclose(probabilities, cpu.predict_proba(X), atol=1e-6)


def test_jacobi_preconditioned_cg_solves_a_badly_scaled_system_in_fewer_products():
    """conjugate_gradient with 1/diag(A) against numpy.linalg.solve, on columns scaled over
    four orders of magnitude (as TF-IDF columns are): the same solution, fewer products."""
    from fastlr.solvers.newton_cg import conjugate_gradient

    rng = np.random.default_rng(0)
    scales = np.logspace(0, 4, 40)
    B = rng.standard_normal((200, 40)) * scales
    A = B.T @ B / 200 + 1e-3 * np.eye(40)
    rhs = rng.standard_normal(40)
    want = np.linalg.solve(A, rhs)
    plain, plain_steps = conjugate_gradient(np, lambda v: A @ v, rhs, 1e-10 * np.linalg.norm(rhs), 500)
    jacobi, jacobi_steps = conjugate_gradient(np, lambda v: A @ v, rhs, 1e-10 * np.linalg.norm(rhs), 500,
                                              1.0 / np.diag(A))
    np.testing.assert_allclose(jacobi, want, rtol=1e-6)
    assert jacobi_steps < plain_steps


def test_sparse_newton_cg_is_preconditioned_by_the_diagonal_pass():
    """The CSR companions give Newton-CG the Hessian's diagonal (binary only), which must be the
    diagonal of the objective's Hessian: that of ``value_gradient_hessian`` on the dense data."""
    X, y = sparse_classification()
    data = inputs.prepare_training_data(scipy.sparse.csr_array(X), y, backend="numba")
    dense = inputs.prepare_training_data(X, y, backend="numba")
    sparse_objective = data.objective(data.backend, data.X, data.y_index, None, C=0.7)
    dense_objective = dense.objective(dense.backend, dense.X, dense.y_index, None, C=0.7)
    theta = np.random.default_rng(3).standard_normal(sparse_objective.n_params) * 0.1
    diagonal = sparse_objective.hessian_diagonal(sparse_objective.value_gradient_curvature(theta)[2])
    np.testing.assert_allclose(diagonal, np.diag(dense_objective.value_gradient_hessian(theta)[2]), rtol=1e-10)
    assert dense_objective.hessian_diagonal(None) is None  # dense backends: plain CG


def test_auto_picks_newton_cg_for_csr_and_never_a_dense_hessian():
    from fastlr.solvers import auto_solver

    # The text problem: 50 000 features (a dense Hessian would be 20 GB).
    assert auto_solver("l2", 200_000, 50_000, 1, sparse=True) == "newton-cg"
    assert auto_solver("l2", 200_000, 50_000, 1) == "lbfgs"  # dense data: the measured crossovers
    assert auto_solver("l1", 200_000, 50_000, 1, sparse=True) == "fista"
    for shape in ((10**6, 10**6), (500, 20), (200_000, 50_000)):
        for penalty in ("l2", None, "l1", "elasticnet"):
            for classes in (1, 3):
                assert auto_solver(penalty, *shape, classes, sparse=True) != "newton"
    X, y = sparse_classification()
    model = fastlr.LogisticRegression(backend="numba", tol=1e-8).fit(scipy.sparse.csr_array(X), y)
    assert model.solver_ == "newton-cg" and model.n_iter_[0] < 20
