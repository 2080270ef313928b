"""L-BFGS written once over the backend's array namespace: the whole loop lives where X lives.

Nocedal & Wright (2006), Algorithm 7.4/7.5: the direction is d = −H g from the
two-loop recursion over the last ``config.LBFGS_MEMORY`` pairs
(s, y) = (θ₊ − θ, ∇F₊ − ∇F), with H₀ = γI, γ = sᵀy / yᵀy of the newest pair
(1/‖g‖₂ before the first, as L-BFGS-B). The step along d is the line search of
:mod:`fastlr.solvers.line_search`: t = 1 first, accepted by Armijo's test or,
below the rounding of F, by the approximate Wolfe test on gradients; a
rejected t is replaced by the secant zero of φ'. A pair enters the memory
only when sᵀy > 0 (always, for a strictly convex F; skipping the others keeps
H positive definite).

Every quantity (θ, F, ∇F, the pairs, t, the accept decision) is an array of
the backend's namespace (NumPy or CuPy) in float64, whatever the dtype of X:
each evaluation is one fused ``cost_gradient`` pass, and the decision between
accepting and shortening a step is taken with ``xp.where``, on the device.
Nothing is read back except through the iteration record, every
``check_every`` iterations. On the host (``check_every == 1``) reading the
decision is free, so a rejected step is retried at once and an iteration is
one accepted step, as in SciPy's L-BFGS-B; on a GPU an iteration is one
evaluation, and a rejected one leaves θ (and F) where they were.
"""

from fastlr import config
from fastlr.solvers.line_search import accepted, cost_noise, shorter_step

#: Trials per iteration on the host before the direction is declared useless.
MAX_LINE_SEARCH = 20
#: A pair is kept when sᵀy > this × yᵀy (positive curvature, above rounding).
CURVATURE_FLOOR = 1e-16


def two_loop_direction(xp, gradient, S, Y, rho, gamma, pairs):
    """d = −H g by the two-loop recursion over the newest ``pairs`` rows of S and Y.

    Parameters
    ----------
    gradient : array of shape (p,)
    S, Y : arrays of shape (M, p)
        The pairs, oldest first; rows with ρ = 0 contribute nothing.
    rho : array of shape (M,)
        1 / sᵢᵀyᵢ, or 0 for an empty row.
    gamma : 0-d array
        H₀ = γI.
    pairs : int
        How many of the newest rows may hold a pair (an upper bound, known on the host).
    """
    newest = S.shape[0] - 1
    q = gradient
    alphas = []
    for i in range(newest, newest - pairs, -1):
        alpha = rho[i] * (S[i] @ q)
        q = q - alpha * Y[i]
        alphas.append(alpha)
    r = gamma * q
    for i, alpha in zip(range(newest - pairs + 1, newest + 1), reversed(alphas)):
        r = r + (alpha - rho[i] * (Y[i] @ r)) * S[i]
    return -r


class _Search:
    """The L-BFGS state, all in the backend's namespace (see the module docstring)."""

    def __init__(self, objective, theta, value, gradient, memory):
        xp = self.xp = objective.xp
        self.objective = objective
        self.noise = cost_noise(objective.X.dtype)
        self.theta, self.value, self.gradient = theta, value, gradient
        size = theta.shape[0]
        self.S = xp.zeros((memory, size), dtype=xp.float64)
        self.Y = xp.zeros((memory, size), dtype=xp.float64)
        self.rho = xp.zeros(memory, dtype=xp.float64)
        self.pairs = 0
        self.gamma = 1.0 / xp.maximum(xp.sqrt(gradient @ gradient), 1e-300)
        self.direction = -self.gamma * gradient
        self.slope = gradient @ self.direction
        self.step = xp.asarray(1.0)

    def advance(self):
        """One evaluation at θ + t d; accept it or shorten t. Returns the decision (a device boolean)."""
        xp = self.xp
        trial = self.theta + self.step * self.direction
        trial_value, trial_gradient = self.objective.value_and_gradient(trial)
        trial_slope = trial_gradient @ self.direction
        ok = accepted(xp, self.value, self.slope, trial_value, trial_slope, self.step, self.noise)

        s = trial - self.theta
        y = xp.where(ok, trial_gradient - self.gradient, 0.0)
        sy, yy = s @ y, y @ y
        keep = ok & (sy > CURVATURE_FLOOR * yy)
        self.S = xp.where(keep, xp.concatenate([self.S[1:], s[None]]), self.S)
        self.Y = xp.where(keep, xp.concatenate([self.Y[1:], y[None]]), self.Y)
        inverse = 1.0 / xp.where(keep, sy, 1.0)
        self.rho = xp.where(keep, xp.concatenate([self.rho[1:], inverse[None]]), self.rho)
        self.gamma = xp.where(keep, sy / xp.where(keep, yy, 1.0), self.gamma)
        self.pairs = min(self.pairs + 1, self.S.shape[0])

        self.theta = xp.where(ok, trial, self.theta)
        self.value = xp.where(ok, trial_value, self.value)
        self.gradient = xp.where(ok, trial_gradient, self.gradient)
        direction = two_loop_direction(xp, self.gradient, self.S, self.Y, self.rho, self.gamma, self.pairs)
        slope = self.gradient @ direction
        # Rounding can spoil a direction on a nearly flat F: fall back to the scaled gradient.
        descent = slope < 0
        direction = xp.where(descent, direction, -self.gamma * self.gradient)
        slope = xp.where(descent, slope, -self.gamma * (self.gradient @ self.gradient))
        self.step = xp.where(ok, 1.0, shorter_step(xp, self.slope, trial_value, trial_slope, self.step))
        self.direction = xp.where(ok, direction, self.direction)
        self.slope = xp.where(ok, slope, self.slope)
        return ok


def minimize_lbfgs(objective, theta0, options, record):
    """Minimise the smooth objective F with L-BFGS; stops when ‖∇F‖∞ ≤ tol."""
    xp = objective.xp
    theta = xp.asarray(theta0, dtype=xp.float64)
    value, gradient = objective.value_and_gradient(theta)
    search = _Search(objective, theta, value, gradient, config.LBFGS_MEMORY)
    record.start(value, objective.optimality(theta, gradient), theta=theta)
    decide_on_host = record.check_every == 1
    while not record.done:
        ok = search.advance()
        if decide_on_host:
            tries = 1
            while not bool(ok) and tries < MAX_LINE_SEARCH:
                ok, tries = search.advance(), tries + 1
            if not bool(ok):
                record.stop("stalled")  # no step along d decreases F
                break
        record.step(search.value, objective.optimality(search.theta, search.gradient), theta=search.theta)
    return record.finish(search.theta, objective.optimality(search.theta, search.gradient))
