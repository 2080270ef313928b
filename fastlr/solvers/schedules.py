"""Learning-rate schedules, by name: α_t as a function of α₀ and the step t.

t counts iterations for full-batch descent and epochs for mini-batch and
stochastic descent; ``decay`` is k and ``decay_every`` the period of ``"step"``.
"""

import math


def constant(alpha0, t, decay, decay_every):
    """α_t = α₀."""
    return alpha0


def time_based(alpha0, t, decay, decay_every):
    """α_t = α₀ / (1 + k·t)."""
    return alpha0 / (1.0 + decay * t)


def exponential(alpha0, t, decay, decay_every):
    """α_t = α₀ · e^(−k·t)."""
    return alpha0 * math.exp(-decay * t)


def step(alpha0, t, decay, decay_every):
    """α_t = α₀ · ½^⌊t / decay_every⌋: halved every ``decay_every`` steps."""
    return alpha0 * 0.5 ** (t // decay_every)


SCHEDULES = {
    "constant": constant,
    "time": time_based,
    "exponential": exponential,
    "step": step,
}
