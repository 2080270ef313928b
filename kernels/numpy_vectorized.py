"""The ``numpy`` backend: vectorized NumPy and SciPy.

``cost_gradient`` reads X twice (``X @ w``, then ``Xᵀ r``) with temporaries of
length m in between: the vectorized baseline the fused backends are measured
against. ``cost_gradient_hessian`` works through X in row blocks so that each
block is read from memory once and its weighted Gram matrix goes to BLAS
(``syrk``); the Numba backends reuse it, since BLAS is the right tool there.
"""

import numpy as np
from scipy.special import expit, logsumexp

from fastlr import config
from fastlr.kernels.host import blas_threads, check_every, to_device, to_host, xp  # noqa: F401


def sigmoid(z):
    return expit(z)


def decision_function(X, w, b):
    if np.ndim(w) == 1:
        return X @ w + X.dtype.type(b)
    return X @ w.T + b


def predict_proba(X, w, b):
    return expit(decision_function(X, w, b))


def _weighted_mean(values, sample_weight):
    if sample_weight is None:
        return values.mean(dtype=values.dtype)
    return values.dtype.type(np.dot(sample_weight, values) / sample_weight.sum())


def _losses(z, y):
    # softplus(z) - y z; logaddexp(0, z) is the stable softplus.
    return np.logaddexp(0, z) - y * z


def cost(X, y, w, b, sample_weight=None):
    return _weighted_mean(_losses(decision_function(X, w, b), y), sample_weight)


def _gradient_from_margins(X, y, z, sample_weight):
    residual = expit(z) - y
    if sample_weight is None:
        total_weight = X.dtype.type(len(y))
    else:
        residual *= sample_weight
        total_weight = sample_weight.sum()
    return (X.T @ residual) / total_weight, residual.sum() / total_weight


def gradient(X, y, w, b, sample_weight=None):
    return _gradient_from_margins(X, y, decision_function(X, w, b), sample_weight)


def cost_gradient(X, y, w, b, sample_weight=None):
    z = decision_function(X, w, b)
    dw, db = _gradient_from_margins(X, y, z, sample_weight)
    return _weighted_mean(_losses(z, y), sample_weight), dw, db


def cost_gradient_hessian(X, y, w, b, sample_weight=None):
    """One blocked pass: per block of rows, margins, loss, gradient and Gram.

    H = (1/Σs) X̃ᵀ D X̃ with D_ii = s_i p_i (1 − p_i): the block is scaled by
    √D_ii into a block-sized buffer and ``Bᵀ B`` goes to BLAS ``syrk``.
    """
    m, n = X.shape
    dtype = X.dtype
    block_rows = config.HESSIAN_BLOCK_ROWS
    loss = np.zeros((), dtype=np.float64)
    dw = np.zeros(n, dtype=np.float64)
    db = 0.0
    gram = np.zeros((n + 1, n + 1), dtype=np.float64)
    scaled = np.empty((min(block_rows, m), n), dtype=dtype)
    for start in range(0, m, block_rows):
        rows = slice(start, min(start + block_rows, m))
        X_block, y_block = X[rows], y[rows]
        s_block = None if sample_weight is None else sample_weight[rows]
        z = X_block @ w + dtype.type(b)
        p = expit(z)
        losses, residual, curvature = _losses(z, y_block), p - y_block, p * (1 - p)
        if s_block is not None:
            losses, residual, curvature = losses * s_block, residual * s_block, curvature * s_block
        loss += losses.sum(dtype=np.float64)
        dw += X_block.T @ residual
        db += residual.sum(dtype=np.float64)
        B = np.multiply(X_block, np.sqrt(curvature)[:, None], out=scaled[: len(z)])
        gram[:n, :n] += B.T @ B
        gram[:n, n] += X_block.T @ curvature
        gram[n, n] += curvature.sum(dtype=np.float64)
    gram[n, :n] = gram[:n, n]
    total_weight = float(m if sample_weight is None else sample_weight.sum(dtype=np.float64))
    return (
        dtype.type(loss / total_weight),
        (dw / total_weight).astype(dtype),
        dtype.type(db / total_weight),
        (gram / total_weight).astype(dtype),
    )


def softmax(Z):
    return np.exp(Z - logsumexp(Z, axis=1, keepdims=True))


def _softmax_parts(X, y, W, b):
    Z = decision_function(X, W, b)
    lse = logsumexp(Z, axis=1)
    rows = np.arange(len(y))
    return Z, lse, rows, lse - Z[rows, y]


def softmax_cost(X, y, W, b, sample_weight=None):
    return _weighted_mean(_softmax_parts(X, y, W, b)[3], sample_weight)


def softmax_cost_gradient(X, y, W, b, sample_weight=None):
    Z, lse, rows, losses = _softmax_parts(X, y, W, b)
    residual = np.exp(Z - lse[:, None], out=Z)
    residual[rows, y] -= 1
    if sample_weight is None:
        total_weight = X.dtype.type(len(y))
    else:
        residual *= sample_weight[:, None]
        total_weight = sample_weight.sum()
    dW = (residual.T @ X) / total_weight
    db = residual.sum(axis=0) / total_weight
    return _weighted_mean(losses, sample_weight), dW, db
