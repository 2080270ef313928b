"""asv: time to optimum on make_classification(500 000, 100), C = 1, tol = 1e-6.

fastlr's Newton and L-BFGS on numba-parallel against scikit-learn's lbfgs and
newton-cholesky. ``time_fit`` is the time of one fit; ``track_relative_gap`` is
(J − J*)/|J*|, J scikit-learn's objective C·Σℓ + ½‖w‖² at the fit and J* its
value at scikit-learn's best (newton-cholesky to tol = 1e-10, computed once in
``setup_cache``).
"""

from fastlr.bench import workloads


class TimeToOptimum:
    params = [list(workloads.OPTIMUM_SOLVERS)]
    param_names = ["solver"]
    number = 1
    repeat = (1, 3, 30.0)
    processes = 1
    warmup_time = 0
    timeout = 1800

    def setup_cache(self):
        return workloads.reference_objective(*workloads.make_optimum_problem())

    def setup(self, best, solver):
        self.X, self.y = workloads.make_optimum_problem()
        self.solve = workloads.OPTIMUM_SOLVERS[solver]
        self.solve(self.X[: workloads.WARMUP_ROWS], self.y[: workloads.WARMUP_ROWS])  # JIT warm-up

    def time_fit(self, best, solver):
        self.solve(self.X, self.y)

    def track_relative_gap(self, best, solver):
        return workloads.relative_gap(self.solve(self.X, self.y), self.X, self.y, best)

    track_relative_gap.unit = "relative objective gap"
