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
from typing import Callable, Optional

from fastlr import config
from fastlr.solvers.fista import minimize_fista
from fastlr.solvers.gd import divergence_hint as gd_divergence_hint
from fastlr.solvers.gd import gradient_descent
from fastlr.solvers.lbfgs import minimize_lbfgs
from fastlr.solvers.newton import minimize_newton
from fastlr.solvers.newton_cg import hessian_rows, minimize_newton_cg
from fastlr.solvers.newton_cd import minimize_newton_cd
from fastlr.solvers.optimizers import OPTIMIZERS
from fastlr.solvers.record import DivergenceError, IterationRecord, SolverOptions, SolverResult
from fastlr.solvers.schedules import SCHEDULES

SMOOTH = frozenset({"l2", None})
ALL_PENALTIES = frozenset({"l2", "l1", "elasticnet", None})

@dataclass(frozen=True)
class SolverSpec:
    """One solver: its function, what it supports, and what to tell a user when it stops short.

    ``early_stopping``: it takes a held-out ``validation`` objective.
    ``advice``: by stop reason (see :mod:`fastlr.solvers.record`), the advice
    of a ConvergenceWarning that holds whatever the data; advice that depends
    on the data and the settings (scale, dtype, schedule, another solver) is
    added by :func:`fastlr.training.convergence_message`.
    """

    name: str
    minimize: Callable
    penalties: frozenset
    multinomial: bool
    early_stopping: bool
    advice: dict
    #: Advice appended to a DivergenceError: a str, or a function of the SolverOptions.
    divergence_hint: object = "the data may need scaling"
    #: Start from the class priors rather than zeros (one pass over y; fewer iterations for
    #: Newton and gradient descent on unbalanced classes, none saved for L-BFGS or FISTA).
    prior_start: bool = False
    #: Rows of the sample whose solution starts the fit (``objective -> int``), or None.
    start_rows: Optional[Callable] = None


SOLVERS = {
    spec.name: spec
    for spec in (
        SolverSpec(
            "gd", gradient_descent, ALL_PENALTIES, True, True,
            {
                "max_iter": "increase max_iter or learning_rate",
                "stalled": "the steps no longer change the cost: raise learning_rate",
                "no_improvement": "the epoch score stopped improving before the gradient met tol: raise "
                "n_iter_no_change, learning_rate or batch_size",
            },
            gd_divergence_hint,
            prior_start=True,
        ),
        SolverSpec(
            "lbfgs", minimize_lbfgs, SMOOTH, True, False,
            {"max_iter": "increase max_iter", "stalled": "the cost stopped decreasing above tol"},
        ),
        SolverSpec(
            "newton", minimize_newton, SMOOTH, True, False,
            {"max_iter": "increase max_iter; without a penalty on separable data the optimum is at infinity",
             "stalled": "no Newton step decreases the cost any more"},
            prior_start=True,
        ),
        SolverSpec(
            "newton-cg", minimize_newton_cg, SMOOTH, True, False,
            {"max_iter": "increase max_iter; without a penalty on separable data the optimum is at infinity",
             "stalled": "no Newton step decreases the cost any more"},
            prior_start=True,
            start_rows=hessian_rows,
        ),
        SolverSpec(
            "fista", minimize_fista, ALL_PENALTIES, True, False,
            {"max_iter": "increase max_iter", "stalled": "the cost stopped decreasing above tol"},
        ),
        SolverSpec(
            "newton-cd", minimize_newton_cd, ALL_PENALTIES, False, False,
            {"max_iter": "increase max_iter",
             "stalled": "the quadratic model predicts no decrease above tol: the precision of the data is reached"},
        ),
    )
}

#: For a ConvergenceWarning: the solver to suggest instead, in order of
#: preference, for smooth penalties and for L1/elastic net (the first that
#: supports the problem and is not the one that ran).
ALTERNATIVES = {True: ("lbfgs", "newton-cg", "newton", "fista"), False: ("newton-cd", "fista", "gd")}


def _names(specs):
    return ", ".join(repr(spec.name) for spec in specs)


def auto_solver(penalty, n_samples, n_features, n_classes, sparse=False):
    """The solver ``"auto"`` means for one problem of ``n_classes`` (1: binary) on (n_samples, n_features).

    For L1 and elastic net (exact zeros): the proximal Newton ``newton-cd`` for
    binary problems up to ``config.AUTO_NEWTON_CD_MAX_FEATURES`` features, FISTA
    for more or for the softmax. Otherwise whichever reached scikit-learn's
    optimum first in the crossover measurements recorded in
    :mod:`fastlr.config`: the dense Newton for binary problems on dense X of at
    most ``config.AUTO_NEWTON_MAX_FEATURES`` features and
    ``config.AUTO_NEWTON_MAX_ROWS`` rows; Newton-CG where its Hessian comes from a row sample
    (m at least ``config.NEWTON_CG_HESSIAN_SAMPLE_FACTOR`` ×
    ``config.NEWTON_CG_HESSIAN_ROWS_PER_PARAMETER`` rows per parameter), on
    small problems (m × parameters ≤ ``config.AUTO_NEWTON_CG_MAX_ELEMENTS``)
    and for the softmax up to ``config.AUTO_SOFTMAX_NEWTON_MAX_FEATURES``
    features; L-BFGS for the rest (many rows and features, too few rows to
    sample the Hessian). ``sparse`` (CSR X), binary, smooth penalty: Newton-CG,
    whose Hessian-vector products cost a pass over the stored entries like a
    gradient and are Jacobi-preconditioned there (on the TF-IDF-like
    200 000 × 50 000 CSR it took 3 Newton steps and 32 products where
    L-BFGS took ~280 evaluations to scikit-learn's optimum); never the dense
    (n+1)² Newton.
    """
    if sparse and n_classes == 1 and penalty in SMOOTH:
        return "newton-cg"
    if penalty not in SMOOTH:
        return "newton-cd" if n_classes == 1 and n_features <= config.AUTO_NEWTON_CD_MAX_FEATURES else "fista"
    if n_classes == 1 and n_features <= config.AUTO_NEWTON_MAX_FEATURES and n_samples <= config.AUTO_NEWTON_MAX_ROWS:
        return "newton"  # dense X here: a binary CSR problem went to Newton-CG above
    parameters = n_classes * (n_features + 1)
    sampled = n_samples >= config.NEWTON_CG_HESSIAN_SAMPLE_FACTOR * config.NEWTON_CG_HESSIAN_ROWS_PER_PARAMETER * parameters
    small = n_samples * parameters <= config.AUTO_NEWTON_CG_MAX_ELEMENTS
    softmax_newton = n_classes > 1 and n_features <= config.AUTO_SOFTMAX_NEWTON_MAX_FEATURES
    return "newton-cg" if sampled or small or softmax_newton else "lbfgs"


def select_solver(name, penalty, shape, n_classes, sparse=False):
    """The :class:`SolverSpec` for ``name``, with ``"auto"`` resolved by :func:`auto_solver`.

    ``shape`` is X's (n_samples, n_features); ``n_classes`` the classes of one
    problem: 1 for a binary (or one-vs-rest) problem, K for the softmax;
    ``sparse``: X is a CSR matrix.
    """
    multinomial = n_classes > 1
    if name == "auto":
        name = auto_solver(penalty, *shape, n_classes, sparse)
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
    hint = spec.divergence_hint(options) if callable(spec.divergence_hint) else spec.divergence_hint
    record = IterationRecord(objective, options, check_every, hint, observer)
    extra = {"validation": validation} if spec.early_stopping else {}
    return spec.minimize(objective, theta0, options, record, **extra)


__all__ = [
    "ALTERNATIVES",
    "DivergenceError",
    "IterationRecord",
    "OPTIMIZERS",
    "SCHEDULES",
    "SOLVERS",
    "SolverOptions",
    "SolverResult",
    "SolverSpec",
    "auto_solver",
    "select_solver",
    "solve",
]
