"""The line search of the quasi-Newton and Newton solvers, decided where the data lives.

Along a descent direction d from θ, with φ(t) = F(θ + t d) and the slope
φ'(0) = ∇F(θ)ᵀd < 0, a trial step t is accepted when it decreases F enough
(Armijo, c₁ = 10⁻⁴)

    φ(t) ≤ φ(0) + c₁ t φ'(0),

or, where the decrease is below the rounding of F itself, by the approximate
Wolfe test of Hager & Zhang (2005, "A new conjugate gradient method with
guaranteed descent and an efficient line search"):

    φ(t) ≤ φ(0) + ε|φ(0)|   and   φ'(t) ≤ (2δ − 1) φ'(0),   δ = 0.1,

which is Armijo's test for the quadratic through φ'(0) and φ'(t), computed from
gradients, whose rounding is relative to the gradient and not to F. In float32
F carries 7 digits, so near the optimum every true decrease is hidden in its
rounding and a test on values alone rejects good steps (SciPy's line search
spent 20 evaluations on 5 iterations there); ε is the relative rounding of a
computed mean loss (``config.LINE_SEARCH_COST_NOISE``).

A rejected step is replaced by the zero of the secant of φ' through 0 and t,
kept within [0.1 t, 0.5 t] (0.1 t when φ(t) is not finite): the gradient the
trial evaluation returned anyway makes the second trial close to the minimiser
along d.

Everything here is array arithmetic on 0-d arrays of the backend's namespace
``xp``: the decision is a device boolean that the caller may read back or
keep on the device (``xp.where``).
"""

from fastlr import config

ARMIJO = 1e-4
APPROXIMATE_WOLFE = 0.1
SHRINK_MIN, SHRINK_MAX, SHRINK_NOT_FINITE = 0.1, 0.5, 0.1


def cost_noise(dtype) -> float:
    """Relative rounding ε of F computed on X of ``dtype``."""
    return config.LINE_SEARCH_COST_NOISE[str(dtype)]


def accepted(xp, value, slope, trial_value, trial_slope, step, noise):
    """Device boolean: is the step ``step`` with φ(t) = ``trial_value`` and φ'(t) = ``trial_slope`` accepted?

    ``value`` and ``slope`` are φ(0) and φ'(0) < 0; ``noise`` the relative ε.
    A non-finite trial value is never accepted.
    """
    armijo = trial_value <= value + ARMIJO * step * slope
    approximate_wolfe = (trial_value <= value + noise * xp.abs(value)) & (
        trial_slope <= (2 * APPROXIMATE_WOLFE - 1) * slope
    )
    return xp.isfinite(trial_value) & (armijo | approximate_wolfe)


def shorter_step(xp, slope, trial_value, trial_slope, step):
    """The next trial after ``step`` was rejected: the secant zero of φ', safeguarded."""
    finite = xp.isfinite(trial_value) & xp.isfinite(trial_slope)
    rising = finite & (trial_slope > slope)
    # Only read where ``rising`` (a positive denominator); elsewhere the plain factors apply.
    denominator = xp.where(rising, trial_slope - slope, 1.0)
    secant = xp.clip(step * (-slope) / denominator, SHRINK_MIN * step, SHRINK_MAX * step)
    return xp.where(rising, secant, xp.where(finite, SHRINK_MAX * step, SHRINK_NOT_FINITE * step))
