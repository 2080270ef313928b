"""The CSR companion of the ``python`` backend: loops over each row's stored entries.

The reference the other CSR kernels are tested against, written to be read:
row i is the list of its (column, value) pairs, ``X.data[k]`` at column
``X.indices[k]`` for k in ``X.indptr[i] : X.indptr[i + 1]``, and every sum
below runs over those pairs only. Arithmetic is in Python floats (double), the
scalar formulas are those of :mod:`fastlr.kernels.python_loops`; results are
cast to X's dtype (float64 for the Hessian-vector products, as the contract says).
"""

import math

import numpy as np

from fastlr.kernels import python_loops
from fastlr.kernels.base import KernelInputError
from fastlr.kernels.python_loops import _log_sum_exp, _logistic_loss, _sigmoid_scalar, _weights
from fastlr.kernels.sparse_base import CsrBackend


def _rows(X):
    """Each row of the CSR X as a list of (column, value) pairs."""
    data, indices, indptr = X.data.tolist(), X.indices.tolist(), X.indptr.tolist()
    return [list(zip(indices[start:end], data[start:end])) for start, end in zip(indptr[:-1], indptr[1:])]


def _dot(row, w, b):
    """b + Σ_(j, x) x·w_j over the stored entries of one row."""
    return b + sum(x * w[j] for j, x in row)


def _labels(y, n_classes):
    labels = [int(label) for label in y.tolist()]
    for label in labels:
        if not 0 <= label < n_classes:
            raise KernelInputError(f"class indices y must lie in 0..{n_classes - 1}, got {label}")
    return labels


class SparsePythonBackend(CsrBackend):
    def _decision_function(self, X, w, b):
        rows = _rows(X)
        if np.ndim(w) == 1:
            w = np.asarray(w).tolist()
            return np.array([_dot(row, w, float(b)) for row in rows], dtype=X.dtype)
        W, b = np.asarray(w).tolist(), np.asarray(b).tolist()
        return np.array([[_dot(row, w_k, b_k) for w_k, b_k in zip(W, b)] for row in rows], dtype=X.dtype)

    def _binary_terms(self, X, y, w, b, sample_weight):
        """(rows, margins, weights, total weight) of the binary problem."""
        rows = _rows(X)
        w = np.asarray(w).tolist()
        weights = _weights(sample_weight, len(rows))
        return rows, [_dot(row, w, float(b)) for row in rows], weights, sum(weights)

    def _cost_gradient(self, X, y, w, b, sample_weight):
        rows, margins, weights, total = self._binary_terms(X, y, w, b, sample_weight)
        loss, dw, db = 0.0, [0.0] * X.shape[1], 0.0
        for row, z, y_i, s_i in zip(rows, margins, y.tolist(), weights):
            loss += s_i * _logistic_loss(z, y_i)
            residual = s_i * (_sigmoid_scalar(z) - y_i)
            db += residual
            for j, x in row:
                dw[j] += residual * x
        dtype = X.dtype.type
        return dtype(loss / total), np.array(dw, dtype=X.dtype) / dtype(total), dtype(db / total)

    def _cost_gradient_curvature(self, X, y, w, b, sample_weight):
        _, margins, weights, total = self._binary_terms(X, y, w, b, sample_weight)
        curvature = [s_i * _sigmoid_scalar(z) * (1.0 - _sigmoid_scalar(z)) / total for z, s_i in zip(margins, weights)]
        return (*self._cost_gradient(X, y, w, b, sample_weight), np.array(curvature))

    def _hessian_product(self, X, curvature, v, v_b):
        v, v_b = np.asarray(v, dtype=np.float64).tolist(), float(v_b)
        out, out_b = [0.0] * X.shape[1], 0.0
        for row, d in zip(_rows(X), np.asarray(curvature).tolist()):
            u = d * _dot(row, v, v_b)
            out_b += u
            for j, x in row:
                out[j] += u * x
        return np.array(out), np.float64(out_b)

    def _hessian_diagonal(self, X, curvature):
        diagonal = [0.0] * X.shape[1]
        curvature = np.asarray(curvature).tolist()
        for row, d in zip(_rows(X), curvature):
            for j, x in row:
                diagonal[j] += d * x * x
        return np.array(diagonal), np.float64(sum(curvature))

    def _cost_gradient_hessian(self, X, y, w, b, sample_weight):
        n = X.shape[1]
        rows, margins, weights, total = self._binary_terms(X, y, w, b, sample_weight)
        hessian = [[0.0] * (n + 1) for _ in range(n + 1)]
        for row, z, s_i in zip(rows, margins, weights):
            p = _sigmoid_scalar(z)
            d = s_i * p * (1.0 - p)
            augmented = row + [(n, 1.0)]
            for j, x_j in augmented:
                for k, x_k in augmented:
                    hessian[j][k] += d * x_j * x_k
        cost, dw, db = self._cost_gradient(X, y, w, b, sample_weight)
        return cost, dw, db, np.array(hessian, dtype=X.dtype) / X.dtype.type(total)

    def _softmax_terms(self, X, y, W, b, sample_weight):
        """(rows, labels, weights, total, per row: (margins z, lse(z)))."""
        rows = _rows(X)
        W, b = np.asarray(W).tolist(), np.asarray(b).tolist()
        labels = _labels(y, len(W))
        weights = _weights(sample_weight, len(rows))
        margins = []
        for row in rows:
            z = [_dot(row, W_k, b_k) for W_k, b_k in zip(W, b)]
            margins.append((z, _log_sum_exp(z)))
        return rows, labels, weights, sum(weights), margins

    def _softmax_cost_gradient(self, X, y, W, b, sample_weight):
        n_classes, n = W.shape
        rows, labels, weights, total, margins = self._softmax_terms(X, y, W, b, sample_weight)
        loss, dW, db = 0.0, [[0.0] * n for _ in range(n_classes)], [0.0] * n_classes
        for row, label, s_i, (z, lse) in zip(rows, labels, weights, margins):
            loss += s_i * (lse - z[label])
            for k in range(n_classes):
                residual = s_i * (math.exp(z[k] - lse) - (1.0 if k == label else 0.0))
                db[k] += residual
                for j, x in row:
                    dW[k][j] += residual * x
        dtype = X.dtype.type
        return (
            dtype(loss / total),
            np.array(dW, dtype=X.dtype) / dtype(total),
            np.array(db, dtype=X.dtype) / dtype(total),
        )

    def _softmax_cost_gradient_probabilities(self, X, y, W, b, sample_weight):
        *_, margins = self._softmax_terms(X, y, W, b, sample_weight)
        probabilities = [[math.exp(z_k - lse) for z_k in z] for z, lse in margins]
        return (*self._softmax_cost_gradient(X, y, W, b, sample_weight), np.array(probabilities, dtype=X.dtype))

    def _softmax_hessian_product(self, X, probabilities, sample_weight, V, v_b):
        n_classes, n = V.shape
        rows = _rows(X)
        weights = _weights(sample_weight, len(rows))
        total = sum(weights)
        V, v_b = np.asarray(V, dtype=np.float64).tolist(), np.asarray(v_b, dtype=np.float64).tolist()
        out, out_b = [[0.0] * n for _ in range(n_classes)], [0.0] * n_classes
        for row, p, s_i in zip(rows, np.asarray(probabilities, dtype=np.float64).tolist(), weights):
            u = [_dot(row, V_k, v_bk) for V_k, v_bk in zip(V, v_b)]
            mean = sum(p_k * u_k for p_k, u_k in zip(p, u))
            for k in range(n_classes):
                r = s_i * p[k] * (u[k] - mean) / total
                out_b[k] += r
                for j, x in row:
                    out[k][j] += r * x
        return np.array(out), np.array(out_b)


backend = SparsePythonBackend(python_loops.backend, "loops over each row's stored entries; the CSR reference")
