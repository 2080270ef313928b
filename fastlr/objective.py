"""The penalized objective that every solver minimizes, over any backend.

For parameters θ (the weights w, or W for K classes, then the intercepts b when
they are fitted) the objective is

    F(θ) = (1/Σs) Σ_i s_i ℓ_i(θ) + (λ₂/2)‖w‖² + λ₁‖w‖₁

with λ₂ = (1 − ρ)/(C·Σs) and λ₁ = ρ/(C·Σs), ρ the L1 ratio (0 for ``"l2"``, 1
for ``"l1"``, ``l1_ratio`` for ``"elasticnet"``; no penalty is λ₁ = λ₂ = 0).
Multiplied by C·Σs it is scikit-learn's C·Σ s_i ℓ_i + ½‖w‖² (for L2), so both
have the same minimiser; this mean form keeps gradients O(1) whatever m is.
The intercept is never penalized.

The kernels supply the data term; this module adds the penalties, once, for
every backend. The smooth part F − λ₁‖w‖₁ is what ``value_and_gradient``
returns; proximal solvers handle λ₁‖w‖₁ through :meth:`Objective.prox`.
"""

import copy

import numpy as np

from fastlr import validation

#: Seed of :meth:`Objective.row_sample`: a sample changes how fast a solver gets to
#: the optimum, never the optimum, and the same data always gets the same sample.
ROW_SAMPLE_SEED = 0

#: The class share a class without any weight counts with in :meth:`Objective.prior_start`.
PRIOR_FLOOR = 1e-12

PENALTY_L1_RATIO = {"l2": 0.0, "l1": 1.0, None: 0.0, "none": 0.0}


def min_norm_subgradient(xp, theta, gradient, n_weights, l1_strength):
    """max_j |∂_j F|: the max-norm of the minimum-norm subgradient of F = f + λ₁‖w‖₁.

    ``gradient`` is ∇f, the smooth part's; the first ``n_weights`` entries of θ
    are penalized (w), the rest (intercepts) are not. For a weight at zero the
    subgradient interval is ∇_j f ± λ₁, whose smallest member is
    max(|∇_j f| − λ₁, 0); elsewhere it is ∇_j f + λ₁ sign(w_j). ``xp`` is the
    namespace of θ (a solver on the host passes NumPy).
    """
    if l1_strength == 0.0:
        return xp.abs(gradient).max()
    weights, grad_w = theta[:n_weights], gradient[:n_weights]
    at_zero = xp.maximum(xp.abs(grad_w) - l1_strength, 0.0)
    off_zero = xp.abs(grad_w + l1_strength * xp.sign(weights))
    worst = xp.where(weights == 0, at_zero, off_zero).max()
    if len(gradient) > n_weights:
        worst = xp.maximum(worst, xp.abs(gradient[n_weights:]).max())
    return worst


def l1_ratio_of(penalty, l1_ratio):
    """ρ of the penalty: the share of λ that goes to the L1 term."""
    if penalty == "elasticnet":
        return float(l1_ratio)
    return PENALTY_L1_RATIO[penalty]


class Objective:
    """F(θ) over data held by one backend; binary (K = 1 column) or softmax.

    Parameters
    ----------
    backend : fastlr.kernels.base.Backend
        Evaluates the data term.
    X : array of shape (n_samples, n_features)
        Validated, C-contiguous, float32 or float64, on the backend's device.
    y : array of shape (n_samples,)
        0/1 in X's dtype (binary) or class indices (multinomial).
    sample_weight : array of shape (n_samples,) or None
    n_classes : int
        1 for the binary problem, K ≥ 2 for the softmax.
    C, penalty, l1_ratio, fit_intercept
        As in :class:`fastlr.LogisticRegression`. ``C=inf`` means no penalty.
    estimator_name : str
        Named in the error about non-finite X, as scikit-learn's validation does.
    memo : dict or None
        Shared by the objectives of a regularization path (the same X, y and
        weights, another C): the backend's data term at the last θ evaluated,
        so that the next C's first evaluation, at that θ, costs no pass over X.
    """

    def __init__(self, backend, X, y, sample_weight, *, n_classes=1, C=1.0, penalty="l2",
                 l1_ratio=None, fit_intercept=True, estimator_name="LogisticRegression", memo=None):
        self.backend = backend
        self.estimator_name = estimator_name
        self.memo = memo
        self.xp = backend.xp
        self.X, self.y, self.sample_weight = X, y, sample_weight
        self.n_classes = n_classes
        self.n_features = X.shape[1]
        self.fit_intercept = fit_intercept
        self.total_weight = float(X.shape[0] if sample_weight is None else sample_weight.sum())
        strength = 0.0 if (penalty in (None, "none") or np.isinf(C)) else 1.0 / (C * self.total_weight)
        rho = l1_ratio_of(penalty, l1_ratio)
        self.l1_strength = rho * strength
        self.l2_strength = (1.0 - rho) * strength
        self.n_weights = n_classes * self.n_features
        self.n_params = self.n_weights + (n_classes if fit_intercept else 0)
        self._row_samples = {}
        if n_classes == 1:
            self._cost, self._cost_gradient = backend.cost, backend.cost_gradient
            self._curvature_pass, self._data_hessian_product = backend.cost_gradient_curvature, _binary_product
        else:
            self._cost, self._cost_gradient = backend.softmax_cost, backend.softmax_cost_gradient
            self._curvature_pass = backend.softmax_cost_gradient_probabilities
            self._data_hessian_product = _softmax_product

    @property
    def n_samples(self):
        return self.X.shape[0]

    def subset(self, rows):
        """The same F estimated on ``rows`` (an index array): the rows' mean loss plus
        the full problem's penalty, λ₁ and λ₂ unchanged (a mini-batch)."""
        part = copy.copy(self)
        part.X, part.y = self.X[rows], self.y[rows]
        part.sample_weight = None if self.sample_weight is None else self.sample_weight[rows]
        part.total_weight = float(len(rows) if part.sample_weight is None else part.sample_weight.sum())
        part._row_samples = {}
        part.memo = None  # the memo holds the full data term, not this subset's
        return part

    def row_sample(self, rows):
        """F estimated on ``rows`` rows drawn without replacement (seeded, in row order), or
        this objective when it has no more rows than that. Memoized: the rows are copied
        once per objective, however many solver stages use them."""
        if self.n_samples <= rows:
            return self
        if rows not in self._row_samples:
            drawn = np.sort(np.random.default_rng(ROW_SAMPLE_SEED).choice(self.n_samples, rows, replace=False))
            self._row_samples[rows] = self.subset(self.backend.to_device(drawn))
        return self._row_samples[rows]

    # -- parameter layout -------------------------------------------------
    def unpack(self, theta):
        """θ → (w, b): w of shape (n,) or (K, n) in X's dtype, b scalar or (K,)."""
        dtype = self.X.dtype
        w = theta[: self.n_weights].astype(dtype)
        if self.n_classes == 1:
            if not self.fit_intercept:
                return w, dtype.type(0)
            return w, theta[self.n_weights].astype(dtype)
        w = w.reshape(self.n_classes, self.n_features)
        if self.fit_intercept:
            return w, theta[self.n_weights:].astype(dtype)
        return w, self.xp.zeros(self.n_classes, dtype=dtype)

    def pack(self, w_grad, b_grad):
        """(dw, db) → a float64 vector in θ's layout."""
        xp = self.xp
        parts = [xp.asarray(w_grad, dtype=xp.float64).reshape(-1)]
        if self.fit_intercept:
            parts.append(xp.asarray(b_grad, dtype=xp.float64).reshape(-1))
        return xp.concatenate(parts)

    def zeros(self):
        return self.xp.zeros(self.n_params, dtype=self.xp.float64)

    def prior_start(self):
        """θ₀ with w = 0 and the intercepts at the log of the (weighted) class shares π.

        That is the minimiser over the intercepts alone: the log-odds log(π₁/π₀)
        for the binary loss, log π_k minus their mean for the softmax, so
        F(θ₀) is the entropy of the class shares, −Σ π_k log π_k, at most
        F(0) = log K. A class without weight gets log(``PRIOR_FLOOR``), not −∞.
        Without an intercept: zeros. One pass over y, none over X.
        """
        xp = self.xp
        theta = self.zeros()
        if not self.fit_intercept:
            return theta
        weights = 1.0 if self.sample_weight is None else self.sample_weight
        if self.n_classes == 1:
            positive = float(xp.sum(weights * self.y, dtype=xp.float64)) / self.total_weight
            shares = np.array([1.0 - positive, positive])
        else:
            counts = xp.bincount(self.y, weights=self.sample_weight, minlength=self.n_classes)
            shares = np.asarray(self.backend.to_host(counts), dtype=np.float64) / self.total_weight
        logs = np.log(np.maximum(shares, PRIOR_FLOOR))
        # The softmax's intercepts are defined up to a constant: centred, as from θ = 0, whose
        # iterates keep Σ b_k = 0 (the unpenalized intercepts' gradient sums to zero), so the
        # fit ends at scikit-learn's representative of the optimum.
        intercepts = logs[1:] - logs[:1] if self.n_classes == 1 else logs - logs.mean()
        theta[self.n_weights:] = xp.asarray(intercepts)
        return theta

    # -- values and derivatives -------------------------------------------
    def _penalty_value(self, weights):
        return 0.5 * self.l2_strength * (weights @ weights)

    def value(self, theta):
        """Smooth part of F: mean loss + (λ₂/2)‖w‖²."""
        w, b = self.unpack(theta)
        return self._cost(self.X, self.y, w, b, self.sample_weight) + self._penalty_value(
            theta[: self.n_weights]
        )

    def _data_term(self, kind, theta, compute):
        """``compute()``, the backend's data term at θ, or what ``memo`` holds for this θ
        (a Hessian evaluation also answers a gradient request). Host θ only: on a GPU
        the comparison would wait for the device."""
        if self.memo is None or not isinstance(theta, np.ndarray):
            return compute()
        key = theta.tobytes()
        for held in (kind, "hessian"):
            entry = self.memo.get(held)
            if entry is not None and entry[0] == key:
                return entry[1] if held == kind else entry[1][:3]
        result = compute()
        self.memo[kind] = (key, result)
        return result

    def value_and_gradient(self, theta):
        """Smooth part of F and its gradient (a float64 vector like θ)."""
        w, b = self.unpack(theta)
        loss, dw, db = self._data_term(
            "gradient", theta, lambda: self._cost_gradient(self.X, self.y, w, b, self.sample_weight)
        )
        gradient = self.pack(dw, db)
        weights = theta[: self.n_weights]
        gradient[: self.n_weights] += self.l2_strength * weights
        return loss + self._penalty_value(weights), gradient

    def value_gradient_hessian(self, theta):
        """Smooth part of F, its gradient and Hessian (binary problems only)."""
        w, b = self.unpack(theta)
        loss, dw, db, hessian = self._data_term(
            "hessian", theta, lambda: self.backend.cost_gradient_hessian(self.X, self.y, w, b, self.sample_weight)
        )
        xp = self.xp
        gradient = self.pack(dw, db)
        weights = theta[: self.n_weights]
        gradient[: self.n_weights] += self.l2_strength * weights
        size = self.n_params
        hessian = xp.asarray(hessian, dtype=xp.float64)[:size, :size].copy()
        diagonal = xp.arange(self.n_weights)
        hessian[diagonal, diagonal] += self.l2_strength
        return loss + self._penalty_value(weights), gradient, hessian

    # -- second order in Hessian-vector form (Newton-CG) ---------------------------
    def value_gradient_curvature(self, theta):
        """(smooth F, ∇F, curvature) from one pass over X.

        ``curvature`` is what :meth:`hessian_product` needs to multiply by the
        Hessian at θ without reading anything but X again: the diagonal
        d_i = s_i p_i (1 − p_i) / Σs (binary), the probabilities P (softmax).
        """
        w, b = self.unpack(theta)
        loss, dw, db, curvature = self._curvature_pass(self.X, self.y, w, b, self.sample_weight)
        gradient = self.pack(dw, db)
        weights = theta[: self.n_weights]
        gradient[: self.n_weights] += self.l2_strength * weights
        return loss + self._penalty_value(weights), gradient, curvature

    def hessian_product(self, curvature, v):
        """∇²F(θ) v for v in θ's layout (float64), one pass over X: the data term at the
        θ that ``curvature`` came from (:meth:`value_gradient_curvature`) plus λ₂ v_w."""
        weights = v[: self.n_weights]
        product = self._data_hessian_product(self, curvature, weights, v[self.n_weights:])
        product[: self.n_weights] += self.l2_strength * weights
        return product

    def hessian_diagonal(self, curvature):
        """diag ∇²F(θ) in θ's layout (float64, every entry > 0) at the θ that ``curvature``
        came from, for a Jacobi preconditioner; None where the backend has no one-pass
        diagonal (its ``hessian_diagonal`` hook: the CSR companions, binary problems)."""
        hook = getattr(self.backend, "hessian_diagonal", None)
        if hook is None or self.n_classes != 1:
            return None
        xp = self.xp
        diagonal_w, diagonal_b = hook(self.X, curvature)
        diagonal = self.pack(diagonal_w + self.l2_strength, xp.asarray(diagonal_b).reshape(1))
        # A column without entries (or an unpenalized fit) has no curvature: leave it unscaled.
        return xp.where(diagonal > 0, diagonal, 1.0)

    def check_finite_inputs(self):
        """Raise the ``ValueError`` that validation raised before for NaN or infinity in X.

        Fits do not scan X before they start: every value of X enters the first
        evaluation, whose cost is then not finite. The record calls this once,
        on a non-finite first cost, to tell bad input from a diverging solver
        (:func:`fastlr.validation.check_finite_matrix`).
        """
        validation.check_finite_matrix(self.X, self.xp, self.estimator_name)

    def full_value(self, smooth_value, theta):
        """F itself: the smooth value plus λ₁‖w‖₁."""
        if self.l1_strength == 0.0:
            return smooth_value
        return smooth_value + self.l1_strength * self.xp.abs(theta[: self.n_weights]).sum()

    # -- the L1 term --------------------------------------------------------
    def prox(self, theta, step):
        """prox of step·λ₁‖w‖₁: soft-thresholding of the weights, never the intercepts.

        ``step`` is a scalar or a per-parameter vector (adaptive optimizers).
        """
        if self.l1_strength == 0.0:
            return theta
        xp = self.xp
        threshold = step * self.l1_strength
        if not np.isscalar(threshold):
            threshold = threshold[: self.n_weights]
        weights = theta[: self.n_weights]
        shrunk = xp.sign(weights) * xp.maximum(xp.abs(weights) - threshold, 0.0)
        return xp.concatenate([shrunk, theta[self.n_weights:]])

    def optimality(self, theta, gradient):
        """Max-norm of the minimum-norm subgradient of F (the gradient when λ₁ = 0).

        Zero exactly at the optimum; this is what ``tol`` is compared with.
        """
        return min_norm_subgradient(self.xp, theta, gradient, self.n_weights, self.l1_strength)

    # -- curvature bounds for step sizes --------------------------------------
    def gram_product(self, v):
        """X̃ᵀ S X̃ v, shape (n+1,), float64; X̃ = [X, 1] (or [X, 0] without intercept)."""
        xp, X = self.xp, self.X
        ones = 1.0 if self.fit_intercept else 0.0
        u = X @ v[:-1].astype(X.dtype) + ones * v[-1]
        if self.sample_weight is not None:
            u = u * self.sample_weight
        return xp.concatenate([X.T @ u, (ones * u.sum()).reshape(1)]).astype(xp.float64)

    def largest_row_norm(self):
        """max_i ‖x̃_i‖², the squared norm of the longest row of X̃."""
        ones = 1.0 if self.fit_intercept else 0.0
        return float(self.xp.einsum("ij,ij->i", self.X, self.X).max()) + ones  # no m×n temporary

    def lipschitz_bounds(self, power_iterations, seed=0):
        """(L, L_max): smoothness of the mean loss, and of one example's loss.

        The logistic loss has curvature ≤ ¼ (softmax: ≤ ½), so
        L ≤ c·λ_max(X̃ᵀ S X̃ / Σs) + λ₂, estimated by power iteration with
        :meth:`gram_product`, and L_max = c·max_i ‖x̃_i‖² + λ₂ bounds every
        single example.
        """
        xp = self.xp
        curvature = 0.25 if self.n_classes == 1 else 0.5
        v = xp.asarray(np.random.default_rng(seed).standard_normal(self.n_features + 1))
        v /= xp.linalg.norm(v)
        eigenvalue = 0.0
        for _ in range(power_iterations):
            v_new = self.gram_product(v) / self.total_weight
            eigenvalue = float(xp.linalg.norm(v_new))
            if not np.isfinite(eigenvalue):
                self.check_finite_inputs()  # NaN or infinity in X: say so, not overflow
                raise FloatingPointError(
                    "X is too large in magnitude: XᵀX overflows, so no step size can be chosen; standardize the "
                    "features (sklearn's StandardScaler)"
                )
            if eigenvalue == 0.0:
                break
            v = v_new / eigenvalue
        # A loss without curvature (X = 0, no intercept, no L2) takes any step: keep 1/L finite.
        smallest = np.finfo(np.float64).tiny
        return (
            max(curvature * eigenvalue + self.l2_strength, smallest),
            max(curvature * self.largest_row_norm() + self.l2_strength, smallest),
        )


class SparseObjective(Objective):
    """F over a CSR X (``scipy.sparse`` or ``cupyx.scipy.sparse``): the same objective.

    Everything else works on CSR as it is: the kernels are the backend's CSR
    companion, :meth:`gram_product` is two sparse products, and
    :meth:`subset` takes a row slice of the CSR (only those rows are copied,
    O(their entries), never the whole matrix).
    """

    def largest_row_norm(self):
        """max_i ‖x̃_i‖² from the stored values (an O(nnz) temporary, once per fit)."""
        ones = 1.0 if self.fit_intercept else 0.0
        return float(self.X.power(2).sum(axis=1).max()) + ones

    def check_finite_inputs(self):
        """Sparse X was checked for NaN and inf with its structure, before the fit
        (:func:`fastlr.validation.canonical_csr`); its stored values are checked again."""
        validation.check_finite_matrix(self.X.data, self.xp, self.estimator_name)


def _binary_product(objective, curvature, v_w, v_b):
    """The binary data term of ∇²F times (v_w, v_b), packed (stored unbound: subsets must use their own X)."""
    v_b = v_b[0] if objective.fit_intercept else 0.0
    hw, hb = objective.backend.hessian_product(objective.X, curvature, v_w, v_b)
    return objective.pack(hw, hb)


def _softmax_product(objective, curvature, v_w, v_b):
    """The softmax data term of ∇²F times (V, v_b), packed."""
    xp = objective.xp
    V = v_w.reshape(objective.n_classes, objective.n_features)
    if not objective.fit_intercept:
        v_b = xp.zeros(objective.n_classes, dtype=xp.float64)
    hW, hb = objective.backend.softmax_hessian_product(objective.X, curvature, objective.sample_weight, V, v_b)
    return objective.pack(hW, hb)
