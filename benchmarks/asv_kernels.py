"""asv: the kernels and X's read bandwidth, per implementation × m × dtype.

``Kernels.time_kernel`` is the time of one call and ``Kernels.track_gbps`` its
effective bandwidth (bytes of input read / median time); ``ReadBandwidth``
measures the roof in the same run, reading all of the same X once each way of
``workloads.READ_PROBES`` (``fastlr bench`` prints the ratio). Data
generation and JIT warm-up happen in ``setup``.
"""

from threadpoolctl import threadpool_limits

from benchmarks import suite_grid
from fastlr.bench import command, timing, workloads


class Kernels:
    params = [
        list(workloads.KERNEL_OPERATIONS),
        workloads.implementations(workloads.KERNEL_OPERATIONS),
        suite_grid.row_counts(),
        suite_grid.dtypes(),
    ]
    param_names = ["operation", "implementation", "m", "dtype"]
    timeout = 600
    # One process and a few short samples per case: the default grid's ~250
    # cases then end in minutes (README, "Benchmarks"); medians of ≥ 1 sample.
    processes = 1
    repeat = (1, 5, 2.0)

    def setup(self, operation, implementation, m, dtype):
        self.operation = workloads.OPERATIONS[operation]
        self.operation.check_runnable(implementation, m)  # SkipCase, a NotImplementedError: asv skips
        self.data = workloads.make_dataset(m, dtype=dtype)
        self.operation.warm_up(implementation, self.data)
        self.call = self.operation.bind(implementation, self.data)
        self.blas_limit = threadpool_limits(limits=workloads.blas_threads(implementation), user_api="blas")

    def teardown(self, *params):
        if hasattr(self, "blas_limit"):  # asv calls teardown after a skipped setup too
            self.blas_limit.restore_original_limits()

    def time_kernel(self, *params):
        self.call()

    def track_gbps(self, *params):
        return self.operation.bytes_read(self.data) / timing.measure(self.call, timing.timing_policy(workloads.quick_mode())) / 1e9

    track_gbps.unit = "GB/s"


class ReadBandwidth:
    """The roof: GB/s of reading all of X once, by BLAS gemv and by NumPy's sum (one thread, every core)."""

    params = [list(workloads.READ_PROBES), suite_grid.row_counts(), suite_grid.dtypes()]
    param_names = ["probe", "m", "dtype"]
    timeout = 600
    processes = 1
    repeat = (1, 5, 2.0)

    def setup(self, probe, m, dtype):
        self.data = workloads.make_dataset(m, dtype=dtype)
        self.call = workloads.READ_PROBES[probe](self.data)

    def time_read(self, *params):
        self.call()

    def track_gbps(self, *params):
        return self.data.X.nbytes / timing.measure(self.call, timing.timing_policy(workloads.quick_mode())) / 1e9

    track_gbps.unit = "GB/s"
