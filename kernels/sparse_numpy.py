"""The CSR companion of the ``numpy`` backend: SciPy's sparse matrix products.

``cost_gradient`` is two sparse matrix-vector products (``X @ w``, then
``Xᵀ r``) with m-long temporaries between them, each over the stored entries
only; the softmax is the same with (m, K) temporaries. Written over the
backend's ``xp`` and sparse module, so that the ``cupy`` companion
(:mod:`fastlr.kernels.sparse_cupy`) runs the same code on
``cupyx.scipy.sparse`` where it has no fused kernel: what is tested here on
NumPy is what runs there.

The dense Hessian X̃ᵀ D X̃ is built per block of rows from sparse products
(scaled block transposed times the block), so it costs Σ_i nnz_i² work and
never an m × n temporary; Newton's (n+1)² size is checked against memory
before a fit starts (:func:`fastlr.training.make_plan`).
"""

from fastlr import config
from fastlr.kernels import numpy_vectorized
from fastlr.kernels.base import logistic_residual
from fastlr.kernels.sparse_base import CsrBackend


class SparseNumpyBackend(CsrBackend):
    """Sparse products over ``self.xp`` and ``self.sparse_module``.

    Every product of X with a dense array goes through :meth:`_product` (X U) or
    :meth:`_transpose_product` (Xᵀ U): SciPy's here; the ``cupy`` companion
    replaces the two with its deterministic kernels.
    """

    def _product(self, X, U):
        """X U for U of shape (n,) or (n, K), in X's dtype."""
        return self.xp.asarray(X @ U)

    def _transpose_product(self, X, U):
        """Xᵀ U for U of shape (m,) or (m, K)."""
        return self.xp.asarray(X.T @ U)

    def _weights_and_total(self, X, sample_weight):
        xp = self.xp
        if sample_weight is None:
            return None, float(X.shape[0])
        return sample_weight, float(sample_weight.sum(dtype=xp.float64))

    def _losses(self, z, y):
        """softplus(z) − y z with the exact term first, as the dense backends."""
        xp = self.xp
        return (xp.maximum(z, 0) - y * z) + xp.log1p(xp.exp(-xp.abs(z)))

    def _decision_function(self, X, w, b):
        xp = self.xp
        w = xp.asarray(w, dtype=X.dtype)
        if w.ndim == 1:
            return self._product(X, w) + xp.asarray(b, dtype=X.dtype).reshape(())
        return self._product(X, xp.ascontiguousarray(w.T)) + xp.asarray(b, dtype=X.dtype)

    def _cost_gradient(self, X, y, w, b, sample_weight):
        dtype = X.dtype
        z = self._decision_function(X, w, b)
        losses, residual = self._losses(z, y), logistic_residual(self.xp, z, y)[0]  # exact for confident rows
        weights, total = self._weights_and_total(X, sample_weight)
        if weights is not None:
            losses, residual = losses * weights, residual * weights
        xp = self.xp
        return (
            (losses.sum(dtype=xp.float64) / total).astype(dtype),
            (self._transpose_product(X, residual) / total).astype(dtype),
            (residual.sum(dtype=xp.float64) / total).astype(dtype),
        )

    def _log_sum_exp(self, Z):
        xp = self.xp
        top = Z.max(axis=1, keepdims=True)
        return (top + xp.log(xp.exp(Z - top).sum(axis=1, keepdims=True)))[:, 0]

    def _softmax_cost_gradient(self, X, y, W, b, sample_weight):
        xp = self.xp
        dtype = X.dtype
        Z = self._decision_function(X, W, b)
        lse = self._log_sum_exp(Z)
        rows = xp.arange(X.shape[0])
        losses = lse - Z[rows, y]
        residual = xp.exp(Z - lse[:, None])
        residual[rows, y] -= 1
        weights, total = self._weights_and_total(X, sample_weight)
        if weights is not None:
            losses, residual = losses * weights, residual * weights[:, None]
        return (
            (losses.sum(dtype=xp.float64) / total).astype(dtype),
            xp.ascontiguousarray(self._transpose_product(X, residual).T / total, dtype=dtype),  # (K, n), as dense
            (residual.sum(axis=0, dtype=xp.float64) / total).astype(dtype),
        )

    def _hessian_diagonal(self, X, curvature):
        """(X ∘ X)ᵀ d: the squares of the stored values, an O(nnz) temporary."""
        return self.xp.asarray(self._transpose_product(X.power(2), curvature), dtype=self.xp.float64), curvature.sum()

    def _softmax_hessian_product(self, X, probabilities, sample_weight, V, v_b):
        xp = self.xp
        P = probabilities.astype(xp.float64)
        U = self._product(X, xp.ascontiguousarray(xp.asarray(V, dtype=X.dtype).T)).astype(xp.float64) + v_b
        R = P * U - P * (P * U).sum(axis=1, keepdims=True)
        weights, total = self._weights_and_total(X, sample_weight)
        R = R / total if weights is None else R * (weights / total)[:, None]
        return self._transpose_product(X, R.astype(X.dtype)).T.astype(xp.float64), R.sum(axis=0)

    def _hessian_product(self, X, curvature, v, v_b):
        xp = self.xp
        u = curvature * (self._product(X, xp.asarray(v, dtype=X.dtype)).astype(xp.float64) + v_b)
        return self._transpose_product(X, u.astype(X.dtype)).astype(xp.float64), u.sum()

    def _row_scaled(self, X, scale):
        """diag(scale) X, a CSR matrix of X's pattern (scale of shape (m,))."""
        return self.sparse_module.diags(scale.astype(X.dtype)) @ X

    def _cost_gradient_hessian(self, X, y, w, b, sample_weight):
        xp = self.xp
        m, n = X.shape
        dtype = X.dtype
        p = self._sigmoid(self._decision_function(X, w, b)).astype(xp.float64)
        curvature = p * (1 - p) if sample_weight is None else sample_weight * p * (1 - p)
        gram = xp.zeros((n + 1, n + 1), dtype=xp.float64)
        block_rows = config.HESSIAN_BLOCK_ROWS
        for start in range(0, m, block_rows):
            X_block, d_block = X[start : start + block_rows], curvature[start : start + block_rows]
            gram[:n, :n] += xp.asarray((X_block.T @ self._row_scaled(X_block, d_block)).toarray())
            gram[:n, n] += X_block.T @ d_block
        gram[n, :n] = gram[:n, n]
        gram[n, n] = curvature.sum()
        _, total = self._weights_and_total(X, sample_weight)
        cost, dw, db = self._cost_gradient(X, y, w, b, sample_weight)
        return cost, dw, db, (gram / total).astype(dtype)


backend = SparseNumpyBackend(numpy_vectorized.backend, "SciPy sparse products; two passes over the stored entries")
