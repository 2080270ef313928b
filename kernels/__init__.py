"""Kernel backends of fastlr: one backend object per module, one contract for all.

Installed as ``fastlr.kernels``. Each backend module defines ``backend``, an
instance of a :class:`fastlr.kernels.base.Backend` subclass; :mod:`fastlr.dispatch`
maps backend names to them. ``base.py`` holds the contract: the public
methods below check their arguments' shapes (O(1)) and call hooks that only
compute; a backend must implement ``_cost_gradient`` and
``_softmax_cost_gradient``, and every other hook has a generic default over
the backend's array library that a backend overrides where it has a cheaper
pass.

Notation: X has shape (n_samples, n_features) = (m, n); y holds the labels
(0/1 for the binary functions, class indices 0..K-1 for the softmax ones); w
has shape (n,) and b is a scalar (binary), W has shape (K, n) and b shape (K,)
(multinomial); s is the optional ``sample_weight`` of shape (m,), all ones when
``None``. Margins are z_i = x_i·w + b. Inputs are assumed validated by the
public layer (finite, C-contiguous float32 or float64, y and s in X's dtype):
kernels only compute. float32 in gives float32 out.

Binary (logistic) functions
---------------------------
``sigmoid(z)``
    σ(z) = 1 / (1 + e^{-z}) elementwise, exact for every finite z.
``decision_function(X, w, b)``
    z = X w + b, shape (m,); with a 2-D W, Z = X Wᵀ + b, shape (m, K).
``predict_proba(X, w, b)``
    σ(z), the probability of class 1, shape (m,).
``cost(X, y, w, b, sample_weight=None)``
    J = (1/Σs) Σ s_i ℓ_i with ℓ_i = softplus(z_i) − y_i z_i, computed as
    (max(z_i, 0) − y_i z_i) + log1p(e^{−|z_i|}): never a clipped probability, so
    J is finite and accurate for |z| in the thousands, and for a confident
    right answer the small last term keeps its digits.
``gradient(X, y, w, b, sample_weight=None) -> (dw, db)``
    dw = (1/Σs) Σ s_i (σ(z_i) − y_i) x_i, db = (1/Σs) Σ s_i (σ(z_i) − y_i). The
    residual σ(z) − y is formed from the exact σ(−|z|): (1 − y) − σ(−|z|) for
    z > 0, σ(−|z|) − y otherwise, so a confident row's −σ(−z) keeps its digits
    (σ(z) − 1 is 0 in float32 from z ≈ 17).
``cost_gradient(X, y, w, b, sample_weight=None) -> (cost, dw, db)``
    Both at once; fused backends read X once.
``cost_gradient_hessian(X, y, w, b, sample_weight=None) -> (cost, dw, db, H)``
    Adds H = (1/Σs) X̃ᵀ D X̃ of shape (n+1, n+1), X̃ = [X, 1] (intercept last),
    D = diag(s_i σ(z_i)(1 − σ(z_i))), for Newton's method.

Multinomial (softmax) functions
-------------------------------
``softmax(Z)``
    Row-wise e^{Z_ik − lse(Z_i)}, lse the stable log-sum-exp.
``softmax_cost(X, y, W, b, sample_weight=None)``
    (1/Σs) Σ s_i (lse(z_i) − z_{i, y_i}), z_i = W x_i + b, each row's loss computed
    as log1p(Σ_k e^{z_k − t} − 1) − (z_y − t), t = max_k z_k, with the sum less one
    formed without a subtraction: a confident row's loss (≈ Σ_{k≠y} e^{z_k − z_y},
    1e-20 say) keeps its digits instead of rounding to 0. A label that is not one
    of 0..K-1 (out of range, or not a whole number: 0.5, NaN) is never used as an
    index: its row makes the loss NaN, and the host backends then raise
    ``KernelInputError`` naming it (the device backend, which reads nothing back,
    returns the NaN cost).
``softmax_cost_gradient(X, y, W, b, sample_weight=None) -> (cost, dW, db)``
    dW = (1/Σs) Σ s_i (p_i − e_{y_i}) x_iᵀ of shape (K, n), db of shape (K,).

Placement
---------
``xp``
    The array library of the backend (NumPy or CuPy): solvers keep θ there.
``accepts(array)``
    True when the backend takes ``array`` as it is, without a copy to another
    device; ``backend="auto"`` asks this of every usable backend.
``to_device(array)`` / ``to_host(array)``
    Move an array to the backend's memory and back (identity on the CPU).
``check_every``
    How often solvers may read a scalar back (1 on the CPU; more on a GPU,
    where each read waits for the device).
``blas_threads``
    BLAS threads during a fit (``None`` leaves BLAS alone; the Numba backends
    say 1 so that BLAS threads do not compete with their own).

Sparse X
--------
A backend may have a companion for CSR matrices (``sparse_python``,
``sparse_numpy``, ``sparse_numba``, ``sparse_numba_parallel``, ``sparse_cupy``;
:func:`fastlr.dispatch.get_sparse_backend`): the same functions with X a
canonical CSR matrix, computed over its stored entries only, every other
argument and result as above. :mod:`fastlr.kernels.sparse_base` holds what
they share.

Penalties are not kernel work: :mod:`fastlr.objective` adds them once, for
every backend. Compile-time settings of the Numba kernels, and how to clear
their cache, are in :mod:`fastlr.kernels.numba_build`.
"""
