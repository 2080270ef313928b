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

from fastlr import config, memory
from fastlr.messages import warn_at_caller
from fastlr.solvers import ALTERNATIVES, SCHEDULES, SMOOTH, SOLVERS, SolverOptions, SolverSpec, select_solver, solve
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


def _is_gd(params, spec):
    """Gradient descent: the one solver that reads step sizes, optimizers, schedules and batches."""
    return spec.name == "gd"


def _is_stochastic_gd(params, spec):
    return _is_gd(params, spec) and (params["batch_size"] is not None or params["early_stopping"])



#: Parameters that only some settings read: name to (whether these settings read
#: it, the settings that do). Set to anything but its default where it is not
#: read, a parameter draws a warning rather than being ignored silently.
READ_ONLY_WHEN = {
    # l1_ratio is always read: with C it chooses the penalty (fastlr.penalty), and contradicting it raises.
    "learning_rate": (_is_gd, "solver='gd'"),
    "optimizer": (_is_gd, "solver='gd'"),
    "schedule": (_is_gd, "solver='gd'"),
    "batch_size": (_is_gd, "solver='gd'"),
    "early_stopping": (_is_gd, "solver='gd'"),
    "decay": (lambda params, spec: _is_gd(params, spec) and params["schedule"] in ("time", "exponential"),
              "solver='gd' with schedule='time' or 'exponential'"),
    "decay_every": (lambda params, spec: _is_gd(params, spec) and params["schedule"] == "step",
                    "solver='gd' with schedule='step'"),
    "n_iter_no_change": (_is_stochastic_gd, "solver='gd' with batch_size or early_stopping"),
    "validation_fraction": (lambda params, spec: _is_gd(params, spec) and params["early_stopping"],
                            "solver='gd' with early_stopping=True"),
}

#: Copies of the (n+1)² Hessian that a Newton step holds at once (the kernel's
#: sum, its host copy, the regularized matrix and its Cholesky factor).
NEWTON_HESSIAN_COPIES = 4
#: Below this many bytes of Hessian copies the memory is not asked for: that query (psutil,
#: or /proc/meminfo) took 100–150 µs, 3% of a fit on breast cancer, to guard 30 kB.
NEWTON_MEMORY_CHECKED_FROM = 1 << 20


def _warn_about_unread_parameters(params, spec, defaults):
    unread = [
        f"{name}={params[name]!r} (read only with {settings})"
        for name, (reads, settings) in READ_ONLY_WHEN.items()
        if params[name] != defaults[name] and not reads(params, spec)
    ]
    if unread:
        warn_at_caller(
            f"solver={spec.name!r}, penalty={params['penalty']!r}: these parameters have no effect here: "
            f"{', '.join(unread)}", UserWarning,
        )


def _check_newton_memory(spec, n_parameters):
    """Newton on wide data: refuse, before the first pass, a Hessian that does not fit in memory.

    ``n_parameters``: the length of θ, K (n_features + 1) for the softmax.
    """
    if spec.name != "newton":
        return
    one = 8 * n_parameters**2
    if NEWTON_HESSIAN_COPIES * one < NEWTON_MEMORY_CHECKED_FROM:
        return
    available = memory.available_bytes()
    if available is not None and NEWTON_HESSIAN_COPIES * one > available:
        raise MemoryError(
            f"solver='newton' on {n_parameters} parameters needs a {n_parameters} x {n_parameters} Hessian of "
            f"{memory.describe(one)}, {NEWTON_HESSIAN_COPIES} copies of it during a step, and only "
            f"{memory.describe(available)} of memory is available: use solver='newton-cg' or 'lbfgs'"
        )


def make_plan(params, data, defaults=None) -> Plan:
    """The :class:`Plan` for estimator parameters ``params`` on ``data``: ``get_params()`` with
    ``penalty`` and ``l1_ratio`` resolved (:func:`fastlr.penalty.resolve`).

    ``defaults``: the estimator's parameter defaults; a parameter set away from its
    default that these settings do not read draws a UserWarning (None: no check).
    Raises MemoryError when Newton's Hessian would not fit in memory.
    """
    n_classes = len(data.classes)
    multinomial = params["multi_class"] == "multinomial" or (params["multi_class"] == "auto" and n_classes > 2)
    name = translate(
        params["solver"], SOLVERS, params["penalty"], multinomial,
        fit_intercept=params["fit_intercept"], intercept_scaling=params.get("intercept_scaling", 1.0),
    )
    classes_per_problem = n_classes if multinomial else 1
    spec = select_solver(name, params["penalty"], data.X.shape, classes_per_problem, sparse=data.sparse)
    if defaults is not None:
        _warn_about_unread_parameters(params, spec, defaults)
    _check_newton_memory(spec, classes_per_problem * (data.n_features + 1))
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
    held_out = build(held_out_rows)
    # The fit's evaluations see only the training rows, so they cannot vouch for these.
    held_out.check_finite_inputs()
    return build(train_rows), held_out


def starting_point(objective, plan, check_every):
    """θ₀ when no warm start is given, as the solver's spec asks (where each measured faster):
    zeros (always with ``max_iter=0``), or the class priors (``SolverSpec.prior_start``, :meth:`Objective.prior_start`);
    then, where the spec names a row sample (``SolverSpec.start_rows``) smaller than the
    data, the same solver's solution on that sample, to ``config.SAMPLE_START_TOL``."""
    if plan.options.max_iter == 0:
        return objective.zeros()  # no iteration asked for: scikit-learn's zero model, whatever the solver
    theta0 = objective.prior_start() if plan.solver.prior_start else objective.zeros()
    rows = objective.n_samples if plan.solver.start_rows is None else plan.solver.start_rows(objective)
    if rows >= objective.n_samples or plan.early_stopping:
        return theta0
    sample = objective.row_sample(rows)
    options = replace(plan.options, tol=max(plan.options.tol, config.SAMPLE_START_TOL), verbose=False)
    return solve(plan.solver, sample, theta0, options, check_every).theta


def _solve(data, y, n_classes, plan, theta0, description, observer=None, problem=None):
    objective, validation = _objectives(data, y, n_classes, plan, problem)
    check_every = data.backend.check_every
    if theta0 is None:
        theta0 = starting_point(objective, plan, check_every)
    options = replace(plan.options, description=description)
    return solve(plan.solver, objective, theta0, options, check_every, validation, observer)


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


#: A column whose largest |value| lies more than this many decades from 1 is
#: badly scaled: gradient methods then take steps fit for no column at once.
BADLY_SCALED_DECADES = 2
#: A schedule that has cut the learning rate below this fraction of α₀ has frozen the iterates.
FROZEN_SCHEDULE_FRACTION = 0.1


def _worst_scaled_column(X, backend):
    """(column, largest |value|) of the column of X furthest from unit scale, or
    None when every column lies within ``BADLY_SCALED_DECADES`` of 1 (one pass over X)."""
    largest = abs(X).max(axis=0)
    largest = largest.toarray() if hasattr(largest, "toarray") else largest  # sparse X
    largest = np.asarray(backend.to_host(largest), dtype=np.float64).ravel()
    with np.errstate(divide="ignore"):
        decades = np.where(largest > 0, np.abs(np.log10(largest)), 0.0)
    column = int(np.argmax(decades))
    return (column, largest[column]) if decades[column] > BADLY_SCALED_DECADES else None


def _alternative_solver(plan):
    """The solver to suggest instead of the one that ran, or None."""
    smooth = plan.penalty in SMOOTH
    for name in ALTERNATIVES[smooth]:
        spec = SOLVERS[name]
        if name != plan.solver.name and plan.penalty in spec.penalties and (spec.multinomial or not plan.multinomial):
            return name
    return None


def _situation_advice(plan, result, data):
    """Advice that depends on the data and the settings: each part only where it applies."""
    options, reason = plan.options, result.stop_reason
    advice = []
    if data is not None:
        badly_scaled = _worst_scaled_column(data.X, data.backend)
        if badly_scaled is not None:
            column, largest = badly_scaled
            advice.append(f"column {column} of X reaches {largest:.3g} in magnitude: standardize the features "
                          "(sklearn's StandardScaler)")
        if data.dtype == np.float32 and reason == "stalled":
            advice.append("float32 rounding may be what stops the cost decreasing: use float64 data")
    descent = _is_gd(None, plan.solver)
    if descent and options.schedule != "constant":
        fraction = SCHEDULES[options.schedule](1.0, result.n_iter, options.decay, options.decay_every)
        if fraction < FROZEN_SCHEDULE_FRACTION:
            remedy = "raise decay_every" if options.schedule == "step" else "lower decay"
            advice.append(f"the {options.schedule!r} schedule had cut the learning rate to {fraction:.2g} of its "
                          f"start by iteration {result.n_iter}: {remedy}, or use schedule='constant'")
    if descent and options.optimizer == "sgd" and reason != "stalled":
        advice.append("or try an accelerated optimizer (optimizer='nesterov')")
    alternative = _alternative_solver(plan)
    if alternative is not None and reason in ("max_iter", "no_improvement"):
        advice.append(f"or use solver={alternative!r}")
    if reason == "stalled" and len(advice) == 0:
        advice.append(f"the cost no longer changes in floating point: tol={options.tol:g} may be finer than "
                      "this problem can be solved to")
    return advice


#: Above this bound on the rounding of a margin x·w in X's dtype, a row's residual σ(z) − y
#: can be off by O(1), so a gradient measured in that dtype proves nothing.
MARGIN_ROUNDING_LIMIT = 0.5
#: Below this eps·‖w‖₁ the bound cannot reach the limit for any X within float range that a
#: fit would accept, in practice: the extra pass over X for max |x| is skipped.
MARGIN_CHECK_FROM = 1e-4


def unresolved_margins_message(trained, data):
    """The ConvergenceWarning text when the coefficients grew so large that X's dtype cannot
    resolve the margins, else None.

    The rounding of x_i·w in X's dtype is bounded by eps · max|x| · ‖w‖₁; above
    :data:`MARGIN_ROUNDING_LIMIT` the gradient the solver measured (in that dtype) can read
    below ``tol`` far from any optimum. Seen: penalty=None on separable float32 data, where
    Newton-CG's coefficients grew to 1e11 and the float32 residuals all rounded to zero,
    while the float64 gradient at that point was 28.
    """
    eps = float(np.finfo(data.dtype).eps)
    coef_l1 = float(np.max(np.abs(np.asarray(trained.coef, dtype=np.float64)).sum(axis=-1)))
    if not eps * coef_l1 > MARGIN_CHECK_FROM:
        return None
    X = data.X
    largest = float(data.backend.to_host(abs(X).max())) if hasattr(X, "toarray") else max(float(X.max()), -float(X.min()))
    bound = eps * largest * coef_l1
    if not bound > MARGIN_ROUNDING_LIMIT:
        return None
    return (
        f"the coefficients grew to an L1 norm of {coef_l1:.3g}, where {data.dtype} rounds the margins x·w by up to "
        f"{bound:.3g}: the gradient measured in {data.dtype}, which met tol, cannot be trusted there. The classes "
        "may be separable: use a penalty (a finite C), or float64 data."
    )


def convergence_message(plan, trained, data=None):
    """The ConvergenceWarning text when some sub-problem did not converge, else None.

    It names the solver, how it stopped, the optimality it reached against
    ``tol``, and the advice that fits how it stopped, the data (its scale and
    dtype, when ``data``, the :class:`~fastlr.training_data.TrainingData`, is
    given) and the settings: never the solver or optimizer already in use.
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
    advice = [spec.advice.get(worst.stop_reason, spec.advice["max_iter"]), *_situation_advice(plan, worst, data)]
    problems = f" ({len(failed)} of {len(trained.results)} problems)" if len(trained.results) > 1 else ""
    alias = f" (for solver={plan.requested_solver!r})" if plan.requested_solver not in ("", "auto", spec.name) else ""
    return (
        f"{sklearn_sentence(plan.requested_solver, worst.n_iter)}"
        f"fastlr solver {spec.name!r}{alias} {how}{problems}: the optimality measure is {worst.optimality:.3g}, "
        f"above tol={options.tol}; {'; '.join(advice)}."
    )
