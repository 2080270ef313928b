"""The index algebra of the CSR CUDA kernels (kernels/cuda/sparse.cu), checked without a GPU.

``rows_times_dense`` replays ``csr_rows_times_dense`` warp by warp and lane by
lane over NumPy arrays: the groups of LANES lanes a warp's rows land in, the
strided entries each lane loads, the fixed shuffle tree of ``group_sum`` and
the one lane per group that writes. ``binary_gradient`` replays the binary
pass as ``sparse_cupy`` launches it: ``csr_binary_rows`` (margins by the same
lane layout, residuals written per row) and the gradient as Xᵀ times them
through ``csr_rows_times_dense`` on Xᵀ held as CSR. Both run with several
warps on rows of 0 to dozens of entries and a last, partial group, against
dense products, and twice to show the result is the same bits. The GPU runs
the kernels themselves in tests/test_sparse_kernels.py (cupy cases).
"""

import numpy as np
import pytest
import scipy.sparse
from scipy.special import expit

from fastlr.kernels.cuda_shapes import WARP_SIZE

LANE_COUNTS = (2, 4, 8, 16, 32)


def group_sum(values, lanes):
    """group_sum<T, LANES>: ``value += __shfl_down_sync(value, offset, LANES)`` for offset =
    LANES/2 … 1, then lane 0's value. ``values`` (lanes, ...) along axis 0; a lane whose
    source is past the group keeps its own value (what lane 0 reads never is)."""
    v = values.copy()
    offset = lanes // 2
    while offset > 0:
        source = np.arange(lanes) + offset
        shifted = np.where((source < lanes)[:, None], v[np.minimum(source, lanes - 1)], v)
        v = v + shifted
        offset //= 2
    return v[0]


def rows_times_dense(A, U, lanes, warps, columns=None):
    """out (rows, CLASSES) as csr_rows_times_dense<double, lanes, CLASSES> writes it, for a grid of
    ``warps`` warps; U (A's columns, CLASSES) float64. Rows never written stay NaN."""
    data, indices, indptr = A.data, A.indices, A.indptr
    rows = A.shape[0]
    classes = U.shape[1]
    out = np.full((rows, classes), np.nan)
    groups = WARP_SIZE // lanes
    for warp in range(warps):
        base = warp * groups
        while base < rows:  # the same trip count in every lane of the warp
            for group in range(groups):
                j = base + group
                valid = j < rows
                start, end = (int(indptr[j]), int(indptr[j + 1])) if valid else (0, 0)
                partial = np.zeros((lanes, classes))
                for group_lane in range(lanes):
                    for k in range(start + group_lane, end, lanes):
                        partial[group_lane] += float(data[k]) * U[indices[k]]
                total = group_sum(partial, lanes)
                if valid:
                    out[j] = total
            base += warps * groups
    return out


def binary_gradient(X, y, w, b, lanes, warps):
    """(gradient sum Σ r_i x_i, Σ ℓ_i) as csr_binary_rows then csr_rows_times_dense on Xᵀ compute them."""
    z = rows_times_dense(X, w[:, None], lanes, warps)[:, 0] + b  # the same lane layout as the margins
    residual = expit(z) - y
    losses = np.logaddexp(0, z) - y * z
    XT = X.T.tocsr()
    gradient = rows_times_dense(XT, residual[:, None], lanes, warps)[:, 0]
    return gradient, losses.sum()


def problem(m, n, seed):
    rng = np.random.default_rng(seed)
    lengths = rng.choice([0, 1, 3, 40], size=m, p=[0.2, 0.3, 0.4, 0.1])
    rows = np.repeat(np.arange(m), lengths)
    columns = rng.integers(0, n, rows.size)
    X = scipy.sparse.csr_array((rng.standard_normal(rows.size), (rows, columns)), shape=(m, n))
    X.sum_duplicates()
    return X, (rng.random(m) < 0.5).astype(float), rng.standard_normal(n), 0.3


@pytest.mark.parametrize("lanes", LANE_COUNTS)
def test_rows_times_dense_covers_every_row_once(lanes):
    X, _, _, _ = problem(m=70, n=9, seed=lanes)
    U = np.random.default_rng(1).standard_normal((9, 3))
    out = rows_times_dense(X, U, lanes, warps=2)
    np.testing.assert_allclose(out, X @ U, rtol=1e-12, atol=1e-12)  # NaN where a row was skipped


@pytest.mark.parametrize("lanes", LANE_COUNTS)
def test_binary_gradient_through_the_transpose_is_the_dense_gradient_and_repeatable(lanes):
    X, y, w, b = problem(m=57, n=13, seed=10 + lanes)
    gradient, loss = binary_gradient(X, y, w, b, lanes, warps=3)
    dense = X.toarray()
    z = dense @ w + b
    np.testing.assert_allclose(gradient, dense.T @ (expit(z) - y), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(loss, np.sum(np.logaddexp(0, z) - y * z), rtol=1e-12)
    again, _ = binary_gradient(X, y, w, b, lanes, warps=3)
    assert np.array_equal(again, gradient)  # a fixed order of additions: the same bits
