"""One iteration record for every solver: history, progress bar, device sync, divergence, stop test.

A solver reports the objective F at its starting point (:meth:`IterationRecord.start`)
and after every iteration (:meth:`IterationRecord.step`, an epoch for
mini-batch and stochastic descent), with the optimality measure of that point
where it has it. The record keeps the history, moves the progress bar, reads
values back from a device only every ``check_every`` iterations, raises
:class:`DivergenceError` on a non-finite or exploding objective, and decides
when to stop:

- ``"tol"``: the optimality measure (max-norm of the gradient; of the
  minimum-norm subgradient with L1) is at most ``tol``;
- ``"max_iter"``: ``max_iter`` iterations are done;
- ``"stalled"``: F changed by less than 64·ε (relative) since the last check
  and the optimality measure (where the solver reports one) did not at least
  halve, so further iterations cannot help; or, for ``config.STALL_PATIENCE_CHECKS``
  checks, F has not fallen by more than its rounding (``config.LINE_SEARCH_COST_NOISE``)
  and the measure has not halved (F wandering up and down at its rounding);
- or a reason the solver gives (:meth:`IterationRecord.stop`).

Whatever stopped it, the result says ``converged`` only when the optimality
measure at the returned point meets ``tol``. Always
``len(cost_history) == n_iter + 1`` with ``cost_history[0] = F(θ₀)``.

Solvers pass the point itself too (``theta=``); the record hands it to an
optional observer (scikit-learn's callbacks, :mod:`fastlr.callbacks`) at the
start, after every iteration and at the end, and stops with ``"callback"``
when the observer asks to.
"""

import math
from dataclasses import dataclass, field
from typing import Optional, Union

import numpy as np
from tqdm.auto import tqdm

from fastlr import config

#: Relative change of F below which a full-batch solver has stalled
#: (scikit-learn's lbfgs uses the same 64·eps as ``ftol``).
COST_RTOL = 64 * np.finfo(np.float64).eps
#: With F flat, a solver still progresses while the optimality measure falls at
#: least by this factor from one check to the next.
OPTIMALITY_PROGRESS = 0.5


class DivergenceError(ArithmeticError):
    """The iterates blew up: the step size is too large for this problem."""


@dataclass
class SolverOptions:
    """Settings a solver reads; built from the estimator's parameters."""

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
    description: str = "fit"


@dataclass
class SolverResult:
    """θ at the end (a host float64 vector), and how the solver got there.

    ``cost_history`` has ``n_iter + 1`` entries: F(θ₀), then F after each
    iteration. ``optimality`` is the measure at θ that ``tol`` was compared
    with; ``stop_reason`` one of the reasons in the module docstring.
    """

    theta: np.ndarray
    n_iter: int
    converged: bool
    cost_history: list = field(default_factory=list)
    optimality: float = math.nan
    stop_reason: str = ""


def stalled(previous_cost, cost):
    """True when F no longer changes (relative 64·ε)."""
    return abs(previous_cost - cost) <= COST_RTOL * max(abs(previous_cost), abs(cost), 1.0)


class IterationRecord:
    """The bookkeeping of one solver run on one objective (see the module docstring).

    Parameters
    ----------
    objective : fastlr.objective.Objective
    options : SolverOptions
    check_every : int
        Read values back (divergence, stop test, progress) every this many
        iterations; 1 on the host, more on a GPU.
    divergence_hint : str
        Advice appended to a :class:`DivergenceError`.
    """

    def __init__(self, objective, options, check_every=1, divergence_hint="the data may need scaling", observer=None):
        self.objective = objective
        self.observer = observer
        self.xp = objective.xp
        self.tol = options.tol
        self.max_iter = options.max_iter
        self.check_every = max(1, int(check_every))
        self.divergence_hint = divergence_hint
        self.history = []
        self.n_iter = 0
        self.stop_reason = None
        self.optimality = math.nan
        self._first_cost = None
        self._checked_cost = None
        self._checked_optimality = math.inf
        # The last progress: (check count, F, optimality) when F last fell by more than its
        # rounding (config.LINE_SEARCH_COST_NOISE) or the optimality measure last halved.
        self._noise = config.LINE_SEARCH_COST_NOISE.get(str(objective.X.dtype), COST_RTOL)
        self._checks = 0
        self._progress = None
        self._bar = tqdm(total=options.max_iter, desc=options.description, disable=not options.verbose, leave=False)

    @property
    def done(self) -> bool:
        return self.stop_reason is not None

    def start(self, cost, optimality=None, theta=None) -> bool:
        """F(θ₀) and, where known, its optimality; returns :attr:`done` (θ₀ may already be optimal)."""
        if self.observer is not None:
            self.observer.begin(theta)
        self.history.append(cost)
        self._check(cost, optimality)
        if not self.done and self.max_iter == 0:
            self.stop_reason = "max_iter"
        return self.done

    def step(self, cost, optimality=None, theta=None) -> bool:
        """F after one more iteration and, where known, its optimality; returns :attr:`done`."""
        self.n_iter += 1
        self.history.append(cost)
        self._bar.update()
        if self.observer is not None and self.observer.end(theta):
            self.stop("callback")
        if self.n_iter % self.check_every == 0 or self.n_iter >= self.max_iter:
            self._check(cost, optimality)
        if not self.done and self.n_iter >= self.max_iter:
            self.stop_reason = "max_iter"
        if self.observer is not None:
            self.observer.begin(theta)
        return self.done

    def stop(self, reason: str) -> None:
        """Stop for a reason of the solver's own (no decrease possible, no improvement)."""
        if not self.done:
            self.stop_reason = reason

    def _check(self, cost, optimality):
        """One read back of F (and the optimality) from the backend, then the tests."""
        cost, optimality = self._read_back(cost, optimality)
        if self._first_cost is None:
            if not np.isfinite(cost):
                # Nothing scanned X before the fit: a non-finite first cost is where NaN or
                # infinity in X shows; name it (one scan, only on this path) rather than divergence.
                self.objective.check_finite_inputs()
                raise DivergenceError(
                    f"the objective is not finite at the starting point (cost {cost}): the starting coefficients "
                    "(warm_start), the weights or the magnitude of X make it overflow"
                )
            self._first_cost = cost
        if not np.isfinite(cost) or cost > config.DIVERGENCE_FACTOR * max(abs(self._first_cost), 1.0):
            raise DivergenceError(
                f"the objective diverged at iteration {self.n_iter} (cost {cost:.6g}, started at "
                f"{self._first_cost:.6g}): {self.divergence_hint}"
            )
        if not self._bar.disable:  # the formatting alone took 20 µs of a 300 µs Newton step
            self._bar.set_postfix(cost=f"{cost:.6g}", refresh=False)
        if optimality is not None:
            self.optimality = optimality
            if optimality <= self.tol:
                self.stop_reason = "tol"
        if not self.done and self._checked_cost is not None and stalled(self._checked_cost, cost):
            # F at the rounding of its own computation (float32 data) can stay put while the
            # gradient still shrinks: that is progress, not a stall, as long as the measure at
            # least halves between checks (rounding noise alone makes it wander down and up).
            if optimality is None or not optimality <= OPTIMALITY_PROGRESS * self._checked_optimality:
                self.stop_reason = "stalled"
        if not self.done and self._no_progress_for(config.STALL_PATIENCE_CHECKS, cost, optimality):
            # F wandering at its rounding (a float32 line search on gradients accepts such steps in
            # either direction) while the measure no longer halves: a stall that never sits still.
            self.stop_reason = "stalled"
        self._checked_cost = cost
        if optimality is not None:
            self._checked_optimality = optimality

    def _read_back(self, cost, optimality):
        """(F, optimality) as Python floats (optimality may be None): one transfer of both from
        a device; host values directly (stacking them for a transfer took 18 µs a step)."""
        xp = self.xp
        if xp is np:
            return float(cost), None if optimality is None else float(optimality)
        if optimality is None:
            return float(self.to_host(xp.asarray(cost, dtype=xp.float64))), None
        cost, optimality = self.to_host(xp.stack([xp.asarray(cost, dtype=xp.float64), xp.asarray(optimality, dtype=xp.float64)]))
        return float(cost), float(optimality)

    def _no_progress_for(self, patience, cost, optimality) -> bool:
        """True when, for ``patience`` checks, F has not fallen by more than its rounding below
        and the optimality measure has not halved from where they last did."""
        self._checks += 1
        measure = math.inf if optimality is None else optimality
        if self._progress is not None:
            checks, best_cost, best_measure = self._progress
            fell = cost < best_cost - self._noise * max(abs(best_cost), 1.0)
            if not (fell or measure <= OPTIMALITY_PROGRESS * best_measure):
                return self._checks - checks >= patience
        self._progress = (self._checks, cost, measure)
        return False

    def to_host(self, array):
        """A backend array as a host float64 array (one transfer on a GPU)."""
        return np.asarray(self.objective.backend.to_host(array), dtype=np.float64)

    def finish(self, theta, optimality=None) -> SolverResult:
        """The result at θ; ``optimality`` is the measure at θ when the last step did not report it."""
        self._bar.close()
        if self.observer is not None:
            self.observer.close()
        if optimality is not None:
            self.optimality = float(self.to_host(self.xp.asarray(optimality, dtype=self.xp.float64)))
        history = []
        if self.history:
            xp = self.xp
            stacked = xp.stack([xp.asarray(h, dtype=xp.float64) for h in self.history])
            history = [float(v) for v in self.to_host(stacked)]
        converged = bool(self.optimality <= self.tol)
        if converged:
            self.stop_reason = "tol"
        return SolverResult(
            theta=self.to_host(theta),
            n_iter=self.n_iter,
            converged=converged,
            cost_history=history,
            optimality=self.optimality,
            stop_reason=self.stop_reason or "max_iter",
        )
