"""Proximal Newton with coordinate descent: L1 and elastic net to tight tolerances.

The scheme of glmnet and of liblinear's newGLMNET (Friedman, Hastie & Tibshirani
2010; Yuan, Ho & Lin 2012; Lee, Sun & Saunders 2014). Each outer iteration is
one blocked pass over X that returns the smooth part's cost, gradient g and
Hessian H = X̃ᵀ D X̃ / Σs + λ₂I (``Objective.value_gradient_hessian``, the same
pass as Newton's), then minimizes the quadratic model of F around θ,

    q(z) = gᵀ(z − θ) + ½ (z − θ)ᵀ H (z − θ) + λ₁‖z_w‖₁,

by cyclic coordinate descent on the (n+1)×(n+1) matrix H on the host: no pass
over X, no copy of it. A coordinate's exact minimizer is a soft-thresholded
Newton step, z_j ← S(z_j − q_j / H_jj, λ₁ / H_jj) with q_j = g_j + (H(z − θ))_j
(the intercept is never thresholded), so exact zeros appear as in saga or
liblinear. The direction d = z − θ is taken with a backtracking line search on
F, Armijo on Δ = gᵀd + λ₁(‖z_w‖₁ − ‖θ_w‖₁) ≤ −dᵀHd/2 < 0.

Stopping: the inner descent runs until its own optimality measure (the
model's minimum-norm subgradient) falls to max(``INNER_TOL_FLOOR``·tol,
``INNER_TOL_SHARE``·current optimality), so the outer iterations converge
fast where Newton does; the outer loop stops when F's minimum-norm subgradient
meets ``tol``. Near the optimum the change in F falls below rounding before the
subgradient does; a step whose F is equal to rounding is accepted (its
subgradient, measured at the new point, decides), and when the model predicts
no decrease at all the solver stops as "stalled" without claiming convergence.
Binary (and one-vs-rest) problems only; the softmax with L1 goes to ``fista``.
"""

import functools

import numpy as np

from fastlr import config
from fastlr.objective import min_norm_subgradient
from fastlr.solvers.record import stalled

ARMIJO = 1e-4
MIN_STEP = 1e-10
#: The inner descent aims at this share of the current outer optimality ...
INNER_TOL_SHARE = 1e-3
#: ... but never below this share of ``tol`` (the inner model is solved on the host for free,
#: well past what the outer gradient can resolve).
INNER_TOL_FLOOR = 0.1


def coordinate_descent(hessian, gradient, theta, start, l1_strength, n_penalized, tol, max_sweeps):
    """Minimize q(z) = gᵀ(z − θ) + ½(z − θ)ᵀH(z − θ) + λ₁ Σ_{j < n_penalized} |z_j| by cyclic
    coordinate descent from ``start``.

    Parameters
    ----------
    hessian : ndarray of shape (p, p), float64, symmetric positive semi-definite
    gradient, theta, start : ndarray of shape (p,), float64
    l1_strength : float
        λ₁, applied to the first ``n_penalized`` coordinates.
    tol : float
        Stop after a sweep whose largest minimum-norm subgradient of q, measured
        at each coordinate before its update, is at most ``tol``.
    max_sweeps : int

    Returns
    -------
    z : ndarray of shape (p,)
    violation : float
        That largest subgradient in the last sweep.
    """
    p = theta.shape[0]
    z = start.copy()
    shift = np.zeros(p)  # H (z − θ), recomputed every sweep so that rounding does not drift
    worst = np.inf
    for _ in range(max_sweeps):
        delta = z - theta
        for j in range(p):
            total = 0.0
            for k in range(p):
                total += hessian[j, k] * delta[k]
            shift[j] = total
        worst = 0.0
        for j in range(p):
            curvature = hessian[j, j]
            slope = gradient[j] + shift[j]
            penalized = j < n_penalized and l1_strength > 0.0
            if penalized and z[j] == 0.0:
                violation = max(abs(slope) - l1_strength, 0.0)
            elif penalized:
                violation = abs(slope + l1_strength * np.sign(z[j]))
            else:
                violation = abs(slope)
            worst = max(worst, violation)
            if curvature <= 0.0:
                continue  # a direction the model does not curve in (an all-zero column): leave it
            target = z[j] - slope / curvature
            if penalized:
                target = np.sign(target) * max(abs(target) - l1_strength / curvature, 0.0)
            step = target - z[j]
            if step != 0.0:
                z[j] = target
                for k in range(p):
                    shift[k] += step * hessian[k, j]
        if worst <= tol:
            break
    return z, worst


@functools.lru_cache(maxsize=None)
def compiled_coordinate_descent():
    """:func:`coordinate_descent` compiled by Numba (cached on disk), or as it is without Numba."""
    try:
        from numba import njit
    except ImportError:
        return coordinate_descent
    return njit(cache=True, nogil=True)(coordinate_descent)


def face_newton_step(hessian, gradient, theta, z, l1_strength, n_penalized):
    """Minimize the model on the face of z (its zero weights held at zero, the others' signs
    kept), stopping where a weight first reaches zero, which it then keeps.

    On that face the model is the smooth quadratic gᵀ(z − θ) + ½(z − θ)ᵀH(z − θ) + λ₁ sᵀz,
    so one linear solve on the free coordinates reaches its minimum; coordinate
    descent alone needs a number of sweeps that grows with H's condition number.
    """
    p = len(theta)
    signs = np.zeros(p)
    signs[:n_penalized] = np.sign(z[:n_penalized]) if l1_strength > 0.0 else 0.0
    free = np.ones(p, dtype=bool)
    if l1_strength > 0.0:
        free[:n_penalized] = z[:n_penalized] != 0.0
    if not free.any():
        return z
    slope = gradient + hessian @ (z - theta) + l1_strength * signs
    block = hessian[np.ix_(free, free)]
    step = np.linalg.lstsq(block, -slope[free], rcond=None)[0]
    full = np.zeros(p)
    full[free] = step
    # The largest fraction of the step that changes no sign (weights may reach zero).
    crossing = (signs != 0.0) & (np.sign(z + full) != signs)
    fraction = 1.0
    if crossing.any():
        fraction = float(np.min(z[crossing] / -full[crossing]))
    moved = z + fraction * full
    if crossing.any():
        moved[crossing & (np.abs(moved) <= np.abs(fraction * full))] = 0.0
    return moved


def solve_model(hessian, gradient, theta, l1_strength, n_penalized, tol):
    """The minimizer of the model (to ``tol`` in its minimum-norm subgradient, or as near as
    ``config.NEWTON_CD_MAX_SWEEPS`` sweeps get): rounds of coordinate descent, which finds
    the zero pattern, and a Newton step on the face it found, which converges on it.
    Without an L1 term the model is smooth and one Newton step is its exact minimizer."""
    if l1_strength == 0.0:
        return face_newton_step(hessian, gradient, theta, theta, l1_strength, n_penalized)
    descend = compiled_coordinate_descent()
    sweeps = config.NEWTON_CD_SWEEPS_PER_ROUND
    z, violation = descend(hessian, gradient, theta, theta, l1_strength, n_penalized, tol, sweeps)
    for _ in range(max(1, config.NEWTON_CD_MAX_SWEEPS // sweeps)):
        if violation <= tol:
            break
        z = face_newton_step(hessian, gradient, theta, z, l1_strength, n_penalized)
        z, violation = descend(hessian, gradient, theta, z, l1_strength, n_penalized, tol, sweeps)
    return z


def l1_norm_change(w, d):
    """‖w + d‖₁ − ‖w‖₁ without cancellation: sign(w_j)·d_j where w_j + d_j keeps w_j's sign.

    Near the optimum d is far smaller than w; the difference of the two norms
    would then be rounding noise larger than the decrease it should measure.
    """
    moved = w + d
    same_sign = (w != 0.0) & (np.sign(moved) == np.sign(w))
    return float(np.where(same_sign, np.sign(w) * d, np.abs(moved) - np.abs(w)).sum())


def minimize_newton_cd(objective, theta0, options, record):
    """Minimise F = f + λ₁‖w‖₁ (binary problems) by proximal Newton steps; see the module docstring."""
    xp = objective.xp
    n_weights, l1_strength = objective.n_weights, objective.l1_strength

    def evaluate(point):
        smooth, gradient, hessian = objective.value_gradient_hessian(xp.asarray(point))
        cost = float(smooth) + l1_strength * float(np.abs(point[:n_weights]).sum())
        return cost, record.to_host(gradient), record.to_host(hessian)

    def optimality(point, gradient):
        return float(min_norm_subgradient(np, point, gradient, n_weights, l1_strength))

    theta = np.asarray(theta0, dtype=np.float64)
    cost, gradient, hessian = evaluate(theta)
    measure = optimality(theta, gradient)
    record.start(cost, measure, theta=theta)
    while not record.done:
        inner_tol = max(INNER_TOL_FLOOR * options.tol, INNER_TOL_SHARE * measure)
        target = solve_model(hessian, gradient, theta, l1_strength, n_weights, inner_tol)
        direction = target - theta
        decrease = float(gradient @ direction) + l1_strength * l1_norm_change(theta[:n_weights], direction[:n_weights])
        if not decrease < 0.0:
            record.stop("stalled")  # the model sees no descent left: the precision of the data is reached
            break
        step = 1.0
        while True:
            trial = theta + step * direction
            trial_cost, trial_gradient, trial_hessian = evaluate(trial)
            if trial_cost <= cost + ARMIJO * step * decrease or stalled(cost, trial_cost) or step < MIN_STEP:
                break
            step *= 0.5
        theta, cost, gradient, hessian = trial, trial_cost, trial_gradient, trial_hessian
        measure = optimality(theta, gradient)
        if not record.step(cost, measure, theta=theta) and step < MIN_STEP:
            record.stop("stalled")  # no step along the direction decreases F
    return record.finish(theta, measure)
