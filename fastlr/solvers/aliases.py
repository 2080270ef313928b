"""scikit-learn's solver names, as aliases of the fastlr solver that reaches the same optimum.

=================== ======================================== ===========================
scikit-learn name   fastlr solver (first that fits the problem) penalties, as scikit-learn
=================== ======================================== ===========================
``lbfgs``           ``lbfgs``                                 L2, none
``newton-cg``       ``newton-cg`` (fastlr's own)               L2, none
``newton-cholesky`` ``newton``                                L2, none
``sag``             ``lbfgs``                                 L2, none
``saga``            ``newton-cd``; the softmax: ``lbfgs``     L2, L1, elastic net, none
                    (L2), ``fista`` (L1, elastic net)
``liblinear``       ``newton-cd``                             L2, L1; binary only
=================== ======================================== ===========================

Every fastlr solver minimizes the same objective as scikit-learn, so an alias
changes how the optimum is reached, not which optimum. The one exception is
``liblinear``, which penalizes the intercept (as the weight of a constant
feature of value ``intercept_scaling``); fastlr never does, and says so in a
warning when ``liblinear`` is asked for with an intercept. Where scikit-learn's
solver refuses a problem (``lbfgs`` with L1, ``liblinear`` with more than two
classes or no penalty, ``dual=True`` with anything but ``liblinear``), the alias
refuses it too, with scikit-learn's words and what fastlr offers instead, so
that code moves between the two without changing meaning. A name that is a
registered fastlr solver is that solver, never an alias.
"""

from dataclasses import dataclass

from fastlr.messages import warn_at_caller

L2_OR_NONE = frozenset({"l2", None})


@dataclass(frozen=True)
class SklearnSolver:
    """A scikit-learn solver name: the fastlr solvers it stands for, and scikit-learn's limits."""

    name: str
    #: fastlr solvers in order of preference: the first registered one that supports
    #: the penalty and the loss (binary or softmax) is used.
    candidates: tuple
    penalties: frozenset
    multiclass: bool = True
    dual: bool = False
    #: scikit-learn's ConvergenceWarning sentence for this solver ({n_iter}: iterations run),
    #: put first in fastlr's, so that filters written for scikit-learn's warnings keep working.
    not_converged: str = ""


SKLEARN_SOLVERS = {
    solver.name: solver
    for solver in (
        SklearnSolver("lbfgs", ("lbfgs",), L2_OR_NONE, not_converged="lbfgs failed to converge after {n_iter} iteration(s)."),
        SklearnSolver("newton-cg", ("newton-cg", "newton", "lbfgs"), L2_OR_NONE,
                      not_converged="newton-cg failed to converge. Increase the number of iterations."),
        SklearnSolver("newton-cholesky", ("newton-cholesky", "newton", "lbfgs"), L2_OR_NONE,
                      not_converged="Newton solver did not converge after {n_iter} iterations."),
        SklearnSolver("sag", ("lbfgs",), L2_OR_NONE,
                      not_converged="The max_iter was reached which means the coef_ did not converge."),
        SklearnSolver("saga", ("newton-cd", "lbfgs", "fista"), frozenset({"l2", "l1", "elasticnet", None}),
                      not_converged="The max_iter was reached which means the coef_ did not converge."),
        SklearnSolver("liblinear", ("newton-cd",), frozenset({"l2", "l1"}), multiclass=False, dual=True,
                      not_converged="Liblinear failed to converge, increase the number of iterations."),
    )
}

LIBLINEAR_INTERCEPT = (
    "solver='liblinear' runs fastlr's {solver!r}, which never penalizes the intercept; liblinear penalizes it "
    "(as the weight of a constant feature of value intercept_scaling={intercept_scaling!r}), so intercept_ and "
    "coef_ can differ from scikit-learn's liblinear, the more so the smaller intercept_scaling. "
    "fit_intercept=False fits the same model as liblinear"
)


def sklearn_sentence(name, n_iter):
    """scikit-learn's ConvergenceWarning sentence for solver ``name``, or "" for fastlr's own names."""
    spec = SKLEARN_SOLVERS.get(name)
    return "" if spec is None else spec.not_converged.format(n_iter=n_iter) + " "


def check_dual(name, dual):
    """fastlr solves the primal problem only: ``dual=True`` is refused, naming what to use."""
    if not dual:
        return
    if name in SKLEARN_SOLVERS and not SKLEARN_SOLVERS[name].dual:
        prefix = f"Solver {name} supports only dual=False, got dual=True"
    else:
        prefix = f"dual=True (liblinear's dual formulation) is not available for solver={name!r}"
    raise ValueError(
        f"{prefix}: fastlr solves the primal problem with every solver ('lbfgs', 'newton', 'newton-cg', 'newton-cd', "
        "'fista', 'gd'), which reaches the same optimum; use dual=False"
    )


def _check_sklearn_limits(spec, penalty, multinomial):
    if penalty not in spec.penalties:
        if penalty == "elasticnet" and "l1" in spec.penalties:
            message = f"Only 'saga' solver supports elasticnet penalty, got solver={spec.name}."
        elif penalty is None:
            message = f"C=np.inf as well as penalty=None is not supported for the {spec.name} solver."
        else:
            message = f"Solver {spec.name} supports only 'l2' or None penalties, got {penalty} penalty."
        raise ValueError(f"{message} fastlr's solvers for it: solver='auto', 'newton-cd' or 'fista'")
    if multinomial and not spec.multiclass:
        raise ValueError(
            f"The '{spec.name}' solver does not support multiclass classification (n_classes >= 3). Either use "
            "another solver or wrap the estimator in a OneVsRestClassifier to keep applying a one-versus-rest "
            "scheme (in fastlr: multi_class='ovr')."
        )


def translate(name, registry, penalty, multinomial, fit_intercept=True, intercept_scaling=1.0):
    """The fastlr solver name for ``name``: ``name`` itself when it is in ``registry``, else
    the alias's first candidate that supports ``penalty`` and the loss. A scikit-learn
    name (``lbfgs`` is both) keeps scikit-learn's limits, in its words.

    Parameters
    ----------
    name : str
        What the user wrote.
    registry : dict
        fastlr's solvers, name → :class:`~fastlr.solvers.SolverSpec`.
    penalty : {"l2", "l1", "elasticnet", None}
    multinomial : bool
        The softmax loss (else binary or one-vs-rest problems).
    fit_intercept, intercept_scaling
        For liblinear's warning about its penalized intercept.
    """
    if name in SKLEARN_SOLVERS:
        _check_sklearn_limits(SKLEARN_SOLVERS[name], penalty, multinomial)
    if name == "auto" or name in registry:
        return name
    if name not in SKLEARN_SOLVERS:
        known = ", ".join(repr(n) for n in ("auto", *registry))
        aliases = ", ".join(repr(n) for n in SKLEARN_SOLVERS if n not in registry)
        raise ValueError(f"unknown solver {name!r}; fastlr's solvers: {known}; scikit-learn's, as aliases: {aliases}")
    spec = SKLEARN_SOLVERS[name]
    for candidate in spec.candidates:
        solver = registry.get(candidate)
        if solver is not None and penalty in solver.penalties and (solver.multinomial or not multinomial):
            if name == "liblinear" and fit_intercept:
                warn_at_caller(
                    LIBLINEAR_INTERCEPT.format(solver=candidate, intercept_scaling=intercept_scaling), UserWarning
                )
            return candidate
    raise ValueError(f"no fastlr solver stands for solver={name!r} with penalty={penalty!r} here")
