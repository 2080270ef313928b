"""L-BFGS through ``scipy.optimize.minimize(method="L-BFGS-B")``.

Each evaluation is one fused ``cost_gradient`` (one pass over X); only the
n-sized θ and gradient cross between SciPy (host) and the backend.
"""

import numpy as np
from scipy.optimize import minimize

from fastlr.solvers.common import COST_RTOL, SolverResult, progress_bar, to_host


def minimize_lbfgs(objective, theta0, options, validation=None):
    """Minimise the smooth objective F with L-BFGS; stops when ‖∇F‖∞ ≤ tol."""
    xp = objective.xp
    history = []

    def cost_and_gradient(theta):
        smooth, gradient = objective.value_and_gradient(xp.asarray(theta))
        return float(smooth), to_host(objective, gradient)

    with progress_bar(options, options.max_iter) as bar:

        def record(intermediate_result):
            history.append(float(intermediate_result.fun))
            bar.set_postfix(cost=f"{history[-1]:.6g}", refresh=False)
            bar.update()

        result = minimize(
            cost_and_gradient,
            np.asarray(theta0, dtype=np.float64),
            jac=True,
            method="L-BFGS-B",
            callback=record,
            options={"maxiter": options.max_iter, "gtol": options.tol, "ftol": COST_RTOL, "maxls": 50},
        )
    if not history or history[-1] != float(result.fun):
        history.append(float(result.fun))
    converged = result.status == 0
    return SolverResult(np.asarray(result.x, dtype=np.float64), int(result.nit), converged, history)
