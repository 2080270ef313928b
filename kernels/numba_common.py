"""Row passes and the backend class shared by the two Numba backends.

A row pass handles one contiguous range of rows ``[lo, hi)`` and reads each
row of X from memory once. It works in blocks of rows (``config.NUMBA_BLOCK_BYTES``
of X): the block's margins first, then every row's loss and residual at once
in SIMD (:mod:`fastlr.kernels.numba_math`), then the block's gradient while
the block is still in cache. ``numba_serial`` runs one range over all rows;
``numba_parallel`` runs one range per thread, each into its own output slot,
and the slots are added in range order (deterministic for a thread count).

Inside a block, arithmetic on X runs in X's dtype (float32 data: float32 dot
products, and the block's gradient as one float32 BLAS GEMV); the per-row math and every sum
across blocks and rows run in float64, where a float32 sum over millions of
rows would lose digits.
"""

import numpy as np
from numba import njit

from fastlr import config
from fastlr.kernels import numba_build, numba_math, numba_small_gemm
from fastlr.kernels.base import Backend, KernelInputError
from fastlr.kernels.numba_prefetch import prefetch_row, rows_ahead
from fastlr.threads import blas_threads_limited

#: ``nogil``: the passes release the GIL, so that ``numba-parallel`` runs row
#: ranges on Python threads; ``error_model="numpy"``: no zero test before a
#: division, which would keep a loop from vectorizing.
_jit = dict(cache=numba_build.CACHE, fastmath=set(numba_build.FASTMATH), error_model="numpy", nogil=True)


# Compiled without fast-math on purpose: reassociation would fold (u − 1) − e
# to zero and undo the compensation below.
@njit(cache=numba_build.CACHE)
def logistic_loss_residual(z, y):
    """Loss ℓ = softplus(z) − y·z and residual σ(z) − y, in float64.

    With e = exp(−|z|) ≤ 1 and u = fl(1 + e): softplus(z) = max(z, 0) + log1p(e)
    and σ(z) = 1/u for z > 0, e/u otherwise, so exp never overflows. log1p(e)
    is log(u) plus the first-order correction (e − (u − 1))/u for the rounding
    of 1 + e (the dropped term is O(ε²)): as accurate as libm's log1p, and it
    reuses 1/u instead of calling log1p, which costs as much as exp and log.
    """
    e = np.exp(-abs(z))
    u = 1.0 + e
    inverse = 1.0 / u
    log1p_e = np.log(u) + (e - (u - 1.0)) * inverse
    # max(z, 0) − y·z is exact for y in {0, 1}; adding log1p(e) last keeps its digits
    # (8.5e-17 at z = 37 rather than 0).
    return (max(z, 0.0) - y * z) + log1p_e, numba_math.exact_residual(z, y, e * inverse)


@njit(cache=numba_build.CACHE)
def sigmoid_scalar(z):
    """σ(z) without overflow: exp only ever sees −|z|."""
    e = np.exp(-abs(z))
    return 1.0 / (1.0 + e) if z >= 0.0 else e / (1.0 + e)


@njit(**_jit)
def block_margins(X, w, b, start, count, margins):
    """margins[r] = b + x_{start+r} · w for r < count, summed in X's dtype (as BLAS does).

    Rows go in pairs, so that each w_j is loaded once for two rows (6–11% off
    a pass at n = 100 on a 2-core Xeon); rows :func:`rows_ahead` further on are
    prefetched.
    """
    n = X.shape[1]
    ahead = rows_ahead(X)
    r = 0
    while r + 2 <= count:
        i = start + r
        prefetch_row(X, i + ahead)
        prefetch_row(X, i + ahead + 1)
        z0 = b
        z1 = b
        for j in range(n):
            z0 += X[i, j] * w[j]
            z1 += X[i + 1, j] * w[j]
        margins[r] = z0
        margins[r + 1] = z1
        r += 2
    if r < count:  # the odd row out
        i = start + r
        z = b
        for j in range(n):
            z += X[i, j] * w[j]
        margins[r] = z


@njit(**_jit)
def add_block_gradient(X, coefficients, start, count, partial, gradient):
    """gradient += Σ_{r < count} coefficients[r] x_{start+r}.

    The block's sum is formed in X's dtype in ``partial`` (n,) by BLAS
    (``coefficients[:count] @ X_block``, one GEMV) while the rows are still in
    cache, then added to the float64 ``gradient``: float32 data gets float32
    arithmetic inside a block and float64 across blocks. BLAS's GEMV kernel
    read the cached block in 15 ms per 4·10⁶ rows of 100 float32 where a Numba
    loop took 20–30 ms (one EPYC core). The caller keeps BLAS on one thread
    (:func:`fastlr.threads.blas_threads_limited`): each row range calls it.
    """
    np.dot(coefficients[:count], X[start : start + count], partial)
    for j in range(X.shape[1]):
        gradient[j] += partial[j]


@njit(**_jit)
def weight_total(sample_weight, lo, hi):
    """Σ s_i over rows [lo, hi) in float64 (hi − lo without weights)."""
    if sample_weight.shape[0] == 0:
        return np.float64(hi - lo)
    total = 0.0
    for i in range(lo, hi):
        total += sample_weight[i]
    return total


@njit(**_jit)
def binary_rows(X, y, w, b, sample_weight, block_rows, with_gradient, with_curvature, lo, hi, gradient, sums, curvature):
    """Fused pass over rows [lo, hi) of the binary problem, in blocks of ``block_rows``.

    Per block: the margins (X from memory), then every row's loss and residual
    (and curvature) at once (:func:`fastlr.kernels.numba_math.logistic_block`,
    vectorized), then, while the block is in cache, its gradient contribution.
    Writes ``gradient`` (n,) = Σ s_i r_i x_i (when ``with_gradient``) and ``sums`` (3,) =
    (Σ s_i ℓ_i, Σ s_i r_i, Σ s_i), all float64, with r_i = σ(z_i) − y_i, and when
    ``with_curvature`` curvature[i] = s_i σ(z_i)(1 − σ(z_i)) (float64, (m,), rows lo..hi;
    an empty array otherwise): Newton-CG's curvature pass is this pass with the flag.
    An empty ``sample_weight`` means all weights are 1.

    One row pass for ``cost``, ``cost_gradient`` and ``cost_gradient_curvature``, its
    flags arguments from Python (never literals, which Numba would compile once per
    value): each njit wrapper around it had cost its own optimization of the whole
    linked loop, about 2 s of a first fit with an empty cache. Row by row with libm's
    exp and log, as it was, the curvature pass took 2.7x the time of ``cost_gradient``
    in float32 (356 against 133 ms at 4·10⁶ × 100 on the 2-core Zen 3).
    """
    n = X.shape[1]
    margins = np.empty(block_rows)
    losses = np.empty(block_rows)
    residual = np.empty(block_rows, dtype=X.dtype)
    weights = np.ones(block_rows)
    scratch = np.empty(block_rows)  # the curvatures, when the caller does not keep them
    partial = np.empty(n, dtype=X.dtype)
    for j in range(n):
        gradient[j] = 0.0
    loss_sum = 0.0
    residual_sum = 0.0
    for start in range(lo, hi, block_rows):
        count = min(block_rows, hi - start)
        block_margins(X, w, b, start, count, margins)
        numba_math.block_weights(sample_weight, start, count, weights)
        block_curvature = curvature[start : start + count] if with_curvature else scratch
        numba_math.logistic_block(margins, y, weights, start, count, losses, residual, block_curvature)
        for r in range(count):
            loss_sum += losses[r]
            residual_sum += residual[r]
        if with_gradient:
            add_block_gradient(X, residual, start, count, partial, gradient)
    sums[0] = loss_sum
    sums[1] = residual_sum
    sums[2] = weight_total(sample_weight, lo, hi)


@njit(**_jit)
def hessian_rows(X, y, w, b, sample_weight, block_rows, lo, hi, gradient, gram, sums):
    """Fused pass over rows [lo, hi) for Newton: loss, gradient and X̃ᵀ D X̃.

    As :func:`binary_rows`, in blocks of ``block_rows``; each block also gets
    its curvatures D_ii = s_i σ_i (1 − σ_i), is scaled by √D_ii into a
    block-sized buffer and multiplied by its transpose in BLAS (``np.dot``)
    while it is in cache. Writes ``gradient`` (n,), ``sums`` (3,) as
    :func:`binary_rows` and ``gram`` (n+1, n+1) without its last row
    (X̃ᵀ D X̃ with the intercept last; the caller mirrors the last column).
    """
    n = X.shape[1]
    margins = np.empty(block_rows)
    losses = np.empty(block_rows)
    residual = np.empty(block_rows, dtype=X.dtype)
    curvature = np.empty(block_rows)
    sample_weights = np.ones(block_rows)
    weights = np.empty(block_rows, dtype=X.dtype)
    partial = np.empty(n, dtype=X.dtype)
    scaled = np.empty((block_rows, n), dtype=X.dtype)
    product = np.empty((n, n), dtype=X.dtype)
    cross = np.zeros(n)  # X̃ᵀ D 1: contiguous here, a strided column of gram
    for j in range(n):
        gradient[j] = 0.0
        for k in range(n + 1):
            gram[j, k] = 0.0
    loss_sum = 0.0
    residual_sum = 0.0
    curvature_sum = 0.0
    for start in range(lo, hi, block_rows):
        count = min(block_rows, hi - start)
        block_margins(X, w, b, start, count, margins)
        numba_math.block_weights(sample_weight, start, count, sample_weights)
        numba_math.logistic_block(margins, y, sample_weights, start, count, losses, residual, curvature)
        for r in range(count):
            loss_sum += losses[r]
            residual_sum += residual[r]
            curvature_sum += curvature[r]
            weights[r] = curvature[r]
        add_block_gradient(X, residual, start, count, partial, gradient)
        add_block_gradient(X, weights, start, count, partial, cross)
        for r in range(count):
            root = X.dtype.type(np.sqrt(curvature[r]))
            for j in range(n):
                scaled[r, j] = root * X[start + r, j]
        block = scaled[:count]
        np.dot(block.T, block, product)
        for j in range(n):
            for k in range(n):
                gram[j, k] += product[j, k]
    for j in range(n):
        gram[j, n] = cross[j]
    gram[n, n] = curvature_sum
    sums[0] = loss_sum
    sums[1] = residual_sum
    sums[2] = weight_total(sample_weight, lo, hi)


@njit(inline="always", **_jit)
def class_index(label, n_classes):
    """The class index a label stands for, or −1 for one that is outside 0..K-1 or not a
    whole number (0.5 is no class): such a label is compared, never used as an index."""
    index = np.int64(label)
    return index if index == label and 0 <= index < n_classes else np.int64(-1)


@njit(**_jit)
def softmax_rows(X, y, W, b, sample_weight, block_rows, with_gradient, with_probabilities, lo, hi, gradient,
                 gradient_b, sums, probabilities):
    """Fused pass over rows [lo, hi) of the multinomial problem, two small GEMMs per block.

    Per block of ``block_rows`` rows X_B, classes along the first axis so that
    every step below runs in SIMD over the block's rows:

    1. the margins Zᵀ = W X_Bᵀ (K, rows), in X's dtype
       (:func:`~fastlr.kernels.numba_small_gemm.block_scores`);
    2. with t = max_k z_k, the loss log1p(Σ_k e^{z_k − t} − 1) − (z_y − t), the sum
       less one formed without a subtraction (:func:`~fastlr.kernels.numba_math.exp_shifted_block`),
       so that a confident row's loss (≈ Σ_{k≠y} e^{z_k − z_y}, 1e-20 say) keeps its
       digits; every exponential and logarithm of the block at once, in float64;
       residuals r_k = s (p_k − [k = y]) with p_k = e^{z_k − t} / Σ_k e^{z_k − t};
    3. while X_B is in cache, the gradient R X_B (K, n)
       (:func:`~fastlr.kernels.numba_small_gemm.add_block_products`).

    Writes ``gradient`` (K, n) = Σ s_i r_ik x_i and ``gradient_b`` (K,) = Σ s_i r_ik
    (when ``with_gradient``) and ``sums`` (2,) = (Σ s_i loss_i, Σ s_i), float64, and
    when ``with_probabilities`` probabilities[i, k] = p_ik ((m, K) in X's dtype, rows lo..hi;
    (0, K) otherwise): Newton-CG's probability pass is this pass with the flag (one row pass
    for both, as :func:`binary_rows`). Row by row with libm's exp, as it was, that pass
    took 2.7x the time of ``softmax_cost_gradient`` in float64 and 3.7x in float32
    (797 and 917 ms against 293 and 246 ms at 2·10⁶ × 100, K = 10, on the 2-core Zen 3).
    A label outside 0..K-1, or not a whole number, is never used as an index: its row
    makes the loss NaN.
    """
    n_classes, n = W.shape
    weighted = sample_weight.shape[0] > 0
    scores = np.empty(n_classes * block_rows, dtype=X.dtype)
    shifted = np.empty(n_classes * block_rows)
    residual = np.empty(n_classes * block_rows, dtype=X.dtype)
    top = np.empty(block_rows)
    label_margin = np.empty(block_rows)
    log_total = np.empty(block_rows)
    total = np.empty(block_rows)
    others = np.empty(block_rows)
    weights = np.empty(block_rows)
    labels = np.empty(block_rows, dtype=np.int64)
    product = np.empty((n_classes, n), dtype=X.dtype)
    for k in range(n_classes):
        gradient_b[k] = 0.0
        for j in range(n):
            gradient[k, j] = 0.0
    loss_sum = 0.0
    for start in range(lo, hi, block_rows):
        count = min(block_rows, hi - start)
        Z = scores[: n_classes * count].reshape((n_classes, count))
        numba_small_gemm.block_scores(X, W, start, count, Z)  # prefetches as it goes
        E = shifted[: n_classes * count].reshape((n_classes, count))
        for r in range(count):
            labels[r] = class_index(y[start + r], n_classes)
            weights[r] = np.float64(sample_weight[start + r]) if weighted else 1.0
            top[r] = -np.inf
            label_margin[r] = 0.0
        for k in range(n_classes):
            bias = np.float64(b[k])
            for r in range(count):
                z = np.float64(Z[k, r]) + bias
                E[k, r] = z
                # np.maximum, not max: LLVM made max's store of top[r] a masked store
                # (vmaskmovpd, slow on AMD), 17 against 11 ms per 2·10⁶ rows (Zen 3).
                # It also keeps a NaN margin's NaN.
                top[r] = np.maximum(top[r], z)
                label_margin[r] += z if labels[r] == k else 0.0
        for r in range(count):
            label_margin[r] = label_margin[r] - top[r] if labels[r] >= 0 else np.nan
        numba_math.exp_shifted_block(E, top, total, others)
        numba_math.log1p_block(others, count, log_total)
        for r in range(count):
            loss_sum += weights[r] * (log_total[r] - label_margin[r])
        if with_probabilities:
            for r in range(count):
                for k in range(n_classes):
                    probabilities[start + r, k] = E[k, r] / total[r]
        if with_gradient:
            for r in range(count):
                total[r] = weights[r] / total[r]  # s_i / Σ_k e^{z_k − max}
            R = residual[: n_classes * count].reshape((n_classes, count))
            for k in range(n_classes):
                for r in range(count):
                    R[k, r] = total[r] * E[k, r] - (weights[r] if labels[r] == k else 0.0)
            product[:, :] = 0
            numba_small_gemm.add_block_products(X, R, start, count, product)
            for k in range(n_classes):
                for j in range(n):
                    gradient[k, j] += product[k, j]
                residual_sum = 0.0
                for r in range(count):
                    residual_sum += R[k, r]
                gradient_b[k] += residual_sum
    sums[0] = loss_sum
    sums[1] = weight_total(sample_weight, lo, hi)


def binary_margins(X, w, b, lo, hi, out):
    """out[lo:hi] = X[lo:hi] w + b: :func:`block_margins` as a row pass (a float64 X shares
    the specialization the binary passes compile)."""
    block_margins(X, w, b, lo, hi - lo, out[lo:hi])


#: Rows per block of :func:`margins_rows`: its K × rows scores stay in L1 between the
#: register-blocked product and the transposed write.
MARGIN_BLOCK_ROWS = 120  # a multiple of ROW_GROUPS


@njit(**_jit)
def margins_rows(X, W, b, lo, hi, out):
    """out[i, k] = x_i · W_k + b_k for rows [lo, hi): X (m, n), W (K, n) and b (K,) in X's
    dtype, out (m, K).

    In blocks of rows by the register-blocked scores of the softmax pass
    (:func:`~fastlr.kernels.numba_small_gemm.block_scores`), the bias added as each block
    is written out. Row by row (K dot products per row), as it was, the margins took
    1.3x the time of a whole softmax gradient pass (277 against 207 ms at 2·10⁶ × 100
    float64, K = 10, 2-core Zen 3, same run); NumPy's ``X @ W.T + b`` took 625 ms.
    """
    n_classes = W.shape[0]
    scratch = np.empty(n_classes * MARGIN_BLOCK_ROWS, dtype=X.dtype)
    for start in range(lo, hi, MARGIN_BLOCK_ROWS):
        count = min(MARGIN_BLOCK_ROWS, hi - start)
        Z = scratch[: n_classes * count].reshape((n_classes, count))
        numba_small_gemm.block_scores(X, W, start, count, Z)
        for r in range(count):
            for k in range(n_classes):
                out[start + r, k] = Z[k, r] + b[k]


#: Rows per block of :func:`softmax_range` (its exponentials go to SIMD together).
SOFTMAX_BLOCK_ROWS = 256


@njit(**_jit)
def softmax_range(Z, lo, hi, out):
    """out[i] = e^{Z_i − lse(Z_i)} for rows [lo, hi), the max subtracted first."""
    n_classes = Z.shape[1]
    shifted = np.empty(SOFTMAX_BLOCK_ROWS * n_classes)
    for start in range(lo, hi, SOFTMAX_BLOCK_ROWS):
        count = min(SOFTMAX_BLOCK_ROWS, hi - start)
        for r in range(count):
            top = -np.inf
            for k in range(n_classes):
                top = max(top, np.float64(Z[start + r, k]))
            for k in range(n_classes):
                shifted[r * n_classes + k] = np.float64(Z[start + r, k]) - top
        numba_math.exp_block(shifted, count * n_classes)
        for r in range(count):
            total = 0.0
            for k in range(n_classes):
                total += shifted[r * n_classes + k]
            for k in range(n_classes):
                out[start + r, k] = shifted[r * n_classes + k] / total


def no_weights(dtype):
    """The empty array that tells the row loops 'all sample weights are 1'."""
    return np.empty(0, dtype=dtype)


def as_weights(sample_weight, dtype):
    return no_weights(dtype) if sample_weight is None else sample_weight


def as_scalar(b, dtype):
    """A binary intercept, given as a scalar or a 1-element array, as a ``dtype`` scalar."""
    return np.asarray(b, dtype=dtype).reshape(())[()]


def as_matrix(w, b, dtype):
    """A binary w, b as the 1-row W, b of the multinomial loops (views, no copy of X)."""
    W = np.asarray(w, dtype=dtype).reshape(1, -1) if np.ndim(w) == 1 else np.asarray(w, dtype=dtype)
    return W, np.asarray(b, dtype=dtype).reshape(-1)


#: Blocks of rows are cut to a multiple of this (when they hold that many): 12 rows are
#: whole groups of every scores kernel (3 or 4 rows, :mod:`~fastlr.kernels.numba_small_gemm`),
#: whose left-over rows go one at a time.
ROW_GROUPS = 12


def block_rows(n, itemsize, m):
    """Rows per block of the fused passes: ``config.NUMBA_BLOCK_BYTES`` of X cut to a multiple
    of :data:`ROW_GROUPS` (at least one row, at most m)."""
    rows = max(1, min(m, config.NUMBA_BLOCK_BYTES // max(1, n * itemsize)))
    return rows - rows % ROW_GROUPS if rows >= ROW_GROUPS else rows


class NumbaBackend(Backend):
    """A Numba backend: the row passes on one row range, or on one range per thread.

    The argument handling (dtype of w and b, ``None`` weights, shapes of the
    results, the sum over row ranges) is the same for both backends and lives
    here once. A row pass takes its inputs, then one row range ``lo, hi``,
    then its outputs; :meth:`_reduce` and :meth:`_map` run one over all rows.
    ``threads`` (``numba_parallel``) runs ranges on threads; without it, or
    for inputs too small for two ranges, the pass runs on the calling thread:
    waking a thread costs more than such work, and far more when other
    processes keep the cores busy.
    """

    #: BLAS stays on one thread during fits. OpenBLAS threads keep spinning after
    #: each small call in the solver and take the cores that Numba's threads need:
    #: L-BFGS ran 3 to 8 times slower on a 2-core machine without this.
    blas_threads = 1

    def __init__(self, name, summary, threads=None, auto_priority=None):
        self.name, self.summary, self.auto_priority = name, summary, auto_priority
        self._threads = threads

    def _check_matrix(self, X):
        shape = super()._check_matrix(X)
        if not X.flags.c_contiguous:
            raise KernelInputError("X must be C-contiguous for the Numba backends (np.ascontiguousarray(X))")
        return shape

    def _ranges(self, m):
        """Row ranges for m rows: one per thread, each of at least
        ``config.NUMBA_MIN_ROWS_PER_THREAD`` rows; one on a single thread."""
        most = m // config.NUMBA_MIN_ROWS_PER_THREAD
        if self._threads is None or most < 2:  # small data: no thread count to look up (a fit makes
            return 1  # hundreds of these calls, and on breast cancer they were a tenth of its time)
        return min(self._threads.count(), most)

    def _bounds(self, m):
        """[(lo, hi), ...]: :meth:`_ranges` ranges of about equal row counts."""
        ranges = self._ranges(m)
        if ranges == 1:
            return [(0, m)]
        return [(r * m // ranges, (r + 1) * m // ranges) for r in range(ranges)]

    def _over_ranges(self, row_pass, bounds, inputs, outputs):
        """``row_pass(*inputs, lo, hi, *outputs(r))`` for each range r, (lo, hi) = bounds[r]."""
        if len(bounds) == 1:
            row_pass(*inputs, *bounds[0], *outputs(0))
        else:
            self._threads.run(row_pass, bounds, inputs, outputs)

    def _reduce(self, row_pass, m, inputs, slot_shapes, per_row=(), bounds=None):
        """Run a reducing row pass over m rows; returns its outputs (float64, of
        ``slot_shapes``), one slot per range, summed in range order.

        ``per_row``: arrays after the slots that every range writes its own rows of.
        ``bounds``: the row ranges, [(lo, hi), ...] covering 0..m in order
        (default :meth:`_bounds`; the CSR passes balance them by stored entries).
        """
        bounds = self._bounds(m) if bounds is None else bounds
        slots = [np.empty((len(bounds), *shape)) for shape in slot_shapes]
        self._over_ranges(row_pass, bounds, inputs, lambda r: [*(slot[r] for slot in slots), *per_row])
        return [slot[0] if len(bounds) == 1 else slot.sum(axis=0) for slot in slots]

    def _map(self, row_pass, m, inputs, out, bounds=None):
        """Run a row pass that writes rows [lo, hi) of ``out`` over all m rows."""
        self._over_ranges(row_pass, self._bounds(m) if bounds is None else bounds, inputs, lambda r: [out])
        return out

    def _sigmoid(self, z):
        z = np.asarray(z)
        flat = np.ascontiguousarray(z).reshape(-1)
        return self._map(numba_math.sigmoid_block, flat.shape[0], (flat,), np.empty_like(flat)).reshape(z.shape)

    def _decision_function(self, X, w, b):
        m, dtype = X.shape[0], X.dtype
        if np.ndim(w) == 1:  # the margins loop of the binary passes, compiled once for both
            inputs = (X, np.asarray(w, dtype=dtype), as_scalar(b, dtype))
            return self._map(binary_margins, m, inputs, np.empty(m, dtype=dtype))
        W, b = as_matrix(w, b, dtype)
        W = np.ascontiguousarray(W)  # as in _multinomial: the scores kernel's one specialization
        return self._map(margins_rows, m, (X, W, b), np.empty((m, W.shape[0]), dtype=dtype))

    def _binary(self, X, y, w, b, sample_weight, with_gradient):
        m, n = X.shape
        dtype = X.dtype
        inputs = (
            X, y, np.asarray(w, dtype=dtype), as_scalar(b, dtype), as_weights(sample_weight, dtype),
            block_rows(n, dtype.itemsize, m), with_gradient, False,
        )
        # The gradient of each block is one BLAS GEMV, one thread per row range.
        with blas_threads_limited(1):
            gradient, (loss, residual, weight) = self._reduce(
                binary_rows, m, inputs, [(n,), (3,)], per_row=(np.empty(0),)
            )
        return loss / weight, gradient / weight, residual / weight

    def _cost(self, X, y, w, b, sample_weight):
        return X.dtype.type(self._binary(X, y, w, b, sample_weight, False)[0])

    def _cost_gradient(self, X, y, w, b, sample_weight):
        loss, gradient, gradient_b = self._binary(X, y, w, b, sample_weight, True)
        dtype = X.dtype
        return dtype.type(loss), gradient.astype(dtype), dtype.type(gradient_b)

    def _cost_gradient_hessian(self, X, y, w, b, sample_weight):
        m, n = X.shape
        dtype = X.dtype
        inputs = (
            X, y, np.asarray(w, dtype=dtype), as_scalar(b, dtype), as_weights(sample_weight, dtype),
            max(1, min(m, config.HESSIAN_BLOCK_ROWS)),
        )
        # Each range multiplies its blocks in BLAS: BLAS must not start threads
        # of its own on top of ours (23 s instead of 0.5 s at 500k × 100 on 2 cores).
        with blas_threads_limited(1):
            gradient, gram, (loss, residual, weight) = self._reduce(
                hessian_rows, m, inputs, [(n,), (n + 1, n + 1), (3,)]
            )
        gram[n, :n] = gram[:n, n]
        return (
            dtype.type(loss / weight), (gradient / weight).astype(dtype), dtype.type(residual / weight),
            (gram / weight).astype(dtype),
        )

    def _softmax(self, Z):
        Z = np.ascontiguousarray(Z)
        return self._map(softmax_range, Z.shape[0], (Z,), np.empty_like(Z))

    def _multinomial(self, X, y, W, b, sample_weight, with_gradient):
        m, n = X.shape
        dtype = X.dtype
        W, b = as_matrix(W, b, dtype)
        W = np.ascontiguousarray(W)  # the products' loops run along W's rows
        n_classes = W.shape[0]
        inputs = (X, y, W, b, as_weights(sample_weight, dtype), block_rows(n, dtype.itemsize, m), with_gradient, False)
        gradient, gradient_b, (loss, weight) = self._reduce(
            softmax_rows, m, inputs, [(n_classes, n), (n_classes,), (2,)],
            per_row=(np.empty((0, n_classes), dtype=dtype),),
        )
        return loss / weight, gradient / weight, gradient_b / weight

    def _softmax_cost(self, X, y, W, b, sample_weight):
        return X.dtype.type(self._multinomial(X, y, W, b, sample_weight, False)[0])

    def _softmax_cost_gradient(self, X, y, W, b, sample_weight):
        loss, gradient, gradient_b = self._multinomial(X, y, W, b, sample_weight, True)
        dtype = X.dtype
        return dtype.type(loss), gradient.astype(dtype), gradient_b.astype(dtype)

    # -- Newton-CG: the curvature passes above with their flag, the Hessian products of
    # fastlr.kernels.numba_second_order ------------------------------------------------
    def _cost_gradient_curvature(self, X, y, w, b, sample_weight):
        m, n = X.shape
        dtype = X.dtype
        curvature = np.empty(m)
        inputs = (
            X, y, np.asarray(w, dtype=dtype), as_scalar(b, dtype), as_weights(sample_weight, dtype),
            block_rows(n, dtype.itemsize, m), True, True,
        )
        with blas_threads_limited(1):  # one GEMV per block, one thread per row range
            gradient, (loss, residual, weight) = self._reduce(binary_rows, m, inputs, [(n,), (3,)], per_row=(curvature,))
        curvature /= weight
        return dtype.type(loss / weight), (gradient / weight).astype(dtype), dtype.type(residual / weight), curvature

    def _hessian_product(self, X, curvature, v, v_b):
        dtype = X.dtype
        inputs = (X, np.asarray(curvature, dtype=np.float64), np.asarray(v, dtype=dtype), as_scalar(v_b, dtype))
        product, (total,) = self._reduce(second_order().binary_hessian_product_rows, X.shape[0], inputs, [(X.shape[1],), (1,)])
        return product, total

    def _softmax_cost_gradient_probabilities(self, X, y, W, b, sample_weight):
        m, n = X.shape
        dtype = X.dtype
        W, b = as_matrix(W, b, dtype)
        W = np.ascontiguousarray(W)  # as in _multinomial: the same specialization of softmax_rows
        n_classes = W.shape[0]
        probabilities = np.empty((m, n_classes), dtype=dtype)
        inputs = (X, y, W, b, as_weights(sample_weight, dtype), block_rows(n, dtype.itemsize, m), True, True)
        gradient, gradient_b, (loss, weight) = self._reduce(
            softmax_rows, m, inputs, [(n_classes, n), (n_classes,), (2,)], per_row=(probabilities,),
        )
        return (
            dtype.type(loss / weight), (gradient / weight).astype(dtype), (gradient_b / weight).astype(dtype),
            probabilities,
        )

    def _softmax_hessian_product(self, X, probabilities, sample_weight, V, v_b):
        m, n = X.shape
        dtype = X.dtype
        V, v_b = as_matrix(V, v_b, dtype)
        V = np.ascontiguousarray(V)  # as in _multinomial: the scores kernel's one specialization
        inputs = (
            X, np.ascontiguousarray(probabilities, dtype=dtype), as_weights(sample_weight, dtype), V, v_b,
            block_rows(n, dtype.itemsize, m),
        )
        product, product_b, (weight,) = self._reduce(
            second_order().softmax_hessian_product_rows, m, inputs, [V.shape, (V.shape[0],), (1,)]
        )
        return product / weight, product_b / weight


def second_order():
    """:mod:`fastlr.kernels.numba_second_order`, imported on first use (it imports
    this module's row helpers, so it cannot be imported at the top)."""
    from fastlr.kernels import numba_second_order

    return numba_second_order
