"""The ``numba-parallel`` backend: the row passes of :mod:`fastlr.kernels.numba_common`
run on one contiguous range of rows per thread (``prange``).

Rows are split into one range per thread (fewer for small inputs, see
``config.NUMBA_MIN_ROWS_PER_THREAD``; one range runs the row pass directly).
Each range writes its own output slot; the backend adds the slots in range
order, so results depend on the thread count but never on scheduling.

Each function here is only the ``prange`` loop: no array expressions, which
Numba would turn into parallel loops of their own and compile at length
(a 2-D ``+=`` on slices took 12 s of the first fit's compilation).
"""

from numba import njit, prange

from fastlr.kernels import numba_build, numba_math
from fastlr.kernels import numba_common as rows

_jit = dict(cache=numba_build.CACHE, parallel=True)


@njit(**_jit)
def _binary(X, y, w, b, sample_weight, block_rows, with_gradient, gradients, sums):
    m = X.shape[0]
    ranges = sums.shape[0]
    for r in prange(ranges):
        rows.binary_rows(
            X, y, w, b, sample_weight, block_rows, with_gradient,
            r * m // ranges, (r + 1) * m // ranges, gradients[r], sums[r],
        )


@njit(**_jit)
def _softmax_loss(X, y, W, b, sample_weight, block_rows, with_gradient, gradients, gradients_b, sums):
    m = X.shape[0]
    ranges = sums.shape[0]
    for r in prange(ranges):
        rows.softmax_rows(
            X, y, W, b, sample_weight, block_rows, with_gradient,
            r * m // ranges, (r + 1) * m // ranges, gradients[r], gradients_b[r], sums[r],
        )


@njit(**_jit)
def _hessian(X, y, w, b, sample_weight, block_rows, gradients, grams, sums):
    m = X.shape[0]
    ranges = sums.shape[0]
    for r in prange(ranges):
        rows.hessian_rows(
            X, y, w, b, sample_weight, block_rows, r * m // ranges, (r + 1) * m // ranges, gradients[r], grams[r], sums[r]
        )


@njit(**_jit)
def _margins(X, W, b, out, ranges):
    m = X.shape[0]
    for r in prange(ranges):
        rows.margins_rows(X, W, b, r * m // ranges, (r + 1) * m // ranges, out)


@njit(**_jit)
def _sigmoid(z, out, ranges):
    m = z.shape[0]
    for r in prange(ranges):
        numba_math.sigmoid_block(z, r * m // ranges, (r + 1) * m // ranges, out)


@njit(**_jit)
def _softmax(Z, out, ranges):
    m = Z.shape[0]
    for r in prange(ranges):
        rows.softmax_range(Z, r * m // ranges, (r + 1) * m // ranges, out)


backend = rows.NumbaBackend(
    "numba-parallel",
    "@njit(parallel=True), one fused pass over X, per-thread accumulators",
    parallel=rows.Passes(_binary, _softmax_loss, _hessian, _margins, _sigmoid, _softmax),
    auto_priority=20,
)
