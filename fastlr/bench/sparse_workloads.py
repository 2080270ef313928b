"""Sparse workloads of the benchmarks: a TF-IDF-like CSR, the CSR calls to time, its read roof.

The counterpart of :mod:`fastlr.bench.workloads` for text-sized problems
(``fastlr bench --sparse``, ``benchmarks/asv_sparse.py``,
``benchmarks/sparse_time_to_optimum.py``). Nothing here times anything.

Data
----
:func:`make_tfidf` draws documents as bags of words: row lengths are Poisson
with mean ``density · n``, words are drawn with Zipf frequencies (word of rank
r with probability ∝ 1/r, ranks shuffled over the columns as a vocabulary in
alphabetical order would be), repeated words add up to term counts, each
count is weighted by the smoothed inverse document frequency and each row is
L2-normalized, as ``TfidfVectorizer`` does. Labels follow a logistic model
with a dense true w scaled to margins of standard deviation 3.

The input a CSR pass must read at least once is its three arrays: ``data``,
``indices`` and ``indptr`` (:func:`csr_bytes`). Its roof is the fastest way
of reading them of :data:`READ_PROBES`, measured as ``fastlr bench`` measures
the dense roof.
"""

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

import numpy as np
import scipy.sparse
from scipy.special import expit
from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression

from fastlr.bench import workloads
from fastlr.bench.workloads import Operation, _binary_kernel_call, _synchronized
from fastlr.dispatch import get_sparse_backend
from fastlr.estimator import fit
from fastlr.validation import canonical_csr

#: The text problem of issue 12: 200 000 documents, 50 000 words, 0.1 % of the
#: pairs drawn (8.5 · 10⁶ stored values once repeated words are added up).
SHAPE = (200_000, 50_000)
DENSITY = 1e-3
#: Quick mode (CI): small, with 20 entries a row so that fits still converge in a few dozen steps.
QUICK_SHAPE = (5_000, 2_000)
QUICK_DENSITY = 1e-2
ROW_COUNTS = (20_000, 200_000)
QUICK_ROW_COUNTS = (2_000, 5_000)
C = 1.0
#: The margins' standard deviation under the true model: labels neither separable nor noise.
MARGIN_SCALE = 3.0
#: scikit-learn's fastest solver on this CSR (newton-cg: 3 to 6 Newton steps; lbfgs needs hundreds).
SKLEARN_SOLVER = "newton-cg"


def problem_size():
    """(m, n, density) of the text problem, or of its quick stand-in."""
    return (*QUICK_SHAPE, QUICK_DENSITY) if workloads.quick_mode() else (*SHAPE, DENSITY)


def row_counts():
    return QUICK_ROW_COUNTS if workloads.quick_mode() else ROW_COUNTS


def make_tfidf(m, n, density=DENSITY, dtype="float64", seed=workloads.SEED):
    """(X, y): a TF-IDF-like canonical CSR (int32 indices) of shape (m, n) and 0/1 labels; see the module docstring."""
    rng = np.random.default_rng(seed)
    lengths = rng.poisson(density * n, m)
    rows = np.repeat(np.arange(m, dtype=np.int32), lengths)
    cumulative = np.cumsum(1.0 / np.arange(1, n + 1))
    ranks = np.searchsorted(cumulative, rng.random(rows.size) * cumulative[-1])
    columns = rng.permutation(n).astype(np.int32)[np.minimum(ranks, n - 1)]
    counts = scipy.sparse.coo_array((np.ones(rows.size), (rows, columns)), shape=(m, n)).tocsr()  # sums repeats
    document_frequency = np.bincount(counts.indices, minlength=n)
    idf = np.log((1 + m) / (1 + document_frequency)) + 1
    counts.data *= idf[counts.indices]
    row_lengths = np.diff(counts.indptr)
    norms = np.sqrt(np.bincount(np.repeat(np.arange(m), row_lengths), weights=counts.data**2, minlength=m))
    counts.data /= np.repeat(np.where(norms > 0, norms, 1.0), row_lengths)
    X = canonical_csr(counts.astype(dtype))
    w_true = rng.standard_normal(n)
    margins = X @ w_true
    w_true *= MARGIN_SCALE / max(float(margins.std()), 1e-12)
    y = (rng.random(m) < expit(X @ w_true)).astype(np.int64)
    return X, y


def csr_bytes(X) -> int:
    """Bytes of the three CSR arrays: what one pass must read at least once."""
    return X.data.nbytes + X.indices.nbytes + X.indptr.nbytes


@dataclass(frozen=True)
class SparseDataset(workloads.RowsOfX):
    """A TF-IDF-like binary problem and the point at which kernels are evaluated.

    X : CSR of shape (m, n), y : 0/1 in X's dtype, w : (n,), b : a scalar.
    """

    X: object
    y: np.ndarray
    w: np.ndarray
    b: np.floating

    @property
    def nbytes(self) -> int:
        return csr_bytes(self.X)

    def head(self, rows: int) -> "SparseDataset":
        """The first ``rows`` rows (a CSR row slice: only those rows are copied)."""
        return SparseDataset(self.X[:rows], self.y[:rows], self.w, self.b)


def make_dataset(m, n=SHAPE[1], dtype="float64", density=DENSITY, seed=workloads.SEED) -> SparseDataset:
    X, y = make_tfidf(m, n, density, dtype, seed)
    dtype = X.dtype
    w = (np.random.default_rng(seed + 1).standard_normal(n) * 0.1).astype(dtype)  # any point off the optimum
    return SparseDataset(X, y.astype(dtype), w, dtype.type(0.1))


# -- operations -----------------------------------------------------------------------
def _hessian_product_call(backend, data):
    """(H v) on the CSR companion, at the curvature of (w, b): what Newton-CG runs per inner step."""
    kernels = get_sparse_backend(backend)
    X, y, w = (kernels.to_device(array) for array in (data.X, data.y, data.w))
    curvature = kernels.cost_gradient_curvature(X, y, w, data.b)[3]
    v = kernels.to_device(np.random.default_rng(2).standard_normal(data.X.shape[1]))
    return _synchronized(kernels, partial(kernels.hessian_product, X, curvature, v, 0.5))


def _scipy_two_pass(data):
    """SciPy's two sparse passes (``X @ w``, then ``Xᵀ r``) with the loss between: scikit-learn's way."""
    X, y, w, b = data.X, data.y, data.w, data.b

    def run():
        z = X @ w + b
        residual = expit(z) - y
        return np.mean(np.logaddexp(0, z) - y * z), X.T @ residual / len(y), residual.mean()

    return run


def _fit_call(backend, data):
    kernels = get_sparse_backend(backend)
    # "auto": what a user gets on CSR (Newton-CG, preconditioned).
    return partial(fit, kernels.to_device(data.X), data.y, backend=backend, solver="auto", C=C, tol=workloads.FIT_TOL,
                   max_iter=workloads.FIT_MAX_ITER)


def _sklearn_fit(data):
    model = SklearnLogisticRegression(solver=SKLEARN_SOLVER, C=C, tol=workloads.FIT_TOL, max_iter=workloads.FIT_MAX_ITER)
    return partial(model.fit, data.X, data.y)


def _input_bytes(data) -> int:
    return data.nbytes


# The python loops visit about 10⁶ stored entries a second: capped to keep each call to seconds.
OPERATIONS = {
    operation.name: operation
    for operation in (
        Operation(
            "cost_gradient", _binary_kernel_call("cost_gradient", get_sparse_backend), _input_bytes,
            peers={"scipy-two-pass": _scipy_two_pass}, max_rows={"python": 20_000},
        ),
        Operation("hessian_product", _hessian_product_call, _input_bytes, max_rows={"python": 20_000}),
        Operation("fit", _fit_call, None, peers={"sklearn": _sklearn_fit}, max_rows={"python": 2_000}),
    )
}
KERNEL_OPERATIONS = ("cost_gradient", "hessian_product")
IMPLEMENTATIONS = list(dict.fromkeys(name for op in OPERATIONS.values() for name in op.implementations()))
PEERS = [name for name in IMPLEMENTATIONS if name not in workloads.BACKENDS]


# -- the roof -------------------------------------------------------------------------------
def _arrays(data):
    return (data.X.data, data.X.indices, data.X.indptr)


def _one_thread_sum(data):
    arrays = _arrays(data)
    return lambda: [array.sum() for array in arrays]


def _threaded_sum(data):
    """Each core sums its share of all three arrays (NumPy releases the GIL while it reduces)."""
    cores = os.cpu_count() or 1
    blocks = [np.array_split(array, cores) for array in _arrays(data)]
    shares = [[per_array[core] for per_array in blocks] for core in range(cores)]
    pool = ThreadPoolExecutor(cores)
    return lambda: list(pool.map(lambda share: [block.sum() for block in share], shares))


#: Ways to read the CSR arrays once: SciPy's matrix-vector product (which also
#: gathers w), NumPy's sum on one thread and on every core; the fastest sets the roof.
READ_PROBES = {
    "X @ w (SciPy)": lambda data: partial(data.X.__matmul__, data.w),
    "arrays.sum()": _one_thread_sum,
    "arrays.sum() threaded": _threaded_sum,
}
