"""asv: a fit to a fixed tolerance, per implementation × m × dtype.

fastlr fits with ``workloads.FIT_SOLVER`` (L-BFGS) on each backend; the peer
is scikit-learn with its fastest solver here (``workloads.SKLEARN_FIT_SOLVER``).
``peakmem_fit`` is the peak resident memory of the benchmark process, so it
includes X and y (m·(n+1) values) besides what the fit allocates.
"""

from benchmarks import suite_grid
from fastlr.bench import workloads


class Fit:
    params = [workloads.OPERATIONS["fit"].implementations(), suite_grid.row_counts(), suite_grid.dtypes()]
    param_names = ["implementation", "m", "dtype"]
    # A fit at m = 10⁷ takes tens of seconds: one call per sample, no warm-up
    # rounds beyond setup's JIT warm-up, a few samples per process.
    number = 1
    repeat = (1, 3, 30.0)
    processes = 1
    warmup_time = 0
    timeout = 1800

    def setup(self, implementation, m, dtype):
        operation = workloads.OPERATIONS["fit"]
        operation.check_runnable(implementation, m)  # SkipCase, a NotImplementedError: asv skips
        data = workloads.make_dataset(m, dtype=dtype)
        operation.warm_up(implementation, data)
        self.fit = operation.bind(implementation, data)

    def time_fit(self, *params):
        self.fit()

    def peakmem_fit(self, *params):
        self.fit()
