"""What every solver shares: options, the result record, stopping and progress."""

from dataclasses import dataclass, field
from typing import Optional, Union

import numpy as np
from tqdm.auto import tqdm

from fastlr import config

#: Relative change of the cost below which a full-batch solver has stalled
#: (scikit-learn's lbfgs uses the same 64·eps as ``ftol``).
COST_RTOL = 64 * np.finfo(np.float64).eps


class DivergenceError(ArithmeticError):
    """The iterates blew up: the step size is too large for this problem."""


@dataclass
class SolverOptions:
    """Settings a solver reads; built by the estimator from its parameters."""

    max_iter: int = 1000
    tol: float = 1e-4
    learning_rate: Union[float, str] = "auto"
    optimizer: str = "sgd"
    schedule: str = "constant"
    decay: float = 0.01
    decay_every: int = 50
    batch_size: Optional[int] = None
    random_state: Optional[int] = None
    n_iter_no_change: int = 5
    verbose: bool = False
    check_every: int = 1
    description: str = "fit"


@dataclass
class SolverResult:
    """θ at the end (a host float64 vector), iterations used, F per iteration."""

    theta: np.ndarray
    n_iter: int
    converged: bool
    cost_history: list = field(default_factory=list)


def to_host(objective, array):
    """A host (NumPy) float64 copy of a backend array; one transfer on a GPU."""
    return np.asarray(objective.kernels.to_host(array), dtype=np.float64)


def history_to_host(objective, history):
    """Turn a list of backend scalars into floats with one transfer."""
    if not history:
        return []
    xp = objective.xp
    return [float(v) for v in to_host(objective, xp.stack([xp.asarray(h, dtype=xp.float64) for h in history]))]


def progress_bar(options, total):
    """A tqdm bar when ``verbose``, otherwise a silent one (same interface)."""
    return tqdm(total=total, desc=options.description, disable=not options.verbose, leave=False)


def check_divergence(cost, first_cost, iteration, solver, hint):
    """Raise :class:`DivergenceError` when the cost is non-finite or exploding."""
    if not np.isfinite(cost) or cost > config.DIVERGENCE_FACTOR * max(abs(first_cost), 1.0):
        raise DivergenceError(
            f"{solver} diverged at iteration {iteration} (cost {cost:.6g}, started at "
            f"{first_cost:.6g}): {hint}"
        )


def stalled(previous_cost, cost):
    """True when a full-batch solver no longer changes the cost (relative)."""
    return abs(previous_cost - cost) <= COST_RTOL * max(abs(previous_cost), abs(cost), 1.0)
