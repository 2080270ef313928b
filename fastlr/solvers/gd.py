"""Gradient descent: full batch, mini-batch and stochastic, any optimizer.

``batch_size=None`` takes the gradient over all rows each iteration;
``batch_size=k`` reshuffles the rows every epoch (seeded by ``random_state``)
and steps on each block of k of them (k = 1 is SGD). With an L1 term the step
is proximal: soft-thresholding after each update.

``learning_rate="auto"`` is 1/L for the plain and momentum rules, with L the
smoothness of a batch of k rows, L(k) = (m(k−1)/(k(m−1)))·L + ((m−k)/(k(m−1)))·L_max
(Gower et al., 2019, "SGD: general analysis and improved rates"), which is L
for the full batch and L_max for single rows; the adaptive rules take their
usual defaults (AdaGrad and RMSProp 0.01, Adam 0.001).
"""

import numpy as np

from fastlr import config
from fastlr.solvers.common import (
    SolverResult,
    check_divergence,
    history_to_host,
    progress_bar,
    stalled,
    to_host,
)
from fastlr.solvers.optimizers import OPTIMIZERS
from fastlr.solvers.schedules import SCHEDULES

_HINT = "lower learning_rate (or use learning_rate='auto', or solver='lbfgs')"


def _initial_learning_rate(objective, options, optimizer_class, batch_size):
    if options.learning_rate != "auto":
        return float(options.learning_rate)
    if optimizer_class.default_learning_rate is not None:
        return optimizer_class.default_learning_rate
    L, L_max = objective.lipschitz_bounds(config.LIPSCHITZ_POWER_ITERATIONS)
    m = objective.X.shape[0]
    k = min(batch_size, m)
    if m > 1:
        L = (m * (k - 1)) / (k * (m - 1)) * L + (m - k) / (k * (m - 1)) * L_max
    return 1.0 / L


def gradient_descent(objective, theta0, options, validation=None):
    """Minimise F from θ₀; see the module docstring for the variants.

    Parameters
    ----------
    objective : fastlr.objective.Objective
    theta0 : array of shape (n_params,)
    options : fastlr.solvers.common.SolverOptions
    validation : Objective or None
        Held-out rows for ``early_stopping`` (stochastic variants): the epoch
        score is then their loss and the best θ seen is returned.
    """
    xp = objective.xp
    m = objective.X.shape[0]
    batch_size = m if options.batch_size is None else min(int(options.batch_size), m)
    optimizer_class = OPTIMIZERS[options.optimizer]
    alpha0 = _initial_learning_rate(objective, options, optimizer_class, batch_size)
    schedule = SCHEDULES[options.schedule]
    theta = xp.asarray(theta0, dtype=xp.float64)
    optimizer = optimizer_class(xp, theta)

    def learning_rate(t):
        return schedule(alpha0, t, options.decay, options.decay_every)

    if batch_size >= m and validation is None:
        return _full_batch(objective, theta, optimizer, learning_rate, options)
    return _mini_batch(objective, theta, optimizer, learning_rate, options, batch_size, validation)


def _full_batch(objective, theta, optimizer, learning_rate, options):
    history = []
    first_cost = previous_cost = None
    converged = False
    iteration = 0
    with progress_bar(options, options.max_iter) as bar:
        for iteration in range(options.max_iter):
            smooth, gradient = objective.value_and_gradient(theta)
            history.append(objective.full_value(smooth, theta))
            # On a GPU each float() waits for the device: look only every few steps.
            if iteration % options.check_every == 0:
                cost = float(history[-1])
                first_cost = cost if first_cost is None else first_cost
                check_divergence(cost, first_cost, iteration, "gradient descent", _HINT)
                bar.set_postfix(cost=f"{cost:.6g}", refresh=False)
                if float(objective.optimality(theta, gradient)) <= options.tol or (
                    previous_cost is not None and stalled(previous_cost, cost)
                ):
                    converged = True
                    break
                previous_cost = cost
            theta, step = optimizer.step(theta, gradient, learning_rate(iteration))
            theta = objective.prox(theta, step)
            bar.update()
        else:
            iteration = options.max_iter
    history = history_to_host(objective, history)
    check_divergence(history[-1], history[0], iteration, "gradient descent", _HINT)
    return SolverResult(to_host(objective, theta), iteration, converged, history)


def _mini_batch(objective, theta, optimizer, learning_rate, options, batch_size, validation):
    xp = objective.xp
    m = objective.X.shape[0]
    rng = np.random.default_rng(options.random_state)
    history = []
    best_score, best_theta, epochs_without_progress = np.inf, theta, 0
    converged = False
    epoch = 0
    with progress_bar(options, options.max_iter) as bar:
        for epoch in range(1, options.max_iter + 1):
            # One permutation of indices per epoch; each batch gathers only its rows.
            order = xp.asarray(rng.permutation(m))
            alpha = learning_rate(epoch - 1)
            epoch_cost = 0.0
            for start in range(0, m, batch_size):
                rows = order[start : start + batch_size]
                smooth, gradient = objective.value_and_gradient(theta, rows)
                epoch_cost += smooth * len(rows)
                theta, step = optimizer.step(theta, gradient, alpha)
                theta = objective.prox(theta, step)
            cost = float(objective.full_value(epoch_cost / m, theta))
            history.append(cost)
            check_divergence(cost, history[0], epoch, "stochastic gradient descent", _HINT)
            score = cost if validation is None else float(validation.full_value(validation.value(theta), theta))
            bar.set_postfix(cost=f"{cost:.6g}", refresh=False)
            bar.update()
            if score < best_score - options.tol:
                epochs_without_progress = 0
            else:
                epochs_without_progress += 1
            if score < best_score:
                best_score, best_theta = score, theta
            if epochs_without_progress >= options.n_iter_no_change:
                converged = True
                break
    final = best_theta if validation is not None else theta
    return SolverResult(to_host(objective, final), epoch, converged, history)
