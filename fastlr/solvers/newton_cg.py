"""Newton-CG: Newton steps from conjugate gradients on Hessian-vector products.

Each outer iteration solves ∇²F(θ) p = −∇F(θ) approximately by conjugate
gradients, where every product ∇²F v is one pass over X
(:meth:`fastlr.objective.Objective.hessian_product`: Xᵀ(D(Xv)) for the binary
loss, the softmax's Σ s_i (diag(p_i) − p_i p_iᵀ) u_i x_iᵀ with u_i = V x_i + v_b),
the curvature D (or P) being cached by the evaluation that gave ∇F. Where the
backend computes the Hessian's diagonal in one pass (the CSR companions,
binary problems: :meth:`~fastlr.objective.Objective.hessian_diagonal`), CG is
preconditioned by it (Jacobi). Measured on the TF-IDF-like CSR of
:mod:`fastlr.bench.sparse_workloads` (numba-parallel, tol = 1e-6, 2-core Xeon,
shared): at 200 000 × 50 000 (the issue's workload) 32 products instead of 49
and 0.84 s instead of 1.16 s, at 50 000 × 50 000 37 instead of 29 and 0.21 s
instead of 0.17 s; kept for the larger problem, where time matters. CG stops
at the residual ‖r‖ ≤ η‖∇F‖ with η = min(0.5, √‖∇F‖) (superlinear
convergence, Nocedal & Wright 2006, Algorithm 7.1), at negative or zero
curvature, or after ``config.NEWTON_CG_MAX_INNER`` products. The step along p
is the line search of :mod:`fastlr.solvers.line_search` from t = 1, whose
evaluation at the accepted point (one fused pass) gives the next gradient and
curvature: a Newton iteration costs one pass plus one per CG step, and never
forms the (n+1)² (or (K(n+1))²) Hessian, so it serves wide X and the softmax
alike, on any backend that implements the two Hessian-vector hooks.

A sampled Hessian. When the data have many more rows than parameters
(``hessian_rows``), the Hessian is estimated on a seeded row sample
(:meth:`~fastlr.objective.Objective.row_sample`, ``config.NEWTON_CG_HESSIAN_ROWS_PER_PARAMETER``
rows per parameter) while the gradient and the line search use every row:
a sub-sampled Newton method (Byrd, Chin, Neveitt & Nocedal 2011; Roosta-Khorasani
& Mahoney 2019). The sampled Hessian's relative error ε ~ √(parameters/rows)
makes the convergence linear with rate ~ε instead of quadratic, but its
products cost a small share of a pass: at 500k × 100, a Newton step is one
full pass plus ~0.1 of one. Whether converged is decided, as always, by the
gradient on every row. Such a fit also starts from the sample's own solution
(``SolverSpec.start_rows``, :func:`fastlr.training.starting_point`).

Host reads: CG reads one scalar per step (its stop test) and the line search
one decision per trial; both are a few per pass over X, which itself is the
cost of a step.
"""

import math

from fastlr import config
from fastlr.solvers.line_search import accepted, cost_noise, shorter_step

#: Trials along one Newton direction before it is declared useless.
MAX_LINE_SEARCH = 20


def conjugate_gradient(xp, product, rhs, tolerance, max_steps, inverse_diagonal=None):
    """Approximately solve A p = rhs for symmetric positive semi-definite A (``product(v)`` = A v).

    Starts from p = 0; stops when ‖r‖ ≤ ``tolerance`` (a host float), on
    curvature vᵀAv ≤ 0 (returning the iterate so far, or the first direction,
    ``rhs`` preconditioned, when that happens at once: a descent direction either
    way; a non-finite curvature, an overflowed product, raises FloatingPointError),
    or after ``max_steps`` products. ``inverse_diagonal``: 1 / diag(A), which makes
    it the Jacobi-preconditioned method (directions from z = r / diag(A)); the
    stop test stays on r itself. Returns (p, products used).
    """
    p = xp.zeros_like(rhs)
    residual = rhs
    preconditioned = rhs if inverse_diagonal is None else rhs * inverse_diagonal
    direction = preconditioned
    rz = residual @ preconditioned
    for step in range(max_steps):
        if math.sqrt(float(residual @ residual)) <= tolerance:
            return p, step
        image = product(direction)
        curvature = direction @ image
        if not math.isfinite(float(curvature)):
            raise FloatingPointError(
                "Newton-CG's Hessian is not finite (its product with a direction overflowed): standardize the "
                "features (sklearn's StandardScaler) or use float64 data"
            )
        if not float(curvature) > 0:
            return (direction if step == 0 else p), step + 1
        alpha = rz / curvature
        p = p + alpha * direction
        residual = residual - alpha * image
        preconditioned = residual if inverse_diagonal is None else residual * inverse_diagonal
        rz_next = residual @ preconditioned
        direction = preconditioned + (rz_next / rz) * direction
        rz = rz_next
    return p, max_steps


def hessian_rows(objective) -> int:
    """Rows the Hessian is estimated on: ``config.NEWTON_CG_HESSIAN_ROWS_PER_PARAMETER`` per
    parameter, or all rows when there are not ``config.NEWTON_CG_HESSIAN_SAMPLE_FACTOR`` times as many."""
    rows = config.NEWTON_CG_HESSIAN_ROWS_PER_PARAMETER * objective.n_params
    return rows if objective.n_samples >= config.NEWTON_CG_HESSIAN_SAMPLE_FACTOR * rows else objective.n_samples


def minimize_newton_cg(objective, theta0, options, record):
    """Minimise F (smooth penalties, binary or softmax) by line-search Newton-CG; stops when ‖∇F‖∞ ≤ tol."""
    xp = objective.xp
    noise = cost_noise(objective.X.dtype)
    sample = objective.row_sample(hessian_rows(objective))

    def evaluate(point):
        """(F, ∇F, curvature at the point, or None when the Hessian comes from the sample)."""
        if sample is objective:
            return objective.value_gradient_curvature(point)
        return (*objective.value_and_gradient(point), None)

    theta = xp.asarray(theta0, dtype=xp.float64)
    value, gradient, curvature = evaluate(theta)
    record.start(value, objective.optimality(theta, gradient), theta=theta)
    while not record.done:
        if curvature is None:
            curvature = sample.value_gradient_curvature(theta)[2]
        norm = math.sqrt(float(gradient @ gradient))
        diagonal = sample.hessian_diagonal(curvature)
        direction, _ = conjugate_gradient(
            xp, lambda v: sample.hessian_product(curvature, v), -gradient,
            min(0.5, math.sqrt(norm)) * norm, config.NEWTON_CG_MAX_INNER,
            None if diagonal is None else 1.0 / diagonal,
        )
        slope = gradient @ direction
        step = xp.asarray(1.0)
        for _ in range(MAX_LINE_SEARCH):
            trial = theta + step * direction
            trial_value, trial_gradient, trial_curvature = evaluate(trial)
            trial_slope = trial_gradient @ direction
            if bool(accepted(xp, value, slope, trial_value, trial_slope, step, noise)):
                break
            step = shorter_step(xp, slope, trial_value, trial_slope, step)
        else:
            record.stop("stalled")  # no step along the Newton direction decreases F
            break
        theta, value, gradient, curvature = trial, trial_value, trial_gradient, trial_curvature
        record.step(value, objective.optimality(theta, gradient), theta=theta)
    return record.finish(theta, objective.optimality(theta, gradient))
