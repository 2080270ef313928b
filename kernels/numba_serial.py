"""The ``numba`` backend: the fused loops of :mod:`fastlr.kernels.numba_common`
compiled with ``@njit`` and run on one thread over all rows at once."""

import numpy as np
from numba import njit

from fastlr.kernels import numba_build
from fastlr.kernels import numba_common as rows
from fastlr.kernels import numba_second_order

_jit = dict(cache=numba_build.CACHE)


@njit(**_jit)
def _binary_pass(X, y, w, b, sample_weight, with_gradient):
    gradient = np.zeros(X.shape[1])
    loss, residual, weight = rows.binary_rows(X, y, w, b, sample_weight, 0, X.shape[0], gradient, with_gradient)
    return loss / weight, gradient / weight, residual / weight


@njit(**_jit)
def _softmax_pass(X, y, W, b, sample_weight, with_gradient):
    gradient = np.zeros(W.shape)
    gradient_b = np.zeros(W.shape[0])
    loss, weight = rows.softmax_rows(
        X, y, W, b, sample_weight, 0, X.shape[0], gradient, gradient_b, with_gradient
    )
    return loss / weight, gradient / weight, gradient_b / weight


@njit(**_jit)
def _hessian_pass(X, y, w, b, sample_weight, block_rows):
    n = X.shape[1]
    gradient = np.zeros(n)
    gram = np.zeros((n + 1, n + 1))
    loss, residual, weight = rows.hessian_rows(X, y, w, b, sample_weight, 0, X.shape[0], gradient, gram, block_rows)
    return loss / weight, gradient / weight, residual / weight, gram / weight


@njit(**_jit)
def _margins(X, W, b):
    out = np.empty((X.shape[0], W.shape[0]), dtype=X.dtype)
    rows.margins_rows(X, W, b, 0, X.shape[0], out)
    return out


@njit(**_jit)
def _sigmoid(z):
    out = np.empty_like(z)
    rows.sigmoid_range(z, out, 0, z.shape[0])
    return out


@njit(**_jit)
def _softmax(Z):
    out = np.empty_like(Z)
    rows.softmax_range(Z, out, 0, Z.shape[0])
    return out


PASSES = rows.Passes(
    _binary_pass, _softmax_pass, _hessian_pass, _margins, _sigmoid, _softmax, *numba_second_order.SERIAL
)
backend = rows.NumbaBackend("numba", "@njit, one thread, one fused pass over X", PASSES)
