"""asv: the CSR kernels, the CSR read roof and a fit on a TF-IDF-like CSR (issue 12).

Data: :func:`fastlr.bench.sparse_workloads.make_dataset` (m rows × 50 000 words,
density 10⁻³; the quick stand-in under ``FASTLR_BENCH_QUICK=1``).
``SparseKernels.track_gbps`` is the CSR bytes (data + indices + indptr) over the
median time of one call, ``CsrReadRoof.track_gbps`` the same for the
roof probes: their ratio is the share of the roof. ``SparseFit`` races fastlr's
L-BFGS on every backend against scikit-learn's fastest solver on this CSR
(newton-cg); ``benchmarks/sparse_time_to_optimum.py`` measures time to the
optimum itself.
"""

from threadpoolctl import threadpool_limits

from fastlr.bench import sparse_workloads, timing, workloads


def _dataset(m):
    _, n, density = sparse_workloads.problem_size()
    return sparse_workloads.make_dataset(m, n, density=density)


class SparseKernels:
    params = [
        list(sparse_workloads.KERNEL_OPERATIONS),
        [name for name in sparse_workloads.IMPLEMENTATIONS if name != "sklearn"],
        list(sparse_workloads.row_counts()),
    ]
    param_names = ["operation", "implementation", "m"]
    timeout = 600

    def setup(self, operation, implementation, m):
        self.operation = sparse_workloads.OPERATIONS[operation]
        self.operation.check_runnable(implementation, m)  # SkipCase, a NotImplementedError: asv skips
        self.data = _dataset(m)
        self.operation.warm_up(implementation, self.data)
        self.call = self.operation.bind(implementation, self.data)
        self.blas_limit = threadpool_limits(limits=workloads.blas_threads(implementation), user_api="blas")

    def teardown(self, *params):
        if hasattr(self, "blas_limit"):
            self.blas_limit.restore_original_limits()

    def time_kernel(self, *params):
        self.call()

    def track_gbps(self, *params):
        policy = timing.timing_policy(workloads.quick_mode())
        return self.operation.bytes_read(self.data) / timing.measure(self.call, policy) / 1e9

    track_gbps.unit = "GB/s"


class CsrReadRoof:
    """The roof: GB/s of reading the three CSR arrays once (SciPy's X @ w, NumPy sums on one and every core)."""

    params = [list(sparse_workloads.READ_PROBES), list(sparse_workloads.row_counts())]
    param_names = ["probe", "m"]
    timeout = 600

    def setup(self, probe, m):
        self.data = _dataset(m)
        self.call = sparse_workloads.READ_PROBES[probe](self.data)

    def time_read(self, *params):
        self.call()

    def track_gbps(self, *params):
        return self.data.nbytes / timing.measure(self.call, timing.timing_policy(workloads.quick_mode())) / 1e9

    track_gbps.unit = "GB/s"


class SparseFit:
    params = [sparse_workloads.OPERATIONS["fit"].implementations(), list(sparse_workloads.row_counts())]
    param_names = ["implementation", "m"]
    number = 1
    repeat = (1, 3, 120.0)
    warmup_time = 0
    timeout = 1800

    def setup(self, implementation, m):
        operation = sparse_workloads.OPERATIONS["fit"]
        operation.check_runnable(implementation, m)
        data = _dataset(m)
        operation.warm_up(implementation, data)
        self.fit = operation.bind(implementation, data)

    def time_fit(self, *params):
        self.fit()

    def peakmem_fit(self, *params):
        self.fit()
