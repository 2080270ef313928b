"""asv: time to optimum on make_classification(500 000, 100), C = 1, tol = 1e-6, float64 and float32.

Every solver of ``workloads.OPTIMUM_SOLVERS``: fastlr's on numba-parallel
(``auto``, Newton-CG, L-BFGS, Newton) against scikit-learn's lbfgs and
newton-cholesky and scikit-learn-intelex's LogisticRegression (skipped where
it is not installed). ``time_fit`` is the time of one fit; ``track_relative_gap``
is (J − J*)/|J*|, J scikit-learn's objective C·Σℓ + ½‖w‖² at the fit and J*
its value at scikit-learn's best (newton-cholesky to tol = 1e-10, computed
once per dtype in ``setup_cache``).
"""

from fastlr.bench import workloads


class TimeToOptimum:
    params = [list(workloads.OPTIMUM_SOLVERS), ["float64", "float32"]]
    param_names = ["solver", "dtype"]
    number = 1
    repeat = (1, 3, 30.0)
    processes = 1
    warmup_time = 0
    timeout = 1800

    def setup_cache(self):
        return {dtype: workloads.reference_objective(*workloads.make_optimum_problem(dtype)) for dtype in self.params[1]}

    def setup(self, best, solver, dtype):
        self.X, self.y = workloads.make_optimum_problem(dtype)
        self.solve = workloads.OPTIMUM_SOLVERS[solver]
        rows = workloads.OPTIMUM_WARMUP_ROWS
        self.solve(self.X[:rows], self.y[:rows])  # JIT warm-up; a missing peer raises SkipCase: skipped

    def time_fit(self, best, solver, dtype):
        self.solve(self.X, self.y)

    def track_relative_gap(self, best, solver, dtype):
        return workloads.relative_gap(self.solve(self.X, self.y), self.X, self.y, best[dtype])

    track_relative_gap.unit = "relative objective gap"
