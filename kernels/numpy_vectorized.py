"""The ``numpy`` backend: vectorized NumPy and SciPy.

``cost_gradient`` reads X twice (``X @ w``, then ``Xᵀ r``) with temporaries of
length m in between: the vectorized baseline the fused backends are measured
against. The Hessian is the generic blocked pass of
:class:`~fastlr.kernels.base.Backend` (BLAS per block of rows).
"""

import numpy as np
from scipy.special import expit, logsumexp

from fastlr.kernels.base import Backend, logistic_residual
from fastlr.kernels.gemm_softmax import class_indices, label_losses, log_sum_exp_rows


def _weighted_mean(values, sample_weight):
    if sample_weight is None:
        return values.mean(dtype=values.dtype)
    return values.dtype.type(np.dot(sample_weight, values) / sample_weight.sum())


def logistic_losses(z, y):
    """softplus(z) − y z for labels y in [0, 1], the exact term added last.

    max(z, 0) − y z is exact (0 for a confident right answer), so the small
    log1p(e^{−|z|}) keeps its digits: 8.5e-17 at z = 37, not 0.
    """
    return (np.maximum(z, 0) - y * z) + np.log1p(np.exp(-np.abs(z)))


class NumpyBackend(Backend):
    name = "numpy"
    summary = "vectorized NumPy/SciPy; two passes over X per cost and gradient"
    auto_priority = 10

    def _sigmoid(self, z):
        return expit(z)

    def _cost(self, X, y, w, b, sample_weight):
        return _weighted_mean(logistic_losses(self._decision_function(X, w, b), y), sample_weight)

    def _cost_gradient(self, X, y, w, b, sample_weight):
        z = self._decision_function(X, w, b)
        residual = logistic_residual(np, z, y)[0]
        if sample_weight is None:
            total_weight = X.dtype.type(len(y))
        else:
            residual *= sample_weight
            total_weight = sample_weight.sum()
        cost = _weighted_mean(logistic_losses(z, y), sample_weight)
        return cost, (X.T @ residual) / total_weight, residual.sum() / total_weight

    def _softmax(self, Z):
        return np.exp(Z - logsumexp(Z, axis=1, keepdims=True))

    def _softmax_parts(self, X, y, W, b):
        """(exponentials, Σ_k exponentials, indices, inside, losses) of the rows' margins:
        e^{z_k − t}, the class indices (:func:`~fastlr.kernels.gemm_softmax.class_indices`)
        and the per-row losses, exact for confident rows and NaN for a label that is no class."""
        shifted, exponentials, others = log_sum_exp_rows(np, self._decision_function(X, W, b))
        indices, inside = class_indices(np, y, W.shape[0])
        return exponentials, others + 1, indices, inside, label_losses(np, shifted, others, indices, inside)

    def _softmax_cost(self, X, y, W, b, sample_weight):
        return _weighted_mean(self._softmax_parts(X, y, W, b)[4], sample_weight)

    def _softmax_cost_gradient(self, X, y, W, b, sample_weight):
        residual, total, indices, inside, losses = self._softmax_parts(X, y, W, b)
        residual /= total[:, None]
        residual[np.arange(len(indices)), indices] -= inside
        if sample_weight is None:
            total_weight = X.dtype.type(len(y))
        else:
            residual *= sample_weight[:, None]
            total_weight = sample_weight.sum()
        dW = (residual.T @ X) / total_weight
        db = residual.sum(axis=0) / total_weight
        return _weighted_mean(losses, sample_weight), dW, db


backend = NumpyBackend()
