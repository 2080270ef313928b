"""The CSR companion of ``numba-parallel``: the loops of :mod:`fastlr.kernels.sparse_numba`
on one range of rows per thread.

The ranges come from :func:`~fastlr.kernels.sparse_numba.balanced_bounds`: about
equal work each (stored entries plus a per-row cost), not equal row counts,
so a block of long documents does not leave one thread working alone. Each
range accumulates into its own buffer, allocated inside the parallel loop (a
row of a shared (ranges, n) array passed down instead took 1.75 times the CPU
time of the serial pass: Numba gives such a slice a strided layout, and the
gradient scatter pays for it); the buffers are then added in range order,
columns in parallel: results depend on the thread count, never on scheduling.
"""

import numpy as np
from numba import njit, prange

from fastlr.kernels import numba_build, numba_parallel
from fastlr.kernels import sparse_numba as rows

_jit = dict(cache=numba_build.CACHE, parallel=True)


@njit(**_jit)
def _sum_ranges(buffers):
    """Σ_r buffers[r] over the first axis in order r = 0, 1, ..., columns in parallel."""
    n_ranges = buffers.shape[0]
    flat = buffers.reshape(n_ranges, -1)
    out = np.zeros(flat.shape[1])
    for j in prange(flat.shape[1]):
        total = 0.0
        for r in range(n_ranges):
            total += flat[r, j]
        out[j] = total
    return out.reshape(buffers.shape[1:])


@njit(**_jit)
def _binary_pass(data, indices, indptr, n, y, w, b, sample_weight, with_gradient, curvature, bounds):
    n_ranges = bounds.shape[0] - 1
    gradients = np.zeros((n_ranges, n if with_gradient else 0))
    sums = np.zeros((n_ranges, 3))
    for r in prange(n_ranges):
        local = np.zeros(gradients.shape[1])  # this thread's own accumulator
        sums[r, 0], sums[r, 1], sums[r, 2] = rows.binary_rows(
            data, indices, indptr, y, w, b, sample_weight, bounds[r], bounds[r + 1], local, with_gradient, curvature
        )
        gradients[r] = local
    total = sums.sum(axis=0)  # a fixed order over a few ranges
    return total[0], _sum_ranges(gradients), total[1], total[2]


@njit(**_jit)
def _softmax_pass(data, indices, indptr, n, y, WT, b, sample_weight, with_gradient, probabilities, bounds):
    n_ranges = bounds.shape[0] - 1
    n_classes = WT.shape[1]
    gradients = np.zeros((n_ranges, n if with_gradient else 0, n_classes))
    gradients_b = np.zeros((n_ranges, n_classes))
    sums = np.zeros((n_ranges, 2))
    for r in prange(n_ranges):
        local = np.zeros(gradients.shape[1:])
        local_b = np.zeros(n_classes)
        sums[r, 0], sums[r, 1] = rows.softmax_rows(
            data, indices, indptr, y, WT, b, sample_weight, bounds[r], bounds[r + 1], local, local_b, with_gradient,
            probabilities,
        )
        gradients[r] = local
        gradients_b[r] = local_b
    total = sums.sum(axis=0)
    return total[0], total[1], _sum_ranges(gradients), _sum_ranges(gradients_b)


@njit(**_jit)
def _margins(data, indices, indptr, WT, b, bounds):
    out = np.empty((indptr.shape[0] - 1, WT.shape[1]), dtype=data.dtype)
    for r in prange(bounds.shape[0] - 1):
        rows.margins_rows(data, indices, indptr, WT, b, bounds[r], bounds[r + 1], out)
    return out


@njit(**_jit)
def _hessian_product(data, indices, indptr, n, curvature, v, v_b, bounds):
    n_ranges = bounds.shape[0] - 1
    outs = np.zeros((n_ranges, n))
    outs_b = np.zeros(n_ranges)
    for r in prange(n_ranges):
        local = np.zeros(n)
        outs_b[r] = rows.hessian_product_rows(data, indices, indptr, curvature, v, v_b, bounds[r], bounds[r + 1], local)
        outs[r] = local
    return _sum_ranges(outs), outs_b.sum()


@njit(**_jit)
def _hessian_diagonal(data, indices, indptr, n, curvature, bounds):
    n_ranges = bounds.shape[0] - 1
    outs = np.zeros((n_ranges, n))
    for r in prange(n_ranges):
        local = np.zeros(n)
        rows.hessian_diagonal_rows(data, indices, indptr, curvature, bounds[r], bounds[r + 1], local)
        outs[r] = local
    return _sum_ranges(outs)


@njit(**_jit)
def _softmax_hessian_product(data, indices, indptr, n, probabilities, sample_weight, VT, v_b, scale, bounds):
    n_ranges = bounds.shape[0] - 1
    n_classes = VT.shape[1]
    outs = np.zeros((n_ranges, n, n_classes))
    outs_b = np.zeros((n_ranges, n_classes))
    for r in prange(n_ranges):
        local = np.zeros((n, n_classes))
        local_b = np.zeros(n_classes)
        rows.softmax_hessian_product_rows(
            data, indices, indptr, probabilities, sample_weight, VT, v_b, scale, bounds[r], bounds[r + 1], local, local_b
        )
        outs[r] = local
        outs_b[r] = local_b
    return _sum_ranges(outs), _sum_ranges(outs_b)


@njit(**_jit)
def _hessian(data, indices, indptr, n, y, w, b, sample_weight, bounds):
    n_ranges = bounds.shape[0] - 1
    gradients = np.zeros((n_ranges, n))
    grams = np.zeros((n_ranges, n + 1, n + 1))
    sums = np.zeros((n_ranges, 3))
    for r in prange(n_ranges):
        local = np.zeros(n)
        local_gram = np.zeros((n + 1, n + 1))
        sums[r, 0], sums[r, 1], sums[r, 2] = rows.hessian_rows(
            data, indices, indptr, y, w, b, sample_weight, bounds[r], bounds[r + 1], local, local_gram
        )
        gradients[r] = local
        grams[r] = local_gram
    total = sums.sum(axis=0)
    return total[0], _sum_ranges(gradients), total[1], total[2], _sum_ranges(grams)


backend = rows.SparseNumbaBackend(
    numba_parallel.backend,
    "@njit(parallel=True), one fused pass over the stored entries, ranges balanced by work",
    rows.Passes(
        _binary_pass, _softmax_pass, _margins, _hessian_product, _hessian_diagonal, _softmax_hessian_product, _hessian
    ),
    serial=rows.PASSES,
)
