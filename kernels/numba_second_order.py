"""Numba's Hessian-vector passes for Newton-CG, one read of X each.

Newton-CG's other passes, the loss and gradient with the curvature d_i =
s_i p_i (1 − p_i) or the class probabilities P (m, K) written per row, are the
blocked gradient passes of :mod:`fastlr.kernels.numba_common` with their flag
set (``binary_rows``, ``softmax_rows``). Here, in the conventions of that
module (float64 accumulators, products of X with a vector in X's dtype, an
empty ``sample_weight`` for unit weights):

- ``binary_hessian_product``: u_i = d_i (x_i·v + v_b), then (Σ u_i x_i, Σ u_i),
  row by row with the row in L1 for its two uses;
- ``softmax_hessian_product``: u_i = V x_i + v_b, r_i = s_i (p_i ⊙ u_i − p_i (p_iᵀ u_i)),
  then ((1/Σs) Σ r_i x_iᵀ, (1/Σs) Σ r_i), in blocks of rows as the softmax gradient
  pass, its two products register-blocked.

Each is a row pass in the convention of :mod:`fastlr.kernels.numba_common`
(inputs, then one row range ``lo, hi``, then its outputs): the reducing
outputs first, one float64 slot per range that the pass overwrites, then the
per-row outputs shared by every range. :class:`~fastlr.kernels.numba_common.NumbaBackend`
runs them on one range or on one range per thread and adds the slots in range
order (deterministic for a given thread count).
"""

import numpy as np
from numba import njit

from fastlr.kernels import numba_build, numba_small_gemm
from fastlr.kernels.numba_prefetch import prefetch_row, rows_ahead

#: ``nogil``: numba-parallel runs the row ranges on Python threads.
_jit = dict(cache=numba_build.CACHE, fastmath=set(numba_build.FASTMATH), error_model="numpy", nogil=True)


# -- row passes --------------------------------------------------------------------------
@njit(**_jit)
def binary_hessian_product_rows(X, curvature, v, v_b, lo, hi, product, total):
    """Rows [lo, hi): writes ``product`` (n,) = Σ u_i x_i and ``total`` (1,) = Σ u_i,
    u_i = d_i (x_i·v + v_b)."""
    n = X.shape[1]
    product[:] = 0.0
    accumulated = 0.0
    ahead = rows_ahead(X)
    for i in range(lo, hi):
        prefetch_row(X, i + ahead)
        z = v_b
        for j in range(n):
            z += X[i, j] * v[j]
        u = curvature[i] * np.float64(z)
        accumulated += u
        for j in range(n):
            product[j] += u * X[i, j]
    total[0] = accumulated


@njit(**_jit)
def softmax_hessian_product_rows(X, probabilities, sample_weight, V, v_b, block_rows, lo, hi, product, product_b,
                                 weight):
    """Rows [lo, hi): writes ``product`` (K, n) = Σ r_i x_iᵀ, ``product_b`` (K,) = Σ r_i
    and ``weight`` (1,) = Σ s_i, r_i = s_i (p_i ⊙ u_i − p_i (p_iᵀ u_i)), u_i = V x_i + v_b.

    In blocks of ``block_rows`` rows X_B, as the softmax gradient pass
    (:func:`~fastlr.kernels.numba_common.softmax_rows`): Uᵀ = V X_Bᵀ by the register
    blocks of :func:`~fastlr.kernels.numba_small_gemm.block_scores`, the residuals of the
    block (K, rows) in float64 and stored in X's dtype, then R X_B by the vector tiles of
    :func:`~fastlr.kernels.numba_small_gemm.add_block_products` while X_B is in cache.
    Row by row (K dot products and K updates per row), as it was, this pass took 2.2x
    the time of ``softmax_cost_gradient`` (560 against 259 ms at 2·10⁶ × 100 float64,
    K = 10, on the 2-core Zen 3), and Newton-CG's softmax fits spent most of their time here.
    """
    n_classes, n = V.shape
    weighted = sample_weight.shape[0] > 0
    scores = np.empty(n_classes * block_rows, dtype=X.dtype)
    residual = np.empty(n_classes * block_rows, dtype=X.dtype)
    mean = np.empty(block_rows)
    weights = np.empty(block_rows)
    block_product = np.empty((n_classes, n), dtype=X.dtype)
    product[:, :] = 0.0
    product_b[:] = 0.0
    weight_sum = 0.0
    for start in range(lo, hi, block_rows):
        count = min(block_rows, hi - start)
        U = scores[: n_classes * count].reshape((n_classes, count))
        numba_small_gemm.block_scores(X, V, start, count, U)  # prefetches as it goes
        for r in range(count):
            weights[r] = np.float64(sample_weight[start + r]) if weighted else 1.0
            weight_sum += weights[r]
            mean[r] = 0.0
        for k in range(n_classes):
            bias = np.float64(v_b[k])
            for r in range(count):
                mean[r] += np.float64(probabilities[start + r, k]) * (np.float64(U[k, r]) + bias)
        R = residual[: n_classes * count].reshape((n_classes, count))
        for k in range(n_classes):
            bias = np.float64(v_b[k])
            residual_sum = 0.0
            for r in range(count):
                value = weights[r] * np.float64(probabilities[start + r, k]) * (np.float64(U[k, r]) + bias - mean[r])
                R[k, r] = value
                residual_sum += value
            product_b[k] += residual_sum
        block_product[:, :] = 0
        numba_small_gemm.add_block_products(X, R, start, count, block_product)
        for k in range(n_classes):
            for j in range(n):
                product[k, j] += block_product[k, j]
    weight[0] = weight_sum
