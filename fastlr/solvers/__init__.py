"""Solvers, written once against :class:`fastlr.objective.Objective`.

A registry maps each solver name to its function and to what it supports;
:func:`select_solver` resolves ``"auto"`` and rejects combinations that
cannot work with a message naming the solvers that can. :func:`solve` runs
one: it gives the solver an :class:`~fastlr.solvers.record.IterationRecord`
(history, progress, device sync, divergence, the stop test) and passes the
held-out objective only to solvers that can stop early on it.

Every ``minimize`` function has the signature
``minimize(objective, theta0, options, record[, validation]) -> SolverResult``.
"""

from dataclasses import dataclass
from typing import Callable

from fastlr import config
from fastlr.solvers.fista import minimize_fista
from fastlr.solvers.gd import DIVERGENCE_HINT as GD_DIVERGENCE_HINT
from fastlr.solvers.gd import gradient_descent
from fastlr.solvers.lbfgs import minimize_lbfgs
from fastlr.solvers.newton import minimize_newton
from fastlr.solvers.newton_cd import minimize_newton_cd
from fastlr.solvers.optimizers import OPTIMIZERS
from fastlr.solvers.record import DivergenceError, IterationRecord, SolverOptions, SolverResult
from fastlr.solvers.schedules import SCHEDULES

SMOOTH = frozenset({"l2", None})
ALL_PENALTIES = frozenset({"l2", "l1", "elasticnet", None})

SCALING_ADVICE = "standardize the features (sklearn's StandardScaler)"


@dataclass(frozen=True)
class SolverSpec:
    """One solver: its function, what it supports, and what to tell a user when it stops short.

    ``early_stopping``: it takes a held-out ``validation`` objective.
    ``advice``: by stop reason (see :mod:`fastlr.solvers.record`), the advice
    of a ConvergenceWarning.
    """

    name: str
    minimize: Callable
    penalties: frozenset
    multinomial: bool
    early_stopping: bool
    advice: dict
    divergence_hint: str = "the data may need scaling"


SOLVERS = {
    spec.name: spec
    for spec in (
        SolverSpec(
            "gd", gradient_descent, ALL_PENALTIES, True, True,
            {
                "max_iter": "increase max_iter or learning_rate, or use solver='lbfgs'",
                "stalled": f"the steps no longer change the cost: raise learning_rate or lower decay, or {SCALING_ADVICE}",
                "no_improvement": "the epoch score stopped improving before the gradient met tol: raise "
                "n_iter_no_change, learning_rate or batch_size, lower decay, or use solver='lbfgs'",
            },
            GD_DIVERGENCE_HINT,
        ),
        SolverSpec(
            "lbfgs", minimize_lbfgs, SMOOTH, True, False,
            {"max_iter": f"increase max_iter, or {SCALING_ADVICE}",
             "stalled": f"the cost stopped decreasing above tol: {SCALING_ADVICE}, or use float64 data"},
        ),
        SolverSpec(
            "newton", minimize_newton, SMOOTH, False, False,
            {"max_iter": "increase max_iter; without a penalty on separable data the optimum is at infinity",
             "stalled": f"no Newton step decreases the cost any more: {SCALING_ADVICE}, or use float64 data"},
        ),
        SolverSpec(
            "fista", minimize_fista, ALL_PENALTIES, True, False,
            {"max_iter": f"increase max_iter, or {SCALING_ADVICE}",
             "stalled": f"the cost stopped decreasing above tol: {SCALING_ADVICE}, or use float64 data"},
        ),
        SolverSpec(
            "newton-cd", minimize_newton_cd, ALL_PENALTIES, False, False,
            {"max_iter": f"increase max_iter, or {SCALING_ADVICE}",
             "stalled": "the quadratic model predicts no decrease above tol: the precision of the data is reached; "
             f"{SCALING_ADVICE}, or use float64 data"},
        ),
    )
}


def _names(specs):
    return ", ".join(repr(spec.name) for spec in specs)


def select_solver(name, penalty, n_features, multinomial):
    """The :class:`SolverSpec` for ``name``, with ``"auto"`` resolved.

    ``"auto"``: for L1 and elastic net (exact zeros) the proximal Newton
    ``newton-cd`` up to ``config.AUTO_NEWTON_CD_MAX_FEATURES`` features, FISTA
    for more or for the softmax; L-BFGS for the softmax and for many features,
    Newton when n_features is at most ``config.AUTO_NEWTON_MAX_FEATURES``.
    """
    if name == "auto":
        if penalty not in SMOOTH:
            name = "newton-cd" if not multinomial and n_features <= config.AUTO_NEWTON_CD_MAX_FEATURES else "fista"
        elif multinomial or n_features > config.AUTO_NEWTON_MAX_FEATURES:
            name = "lbfgs"
        else:
            name = "newton"
    if name not in SOLVERS:
        raise ValueError(f"unknown solver {name!r}; known solvers: 'auto', {_names(SOLVERS.values())}")
    spec = SOLVERS[name]
    if penalty not in spec.penalties:
        able = [s for s in SOLVERS.values() if penalty in s.penalties]
        raise ValueError(
            f"solver {name!r} does not support penalty={penalty!r}; solvers that do: {_names(able)}"
        )
    if multinomial and not spec.multinomial:
        able = [s for s in SOLVERS.values() if s.multinomial]
        raise ValueError(
            f"solver {name!r} does not support the multinomial (softmax) loss; solvers that do: "
            f"{_names(able)}, or use multi_class='ovr'"
        )
    return spec


def solve(spec, objective, theta0, options, check_every=1, validation=None, observer=None) -> SolverResult:
    """Run solver ``spec`` on ``objective`` from ``theta0`` with a fresh iteration record
    (``observer``: scikit-learn's callbacks, see :mod:`fastlr.callbacks`)."""
    record = IterationRecord(objective, options, check_every, spec.divergence_hint, observer)
    extra = {"validation": validation} if spec.early_stopping else {}
    return spec.minimize(objective, theta0, options, record, **extra)


__all__ = [
    "DivergenceError",
    "IterationRecord",
    "OPTIMIZERS",
    "SCHEDULES",
    "SOLVERS",
    "SolverOptions",
    "SolverResult",
    "SolverSpec",
    "select_solver",
    "solve",
]
