"""The ``python`` backend: plain loops over examples and features.

This is the reference semantics of the kernel contract (see
:mod:`fastlr.kernels`), written to be read, not to be fast. Every other
backend is tested against it. Arithmetic is in Python floats (double); results
are cast back to the dtype of X at the end. It overrides every hook of
:class:`~fastlr.kernels.base.Backend`, so none of the generic array code is
part of the reference.
"""

import math

import numpy as np

from fastlr.kernels.base import Backend


def _sigmoid_scalar(z):
    # Two branches so that exp never sees a large positive argument.
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _logistic_loss(z, y):
    """softplus(z) − y z = (max(z, 0) − y z) + log1p(e^{−|z|}): finite for every finite z,
    and the exact first term leaves the small second one its digits."""
    return (max(z, 0.0) - y * z) + math.log1p(math.exp(-abs(z)))


def _residual(z, y):
    """σ(z) − y from σ(−|z|), which is exact: (1 − y) − σ(−z) for z > 0 (−σ(−z) to the last
    digit for y = 1, where σ(z) − 1 would cancel), σ(z) − y otherwise."""
    small = _sigmoid_scalar(-abs(z))
    return (1.0 - y) - small if z > 0 else small - y


def _log_sum_exp(values):
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))


def _softmax_loss(z, label):
    """lse(z) − z_label = log1p(Σ_k e^{z_k − t} − 1) − (z_label − t), t = max z, the sum less
    one formed without a subtraction (the terms below t, plus the classes at t less one):
    a confident row's loss ≈ Σ_{k≠y} e^{z_k − z_y} keeps its digits (1e-20, not 0)."""
    top = max(z)
    shifted = [v - top for v in z]
    below = [math.exp(v) for v in shifted if v < 0]
    others = math.fsum(below) + (len(shifted) - len(below) - 1)
    return math.log1p(others) - shifted[label]


def _class_index(label, n_classes):
    """The class a label stands for, or None if it is outside 0..K-1 or not a whole number."""
    label = float(label)
    if label.is_integer() and 0 <= label < n_classes:
        return int(label)
    return None


def _scalar(b):
    """A binary intercept given as a float, a 0-d or a 1-element array, as a float."""
    return float(np.asarray(b, dtype=np.float64).reshape(()))


def _weights(sample_weight, m):
    return [1.0] * m if sample_weight is None else [float(s) for s in sample_weight]


def _margins(rows, w, b):
    return [b + sum(x_j * w_j for x_j, w_j in zip(row, w)) for row in rows]


def _binary_rows(X, w, b, sample_weight):
    """(rows of X as lists, their margins, their weights, the total weight)."""
    rows = X.tolist()
    weights = _weights(sample_weight, len(rows))
    return rows, _margins(rows, np.asarray(w).tolist(), _scalar(b)), weights, sum(weights)


class PythonBackend(Backend):
    name = "python"
    summary = "plain loops over examples and features; the reference, slow on purpose"

    def _sigmoid(self, z):
        z = np.asarray(z)
        out = np.empty_like(z)
        for index, value in np.ndenumerate(z):
            out[index] = _sigmoid_scalar(float(value))
        return out

    def _decision_function(self, X, w, b):
        rows, w = X.tolist(), np.asarray(w).tolist()
        if np.ndim(w) == 1:
            return np.array(_margins(rows, w, _scalar(b)), dtype=X.dtype)
        b = np.asarray(b).tolist()
        margins = [_margins(rows, w_k, b_k) for w_k, b_k in zip(w, b)]
        return np.array(margins, dtype=X.dtype).T.copy()

    def _cost_gradient(self, X, y, w, b, sample_weight):
        n = X.shape[1]
        rows, margins, weights, total_weight = _binary_rows(X, w, b, sample_weight)
        loss, dw, db = 0.0, [0.0] * n, 0.0
        for row, z, y_i, s_i in zip(rows, margins, y.tolist(), weights):
            loss += s_i * _logistic_loss(z, y_i)
            residual = s_i * _residual(z, y_i)
            db += residual
            for j in range(n):
                dw[j] += residual * row[j]
        dtype = X.dtype.type
        return (
            dtype(loss / total_weight),
            np.array(dw, dtype=X.dtype) / dtype(total_weight),
            dtype(db / total_weight),
        )

    def _cost_gradient_hessian(self, X, y, w, b, sample_weight):
        n = X.shape[1]
        rows, margins, weights, total_weight = _binary_rows(X, w, b, sample_weight)
        hessian = [[0.0] * (n + 1) for _ in range(n + 1)]
        for row, z, s_i in zip(rows, margins, weights):
            p = _sigmoid_scalar(z)
            d = s_i * p * (1.0 - p)
            augmented = row + [1.0]
            for j in range(n + 1):
                for k in range(n + 1):
                    hessian[j][k] += d * augmented[j] * augmented[k]
        cost_value, dw, db = self._cost_gradient(X, y, w, b, sample_weight)
        return cost_value, dw, db, np.array(hessian, dtype=X.dtype) / X.dtype.type(total_weight)

    def _softmax(self, Z):
        Z = np.asarray(Z)
        out = np.empty_like(Z)
        for i, row in enumerate(Z.tolist()):
            lse = _log_sum_exp(row)
            out[i] = [math.exp(v - lse) for v in row]
        return out

    def _softmax_cost_gradient(self, X, y, W, b, sample_weight):
        m, n = X.shape
        n_classes = W.shape[0]
        weights = _weights(sample_weight, m)
        total_weight = sum(weights)
        rows = X.tolist()
        W, b = np.asarray(W).tolist(), np.asarray(b).tolist()
        loss = 0.0
        dW = [[0.0] * n for _ in range(n_classes)]
        db = [0.0] * n_classes
        for row, label, s_i in zip(rows, y.tolist(), weights):
            label = _class_index(label, n_classes)
            if label is None:  # never an index: the row makes the loss NaN
                loss = math.nan
                continue
            z = [b[k] + sum(x_j * w_kj for x_j, w_kj in zip(row, W[k])) for k in range(n_classes)]
            lse = _log_sum_exp(z)
            loss += s_i * _softmax_loss(z, label)
            for k in range(n_classes):
                residual = s_i * (math.exp(z[k] - lse) - (1.0 if k == label else 0.0))
                db[k] += residual
                for j in range(n):
                    dW[k][j] += residual * row[j]
        dtype = X.dtype.type
        return (
            dtype(loss / total_weight),
            np.array(dW, dtype=X.dtype) / dtype(total_weight),
            np.array(db, dtype=X.dtype) / dtype(total_weight),
        )


backend = PythonBackend()
