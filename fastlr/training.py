"""From prepared data to fitted coefficients: plan the fit, then run it.

:func:`make_plan` turns the estimator's parameters and the prepared data
(:class:`fastlr.training_data.TrainingData`) into a :class:`Plan`: the solver with
``"auto"`` resolved, its options, binary or softmax. :func:`train` then builds
one :class:`~fastlr.objective.Objective` per problem (one binary problem,
one per class for one-vs-rest, or one softmax problem), runs the solver on
each and assembles scikit-learn's fitted attributes in a :class:`Trained`.
"""

import numbers
from dataclasses import dataclass, field, replace

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state

from fastlr.solvers import SOLVERS, SolverOptions, SolverSpec, select_solver, solve
from fastlr.solvers.aliases import sklearn_sentence, translate


@dataclass
class Plan:
    """What :func:`train` needs besides the data."""

    solver: SolverSpec
    options: SolverOptions
    multinomial: bool
    C: float
    penalty: object
    l1_ratio: object
    fit_intercept: bool
    early_stopping: bool = False
    validation_fraction: float = 0.1
    random_state: object = None
    #: The solver name as written (a scikit-learn alias, or ``solver.name``).
    requested_solver: str = ""


@dataclass
class Trained:
    coef: np.ndarray  # (1 or K, n_features), float64
    intercept: np.ndarray  # (1 or K,)
    results: list = field(default_factory=list)  # one SolverResult per problem

    @property
    def n_iter(self) -> np.ndarray:
        return np.array([result.n_iter for result in self.results])

    @property
    def converged(self) -> bool:
        return all(result.converged for result in self.results)


def _seed(random_state):
    """An integer seed (or None) from scikit-learn's random_state conventions."""
    if random_state is None or isinstance(random_state, numbers.Integral):
        return random_state
    # A RandomState instance: draw the seed from it, as scikit-learn estimators do.
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def make_plan(params, data) -> Plan:
    """The :class:`Plan` for estimator parameters ``params`` on ``data``: ``get_params()`` with
    ``penalty`` and ``l1_ratio`` resolved (:func:`fastlr.penalty.resolve`)."""
    n_classes = len(data.classes)
    multinomial = params["multi_class"] == "multinomial" or (params["multi_class"] == "auto" and n_classes > 2)
    name = translate(
        params["solver"], SOLVERS, params["penalty"], multinomial,
        fit_intercept=params["fit_intercept"], intercept_scaling=params.get("intercept_scaling", 1.0),
    )
    spec = select_solver(name, params["penalty"], data.n_features, multinomial)
    if not data.random_rows and (params["batch_size"] is not None or params["early_stopping"]):
        raise ValueError(
            f"batch_size={params['batch_size']!r}, early_stopping={params['early_stopping']!r}: mini-batch and "
            "stochastic descent and held-out rows need random access to rows, which chunked (dask) arrays do not "
            "give cheaply; use batch_size=None (full batch) or solver='lbfgs'"
        )
    seed = _seed(params["random_state"])
    options = SolverOptions(
        max_iter=params["max_iter"],
        tol=params["tol"],
        learning_rate=params["learning_rate"],
        optimizer=params["optimizer"],
        schedule=params["schedule"],
        decay=params["decay"],
        decay_every=params["decay_every"],
        batch_size=params["batch_size"],
        random_state=seed,
        n_iter_no_change=params["n_iter_no_change"],
        verbose=params["verbose"],
    )
    return Plan(
        solver=spec,
        options=options,
        multinomial=multinomial,
        C=params["C"],
        penalty=params["penalty"],
        l1_ratio=params["l1_ratio"],
        fit_intercept=params["fit_intercept"],
        early_stopping=params["early_stopping"] and spec.early_stopping,
        validation_fraction=params["validation_fraction"],
        random_state=seed,
        requested_solver=params["solver"],
    )


def _objectives(data, y, n_classes, plan, problem):
    """The training objective and, with early stopping, the held-out one. ``problem`` names the
    sub-problem (its class, or "softmax") for the memo a path shares (``data.memo``)."""

    def build(rows):
        X, y_part, weights = data.X, y, data.sample_weight
        shared = {} if data.memo is None else {"memo": data.memo.setdefault(problem, {})}
        if rows is not None:
            rows = data.backend.to_device(rows)
            X, y_part = X[rows], y[rows]
            weights = None if weights is None else weights[rows]
            shared = {}
        return data.objective(
            data.backend, X, y_part, weights, n_classes=n_classes, C=plan.C, penalty=plan.penalty,
            l1_ratio=plan.l1_ratio, fit_intercept=plan.fit_intercept, **shared,
        )

    if not plan.early_stopping:
        return build(None), None
    # Stratified and seeded, as scikit-learn's SGD does.
    train_rows, held_out_rows = train_test_split(
        np.arange(data.X.shape[0]),
        test_size=plan.validation_fraction,
        random_state=plan.random_state,
        stratify=np.asarray(data.backend.to_host(data.y_index)),
    )
    return build(train_rows), build(held_out_rows)


def _solve(data, y, n_classes, plan, theta0, description, observer=None, problem=None):
    objective, validation = _objectives(data, y, n_classes, plan, problem)
    if theta0 is None:
        theta0 = np.zeros(objective.n_params)
    options = replace(plan.options, description=description)
    return solve(plan.solver, objective, theta0, options, data.backend.check_every, validation, observer)


def _theta_from(coef, intercept, fit_intercept):
    parts = [np.ravel(coef)]
    if fit_intercept:
        parts.append(np.ravel(intercept))
    return np.concatenate(parts).astype(np.float64)


def _split_theta(theta, n_classes, n_features, fit_intercept):
    n_weights = n_classes * n_features
    coef = theta[:n_weights].reshape(n_classes, n_features)
    intercept = theta[n_weights:] if fit_intercept else np.zeros(n_classes)
    return coef, intercept


def _binary_form(coef, intercept):
    """The two softmax rows of a binary problem as scikit-learn's one row (class 1 against 0)."""
    return coef[1:] - coef[:1], intercept[1:] - intercept[:1]


def train(data, plan, warm=None, callbacks=None) -> Trained:
    """Fit every sub-problem of ``plan`` on ``data`` (a :class:`fastlr.training_data.TrainingData`).

    ``warm`` is ``(coef, intercept)`` to start from (``warm_start``), or None;
    ``callbacks`` a :class:`fastlr.callbacks.FitCallbacks`, or None.
    """
    n_classes = len(data.classes)
    n_features = data.n_features
    fit_intercept = plan.fit_intercept
    task = f"{plan.solver.name}-iter"

    def attributes(coef, intercept):
        """The fitted attributes a callback's ``fitted_estimator`` predicts with."""
        return {
            "coef_": np.asarray(coef, dtype=data.dtype), "intercept_": np.asarray(intercept, dtype=data.dtype),
            "classes_": data.classes, "n_features_in_": n_features, "backend_": data.backend_name,
        }

    def observer(to_coefficients):
        if callbacks is None:
            return None

        def to_attributes(theta):
            # A copy: the solver may update θ in place after the hook (SciPy's L-BFGS does).
            coef, intercept = to_coefficients(np.array(data.backend.to_host(theta), dtype=np.float64))
            return attributes(coef, intercept)

        return callbacks.observer(task, to_attributes)

    if plan.multinomial:
        theta0 = None
        if warm is not None:
            coef, intercept = warm
            if n_classes == 2:  # the binary form back to the two softmax rows
                coef = np.vstack([np.zeros_like(coef), coef])
                intercept = np.concatenate([np.zeros_like(intercept), intercept])
            theta0 = _theta_from(coef, intercept, fit_intercept)
        labels = data.y_index.astype(data.backend.xp.int64)

        def softmax_coefficients(theta):
            coef, intercept = _split_theta(theta, n_classes, n_features, fit_intercept)
            # the equivalent binary model for two classes, as scikit-learn reports it
            return _binary_form(coef, intercept) if n_classes == 2 else (coef, intercept)

        result = _solve(data, labels, n_classes, plan, theta0, "softmax", observer(softmax_coefficients), "softmax")
        coef, intercept = softmax_coefficients(result.theta)
        return Trained(coef, intercept, [result])

    # Binary: one problem for class 1; one-vs-rest: one per class.
    targets = [1] if n_classes == 2 else list(range(n_classes))
    coefs, intercepts, results = [], [], []
    for position, target in enumerate(targets):
        y_binary = (data.y_index == target).astype(data.dtype)
        theta0 = None if warm is None else _theta_from(warm[0][position], warm[1][position], fit_intercept)
        description = "binary" if n_classes == 2 else f"class {target} vs rest"

        def problem_coefficients(theta, position=position):
            """This problem's row at θ, the finished problems' rows, zeros for those to come."""
            coef, intercept = np.zeros((len(targets), n_features)), np.zeros(len(targets))
            if position:
                coef[:position], intercept[:position] = coefs, intercepts
            row, row_intercept = _split_theta(theta, 1, n_features, fit_intercept)
            coef[position], intercept[position] = row[0], row_intercept[0]
            return coef, intercept

        result = _solve(data, y_binary, 1, plan, theta0, description, observer(problem_coefficients), target)
        coef, intercept = _split_theta(result.theta, 1, n_features, fit_intercept)
        coefs.append(coef[0])
        intercepts.append(intercept[0])
        results.append(result)
    return Trained(np.array(coefs), np.array(intercepts), results)


def convergence_message(plan, trained):
    """The ConvergenceWarning text when some sub-problem did not converge, else None.

    It names the solver, how it stopped, the optimality it reached against
    ``tol``, and the advice that fits how it stopped.
    """
    failed = [result for result in trained.results if not result.converged]
    if not failed:
        return None
    worst = max(failed, key=lambda result: result.optimality if np.isfinite(result.optimality) else np.inf)
    spec, options = plan.solver, plan.options
    if worst.stop_reason == "max_iter":
        how = f"did not converge in max_iter={options.max_iter} iterations"
    else:
        how = f"stopped without converging after {worst.n_iter} iterations ({worst.stop_reason.replace('_', ' ')})"
    advice = spec.advice.get(worst.stop_reason, spec.advice["max_iter"])
    problems = f" ({len(failed)} of {len(trained.results)} problems)" if len(trained.results) > 1 else ""
    alias = f" (for solver={plan.requested_solver!r})" if plan.requested_solver not in ("", "auto", spec.name) else ""
    return (
        f"{sklearn_sentence(plan.requested_solver, worst.n_iter)}"
        f"fastlr solver {spec.name!r}{alias} {how}{problems}: the optimality measure is {worst.optimality:.3g}, "
        f"above tol={options.tol}; {advice}."
    )
