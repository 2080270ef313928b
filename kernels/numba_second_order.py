"""Fused Numba passes for Newton-CG: the curvature with the gradient, and Hessian-vector products.

Four passes, each one read of X, row by row, with the row in L1 for all its
uses (the conventions of :mod:`fastlr.kernels.numba_common`: float64
accumulators, products of X with a vector in X's dtype, an empty
``sample_weight`` for unit weights):

- ``binary_curvature``: the binary loss and gradient and the diagonal
  d_i = s_i p_i (1 − p_i) / Σs of the Hessian's data term, written per row;
- ``binary_hessian_product``: u_i = d_i (x_i·v + v_b), then (Σ u_i x_i, Σ u_i);
- ``softmax_probabilities``: the softmax loss and gradient and the class
  probabilities P (m, K), written per row;
- ``softmax_hessian_product``: u_i = V x_i + v_b, r_i = s_i (p_i ⊙ u_i − p_i (p_iᵀ u_i)),
  then ((1/Σs) Σ r_i x_iᵀ, (1/Σs) Σ r_i).

Each pass has a serial driver (one range over all rows) and a parallel one
(one contiguous range per thread, each with its own accumulators, added in
range order afterwards: deterministic for a given thread count).
:class:`fastlr.kernels.numba_common.NumbaBackend` picks between them by size.
"""

import numpy as np
from numba import njit, prange

from fastlr.kernels import numba_build
from fastlr.kernels.numba_common import PREFETCH_ROWS, logistic_loss_residual, prefetch_row

_jit = dict(cache=numba_build.CACHE, fastmath=set(numba_build.FASTMATH))
_parallel = dict(cache=numba_build.CACHE, parallel=True)


# -- row ranges ------------------------------------------------------------------------
@njit(**_jit)
def binary_curvature_rows(X, y, w, b, sample_weight, lo, hi, gradient, curvature):
    """Rows [lo, hi): returns (Σ s_i ℓ_i, Σ s_i r_i, Σ s_i), adds Σ s_i r_i x_i into
    ``gradient`` and writes curvature[i] = s_i p_i (1 − p_i) (not yet divided by Σs).

    p_i = r_i + y_i and 1 − p_i = (1 − y_i) − r_i are exact where they matter:
    for y = 1, 1 − p = −r is the exact difference; p's absolute error (1e-16)
    is far below any curvature that counts.
    """
    n = X.shape[1]
    weighted = sample_weight.shape[0] > 0
    loss_sum = 0.0
    residual_sum = 0.0
    weight_sum = 0.0
    for i in range(lo, hi):
        prefetch_row(X, i + PREFETCH_ROWS)
        z = b
        for j in range(n):
            z += X[i, j] * w[j]
        label = np.float64(y[i])
        loss, residual = logistic_loss_residual(np.float64(z), label)
        s = np.float64(sample_weight[i]) if weighted else 1.0
        curvature[i] = s * (residual + label) * ((1.0 - label) - residual)
        loss_sum += s * loss
        weight_sum += s
        residual *= s
        residual_sum += residual
        for j in range(n):
            gradient[j] += residual * X[i, j]
    return loss_sum, residual_sum, weight_sum


@njit(**_jit)
def binary_hessian_product_rows(X, curvature, v, v_b, lo, hi, product):
    """Rows [lo, hi): adds Σ u_i x_i into ``product`` (n,), u_i = d_i (x_i·v + v_b); returns Σ u_i."""
    n = X.shape[1]
    total = 0.0
    for i in range(lo, hi):
        prefetch_row(X, i + PREFETCH_ROWS)
        z = v_b
        for j in range(n):
            z += X[i, j] * v[j]
        u = curvature[i] * np.float64(z)
        total += u
        for j in range(n):
            product[j] += u * X[i, j]
    return total


@njit(**_jit)
def softmax_probability_rows(X, y, W, b, sample_weight, lo, hi, gradient, gradient_b, probabilities):
    """Rows [lo, hi) of the softmax loss: returns (Σ s_i ℓ_i, Σ s_i), adds the gradient
    into ``gradient`` (K, n) and ``gradient_b`` (K,), writes the probabilities p_ik.
    A label outside 0..K-1 makes the loss NaN and is never used as an index."""
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
        valid = 0 <= label < n_classes
        s = np.float64(sample_weight[i]) if weighted else 1.0
        if valid:
            loss_sum += s * (log_total - z[label])
            weight_sum += s
        else:
            loss_sum = np.nan
        for k in range(n_classes):
            probability = np.exp(z[k] - log_total)
            probabilities[i, k] = probability
            if valid:
                residual = s * (probability - 1.0 if k == label else probability)
                gradient_b[k] += residual
                for j in range(n):
                    gradient[k, j] += residual * X[i, j]
    return loss_sum, weight_sum


@njit(**_jit)
def softmax_hessian_product_rows(X, probabilities, sample_weight, V, v_b, lo, hi, product, product_b):
    """Rows [lo, hi): adds Σ r_i x_iᵀ into ``product`` (K, n) and Σ r_i into ``product_b``,
    r_i = s_i (p_i ⊙ u_i − p_i (p_iᵀ u_i)), u_i = V x_i + v_b; returns Σ s_i."""
    n_classes, n = V.shape
    weighted = sample_weight.shape[0] > 0
    u = np.empty(n_classes)
    weight_sum = 0.0
    for i in range(lo, hi):
        prefetch_row(X, i + PREFETCH_ROWS)
        mean = 0.0
        for k in range(n_classes):
            acc = v_b[k]
            for j in range(n):
                acc += X[i, j] * V[k, j]
            u[k] = acc
            mean += np.float64(probabilities[i, k]) * u[k]
        s = np.float64(sample_weight[i]) if weighted else 1.0
        weight_sum += s
        for k in range(n_classes):
            r = s * np.float64(probabilities[i, k]) * (u[k] - mean)
            product_b[k] += r
            for j in range(n):
                product[k, j] += r * X[i, j]
    return weight_sum


# -- serial drivers: one range over all rows ----------------------------------------------
@njit(cache=numba_build.CACHE)
def _binary_curvature(X, y, w, b, sample_weight):
    m, n = X.shape
    gradient = np.zeros(n)
    curvature = np.empty(m)
    loss, residual, weight = binary_curvature_rows(X, y, w, b, sample_weight, 0, m, gradient, curvature)
    curvature /= weight
    return loss / weight, gradient / weight, residual / weight, curvature


@njit(cache=numba_build.CACHE)
def _binary_hessian_product(X, curvature, v, v_b):
    product = np.zeros(X.shape[1])
    total = binary_hessian_product_rows(X, curvature, v, v_b, 0, X.shape[0], product)
    return product, total


@njit(cache=numba_build.CACHE)
def _softmax_probabilities(X, y, W, b, sample_weight):
    m = X.shape[0]
    gradient = np.zeros(W.shape)
    gradient_b = np.zeros(W.shape[0])
    probabilities = np.empty((m, W.shape[0]), dtype=X.dtype)
    loss, weight = softmax_probability_rows(X, y, W, b, sample_weight, 0, m, gradient, gradient_b, probabilities)
    return loss / weight, gradient / weight, gradient_b / weight, probabilities


@njit(cache=numba_build.CACHE)
def _softmax_hessian_product(X, probabilities, sample_weight, V, v_b):
    product = np.zeros(V.shape)
    product_b = np.zeros(V.shape[0])
    weight = softmax_hessian_product_rows(X, probabilities, sample_weight, V, v_b, 0, X.shape[0], product, product_b)
    return product / weight, product_b / weight


# -- parallel drivers: one range per thread, partial sums added in range order ----------------
@njit(**_parallel)
def _binary_curvature_parallel(X, y, w, b, sample_weight, n_ranges):
    m, n = X.shape
    gradients = np.zeros((n_ranges, n))
    sums = np.zeros((n_ranges, 3))
    curvature = np.empty(m)
    for r in prange(n_ranges):
        local = np.zeros(n)
        loss, residual, weight = binary_curvature_rows(
            X, y, w, b, sample_weight, r * m // n_ranges, (r + 1) * m // n_ranges, local, curvature
        )
        gradients[r] = local
        sums[r, 0], sums[r, 1], sums[r, 2] = loss, residual, weight
    total = np.zeros(3)
    gradient = np.zeros(n)
    for r in range(n_ranges):
        total += sums[r]
        gradient += gradients[r]
    for r in prange(n_ranges):
        curvature[r * m // n_ranges : (r + 1) * m // n_ranges] /= total[2]
    return total[0] / total[2], gradient / total[2], total[1] / total[2], curvature


@njit(**_parallel)
def _binary_hessian_product_parallel(X, curvature, v, v_b, n_ranges):
    m, n = X.shape
    products = np.zeros((n_ranges, n))
    totals = np.zeros(n_ranges)
    for r in prange(n_ranges):
        local = np.zeros(n)
        totals[r] = binary_hessian_product_rows(
            X, curvature, v, v_b, r * m // n_ranges, (r + 1) * m // n_ranges, local
        )
        products[r] = local
    product = np.zeros(n)
    total = 0.0
    for r in range(n_ranges):
        product += products[r]
        total += totals[r]
    return product, total


@njit(**_parallel)
def _softmax_probabilities_parallel(X, y, W, b, sample_weight, n_ranges):
    m, n = X.shape
    n_classes = W.shape[0]
    gradients = np.zeros((n_ranges, n_classes, n))
    gradients_b = np.zeros((n_ranges, n_classes))
    sums = np.zeros((n_ranges, 2))
    probabilities = np.empty((m, n_classes), dtype=X.dtype)
    for r in prange(n_ranges):
        local = np.zeros((n_classes, n))
        local_b = np.zeros(n_classes)
        loss, weight = softmax_probability_rows(
            X, y, W, b, sample_weight, r * m // n_ranges, (r + 1) * m // n_ranges, local, local_b, probabilities
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
    return total[0] / total[1], gradient / total[1], gradient_b / total[1], probabilities


@njit(**_parallel)
def _softmax_hessian_product_parallel(X, probabilities, sample_weight, V, v_b, n_ranges):
    m, n = X.shape
    n_classes = V.shape[0]
    products = np.zeros((n_ranges, n_classes, n))
    products_b = np.zeros((n_ranges, n_classes))
    weights = np.zeros(n_ranges)
    for r in prange(n_ranges):
        local = np.zeros((n_classes, n))
        local_b = np.zeros(n_classes)
        weights[r] = softmax_hessian_product_rows(
            X, probabilities, sample_weight, V, v_b, r * m // n_ranges, (r + 1) * m // n_ranges, local, local_b
        )
        products[r] = local
        products_b[r] = local_b
    product = np.zeros((n_classes, n))
    product_b = np.zeros(n_classes)
    weight = 0.0
    for r in range(n_ranges):
        product += products[r]
        product_b += products_b[r]
        weight += weights[r]
    return product / weight, product_b / weight


#: The passes by role, in the order of the second-order fields of
#: :class:`fastlr.kernels.numba_common.Passes`.
SERIAL = (_binary_curvature, _binary_hessian_product, _softmax_probabilities, _softmax_hessian_product)
PARALLEL = (
    _binary_curvature_parallel,
    _binary_hessian_product_parallel,
    _softmax_probabilities_parallel,
    _softmax_hessian_product_parallel,
)
