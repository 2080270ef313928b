"""The ``numba-parallel`` backend: fused ``@njit(parallel=True)`` kernels.

Rows are split into one contiguous range per thread (fewer for small inputs,
see ``config.NUMBA_MIN_ROWS_PER_THREAD``). Each range runs the fused loop of
:mod:`fastlr.kernels.numba_common` into its own accumulators; the partial sums
are then added in range order, so results depend on the thread count but never
on scheduling.
"""

import numpy as np
from numba import njit, prange

from fastlr.kernels import numba_build
from fastlr.kernels import numba_common as rows
from fastlr.kernels import numba_second_order
from fastlr.kernels import numba_serial

_jit = dict(cache=numba_build.CACHE, parallel=True)


@njit(**_jit)
def _binary_pass(X, y, w, b, sample_weight, with_gradient, n_ranges):
    m, n = X.shape
    gradients = np.zeros((n_ranges, n))
    sums = np.zeros((n_ranges, 3))
    for r in prange(n_ranges):
        local = np.zeros(n)  # this thread's own accumulator
        loss, residual, weight = rows.binary_rows(
            X, y, w, b, sample_weight, r * m // n_ranges, (r + 1) * m // n_ranges, local, with_gradient
        )
        gradients[r] = local
        sums[r, 0], sums[r, 1], sums[r, 2] = loss, residual, weight
    total = np.zeros(3)
    gradient = np.zeros(n)
    for r in range(n_ranges):
        total += sums[r]
        gradient += gradients[r]
    return total[0] / total[2], gradient / total[2], total[1] / total[2]


@njit(**_jit)
def _softmax_pass(X, y, W, b, sample_weight, with_gradient, n_ranges):
    m, n = X.shape
    n_classes = W.shape[0]
    gradients = np.zeros((n_ranges, n_classes, n))
    gradients_b = np.zeros((n_ranges, n_classes))
    sums = np.zeros((n_ranges, 2))
    for r in prange(n_ranges):
        local = np.zeros((n_classes, n))
        local_b = np.zeros(n_classes)
        loss, weight = rows.softmax_rows(
            X, y, W, b, sample_weight, r * m // n_ranges, (r + 1) * m // n_ranges, local, local_b, with_gradient
        )
        gradients[r] = local
        gradients_b[r] = local_b
        sums[r, 0], sums[r, 1] = loss, weight
    total = np.zeros(2)
    gradient = np.zeros((n_classes, n))
    gradient_b = np.zeros(n_classes)
    for r in range(n_ranges):
        total += sums[r]
        gradient += gradients[r]
        gradient_b += gradients_b[r]
    return total[0] / total[1], gradient / total[1], gradient_b / total[1]


@njit(**_jit)
def _hessian_pass(X, y, w, b, sample_weight, block_rows, n_ranges):
    m, n = X.shape
    gradients = np.zeros((n_ranges, n))
    grams = np.zeros((n_ranges, n + 1, n + 1))
    sums = np.zeros((n_ranges, 3))
    for r in prange(n_ranges):
        local = np.zeros(n)
        local_gram = np.zeros((n + 1, n + 1))
        loss, residual, weight = rows.hessian_rows(
            X, y, w, b, sample_weight, r * m // n_ranges, (r + 1) * m // n_ranges, local, local_gram, block_rows
        )
        gradients[r] = local
        grams[r] = local_gram
        sums[r, 0], sums[r, 1], sums[r, 2] = loss, residual, weight
    total = np.zeros(3)
    gradient = np.zeros(n)
    gram = np.zeros((n + 1, n + 1))
    for r in range(n_ranges):
        total += sums[r]
        gradient += gradients[r]
        gram += grams[r]
    return total[0] / total[2], gradient / total[2], total[1] / total[2], gram / total[2]


@njit(**_jit)
def _margins(X, W, b, n_ranges):
    m = X.shape[0]
    out = np.empty((m, W.shape[0]), dtype=X.dtype)
    for r in prange(n_ranges):
        rows.margins_rows(X, W, b, r * m // n_ranges, (r + 1) * m // n_ranges, out)
    return out


@njit(**_jit)
def _sigmoid(z, n_ranges):
    out = np.empty_like(z)
    m = z.shape[0]
    for r in prange(n_ranges):
        rows.sigmoid_range(z, out, r * m // n_ranges, (r + 1) * m // n_ranges)
    return out


@njit(**_jit)
def _softmax(Z, n_ranges):
    out = np.empty_like(Z)
    m = Z.shape[0]
    for r in prange(n_ranges):
        rows.softmax_range(Z, out, r * m // n_ranges, (r + 1) * m // n_ranges)
    return out


backend = rows.NumbaBackend(
    "numba-parallel",
    "@njit(parallel=True), one fused pass over X, per-thread accumulators",
    rows.Passes(
        _binary_pass, _softmax_pass, _hessian_pass, _margins, _sigmoid, _softmax, *numba_second_order.PARALLEL
    ),
    serial=numba_serial.PASSES,
    auto_priority=20,
)
