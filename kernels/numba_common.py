"""Row-level math and row-range loops shared by the two Numba backends.

The loops here each handle one contiguous range of rows ``[lo, hi)`` and read
every row of X once: the dot product, the loss term and the gradient update
happen while the row is in L1. ``numba_serial`` runs one range over all rows;
``numba_parallel`` splits the rows into one range per thread, gives each its
own accumulators and adds them up afterwards in a fixed order (deterministic
for a given thread count, no race inside ``prange``).

Gradients and losses accumulate in float64 whatever the dtype of X: a float32
sum over millions of rows would lose digits, and the conversion is free next
to the memory traffic. The row dot products stay in X's dtype, as in BLAS.
"""

import os
from typing import NamedTuple

import numba
import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core.extending import intrinsic

from fastlr import config
from fastlr.kernels import numba_build
from fastlr.kernels.base import Backend, KernelInputError
from fastlr.threads import blas_threads_limited

_jit = dict(cache=numba_build.CACHE, fastmath=set(numba_build.FASTMATH))
PREFETCH_ROWS = numba_build.PREFETCH_ROWS
CACHE_LINE_BYTES = 64


@intrinsic
def prefetch(typingctx, array, flat_index):
    """Hint the CPU to bring ``array.flat[flat_index]`` into cache (``llvm.prefetch``).

    A hint only: it never faults and changes no result. Numba has no
    spelling for it, so it is emitted as the LLVM intrinsic (read, high
    locality, data cache).
    """
    signature = types.void(array, flat_index)

    def codegen(context, builder, sig, args):
        array_struct = context.make_array(sig.args[0])(context, builder, args[0])
        address = builder.gep(array_struct.data, [args[1]])
        byte_pointer = ir.IntType(8).as_pointer()
        int32 = ir.IntType(32)
        function = builder.module.declare_intrinsic(
            "llvm.prefetch",
            fnty=ir.FunctionType(ir.VoidType(), [byte_pointer, int32, int32, int32]),
        )
        builder.call(
            function,
            [builder.bitcast(address, byte_pointer), int32(0), int32(3), int32(1)],
        )
        return context.get_dummy_value()

    return signature, codegen


@njit(inline="always", **_jit)
def prefetch_row(X, row):
    """Prefetch every cache line of row ``row`` of a C-contiguous X (if it exists)."""
    m, n = X.shape
    if row < m:
        step = max(1, CACHE_LINE_BYTES // X.itemsize)
        for k in range(row * n, row * n + n, step):
            prefetch(X, k)


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
    probability = inverse if z > 0.0 else e * inverse
    # max(z, 0) − y·z is exact for y in {0, 1}; adding log1p(e) last keeps its digits
    # (8.5e-17 at z = 37 rather than 0).
    return (max(z, 0.0) - y * z) + log1p_e, probability - y


@njit(cache=numba_build.CACHE)
def sigmoid_scalar(z):
    """σ(z) without overflow: exp only ever sees −|z|."""
    e = np.exp(-abs(z))
    return 1.0 / (1.0 + e) if z >= 0.0 else e / (1.0 + e)


@njit(inline="always", **_jit)
def _row_terms(X, y, sample_weight, weighted, i, z):
    """(s_i ℓ_i, s_i r_i, s_i) of row i from its margin z."""
    loss, residual = logistic_loss_residual(np.float64(z), np.float64(y[i]))
    s = np.float64(sample_weight[i]) if weighted else 1.0
    return s * loss, s * residual, s


@njit(**_jit)
def binary_rows(X, y, w, b, sample_weight, lo, hi, gradient, with_gradient):
    """Fused pass over rows [lo, hi) of the binary problem.

    Returns (Σ s_i ℓ_i, Σ s_i r_i, Σ s_i) with r_i = σ(z_i) − y_i, and adds
    Σ s_i r_i x_i into ``gradient`` (float64, shape (n,)) when
    ``with_gradient``. An empty ``sample_weight`` means all weights are 1.

    Rows go in pairs: each w_j and gradient_j is loaded once for two rows,
    which took 6–11% off a pass at n = 100 on a 2-core Xeon.
    """
    n = X.shape[1]
    weighted = sample_weight.shape[0] > 0
    loss_sum = 0.0
    residual_sum = 0.0
    weight_sum = 0.0
    i = lo
    while i + 2 <= hi:
        prefetch_row(X, i + PREFETCH_ROWS)
        prefetch_row(X, i + PREFETCH_ROWS + 1)
        z0 = b
        z1 = b
        for j in range(n):
            z0 += X[i, j] * w[j]
            z1 += X[i + 1, j] * w[j]
        loss0, residual0, s0 = _row_terms(X, y, sample_weight, weighted, i, z0)
        loss1, residual1, s1 = _row_terms(X, y, sample_weight, weighted, i + 1, z1)
        loss_sum += loss0 + loss1
        weight_sum += s0 + s1
        if with_gradient:
            residual_sum += residual0 + residual1
            for j in range(n):
                gradient[j] += residual0 * X[i, j] + residual1 * X[i + 1, j]
        i += 2
    if i < hi:  # the odd row out
        z = b
        for j in range(n):
            z += X[i, j] * w[j]
        loss, residual, s = _row_terms(X, y, sample_weight, weighted, i, z)
        loss_sum += loss
        weight_sum += s
        if with_gradient:
            residual_sum += residual
            for j in range(n):
                gradient[j] += residual * X[i, j]
    return loss_sum, residual_sum, weight_sum


@njit(**_jit)
def hessian_rows(X, y, w, b, sample_weight, lo, hi, gradient, gram, block_rows):
    """Fused pass over rows [lo, hi) for Newton: loss, gradient and X̃ᵀ D X̃.

    Rows go in blocks of ``block_rows``: each block's margins, losses and
    residuals are computed row by row, then the block scaled by √D_ii is
    multiplied by its transpose in BLAS (``np.dot``), while it is still in
    cache. ``gram`` (n+1, n+1) receives the Gram matrix with the intercept last.
    Returns (Σ s_i ℓ_i, Σ s_i r_i, Σ s_i).
    """
    n = X.shape[1]
    weighted = sample_weight.shape[0] > 0
    scaled = np.empty((block_rows, n), dtype=X.dtype)
    cross = np.zeros(n)  # X̃ᵀ D 1: contiguous here, a strided column of gram
    loss_sum = 0.0
    residual_sum = 0.0
    weight_sum = 0.0
    for start in range(lo, hi, block_rows):
        stop = min(start + block_rows, hi)
        for i in range(start, stop):
            z = b
            for j in range(n):
                z += X[i, j] * w[j]
            z64 = np.float64(z)
            loss, residual = logistic_loss_residual(z64, np.float64(y[i]))
            s = np.float64(sample_weight[i]) if weighted else 1.0
            probability = sigmoid_scalar(z64)
            curvature = s * probability * (1.0 - probability)
            loss_sum += s * loss
            weight_sum += s
            residual *= s
            residual_sum += residual
            root = np.sqrt(curvature)
            for j in range(n):
                gradient[j] += residual * X[i, j]
                cross[j] += curvature * X[i, j]
                scaled[i - start, j] = root * X[i, j]
            gram[n, n] += curvature
        block = scaled[: stop - start]
        gram[:n, :n] += np.dot(block.T, block).astype(np.float64)
    gram[:n, n] += cross
    return loss_sum, residual_sum, weight_sum


@njit(**_jit)
def softmax_rows(X, y, W, b, sample_weight, lo, hi, gradient, gradient_b, with_gradient):
    """Fused pass over rows [lo, hi) of the multinomial problem.

    Per row: z = W x + b (K dot products), lse = max(z) + log Σ e^{z_k − max(z)},
    loss lse − z_y, residual p_k − [k = y] with p_k = e^{z_k − lse}. Returns
    (Σ s_i loss_i, Σ s_i) and adds Σ s_i r_ik x_i into ``gradient`` (K, n) and
    Σ s_i r_ik into ``gradient_b`` (K,) when ``with_gradient``. A label outside
    0..K-1 is never used as an index: its row makes the loss NaN instead.
    """
    n_classes, n = W.shape
    weighted = sample_weight.shape[0] > 0
    z = np.empty(n_classes)
    loss_sum = 0.0
    weight_sum = 0.0
    for i in range(lo, hi):
        prefetch_row(X, i + PREFETCH_ROWS)
        for k in range(n_classes):
            acc = b[k]
            for j in range(n):
                acc += X[i, j] * W[k, j]
            z[k] = acc
        top = z.max()
        total = 0.0
        for k in range(n_classes):
            z[k] -= top
            total += np.exp(z[k])
        log_total = np.log(total)
        label = np.int64(y[i])
        if label < 0 or label >= n_classes:
            loss_sum = np.nan
            continue
        s = np.float64(sample_weight[i]) if weighted else 1.0
        loss_sum += s * (log_total - z[label])
        weight_sum += s
        if with_gradient:
            for k in range(n_classes):
                residual = np.exp(z[k] - log_total)
                if k == label:
                    residual -= 1.0
                residual *= s
                gradient_b[k] += residual
                for j in range(n):
                    gradient[k, j] += residual * X[i, j]
    return loss_sum, weight_sum


@njit(**_jit)
def margins_rows(X, W, b, lo, hi, out):
    """out[i, k] = x_i · W_k + b_k for rows [lo, hi)."""
    n_classes, n = W.shape
    for i in range(lo, hi):
        prefetch_row(X, i + PREFETCH_ROWS)
        for k in range(n_classes):
            acc = b[k]
            for j in range(n):
                acc += X[i, j] * W[k, j]
            out[i, k] = acc


@njit(cache=numba_build.CACHE)
def sigmoid_range(z, out, lo, hi):
    for i in range(lo, hi):
        out[i] = sigmoid_scalar(np.float64(z[i]))


@njit(cache=numba_build.CACHE)
def softmax_range(Z, out, lo, hi):
    n_classes = Z.shape[1]
    for i in range(lo, hi):
        top = Z[i].max()
        total = 0.0
        for k in range(n_classes):
            e = np.exp(np.float64(Z[i, k] - top))
            out[i, k] = e
            total += e
        for k in range(n_classes):
            out[i, k] = out[i, k] / total


def no_weights(dtype):
    """The empty array that tells the row loops 'all sample weights are 1'."""
    return np.empty(0, dtype=dtype)


def as_weights(sample_weight, dtype):
    return no_weights(dtype) if sample_weight is None else sample_weight


def as_matrix(w, b, dtype):
    """A binary w, b as the 1-row W, b of the multinomial loops (views, no copy of X)."""
    W = np.asarray(w, dtype=dtype).reshape(1, -1) if np.ndim(w) == 1 else np.asarray(w, dtype=dtype)
    return W, np.asarray(b, dtype=dtype).reshape(-1)


class Passes(NamedTuple):
    """The compiled drivers of one Numba backend, by role."""

    binary: object
    softmax_loss: object
    hessian: object
    margins: object
    sigmoid: object
    softmax: object
    # Newton-CG's passes (fastlr.kernels.numba_second_order), in its SERIAL/PARALLEL order.
    binary_curvature: object = None
    binary_hessian_product: object = None
    softmax_probabilities: object = None
    softmax_hessian_product: object = None


class NumbaBackend(Backend):
    """A backend over one set of compiled passes; the serial and parallel ones differ only there.

    The argument handling (dtype of w and b, ``None`` weights, shapes of the
    results) is the same for both and lives here once.

    Parallel passes take one more argument, the number of row ranges. It is
    computed here, in Python, because a compiled function that reads the
    thread count cannot be cached on disk. Inputs too small for two ranges go
    to the ``serial`` passes: entering a parallel region costs more than such
    work, and far more when other processes keep the cores busy.
    """

    #: BLAS stays on one thread during fits. OpenBLAS threads keep spinning after
    #: each small call in the solver and take the cores that Numba's threads need:
    #: L-BFGS ran 3 to 8 times slower on a 2-core machine without this.
    blas_threads = 1

    def __init__(self, name, summary, passes, serial=None, auto_priority=None):
        self.name, self.summary, self.auto_priority = name, summary, auto_priority
        self._passes = passes
        self._serial = serial
        self._threads_prepared = serial is None

    def _check_matrix(self, X):
        shape = super()._check_matrix(X)
        if not X.flags.c_contiguous:
            raise KernelInputError("X must be C-contiguous for the Numba backends (np.ascontiguousarray(X))")
        return shape

    def _prepare_threads(self):
        """Before Numba starts its thread pool (at the first parallel call): the
        OpenMP wait policy of ``config.NUMBA_OMP_WAIT_POLICY``, unless the user chose one."""
        if config.NUMBA_OMP_WAIT_POLICY is not None:
            os.environ.setdefault("OMP_WAIT_POLICY", config.NUMBA_OMP_WAIT_POLICY)
        self._threads_prepared = True

    def _run(self, role, m, *args):
        if self._serial is None:
            return getattr(self._passes, role)(*args)
        if not self._threads_prepared:
            self._prepare_threads()
        n_ranges = min(numba.get_num_threads(), m // config.NUMBA_MIN_ROWS_PER_THREAD)
        if n_ranges <= 1:
            return getattr(self._serial, role)(*args)
        return getattr(self._passes, role)(*args, n_ranges)

    def _sigmoid(self, z):
        z = np.asarray(z)
        flat = np.ascontiguousarray(z).reshape(-1)
        return self._run("sigmoid", flat.shape[0], flat).reshape(z.shape)

    def _decision_function(self, X, w, b):
        W, b = as_matrix(w, b, X.dtype)
        margins = self._run("margins", X.shape[0], X, W, b)
        return margins[:, 0] if np.ndim(w) == 1 else margins

    def _binary(self, X, y, w, b, sample_weight, with_gradient):
        dtype = X.dtype
        w = np.asarray(w, dtype=dtype)
        return self._run(
            "binary", X.shape[0], X, y, w, dtype.type(b), as_weights(sample_weight, dtype), with_gradient
        )

    def _cost(self, X, y, w, b, sample_weight):
        return X.dtype.type(self._binary(X, y, w, b, sample_weight, False)[0])

    def _cost_gradient(self, X, y, w, b, sample_weight):
        loss, gradient, gradient_b = self._binary(X, y, w, b, sample_weight, True)
        dtype = X.dtype
        return dtype.type(loss), gradient.astype(dtype), dtype.type(gradient_b)

    def _cost_gradient_hessian(self, X, y, w, b, sample_weight):
        dtype = X.dtype
        # Each range multiplies its blocks in BLAS: BLAS must not start threads
        # of its own on top of ours (23 s instead of 0.5 s at 500k × 100 on 2 cores).
        with blas_threads_limited(1):
            loss, gradient, gradient_b, gram = self._run(
                "hessian", X.shape[0], X, y, np.asarray(w, dtype=dtype), dtype.type(b),
                as_weights(sample_weight, dtype), config.HESSIAN_BLOCK_ROWS,
            )
        gram[X.shape[1], : X.shape[1]] = gram[: X.shape[1], X.shape[1]]
        return dtype.type(loss), gradient.astype(dtype), dtype.type(gradient_b), gram.astype(dtype)

    def _softmax(self, Z):
        Z = np.ascontiguousarray(Z)
        return self._run("softmax", Z.shape[0], Z)

    def _multinomial(self, X, y, W, b, sample_weight, with_gradient):
        W, b = as_matrix(W, b, X.dtype)
        return self._run(
            "softmax_loss", X.shape[0], X, y, W, b, as_weights(sample_weight, X.dtype), with_gradient
        )

    def _softmax_cost(self, X, y, W, b, sample_weight):
        return X.dtype.type(self._multinomial(X, y, W, b, sample_weight, False)[0])

    def _softmax_cost_gradient(self, X, y, W, b, sample_weight):
        loss, gradient, gradient_b = self._multinomial(X, y, W, b, sample_weight, True)
        dtype = X.dtype
        return dtype.type(loss), gradient.astype(dtype), gradient_b.astype(dtype)

    # -- Newton-CG: the fused passes of fastlr.kernels.numba_second_order ----------------
    def _cost_gradient_curvature(self, X, y, w, b, sample_weight):
        dtype = X.dtype
        loss, gradient, gradient_b, curvature = self._run(
            "binary_curvature", X.shape[0], X, y, np.asarray(w, dtype=dtype), dtype.type(b),
            as_weights(sample_weight, dtype),
        )
        return dtype.type(loss), gradient.astype(dtype), dtype.type(gradient_b), curvature

    def _hessian_product(self, X, curvature, v, v_b):
        dtype = X.dtype
        return self._run(
            "binary_hessian_product", X.shape[0], X, np.asarray(curvature, dtype=np.float64),
            np.asarray(v, dtype=dtype), dtype.type(v_b),
        )

    def _softmax_cost_gradient_probabilities(self, X, y, W, b, sample_weight):
        dtype = X.dtype
        W, b = as_matrix(W, b, dtype)
        loss, gradient, gradient_b, probabilities = self._run(
            "softmax_probabilities", X.shape[0], X, y, W, b, as_weights(sample_weight, dtype)
        )
        return dtype.type(loss), gradient.astype(dtype), gradient_b.astype(dtype), probabilities

    def _softmax_hessian_product(self, X, probabilities, sample_weight, V, v_b):
        dtype = X.dtype
        V, v_b = as_matrix(V, v_b, dtype)
        return self._run(
            "softmax_hessian_product", X.shape[0], X, np.ascontiguousarray(probabilities, dtype=dtype),
            as_weights(sample_weight, dtype), V, v_b,
        )
