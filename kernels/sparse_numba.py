"""CSR row loops for the Numba backends, and the CSR companion of ``numba`` (one thread).

X arrives as its three CSR arrays: row i holds ``data[k]`` at column
``indices[k]`` for k in ``indptr[i] : indptr[i + 1]``. Each loop below handles
rows [lo, hi) and reads every stored entry of a row once from memory: the
margin gathers w at the row's columns, the per-row math (stable loss,
residual, curvature: :mod:`fastlr.kernels.numba_common`) runs once, and the
gradient scatter walks the same entries again while they are still in L1.
Empty rows are rows with no entries: they contribute their loss at z = b.

The softmax loops hold W transposed, (n, K) C-contiguous, so that the K
weights of a column, and its K gradient accumulators, are one cache line
away from each other. Sums are in float64 whatever the dtype of X.

``numba-parallel`` (:mod:`fastlr.kernels.sparse_numba_parallel`) splits the
rows into ranges of about equal work (stored entries plus a per-row cost for
the exp/log of each row, :func:`balanced_bounds`), each with its own
accumulators, added in range order afterwards: deterministic for a given
thread count.
"""

from typing import NamedTuple

import numba
import numpy as np
from numba import njit

from fastlr import config
from fastlr.kernels import numba_build, numba_serial
from fastlr.kernels.numba_common import as_matrix, as_weights, logistic_loss_residual, sigmoid_scalar
from fastlr.kernels.sparse_base import CsrBackend

_jit = dict(cache=numba_build.CACHE, fastmath=set(numba_build.FASTMATH))


# -- row-range loops -------------------------------------------------------------------
@njit(inline="always", cache=numba_build.CACHE)
def _unsigned(index):
    """An index as uint64. Numba wraps signed indices around (a[-1] is the last element),
    which costs a compare and a branch per access and keeps LLVM from vectorizing the
    gather; unsigned ones go straight to memory: 35 ms → 14 ms for X @ w at 200k × 50k,
    nnz 8.5M (faster than SciPy's C++ loop, 16 ms). The values are valid indices
    (the adapter checks the CSR structure once); never do arithmetic on the result,
    since Numba turns uint64 + int64 into a float.
    """
    return np.uint64(index)


@njit(inline="always", **_jit)
def _binary_row(data, indices, indptr, y, w, b, sample_weight, weighted, i):
    """Row i of the binary problem: (its entries' range start, end, the margin z in float64,
    ℓ_i, r_i, s_i). The margin sums in X's dtype, as BLAS would."""
    start, end = _unsigned(indptr[i]), _unsigned(indptr[i + 1])
    z = b
    for k in range(start, end):
        z += data[k] * w[_unsigned(indices[k])]
    z64 = np.float64(z)
    loss, residual = logistic_loss_residual(z64, np.float64(y[i]))
    s = np.float64(sample_weight[i]) if weighted else 1.0
    return start, end, z64, loss, residual, s


@njit(**_jit)
def binary_rows(data, indices, indptr, y, w, b, sample_weight, lo, hi, gradient, with_gradient, curvature):
    """The fused binary pass over rows [lo, hi).

    Returns (Σ s_i ℓ_i, Σ s_i r_i, Σ s_i), r_i = σ(z_i) − y_i; adds Σ s_i r_i x_i
    into ``gradient`` (float64, (n,)) when ``with_gradient``; writes
    s_i σ(z_i)(1 − σ(z_i)) into ``curvature[i]`` unless ``curvature`` is empty.
    An empty ``sample_weight`` means all weights are 1.
    """
    weighted = sample_weight.shape[0] > 0
    write_curvature = curvature.shape[0] > 0
    loss_sum = 0.0
    residual_sum = 0.0
    weight_sum = 0.0
    for i in range(lo, hi):
        start, end, z, loss, residual, s = _binary_row(data, indices, indptr, y, w, b, sample_weight, weighted, i)
        loss_sum += s * loss
        weight_sum += s
        if write_curvature:
            probability = sigmoid_scalar(z)
            curvature[i] = s * probability * (1.0 - probability)
        if with_gradient:
            residual *= s
            residual_sum += residual
            for k in range(start, end):
                gradient[_unsigned(indices[k])] += residual * data[k]
    return loss_sum, residual_sum, weight_sum


@njit(**_jit)
def _row_margins(data, indices, start, end, WT, b, z):
    """z[c] = b_c + Σ_k data[k] · WT[indices[k], c] (float64) for one row."""
    for c in range(z.shape[0]):
        z[c] = b[c]
    for k in range(start, end):
        x = data[k]
        j = _unsigned(indices[k])
        for c in range(z.shape[0]):
            z[c] += x * WT[j, c]


@njit(**_jit)
def softmax_rows(data, indices, indptr, y, WT, b, sample_weight, lo, hi, gradient, gradient_b, with_gradient,
                 probabilities):
    """The fused multinomial pass over rows [lo, hi).

    Per row: z = W x + b over the stored entries, lse = max z + log Σ e^{z_c − max z},
    loss lse − z_y, residual r_c = s (p_c − [c = y]), p_c = e^{z_c − lse}. Returns
    (Σ s_i loss_i, Σ s_i); adds r_c x_j into ``gradient[j, c]`` ((n, K), float64)
    and r_c into ``gradient_b`` when ``with_gradient``; writes p into
    ``probabilities[i]`` unless it has no rows. A label outside 0..K-1 is never
    used as an index: its row makes the loss NaN.
    """
    n_classes = WT.shape[1]
    weighted = sample_weight.shape[0] > 0
    write_probabilities = probabilities.shape[0] > 0
    z = np.empty(n_classes)
    residual = np.empty(n_classes)
    loss_sum = 0.0
    weight_sum = 0.0
    for i in range(lo, hi):
        start, end = _unsigned(indptr[i]), _unsigned(indptr[i + 1])
        _row_margins(data, indices, start, end, WT, b, z)
        top = z.max()
        total = 0.0
        for c in range(n_classes):
            total += np.exp(z[c] - top)
        lse = top + np.log(total)
        label = np.int64(y[i])
        if label < 0 or label >= n_classes:
            loss_sum = np.nan
            continue
        s = np.float64(sample_weight[i]) if weighted else 1.0
        loss_sum += s * (lse - z[label])
        weight_sum += s
        if write_probabilities:
            for c in range(n_classes):
                probabilities[i, c] = np.exp(z[c] - lse)
        if with_gradient:
            for c in range(n_classes):
                residual[c] = s * (np.exp(z[c] - lse) - (1.0 if c == label else 0.0))
                gradient_b[c] += residual[c]
            for k in range(start, end):
                x = data[k]
                j = _unsigned(indices[k])
                for c in range(n_classes):
                    gradient[j, c] += residual[c] * x
    return loss_sum, weight_sum


@njit(**_jit)
def margins_rows(data, indices, indptr, WT, b, lo, hi, out):
    """out[i, c] = b_c + x_i · W_c for rows [lo, hi), in out's dtype."""
    z = np.empty(WT.shape[1])
    for i in range(lo, hi):
        _row_margins(data, indices, _unsigned(indptr[i]), _unsigned(indptr[i + 1]), WT, b, z)
        for c in range(z.shape[0]):
            out[i, c] = z[c]


@njit(**_jit)
def hessian_product_rows(data, indices, indptr, curvature, v, v_b, lo, hi, out):
    """Adds Σ_i u_i x_i into ``out`` ((n,), float64), u_i = d_i (x_i · v + v_b); returns Σ u_i."""
    out_b = 0.0
    for i in range(lo, hi):
        start, end = _unsigned(indptr[i]), _unsigned(indptr[i + 1])
        u = v_b
        for k in range(start, end):
            u += data[k] * v[_unsigned(indices[k])]
        u *= curvature[i]
        out_b += u
        for k in range(start, end):
            out[_unsigned(indices[k])] += u * data[k]
    return out_b


@njit(**_jit)
def hessian_diagonal_rows(data, indices, indptr, curvature, lo, hi, out):
    """Adds Σ_i d_i x_ij² into ``out[j]`` ((n,), float64) for rows [lo, hi)."""
    for i in range(lo, hi):
        d = curvature[i]
        for k in range(_unsigned(indptr[i]), _unsigned(indptr[i + 1])):
            x = np.float64(data[k])
            out[_unsigned(indices[k])] += d * x * x


@njit(**_jit)
def softmax_hessian_product_rows(data, indices, indptr, probabilities, sample_weight, VT, v_b, scale, lo, hi,
                                 out, out_b):
    """The multinomial Hessian's data term times [V; v_b] over rows [lo, hi).

    u_i = V x_i + v_b, r_i = scale · s_i · p_i ⊙ (u_i − p_iᵀ u_i); adds r_ic x_ij
    into ``out[j, c]`` ((n, K), float64) and r_i into ``out_b``.
    """
    n_classes = VT.shape[1]
    weighted = sample_weight.shape[0] > 0
    u = np.empty(n_classes)
    r = np.empty(n_classes)
    for i in range(lo, hi):
        start, end = _unsigned(indptr[i]), _unsigned(indptr[i + 1])
        _row_margins(data, indices, start, end, VT, v_b, u)
        mean = 0.0
        for c in range(n_classes):
            mean += probabilities[i, c] * u[c]
        s = scale * (np.float64(sample_weight[i]) if weighted else 1.0)
        for c in range(n_classes):
            r[c] = s * probabilities[i, c] * (u[c] - mean)
            out_b[c] += r[c]
        for k in range(start, end):
            x = data[k]
            j = _unsigned(indices[k])
            for c in range(n_classes):
                out[j, c] += r[c] * x


@njit(**_jit)
def hessian_rows(data, indices, indptr, y, w, b, sample_weight, lo, hi, gradient, gram):
    """Loss, gradient and X̃ᵀ D X̃ (into ``gram``, (n+1, n+1), upper part and last column)
    over rows [lo, hi): Σ_i nnz_i² work. Returns (Σ s_i ℓ_i, Σ s_i r_i, Σ s_i)."""
    n = gram.shape[0] - 1
    weighted = sample_weight.shape[0] > 0
    loss_sum = 0.0
    residual_sum = 0.0
    weight_sum = 0.0
    for i in range(lo, hi):
        start, end, z, loss, residual, s = _binary_row(data, indices, indptr, y, w, b, sample_weight, weighted, i)
        probability = sigmoid_scalar(z)
        curvature = s * probability * (1.0 - probability)
        loss_sum += s * loss
        weight_sum += s
        residual *= s
        residual_sum += residual
        for k in range(start, end):
            j = _unsigned(indices[k])
            x = data[k]
            gradient[j] += residual * x
            scaled = curvature * x
            gram[j, n] += scaled
            for k2 in range(start, end):
                gram[j, _unsigned(indices[k2])] += scaled * data[k2]
        gram[n, n] += curvature
    return loss_sum, residual_sum, weight_sum


@njit(cache=numba_build.CACHE)
def balanced_bounds(indptr, n_ranges, row_cost):
    """Row boundaries (n_ranges + 1,) splitting the rows into ranges of about equal work,
    work(rows a..b) = entries + row_cost · rows: a binary search per boundary on the
    increasing indptr[i] + row_cost · i."""
    m = indptr.shape[0] - 1
    total = np.int64(indptr[m]) + row_cost * m
    bounds = np.empty(n_ranges + 1, dtype=np.int64)
    bounds[0] = 0
    bounds[n_ranges] = m
    for r in range(1, n_ranges):
        target = total * r // n_ranges
        lo, hi = bounds[r - 1], m
        while lo < hi:
            mid = (lo + hi) // 2
            if np.int64(indptr[mid]) + row_cost * mid < target:
                lo = mid + 1
            else:
                hi = mid
        bounds[r] = lo
    return bounds


# -- one thread over all rows --------------------------------------------------------------
@njit(**_jit)
def _binary_pass(data, indices, indptr, n, y, w, b, sample_weight, with_gradient, curvature):
    gradient = np.zeros(n if with_gradient else 0)  # no gradient, no O(n) buffer
    m = indptr.shape[0] - 1
    sums = binary_rows(data, indices, indptr, y, w, b, sample_weight, 0, m, gradient, with_gradient, curvature)
    return sums[0], gradient, sums[1], sums[2]


@njit(**_jit)
def _softmax_pass(data, indices, indptr, n, y, WT, b, sample_weight, with_gradient, probabilities):
    gradient = np.zeros((n if with_gradient else 0, WT.shape[1]))
    gradient_b = np.zeros(WT.shape[1])
    m = indptr.shape[0] - 1
    loss, weight = softmax_rows(
        data, indices, indptr, y, WT, b, sample_weight, 0, m, gradient, gradient_b, with_gradient, probabilities
    )
    return loss, weight, gradient, gradient_b


@njit(**_jit)
def _margins(data, indices, indptr, WT, b):
    m = indptr.shape[0] - 1
    out = np.empty((m, WT.shape[1]), dtype=data.dtype)
    margins_rows(data, indices, indptr, WT, b, 0, m, out)
    return out


@njit(**_jit)
def _hessian_product(data, indices, indptr, n, curvature, v, v_b):
    out = np.zeros(n)
    out_b = hessian_product_rows(data, indices, indptr, curvature, v, v_b, 0, indptr.shape[0] - 1, out)
    return out, out_b


@njit(**_jit)
def _hessian_diagonal(data, indices, indptr, n, curvature):
    out = np.zeros(n)
    hessian_diagonal_rows(data, indices, indptr, curvature, 0, indptr.shape[0] - 1, out)
    return out


@njit(**_jit)
def _softmax_hessian_product(data, indices, indptr, n, probabilities, sample_weight, VT, v_b, scale):
    out = np.zeros((n, VT.shape[1]))
    out_b = np.zeros(VT.shape[1])
    softmax_hessian_product_rows(
        data, indices, indptr, probabilities, sample_weight, VT, v_b, scale, 0, indptr.shape[0] - 1, out, out_b
    )
    return out, out_b


@njit(**_jit)
def _hessian(data, indices, indptr, n, y, w, b, sample_weight):
    gradient = np.zeros(n)
    gram = np.zeros((n + 1, n + 1))
    m = indptr.shape[0] - 1
    loss, residual, weight = hessian_rows(data, indices, indptr, y, w, b, sample_weight, 0, m, gradient, gram)
    return loss, gradient, residual, weight, gram


class Passes(NamedTuple):
    """The compiled drivers of one CSR backend, by role; each takes (data, indices, indptr, ...)
    and, for the parallel ones, the row boundaries last."""

    binary: object
    softmax: object
    margins: object
    hessian_product: object
    hessian_diagonal: object
    softmax_hessian_product: object
    hessian: object


PASSES = Passes(
    _binary_pass, _softmax_pass, _margins, _hessian_product, _hessian_diagonal, _softmax_hessian_product, _hessian
)


class SparseNumbaBackend(CsrBackend):
    """CSR kernels over one set of compiled passes; serial and parallel differ only there.

    With ``serial`` passes given, the row ranges are cut here, in Python
    (:func:`balanced_bounds`: a thread count read inside compiled code would
    defeat the disk cache), and inputs with too little work for two ranges
    (``config.SPARSE_MIN_WORK_PER_THREAD``) go to the serial passes.
    """

    def __init__(self, dense, summary, passes, serial=None):
        super().__init__(dense, summary)
        self._passes, self._serial = passes, serial

    def _bounds(self, X, max_ranges=None):
        """Row boundaries for the parallel passes, or None to run the serial ones."""
        if self._serial is None:
            return None
        if not getattr(self.dense, "_threads_prepared", True):
            self.dense._prepare_threads()  # the OpenMP wait policy, before Numba's first parallel call
        m = X.shape[0]
        work = X.nnz + config.SPARSE_ROW_COST * m
        n_ranges = min(numba.get_num_threads(), work // config.SPARSE_MIN_WORK_PER_THREAD, m)
        if max_ranges is not None:
            n_ranges = min(n_ranges, max_ranges)
        if n_ranges <= 1:
            return None
        return balanced_bounds(X.indptr, n_ranges, config.SPARSE_ROW_COST)

    def _run(self, role, X, *args, max_ranges=None):
        bounds = self._bounds(X, max_ranges)
        if bounds is None:
            return getattr(self._serial or self._passes, role)(X.data, X.indices, X.indptr, *args)
        return getattr(self._passes, role)(X.data, X.indices, X.indptr, *args, bounds)

    # -- binary ------------------------------------------------------------------------
    def _binary(self, X, y, w, b, sample_weight, with_gradient, curvature):
        dtype = X.dtype
        loss, gradient, residual, weight = self._run(
            "binary", X, X.shape[1], y, np.asarray(w, dtype=dtype), dtype.type(b), as_weights(sample_weight, dtype),
            with_gradient, curvature,
        )
        return dtype.type(loss / weight), (gradient / weight).astype(dtype), dtype.type(residual / weight), weight

    def _cost(self, X, y, w, b, sample_weight):
        return self._binary(X, y, w, b, sample_weight, False, np.empty(0))[0]

    def _cost_gradient(self, X, y, w, b, sample_weight):
        return self._binary(X, y, w, b, sample_weight, True, np.empty(0))[:3]

    def _cost_gradient_curvature(self, X, y, w, b, sample_weight):
        curvature = np.empty(X.shape[0])
        cost, dw, db, weight = self._binary(X, y, w, b, sample_weight, True, curvature)
        curvature /= weight
        return cost, dw, db, curvature

    def _hessian_product(self, X, curvature, v, v_b):
        out, out_b = self._run(
            "hessian_product", X, X.shape[1], np.asarray(curvature, dtype=np.float64), np.asarray(v, dtype=np.float64),
            np.float64(v_b),
        )
        return out, np.float64(out_b)

    def _hessian_diagonal(self, X, curvature):
        curvature = np.asarray(curvature, dtype=np.float64)
        return self._run("hessian_diagonal", X, X.shape[1], curvature), curvature.sum()

    def _cost_gradient_hessian(self, X, y, w, b, sample_weight):
        dtype = X.dtype
        n = X.shape[1]
        # Each range fills its own (n+1)² buffer: as many ranges as the budget holds.
        max_ranges = max(1, config.SPARSE_HESSIAN_BUFFER_BYTES // (8 * (n + 1) ** 2))
        loss, gradient, residual, weight, gram = self._run(
            "hessian", X, n, y, np.asarray(w, dtype=dtype), dtype.type(b), as_weights(sample_weight, dtype),
            max_ranges=max_ranges,
        )
        gram[n, :n] = gram[:n, n]
        gram /= weight
        return dtype.type(loss / weight), (gradient / weight).astype(dtype), dtype.type(residual / weight), gram.astype(dtype)

    def _decision_function(self, X, w, b):
        W, b = as_matrix(w, b, X.dtype)
        margins = self._run("margins", X, np.ascontiguousarray(W.T), b)
        return margins[:, 0] if np.ndim(w) == 1 else margins

    # -- softmax ------------------------------------------------------------------------
    def _multinomial(self, X, y, W, b, sample_weight, with_gradient, probabilities):
        dtype = X.dtype
        W, b = as_matrix(W, b, dtype)
        loss, weight, gradient, gradient_b = self._run(
            "softmax", X, X.shape[1], y, np.ascontiguousarray(W.T), b, as_weights(sample_weight, dtype),
            with_gradient, probabilities,
        )
        gradient = np.ascontiguousarray(gradient.T / weight, dtype=dtype)  # (K, n), as the dense backends
        return dtype.type(loss / weight), gradient, (gradient_b / weight).astype(dtype)

    def _no_probabilities(self, X, W):
        return np.empty((0, W.shape[0]), dtype=X.dtype)

    def _softmax_cost(self, X, y, W, b, sample_weight):
        return self._multinomial(X, y, W, b, sample_weight, False, self._no_probabilities(X, W))[0]

    def _softmax_cost_gradient(self, X, y, W, b, sample_weight):
        return self._multinomial(X, y, W, b, sample_weight, True, self._no_probabilities(X, W))

    def _softmax_cost_gradient_probabilities(self, X, y, W, b, sample_weight):
        probabilities = np.empty((X.shape[0], W.shape[0]), dtype=X.dtype)
        return (*self._multinomial(X, y, W, b, sample_weight, True, probabilities), probabilities)

    def _softmax_hessian_product(self, X, probabilities, sample_weight, V, v_b):
        dtype = X.dtype
        total = X.shape[0] if sample_weight is None else float(sample_weight.sum(dtype=np.float64))
        out, out_b = self._run(
            "softmax_hessian_product", X, X.shape[1], probabilities, as_weights(sample_weight, dtype),
            np.ascontiguousarray(np.asarray(V, dtype=np.float64).T), np.asarray(v_b, dtype=np.float64), 1.0 / total,
        )
        return np.ascontiguousarray(out.T), out_b


backend = SparseNumbaBackend(numba_serial.backend, "@njit, one thread, one fused pass over the stored entries", PASSES)
