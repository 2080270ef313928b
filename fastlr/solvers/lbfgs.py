"""L-BFGS through ``scipy.optimize.minimize(method="L-BFGS-B")``.

Each evaluation is one fused ``cost_gradient`` (one pass over X); only the
n-sized θ and gradient cross between SciPy (host) and the backend. The
iteration record sees every accepted iterate through SciPy's callback and
stops SciPy (``StopIteration``) when it is done.
"""

import numpy as np
from scipy.optimize import minimize

from fastlr.solvers.record import COST_RTOL


def minimize_lbfgs(objective, theta0, options, record):
    """Minimise the smooth objective F with L-BFGS; stops when ‖∇F‖∞ ≤ tol."""
    xp = objective.xp
    last = {}

    def cost_and_gradient(theta):
        if "theta" in last and np.array_equal(theta, last["theta"]):
            return last["cost"], last["gradient"]  # SciPy starts with θ₀, evaluated below already
        smooth, gradient = objective.value_and_gradient(xp.asarray(theta))
        last.update(theta=np.array(theta), cost=float(smooth), gradient=record.to_host(gradient))
        return last["cost"], last["gradient"]

    def callback(intermediate_result):
        # SciPy's last evaluation is at the accepted iterate: its gradient gives the optimality.
        optimality = None
        if np.array_equal(intermediate_result.x, last["theta"]):
            optimality = np.abs(last["gradient"]).max()
        if record.step(float(intermediate_result.fun), optimality, theta=intermediate_result.x):
            raise StopIteration

    theta = np.asarray(theta0, dtype=np.float64)
    cost, gradient = cost_and_gradient(theta)
    if not record.start(cost, np.abs(gradient).max(), theta=theta):
        result = minimize(
            cost_and_gradient, theta, jac=True, method="L-BFGS-B", callback=callback,
            options={"maxiter": options.max_iter, "gtol": options.tol, "ftol": COST_RTOL, "maxls": 50},
        )
        # SciPy may stop on its own: the gradient test, or no decrease left (ftol, a failed line search).
        record.stop("stalled")
        theta = np.asarray(result.x, dtype=np.float64)
        gradient = cost_and_gradient(theta)[1]
    return record.finish(theta, np.abs(gradient).max())
