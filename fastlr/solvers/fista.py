"""FISTA: accelerated proximal gradient for L1 and elastic-net penalties.

Beck & Teboulle (2009) with a backtracking estimate of L and the adaptive
restart of O'Donoghue & Candès (2015). Each iteration takes the gradient at the
extrapolated point y, steps to x = prox_{λ₁/L}(y − ∇f(y)/L), and accepts it
when f(x) ≤ f(y) + ∇f(y)ᵀ(x − y) + (L/2)‖x − y‖² (else L doubles). Exact
zeros come from the soft-thresholding. Stops when the gradient mapping
L‖y − x‖∞ ≤ tol, which is zero exactly at the optimum.
"""

import math

from fastlr import config
from fastlr.solvers.common import (
    SolverResult,
    check_divergence,
    progress_bar,
    stalled,
    to_host,
)

# L shrinks a little after each accepted step so that a pessimistic estimate recovers.
L_SHRINK = 0.9


def minimize_fista(objective, theta0, options, validation=None):
    xp = objective.xp
    x = xp.asarray(theta0, dtype=xp.float64)
    y = x
    momentum = 1.0
    L = objective.lipschitz_bounds(config.LIPSCHITZ_POWER_ITERATIONS)[0]
    history = []
    converged = False
    iteration = 0
    with progress_bar(options, options.max_iter) as bar:
        for iteration in range(options.max_iter):
            smooth_y, gradient_y = objective.value_and_gradient(y)
            while True:
                x_new = objective.prox(y - gradient_y / L, 1.0 / L)
                difference = x_new - y
                smooth_x = objective.value(x_new)
                bound = smooth_y + gradient_y @ difference + 0.5 * L * (difference @ difference)
                if float(smooth_x) <= float(bound) + 1e-12 * abs(float(smooth_y)):
                    break
                L *= 2.0
            cost = float(objective.full_value(smooth_x, x_new))
            if L * float(xp.abs(difference).max()) <= options.tol:
                if not history or cost <= history[-1]:
                    x = x_new
                    history.append(cost)
                converged = True
                iteration += 1
                break
            if history and cost > history[-1]:
                # Adaptive restart: momentum overshot. Drop x_new and take a plain
                # proximal step from x next, which cannot increase F.
                y, momentum = x, 1.0
                continue
            history.append(cost)
            check_divergence(cost, history[0], iteration, "fista", "the data may need scaling")
            bar.set_postfix(cost=f"{cost:.6g}", refresh=False)
            bar.update()
            if len(history) > 1 and stalled(history[-2], cost):
                x = x_new
                converged = True
                iteration += 1
                break
            next_momentum = (1.0 + math.sqrt(1.0 + 4.0 * momentum**2)) / 2.0
            y = x_new + ((momentum - 1.0) / next_momentum) * (x_new - x)
            x, momentum = x_new, next_momentum
            L *= L_SHRINK
        else:
            iteration = options.max_iter
    return SolverResult(to_host(objective, x), iteration, converged, history)
