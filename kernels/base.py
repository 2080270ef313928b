"""The kernel contract as a base class: what a backend must compute, and what is derived once.

A backend is an instance of a :class:`Backend` subclass. Its public methods
(``cost_gradient``, ``softmax_cost_gradient``, ...) check the shapes of their
arguments in O(1) and then call a hook of the same name with a leading
underscore, which only computes. A subclass must implement two hooks:

``_cost_gradient(X, y, w, b, sample_weight)``
    (J, ∇_w J, ∂_b J) of the binary loss.
``_softmax_cost_gradient(X, y, W, b, sample_weight)``
    (J, ∇_W J, ∇_b J) of the multinomial loss.

Every other hook has a default here, written once over the backend's array
library ``xp`` (NumPy or CuPy); a backend overrides one only where it has a
cheaper or more exact pass (a cost without the gradient, a fused Hessian).
The formulas are documented in :mod:`fastlr.kernels`.

Placement is part of the contract: ``xp``, ``to_device``/``to_host``,
``accepts`` (the arrays it takes as they are, without a copy to another
device), ``check_every`` and ``blas_threads``; ``auto_priority`` ranks the
backend for ``backend="auto"``.
"""

from typing import Optional

import numpy as np

from fastlr import config

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class KernelInputError(ValueError):
    """Arguments of a kernel call whose shapes or dtypes do not fit together."""


def is_device_sparse(array) -> bool:
    """True for CuPy's sparse matrices (``cupyx.scipy.sparse``), without importing CuPy."""
    return type(array).__module__.startswith("cupyx.scipy.sparse")


def is_device_array(array) -> bool:
    """True for arrays in GPU memory (CuPy, PyTorch CUDA tensors, Numba device arrays)
    and for CuPy's sparse matrices, whose arrays live there."""
    return hasattr(array, "__cuda_array_interface__") or is_device_sparse(array)


def _shape(array):
    """The shape, read as an attribute where there is one (np.shape costs microseconds per call)."""
    if isinstance(array, (float, int)):
        return ()
    shape = getattr(array, "shape", None)
    return tuple(np.shape(array)) if shape is None else tuple(shape)


def logistic_residual(xp, z, y):
    """(σ(z) − y, σ(−|z|)) elementwise, over ``xp``, without cancellation.

    With small = σ(−|z|) = e/(1 + e), e = e^{−|z|} (exact, nothing overflows), the
    residual is (1 − y) − small for z > 0 and small − y otherwise: −σ(−z) to the
    last digit for y = 1 at z ≫ 0, where σ(z) − 1 cancels (0 in float32 from z ≈ 17),
    and the plain difference for a fractional label. ``small`` also gives the
    curvature σ(z)(1 − σ(z)) = small (1 − small).
    """
    e = xp.exp(-xp.abs(z))
    small = e / (1 + e)
    return xp.where(z > 0, (1 - y) - small, small - y), small


class Backend:
    """One kernel backend: the per-iteration math of logistic regression on one kind of array.

    Notation as in :mod:`fastlr.kernels`: X (m, n), y (m,), w (n,) and a scalar
    b (binary), W (K, n) and b (K,) (multinomial), sample_weight (m,) or None.
    """

    #: The name the registry knows this backend by (``backend=name``).
    name = ""
    #: One line for ``fastlr backends``.
    summary = ""
    #: The array library θ and every result live in.
    xp = np
    #: BLAS threads during a fit (None leaves BLAS as it is).
    blas_threads: Optional[int] = None
    #: ``backend="auto"`` picks, among the usable backends that accept the data,
    #: the one with the highest value; None: never picked automatically.
    auto_priority: Optional[int] = None

    @property
    def check_every(self) -> int:
        """How often a solver may read a scalar back: every iteration on the host."""
        return 1

    # -- placement ------------------------------------------------------------
    def accepts(self, array) -> bool:
        """True when ``array`` can be used as it is (host memory for a host backend)."""
        return not is_device_array(array)

    def to_device(self, array):
        """``array`` in this backend's memory (the identity on the host)."""
        return np.asarray(array)

    def to_host(self, array):
        """``array`` as a NumPy array."""
        return np.asarray(array)

    def unavailable_reason(self) -> Optional[str]:
        """None when the backend can run here, else a sentence saying why not."""
        return None

    def __repr__(self):
        return f"<fastlr backend {self.name!r}>"

    # -- O(1) argument checks ------------------------------------------------------
    def _check_matrix(self, X):
        shape = _shape(X)
        if len(shape) != 2:
            raise KernelInputError(f"X must be 2-D, got shape {shape}")
        if getattr(X, "dtype", None) not in FLOAT_DTYPES:
            raise KernelInputError(f"X must be float32 or float64, got {getattr(X, 'dtype', type(X))}")
        return shape

    def _check_rows(self, m, y, sample_weight):
        if _shape(y) != (m,):
            raise KernelInputError(f"y must have shape ({m},) for X with {m} rows, got {_shape(y)}")
        if sample_weight is not None:
            if _shape(sample_weight) != (m,):
                raise KernelInputError(
                    f"sample_weight must have shape ({m},) for X with {m} rows, got {_shape(sample_weight)}"
                )

    def _check_binary(self, X, y, w, b, sample_weight, labelled=True):
        m, n = self._check_matrix(X)
        if _shape(w) != (n,):
            raise KernelInputError(f"w must have shape ({n},) for X with {n} columns, got {_shape(w)}")
        if _shape(b) not in ((), (1,)):
            raise KernelInputError(f"b must be a scalar for a binary model, got shape {_shape(b)}")
        if labelled:
            self._check_rows(m, y, sample_weight)

    def _check_multinomial(self, X, y, W, b, sample_weight, labelled=True):
        m, n = self._check_matrix(X)
        shape = _shape(W)
        if not (len(shape) == 2 and shape[1] == n):
            raise KernelInputError(f"W must have shape (K, {n}), got {shape}")
        if _shape(b) != shape[:1]:
            raise KernelInputError(f"b must have shape ({shape[0]},) for W {shape}, got {_shape(b)}")
        if labelled:
            self._check_rows(m, y, sample_weight)

    def _check_labels_in_range(self, cost, y, n_classes):
        """After a softmax pass: a non-finite cost from finite inputs means a label that is not
        one of 0..K-1 (outside the range, or not a whole number: the passes give such rows a NaN
        loss rather than use them as an index); say which. Read only when the cost is not finite."""
        if bool(self.xp.isfinite(cost)):
            return
        labels = self.xp.asarray(y)
        low, high = float(labels.min()), float(labels.max())
        if not (0 <= low and high < n_classes):
            raise KernelInputError(f"class indices y must lie in 0..{n_classes - 1}, got {low:g}..{high:g}")
        fractional = labels != self.xp.floor(labels)
        if bool(fractional.any()):
            example = float(labels[fractional][0])
            raise KernelInputError(f"class indices y must be whole numbers 0..{n_classes - 1}, got {example:g}")
    # -- the public contract ---------------------------------------------------------
    def sigmoid(self, z):
        """σ(z) = 1 / (1 + e^{−z}) elementwise, exact for every finite z; z's shape and dtype."""
        return self._sigmoid(z)

    def decision_function(self, X, w, b):
        """Margins X w + b, shape (m,); with a 2-D W, X Wᵀ + b, shape (m, K)."""
        if len(_shape(w)) == 2:
            self._check_multinomial(X, None, w, b, None, labelled=False)
        else:
            self._check_binary(X, None, w, b, None, labelled=False)
        return self._decision_function(X, w, b)

    def predict_proba(self, X, w, b):
        """σ(X w + b), the probability of class 1, shape (m,)."""
        return self.sigmoid(self.decision_function(X, w, b))

    def cost(self, X, y, w, b, sample_weight=None):
        """J = (1/Σs) Σ s_i (softplus(z_i) − y_i z_i), a scalar in X's dtype."""
        self._check_binary(X, y, w, b, sample_weight)
        return self._cost(X, y, w, b, sample_weight)

    def cost_gradient(self, X, y, w, b, sample_weight=None):
        """(J, dw, db) with dw = (1/Σs) Σ s_i (σ(z_i) − y_i) x_i, db the same without x_i."""
        self._check_binary(X, y, w, b, sample_weight)
        return self._cost_gradient(X, y, w, b, sample_weight)

    def gradient(self, X, y, w, b, sample_weight=None):
        """(dw, db) of :meth:`cost_gradient`."""
        return self.cost_gradient(X, y, w, b, sample_weight)[1:]

    def cost_gradient_hessian(self, X, y, w, b, sample_weight=None):
        """(J, dw, db, H), H = (1/Σs) X̃ᵀ D X̃ of shape (n+1, n+1), X̃ = [X, 1], D_ii = s_i p_i (1 − p_i)."""
        self._check_binary(X, y, w, b, sample_weight)
        return self._cost_gradient_hessian(X, y, w, b, sample_weight)

    def softmax(self, Z):
        """Row-wise e^{Z_ik − lse(Z_i)}, shape (m, K)."""
        if len(_shape(Z)) != 2:
            raise KernelInputError(f"Z must be 2-D, got shape {_shape(Z)}")
        return self._softmax(Z)

    def softmax_cost(self, X, y, W, b, sample_weight=None):
        """(1/Σs) Σ s_i (lse(z_i) − z_{i, y_i}), z_i = W x_i + b."""
        self._check_multinomial(X, y, W, b, sample_weight)
        cost = self._softmax_cost(X, y, W, b, sample_weight)
        self._check_labels_in_range(cost, y, _shape(W)[0])
        return cost

    def softmax_cost_gradient(self, X, y, W, b, sample_weight=None):
        """(J, dW, db): dW = (1/Σs) Σ s_i (p_i − e_{y_i}) x_iᵀ of shape (K, n), db of shape (K,)."""
        self._check_multinomial(X, y, W, b, sample_weight)
        result = self._softmax_cost_gradient(X, y, W, b, sample_weight)
        self._check_labels_in_range(result[0], y, _shape(W)[0])
        return result

    # -- second order in Hessian-vector form (Newton-CG, trust region) --------------------
    def cost_gradient_curvature(self, X, y, w, b, sample_weight=None):
        """(J, dw, db, d): d of shape (m,), float64, d_i = s_i p_i (1 − p_i) / Σs, the diagonal
        that :meth:`hessian_product` needs; computed in the same pass as the gradient."""
        self._check_binary(X, y, w, b, sample_weight)
        return self._cost_gradient_curvature(X, y, w, b, sample_weight)

    def hessian_product(self, X, curvature, v, v_b):
        """(H v)_w = Xᵀ (d ⊙ (X v + v_b)), (H v)_b = Σ d ⊙ (X v + v_b): the data term of the
        binary Hessian X̃ᵀ D X̃ times [v; v_b], float64, shapes (n,) and ()."""
        m, n = self._check_matrix(X)
        if _shape(curvature) != (m,) or _shape(v) != (n,):
            raise KernelInputError(f"curvature must have shape ({m},) and v shape ({n},), got {_shape(curvature)}, {_shape(v)}")
        return self._hessian_product(X, curvature, v, v_b)

    def softmax_cost_gradient_probabilities(self, X, y, W, b, sample_weight=None):
        """(J, dW, db, P): P of shape (m, K), the class probabilities at (W, b), in X's dtype."""
        self._check_multinomial(X, y, W, b, sample_weight)
        result = self._softmax_cost_gradient_probabilities(X, y, W, b, sample_weight)
        self._check_labels_in_range(result[0], y, _shape(W)[0])
        return result

    def softmax_hessian_product(self, X, probabilities, sample_weight, V, v_b):
        """The multinomial Hessian's data term times [V; v_b]: with u_i = V x_i + v_b,
        r_i = p_i ⊙ u_i − p_i (p_iᵀ u_i), returns ((1/Σs) Σ s_i r_i x_iᵀ, (1/Σs) Σ s_i r_i),
        float64, shapes (K, n) and (K,)."""
        m, n = self._check_matrix(X)
        K = _shape(V)[0] if len(_shape(V)) == 2 else -1
        if _shape(probabilities) != (m, K) or _shape(V) != (K, n) or _shape(v_b) != (K,):
            raise KernelInputError(
                f"probabilities (m, K), V (K, n), v_b (K,) expected for X {(m, n)}, got "
                f"{_shape(probabilities)}, {_shape(V)}, {_shape(v_b)}"
            )
        if sample_weight is not None and _shape(sample_weight) != (m,):
            raise KernelInputError(f"sample_weight must have shape ({m},), got {_shape(sample_weight)}")
        return self._softmax_hessian_product(X, probabilities, sample_weight, V, v_b)

    # -- required hooks ----------------------------------------------------------------
    def _cost_gradient(self, X, y, w, b, sample_weight):
        raise NotImplementedError(f"backend {self.name!r} does not implement _cost_gradient")

    def _softmax_cost_gradient(self, X, y, W, b, sample_weight):
        raise NotImplementedError(f"backend {self.name!r} does not implement _softmax_cost_gradient")

    # -- derived hooks: one generic version each, over self.xp ------------------------------
    def _sigmoid(self, z):
        xp = self.xp
        z = xp.asarray(z)
        e = xp.exp(-xp.abs(z))  # exp never sees a large positive argument
        return xp.where(z >= 0, 1 / (1 + e), e / (1 + e))

    def _decision_function(self, X, w, b):
        xp = self.xp
        w = xp.asarray(w, dtype=X.dtype)
        if w.ndim == 1:
            return X @ w + xp.asarray(b, dtype=X.dtype).reshape(())
        return X @ w.T + xp.asarray(b, dtype=X.dtype)

    def _cost(self, X, y, w, b, sample_weight):
        return self._cost_gradient(X, y, w, b, sample_weight)[0]

    def _softmax_cost(self, X, y, W, b, sample_weight):
        return self._softmax_cost_gradient(X, y, W, b, sample_weight)[0]

    def _softmax(self, Z):
        xp = self.xp
        shifted = Z - Z.max(axis=1, keepdims=True)
        exponentials = xp.exp(shifted)
        return exponentials / exponentials.sum(axis=1, keepdims=True)

    def _cost_gradient_curvature(self, X, y, w, b, sample_weight):
        xp = self.xp
        cost, dw, db = self._cost_gradient(X, y, w, b, sample_weight)
        p = self._sigmoid(self._decision_function(X, w, b)).astype(xp.float64)
        curvature = p * (1 - p)
        if sample_weight is None:
            curvature /= X.shape[0]
        else:
            curvature *= sample_weight / sample_weight.sum(dtype=xp.float64)
        return cost, dw, db, curvature

    def _hessian_product(self, X, curvature, v, v_b):
        xp = self.xp
        u = curvature * ((X @ xp.asarray(v, dtype=X.dtype)).astype(xp.float64) + v_b)
        return (X.T @ u.astype(X.dtype)).astype(xp.float64), u.sum()

    def _softmax_cost_gradient_probabilities(self, X, y, W, b, sample_weight):
        cost, dW, db = self._softmax_cost_gradient(X, y, W, b, sample_weight)
        return cost, dW, db, self._softmax(self._decision_function(X, W, b))

    def _softmax_hessian_product(self, X, probabilities, sample_weight, V, v_b):
        xp = self.xp
        P = probabilities.astype(xp.float64)
        U = (X @ xp.asarray(V, dtype=X.dtype).T).astype(xp.float64) + v_b
        R = P * U - P * (P * U).sum(axis=1, keepdims=True)
        if sample_weight is None:
            R /= X.shape[0]
        else:
            R *= (sample_weight / sample_weight.sum(dtype=xp.float64))[:, None]
        return (R.T.astype(X.dtype) @ X).astype(xp.float64), R.sum(axis=0)

    def _cost_gradient_hessian(self, X, y, w, b, sample_weight):
        """One blocked pass: per block of rows, margins, loss, gradient and the Gram matrix.

        The block is scaled by √D_ii into a block-sized buffer and ``Bᵀ B`` goes
        to BLAS, so X is read from memory once. Sums are kept in float64.
        """
        xp = self.xp
        m, n = X.shape
        dtype = X.dtype
        loss = 0.0
        dw = xp.zeros(n, dtype=xp.float64)
        db = 0.0
        gram = xp.zeros((n + 1, n + 1), dtype=xp.float64)
        w = xp.asarray(w, dtype=dtype)
        b = xp.asarray(b, dtype=dtype).reshape(())
        block_rows = config.HESSIAN_BLOCK_ROWS
        for start in range(0, m, block_rows):
            rows = slice(start, min(start + block_rows, m))
            X_block, y_block = X[rows], y[rows]
            z = X_block @ w + b
            # softplus(z) − y z with the exact term added last (no cancellation for y = 1, z ≫ 0)
            losses = (xp.maximum(z, 0) - y_block * z) + xp.log1p(xp.exp(-xp.abs(z)))
            residual, small = logistic_residual(xp, z, y_block)
            curvature = small * (1 - small)
            if sample_weight is not None:
                s_block = sample_weight[rows]
                losses, residual, curvature = losses * s_block, residual * s_block, curvature * s_block
            loss += float(losses.sum(dtype=xp.float64))
            dw += X_block.T @ residual
            db += float(residual.sum(dtype=xp.float64))
            scaled = X_block * xp.sqrt(curvature)[:, None]
            gram[:n, :n] += scaled.T @ scaled
            gram[:n, n] += X_block.T @ curvature
            gram[n, n] += float(curvature.sum(dtype=xp.float64))
        gram[n, :n] = gram[:n, n]
        total = float(m if sample_weight is None else sample_weight.sum(dtype=xp.float64))
        return (
            dtype.type(loss / total),
            (dw / total).astype(dtype),
            dtype.type(db / total),
            (gram / total).astype(dtype),
        )
