"""CSR row passes for the Numba backends, and the CSR companions of ``numba`` and ``numba-parallel``.

X arrives as its three CSR arrays: row i holds ``data[k]`` at column
``indices[k]`` for k in ``indptr[i] : indptr[i + 1]``. Each pass below is a
row pass in the convention of :mod:`fastlr.kernels.numba_common` (inputs,
then one row range ``lo, hi``, then its outputs: the reducing ones first,
float64 slots that the pass overwrites, then the per-row ones) and reads every
stored entry of a row once from memory: the margin gathers w at the row's
columns, the per-row math (stable loss, residual, curvature) runs once, and
the gradient scatter walks the same entries again while they are still in L1.
Empty rows are rows with no entries: they contribute their loss at z = b.

The softmax passes hold W transposed, (n, K) C-contiguous, so that the K
weights of a column, and its K gradient accumulators, are one cache line
away from each other. Sums are in float64 whatever the dtype of X.

Both backends run the same compiled passes through
:meth:`~fastlr.kernels.numba_common.NumbaBackend._reduce` of their dense
backend: ``numba`` on one range, ``numba-parallel`` on one range per thread
(:class:`~fastlr.kernels.numba_parallel.RangeThreads`), the ranges of about
equal work (stored entries plus a per-row cost for its exp and log,
:func:`balanced_bounds`), each into its own slot, added in range order:
deterministic for a given thread count.
"""

import numpy as np
from numba import njit

from fastlr import config
from fastlr.kernels import numba_build, numba_parallel, numba_serial
from fastlr.kernels.numba_common import as_matrix, as_weights, logistic_loss_residual, sigmoid_scalar
from fastlr.kernels.sparse_base import CsrBackend

#: ``nogil``: numba-parallel runs the row ranges on Python threads.
_jit = dict(cache=numba_build.CACHE, fastmath=set(numba_build.FASTMATH), error_model="numpy", nogil=True)


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
def binary_rows(data, indices, indptr, y, w, b, sample_weight, with_gradient, lo, hi, gradient, sums, curvature):
    """The fused binary pass over rows [lo, hi).

    Writes ``sums`` (3,) = (Σ s_i ℓ_i, Σ s_i r_i, Σ s_i), r_i = σ(z_i) − y_i, and,
    when ``with_gradient``, ``gradient`` (n,) = Σ s_i r_i x_i (else it has no
    entries); writes s_i σ(z_i)(1 − σ(z_i)) into ``curvature[i]`` unless
    ``curvature`` is empty. An empty ``sample_weight`` means all weights are 1.
    """
    weighted = sample_weight.shape[0] > 0
    write_curvature = curvature.shape[0] > 0
    gradient[:] = 0.0
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
        residual *= s
        residual_sum += residual
        if with_gradient:
            for k in range(start, end):
                gradient[_unsigned(indices[k])] += residual * data[k]
    sums[0] = loss_sum
    sums[1] = residual_sum
    sums[2] = weight_sum


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
def softmax_rows(data, indices, indptr, y, WT, b, sample_weight, with_gradient, lo, hi, gradient, gradient_b, sums,
                 probabilities):
    """The fused multinomial pass over rows [lo, hi).

    Per row: z = W x + b over the stored entries, lse = max z + log Σ e^{z_c − max z},
    loss lse − z_y, residual r_c = s (p_c − [c = y]), p_c = e^{z_c − lse}. Writes
    ``sums`` (2,) = (Σ s_i loss_i, Σ s_i), ``gradient_b`` (K,) = Σ r_i and, when
    ``with_gradient``, ``gradient`` (n, K) with Σ r_ic x_ij at [j, c] (else it has
    no rows); writes p into ``probabilities[i]`` unless it has no rows. A label
    outside 0..K-1 is never used as an index: its row makes the loss NaN.
    """
    n_classes = WT.shape[1]
    weighted = sample_weight.shape[0] > 0
    write_probabilities = probabilities.shape[0] > 0
    gradient[:, :] = 0.0
    gradient_b[:] = 0.0
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
        for c in range(n_classes):
            probability = np.exp(z[c] - lse)
            if write_probabilities:
                probabilities[i, c] = probability
            residual[c] = s * (probability - (1.0 if c == label else 0.0))
            gradient_b[c] += residual[c]
        if with_gradient:
            for k in range(start, end):
                x = data[k]
                j = _unsigned(indices[k])
                for c in range(n_classes):
                    gradient[j, c] += residual[c] * x
    sums[0] = loss_sum
    sums[1] = weight_sum


@njit(**_jit)
def margins_rows(data, indices, indptr, WT, b, lo, hi, out):
    """out[i, c] = b_c + x_i · W_c for rows [lo, hi), in out's dtype."""
    z = np.empty(WT.shape[1])
    for i in range(lo, hi):
        _row_margins(data, indices, _unsigned(indptr[i]), _unsigned(indptr[i + 1]), WT, b, z)
        for c in range(z.shape[0]):
            out[i, c] = z[c]


@njit(**_jit)
def hessian_product_rows(data, indices, indptr, curvature, v, v_b, lo, hi, out, out_b):
    """Writes ``out`` (n,) = Σ_i u_i x_i and ``out_b`` (1,) = Σ u_i over rows [lo, hi),
    u_i = d_i (x_i · v + v_b)."""
    out[:] = 0.0
    total = 0.0
    for i in range(lo, hi):
        start, end = _unsigned(indptr[i]), _unsigned(indptr[i + 1])
        u = v_b
        for k in range(start, end):
            u += data[k] * v[_unsigned(indices[k])]
        u *= curvature[i]
        total += u
        for k in range(start, end):
            out[_unsigned(indices[k])] += u * data[k]
    out_b[0] = total


@njit(**_jit)
def hessian_diagonal_rows(data, indices, indptr, curvature, lo, hi, out):
    """Writes ``out`` (n,) with Σ_i d_i x_ij² at j, over rows [lo, hi)."""
    out[:] = 0.0
    for i in range(lo, hi):
        d = curvature[i]
        for k in range(_unsigned(indptr[i]), _unsigned(indptr[i + 1])):
            x = np.float64(data[k])
            out[_unsigned(indices[k])] += d * x * x


@njit(**_jit)
def softmax_hessian_product_rows(data, indices, indptr, probabilities, sample_weight, VT, v_b, scale, lo, hi,
                                 out, out_b):
    """The multinomial Hessian's data term times [V; v_b] over rows [lo, hi).

    u_i = V x_i + v_b, r_i = scale · s_i · p_i ⊙ (u_i − p_iᵀ u_i); writes ``out``
    (n, K) with Σ r_ic x_ij at [j, c] and ``out_b`` (K,) = Σ r_i.
    """
    n_classes = VT.shape[1]
    weighted = sample_weight.shape[0] > 0
    out[:, :] = 0.0
    out_b[:] = 0.0
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
def hessian_rows(data, indices, indptr, y, w, b, sample_weight, lo, hi, gradient, gram, sums):
    """Over rows [lo, hi): writes ``gradient`` (n,), X̃ᵀ D X̃ into ``gram`` ((n+1, n+1), the
    upper part and the last column; Σ_i nnz_i² work) and ``sums`` (3,) = (Σ s_i ℓ_i, Σ s_i r_i, Σ s_i)."""
    n = gram.shape[0] - 1
    weighted = sample_weight.shape[0] > 0
    gradient[:] = 0.0
    gram[:, :] = 0.0
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
    sums[0] = loss_sum
    sums[1] = residual_sum
    sums[2] = weight_sum


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


# -- the backends ------------------------------------------------------------------------
class SparseNumbaBackend(CsrBackend):
    """CSR kernels: the row passes above, run by the dense Numba backend's
    :meth:`~fastlr.kernels.numba_common.NumbaBackend._reduce` over row ranges
    balanced by work (:meth:`_bounds`). ``numba`` and ``numba-parallel`` differ
    only in their dense backend (one range, or one per thread).
    """

    def _bounds(self, X):
        """[(lo, hi), ...]: one range per thread, each of at least
        ``config.SPARSE_MIN_WORK_PER_THREAD`` work (entries plus ``config.SPARSE_ROW_COST``
        per row), cut by :func:`balanced_bounds`; one range without threads."""
        m = X.shape[0]
        threads = self.dense._threads
        work = X.nnz + config.SPARSE_ROW_COST * m
        ranges = 1 if threads is None else min(threads.count(), work // config.SPARSE_MIN_WORK_PER_THREAD, m)
        if ranges <= 1:
            return [(0, m)]
        cuts = balanced_bounds(X.indptr, ranges, config.SPARSE_ROW_COST).tolist()
        return list(zip(cuts[:-1], cuts[1:]))

    def _reduce(self, row_pass, X, inputs, slot_shapes, per_row=()):
        """``row_pass(X.data, X.indices, X.indptr, *inputs, lo, hi, *slots, *per_row)`` over the
        ranges of :meth:`_bounds`: the summed slots."""
        return self.dense._reduce(
            row_pass, X.shape[0], (X.data, X.indices, X.indptr, *inputs), slot_shapes, per_row, bounds=self._bounds(X)
        )

    # -- binary ------------------------------------------------------------------------
    def _binary(self, X, y, w, b, sample_weight, with_gradient, curvature):
        dtype = X.dtype
        inputs = (y, np.asarray(w, dtype=dtype), dtype.type(b), as_weights(sample_weight, dtype), with_gradient)
        gradient, (loss, residual, weight) = self._reduce(
            binary_rows, X, inputs, [(X.shape[1] if with_gradient else 0,), (3,)], per_row=(curvature,)
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
        inputs = (np.asarray(curvature, dtype=np.float64), np.asarray(v, dtype=np.float64), np.float64(v_b))
        out, (out_b,) = self._reduce(hessian_product_rows, X, inputs, [(X.shape[1],), (1,)])
        return out, out_b

    def _hessian_diagonal(self, X, curvature):
        curvature = np.asarray(curvature, dtype=np.float64)
        (diagonal,) = self._reduce(hessian_diagonal_rows, X, (curvature,), [(X.shape[1],)])
        return diagonal, curvature.sum()

    def _cost_gradient_hessian(self, X, y, w, b, sample_weight):
        dtype = X.dtype
        n = X.shape[1]
        inputs = (y, np.asarray(w, dtype=dtype), dtype.type(b), as_weights(sample_weight, dtype))
        gradient, gram, (loss, residual, weight) = self._reduce(hessian_rows, X, inputs, [(n,), (n + 1, n + 1), (3,)])
        gram[n, :n] = gram[:n, n]
        gram /= weight
        return dtype.type(loss / weight), (gradient / weight).astype(dtype), dtype.type(residual / weight), gram.astype(dtype)

    def _decision_function(self, X, w, b):
        W, b = as_matrix(w, b, X.dtype)
        out = np.empty((X.shape[0], W.shape[0]), dtype=X.dtype)
        self.dense._map(
            margins_rows, X.shape[0], (X.data, X.indices, X.indptr, np.ascontiguousarray(W.T), b), out,
            bounds=self._bounds(X),
        )
        return out[:, 0] if np.ndim(w) == 1 else out

    # -- softmax ------------------------------------------------------------------------
    def _multinomial(self, X, y, W, b, sample_weight, with_gradient, probabilities):
        dtype = X.dtype
        W, b = as_matrix(W, b, dtype)
        n_classes = W.shape[0]
        inputs = (y, np.ascontiguousarray(W.T), b, as_weights(sample_weight, dtype), with_gradient)
        gradient, gradient_b, (loss, weight) = self._reduce(
            softmax_rows, X, inputs, [(X.shape[1] if with_gradient else 0, n_classes), (n_classes,), (2,)],
            per_row=(probabilities,),
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
        n_classes = V.shape[0]
        total = X.shape[0] if sample_weight is None else float(sample_weight.sum(dtype=np.float64))
        inputs = (
            probabilities, as_weights(sample_weight, dtype), np.ascontiguousarray(np.asarray(V, dtype=np.float64).T),
            np.asarray(v_b, dtype=np.float64), 1.0 / total,
        )
        out, out_b = self._reduce(softmax_hessian_product_rows, X, inputs, [(X.shape[1], n_classes), (n_classes,)])
        return np.ascontiguousarray(out.T), out_b


backend = SparseNumbaBackend(numba_serial.backend, "@njit, one thread, one fused pass over the stored entries")
#: ``numba-parallel``'s companion (:mod:`fastlr.kernels.sparse_numba_parallel` names it for the registry).
parallel_backend = SparseNumbaBackend(
    numba_parallel.backend, "@njit(nogil=True), one fused pass over the stored entries, one range per thread, "
    "ranges balanced by stored entries",
)
