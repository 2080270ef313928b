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

Mini-batch and stochastic descent stop when the epoch's score (F on all
rows, or with early stopping the loss on held-out rows) has improved by less
than ``tol`` for ``n_iter_no_change`` epochs; whether that is convergence is
then decided by the full gradient at the returned point, as for every solver.
"""

import numpy as np

from fastlr import config
from fastlr.solvers.optimizers import OPTIMIZERS
from fastlr.solvers.schedules import SCHEDULES

def divergence_hint(options):
    """What to tell a user whose descent diverged: never to use the setting that just diverged."""
    alternative = "solver='lbfgs' (solver='fista' with L1)"
    if options.learning_rate == "auto":
        return (f"set a learning_rate below the automatic one, standardize the features (sklearn's StandardScaler), "
                f"or use {alternative}")
    return f"lower learning_rate (or use learning_rate='auto', or {alternative})"


def _initial_learning_rate(objective, options, optimizer_class, batch_size):
    if options.learning_rate != "auto":
        return float(options.learning_rate)
    if optimizer_class.default_learning_rate is not None:
        return optimizer_class.default_learning_rate
    L, L_max = objective.lipschitz_bounds(config.LIPSCHITZ_POWER_ITERATIONS)
    m = objective.n_samples
    k = min(batch_size, m)
    if m > 1:
        L = (m * (k - 1)) / (k * (m - 1)) * L + (m - k) / (k * (m - 1)) * L_max
    return 1.0 / L


def gradient_descent(objective, theta0, options, record, validation=None):
    """Minimise F from θ₀; see the module docstring for the variants.

    Parameters
    ----------
    objective : fastlr.objective.Objective
    theta0 : array of shape (n_params,)
    options : fastlr.solvers.SolverOptions
    record : fastlr.solvers.record.IterationRecord
    validation : Objective or None
        Held-out rows for ``early_stopping`` (stochastic variants): the epoch
        score is then their loss and the best θ seen is returned.
    """
    xp = objective.xp
    m = objective.n_samples
    batch_size = m if options.batch_size is None else min(int(options.batch_size), m)
    optimizer_class = OPTIMIZERS[options.optimizer]
    alpha0 = _initial_learning_rate(objective, options, optimizer_class, batch_size)
    schedule = SCHEDULES[options.schedule]
    theta = xp.asarray(theta0, dtype=xp.float64)
    optimizer = optimizer_class(xp, theta)

    def learning_rate(t):
        return schedule(alpha0, t, options.decay, options.decay_every)

    if batch_size >= m and validation is None:
        return _full_batch(objective, theta, optimizer, learning_rate, record)
    return _mini_batch(objective, theta, optimizer, learning_rate, options, batch_size, validation, record)


def _full_batch(objective, theta, optimizer, learning_rate, record):
    smooth, gradient = objective.value_and_gradient(theta)
    record.start(objective.full_value(smooth, theta), objective.optimality(theta, gradient), theta=theta)
    while not record.done:
        theta, step = optimizer.step(theta, gradient, learning_rate(record.n_iter))
        theta = objective.prox(theta, step)
        smooth, gradient = objective.value_and_gradient(theta)
        record.step(objective.full_value(smooth, theta), objective.optimality(theta, gradient), theta=theta)
    return record.finish(theta)


def _mini_batch(objective, theta, optimizer, learning_rate, options, batch_size, validation, record):
    xp = objective.xp
    m = objective.n_samples
    rng = np.random.default_rng(options.random_state)

    def score(point):
        scored = objective if validation is None else validation
        return float(scored.full_value(scored.value(point), point))

    record.start(objective.full_value(objective.value(theta), theta), theta=theta)
    best_score, best_theta, epochs_without_progress = score(theta), theta, 0
    while not record.done:
        # One permutation of indices per epoch; each batch gathers only its rows.
        order = xp.asarray(rng.permutation(m))
        alpha = learning_rate(record.n_iter)
        for start in range(0, m, batch_size):
            batch = objective.subset(order[start : start + batch_size])
            _, gradient = batch.value_and_gradient(theta)
            theta, step = optimizer.step(theta, gradient, alpha)
            theta = objective.prox(theta, step)
        cost = objective.full_value(objective.value(theta), theta)
        epoch_score = float(cost) if validation is None else score(theta)
        epochs_without_progress = 0 if epoch_score < best_score - options.tol else epochs_without_progress + 1
        if epoch_score < best_score:
            best_score, best_theta = epoch_score, theta
        if not record.step(cost, theta=theta) and epochs_without_progress >= options.n_iter_no_change:
            record.stop("no_improvement")
    final = best_theta if validation is not None else theta
    _, gradient = objective.value_and_gradient(final)
    return record.finish(final, objective.optimality(final, gradient))
