"""Solvers, written once against :class:`fastlr.objective.Objective`.

A registry maps each solver name to its function and to what it supports;
:func:`select_solver` resolves ``"auto"`` and rejects combinations that
cannot work with a message naming the solvers that can.
"""

from dataclasses import dataclass
from typing import Callable

from fastlr import config
from fastlr.solvers.common import DivergenceError, SolverOptions, SolverResult
from fastlr.solvers.fista import minimize_fista
from fastlr.solvers.gd import gradient_descent
from fastlr.solvers.lbfgs import minimize_lbfgs
from fastlr.solvers.newton import minimize_newton
from fastlr.solvers.optimizers import OPTIMIZERS
from fastlr.solvers.schedules import SCHEDULES

SMOOTH = frozenset({"l2", None})
ALL_PENALTIES = frozenset({"l2", "l1", "elasticnet", None})


@dataclass(frozen=True)
class SolverSpec:
    name: str
    minimize: Callable
    penalties: frozenset
    multinomial: bool
    stochastic: bool
    advice: str


SOLVERS = {
    spec.name: spec
    for spec in (
        SolverSpec(
            "gd", gradient_descent, ALL_PENALTIES, True, True,
            "increase max_iter or learning_rate, try optimizer='nesterov' or 'adam', "
            "or use solver='lbfgs'",
        ),
        SolverSpec(
            "lbfgs", minimize_lbfgs, SMOOTH, True, False,
            "increase max_iter, or standardize the features (sklearn's StandardScaler)",
        ),
        SolverSpec(
            "newton", minimize_newton, SMOOTH, False, False,
            "increase max_iter; without a penalty on separable data the optimum is at infinity",
        ),
        SolverSpec(
            "fista", minimize_fista, ALL_PENALTIES, True, False,
            "increase max_iter, or standardize the features (sklearn's StandardScaler)",
        ),
    )
}


def _names(specs):
    return ", ".join(repr(spec.name) for spec in specs)


def select_solver(name, penalty, n_features, multinomial):
    """The :class:`SolverSpec` for ``name``, with ``"auto"`` resolved.

    ``"auto"``: FISTA for L1 and elastic net (exact zeros), L-BFGS for the
    softmax and for many features, Newton when n_features is at most
    ``config.AUTO_NEWTON_MAX_FEATURES``.
    """
    if name == "auto":
        if penalty not in SMOOTH:
            name = "fista"
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


__all__ = [
    "DivergenceError",
    "OPTIMIZERS",
    "SCHEDULES",
    "SOLVERS",
    "SolverOptions",
    "SolverResult",
    "SolverSpec",
    "select_solver",
]
