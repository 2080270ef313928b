"""FISTA: accelerated proximal gradient for L1 and elastic-net penalties.

Beck & Teboulle (2009) with a backtracking estimate of L and the adaptive
restart of O'Donoghue & Candès (2015). Each iteration takes the gradient at the
extrapolated point y, steps to x = prox_{λ₁/L}(y − ∇f(y)/L), and accepts it
when f(x) ≤ f(y) + ∇f(y)ᵀ(x − y) + (L/2)‖x − y‖² (else L doubles). Exact
zeros come from the soft-thresholding. The evaluation at x returns its
gradient too (one fused pass either way), so every iterate has its own
optimality measure, the minimum-norm subgradient of F, which is what ``tol``
is compared with.

Restart: when a momentum step would increase F, the momentum is dropped and
the next step is a plain proximal step from x, which cannot increase F. If
even that one does not decrease F, the decrease is below rounding and the
solver stops ("stalled"): restarts cannot repeat without progress.
"""

import math

from fastlr import config

# L shrinks a little after each accepted step so that a pessimistic estimate recovers.
L_SHRINK = 0.9
#: Doublings of L per step before the objective is declared non-finite or unbounded.
MAX_BACKTRACKS = 200


def minimize_fista(objective, theta0, options, record):
    xp = objective.xp
    x = xp.asarray(theta0, dtype=xp.float64)
    smooth_x, gradient_x = objective.value_and_gradient(x)
    cost_x = objective.full_value(smooth_x, x)
    record.start(cost_x, objective.optimality(x, gradient_x), theta=x)
    L = objective.lipschitz_bounds(config.LIPSCHITZ_POWER_ITERATIONS)[0]
    y, smooth_y, gradient_y = x, smooth_x, gradient_x
    momentum = 1.0
    while not record.done:
        for _ in range(MAX_BACKTRACKS):
            x_new = objective.prox(y - gradient_y / L, 1.0 / L)
            difference = x_new - y
            smooth_new, gradient_new = objective.value_and_gradient(x_new)
            bound = smooth_y + gradient_y @ difference + 0.5 * L * (difference @ difference)
            if float(smooth_new) <= float(bound) + 1e-12 * abs(float(smooth_y)):
                break
            L *= 2.0
        else:
            raise FloatingPointError(
                f"FISTA found no step that decreases the objective (L = {L:.3g}): the objective is not "
                "finite near the current point; check the weights and the scale of the data"
            )
        cost_new = objective.full_value(smooth_new, x_new)
        if float(cost_new) > float(cost_x):
            if momentum == 1.0:
                record.stop("stalled")  # a plain proximal step no longer decreases F
                break
            y, smooth_y, gradient_y, momentum = x, smooth_x, gradient_x, 1.0
            continue
        previous = x
        x, smooth_x, gradient_x, cost_x = x_new, smooth_new, gradient_new, cost_new
        if record.step(cost_x, objective.optimality(x, gradient_x), theta=x):
            break
        next_momentum = (1.0 + math.sqrt(1.0 + 4.0 * momentum**2)) / 2.0
        y = x + ((momentum - 1.0) / next_momentum) * (x - previous)
        momentum = next_momentum
        smooth_y, gradient_y = objective.value_and_gradient(y)
        L *= L_SHRINK
    return record.finish(x, objective.optimality(x, gradient_x))
