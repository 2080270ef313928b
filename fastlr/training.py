"""From validated arrays to fitted coefficients: binary, one-vs-rest or softmax.

The estimator validates its input and its parameters, then hands clean arrays
to :func:`train`, which builds one :class:`~fastlr.objective.Objective` per
problem, runs the chosen solver on each and assembles scikit-learn's fitted
attributes.
"""

from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np
from sklearn.model_selection import train_test_split

from fastlr.objective import Objective


@dataclass
class Problem:
    """What :func:`train` needs besides the data; built by the estimator."""

    solver: object  # fastlr.solvers.SolverSpec
    options: object  # fastlr.solvers.SolverOptions
    multinomial: bool
    C: float
    penalty: object
    l1_ratio: object
    fit_intercept: bool
    early_stopping: bool = False
    validation_fraction: float = 0.1
    random_state: object = None
    # Builds what the solver minimizes (called like Objective): Objective for
    # in-memory data, fastlr.distributed.DaskObjective for chunked (dask) data.
    objective: Callable = Objective


@dataclass
class Trained:
    coef: np.ndarray  # (1 or K, n_features), float64
    intercept: np.ndarray  # (1 or K,)
    n_iter: np.ndarray  # (1,) or (K,) for one-vs-rest
    converged: list
    cost_history: list = field(default_factory=list)  # one list of floats per problem


def _split_validation(y_index, problem):
    """Row indices (train, validation) for early stopping, stratified and seeded."""
    rows = np.arange(len(y_index))
    return train_test_split(
        rows,
        test_size=problem.validation_fraction,
        random_state=problem.random_state,
        stratify=y_index,
    )


def _objectives(kernels, X, y, sample_weight, y_index, n_classes, problem):
    """The training objective and, with early stopping, the validation one."""

    def build(rows):
        X_part, y_part, s_part = X, y, sample_weight
        if rows is not None:
            device_rows = kernels.to_device(rows)
            X_part, y_part = X[device_rows], y[device_rows]
            s_part = None if sample_weight is None else sample_weight[device_rows]
        return problem.objective(
            kernels, X_part, y_part, s_part, n_classes=n_classes, C=problem.C,
            penalty=problem.penalty, l1_ratio=problem.l1_ratio, fit_intercept=problem.fit_intercept,
        )

    if not (problem.early_stopping and problem.solver.stochastic):
        return build(None), None
    train_rows, validation_rows = _split_validation(np.asarray(kernels.to_host(y_index)), problem)
    return build(train_rows), build(validation_rows)


def _solve(kernels, X, y, sample_weight, y_index, n_classes, problem, theta0, description):
    objective, validation = _objectives(kernels, X, y, sample_weight, y_index, n_classes, problem)
    if theta0 is None:
        theta0 = np.zeros(objective.n_params)
    options = replace(problem.options, description=description, check_every=kernels.check_every)
    result = problem.solver.minimize(objective, theta0, options, validation=validation)
    return objective, result


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


def train(kernels, X, y_index, n_classes, sample_weight, problem, warm=None):
    """Fit every sub-problem and return the fitted coefficients.

    Parameters
    ----------
    kernels : module
        The backend.
    X : array of shape (n_samples, n_features)
        Validated, on the backend's device.
    y_index : array of shape (n_samples,)
        Class indices 0..n_classes-1 (host, or device for CuPy labels).
    n_classes : int
    sample_weight : array of shape (n_samples,) or None
        Validated, class weights already folded in, on the device.
    problem : Problem
    warm : (coef, intercept) or None
        Starting point for ``warm_start``.
    """
    xp = kernels.xp
    n_features = X.shape[1]
    dtype = X.dtype
    fit_intercept = problem.fit_intercept
    labels = kernels.to_device(y_index)

    if problem.multinomial:
        theta0 = None
        if warm is not None:
            coef, intercept = warm
            if n_classes == 2:  # binary form back to the two softmax rows
                coef = np.vstack([np.zeros_like(coef), coef])
                intercept = np.concatenate([np.zeros_like(intercept), intercept])
            theta0 = _theta_from(coef, intercept, fit_intercept)
        _, result = _solve(
            kernels, X, labels.astype(xp.int64), sample_weight, y_index, n_classes, problem, theta0,
            "softmax",
        )
        coef, intercept = _split_theta(result.theta, n_classes, n_features, fit_intercept)
        if n_classes == 2:  # report the equivalent binary model, as scikit-learn does
            coef, intercept = coef[1:] - coef[:1], intercept[1:] - intercept[:1]
        return Trained(coef, intercept, np.array([result.n_iter]), [result.converged], [result.cost_history])

    # Binary: one problem for class 1; one-vs-rest: one per class.
    targets = [1] if n_classes == 2 else list(range(n_classes))
    coefs, intercepts, n_iters, converged, histories = [], [], [], [], []
    for position, target in enumerate(targets):
        y_binary = (labels == target).astype(dtype)
        theta0 = None
        if warm is not None:
            theta0 = _theta_from(warm[0][position], warm[1][position], fit_intercept)
        description = "binary" if n_classes == 2 else f"class {target} vs rest"
        _, result = _solve(kernels, X, y_binary, sample_weight, y_index, 1, problem, theta0, description)
        coef, intercept = _split_theta(result.theta, 1, n_features, fit_intercept)
        coefs.append(coef[0])
        intercepts.append(intercept[0])
        n_iters.append(result.n_iter)
        converged.append(result.converged)
        histories.append(result.cost_history)
    return Trained(np.array(coefs), np.array(intercepts), np.array(n_iters), converged, histories)
