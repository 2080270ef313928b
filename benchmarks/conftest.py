"""pytest-benchmark fixtures: one seeded dataset per (m, dtype), and timed calls on it.

``dataset`` is session-scoped and parametrized, so pytest orders the tests by
dataset and holds one at a time (X at m = 10⁷ is 4 GB in float64). Every timed
call goes to the group "<operation> m=<m> <dtype>", so that one table compares
the implementations (pytest-benchmark groups by ``group`` by default), and
records bytes read and GB/s (bytes / median time) in the JSON's ``extra_info``.
"""

from pathlib import Path

import pytest
from threadpoolctl import threadpool_limits

from benchmarks import suite_grid
from fastlr.bench import workloads

SIZES = [(m, dtype) for dtype in suite_grid.dtypes() for m in suite_grid.row_counts()]


@pytest.fixture(scope="session", params=SIZES, ids=[f"m{m}_{dtype}" for m, dtype in SIZES])
def dataset(request):
    m, dtype = request.param
    return workloads.make_dataset(m, dtype=dtype)


def _run(benchmark, data, call, operation, implementation, bytes_read, rounds=None):
    """Time ``call`` (calibrated by pytest-benchmark, or exactly ``rounds`` calls)."""
    benchmark.group = f"{operation} m={data.m} {data.dtype}"
    benchmark.extra_info.update(
        operation=operation, implementation=implementation, m=data.m, n=data.X.shape[1], dtype=data.dtype,
        bytes_read=bytes_read,
    )
    with threadpool_limits(limits=workloads.blas_threads(implementation), user_api="blas"):
        if rounds is None:
            benchmark(call)
        else:
            benchmark.pedantic(call, rounds=rounds, iterations=1)
    if benchmark.stats is not None and bytes_read is not None:  # stats is None under --benchmark-disable
        benchmark.extra_info["gbps"] = bytes_read / benchmark.stats.stats.median / 1e9


@pytest.fixture
def benchmark_operation(benchmark, dataset):
    """``run(operation_name, implementation, rounds=None)``: skip (saying why) if the
    case cannot run, warm up (JIT) outside the timing, then time the operation on
    ``dataset``, in exactly ``rounds`` calls if given."""

    def run(operation_name, implementation, rounds=None):
        operation = workloads.OPERATIONS[operation_name]
        try:
            operation.check_runnable(implementation, dataset.m)
        except workloads.SkipCase as skip:
            pytest.skip(str(skip))
        operation.warm_up(implementation, dataset)
        call = operation.bind(implementation, dataset)
        _run(benchmark, dataset, call, operation_name, implementation, operation.bytes_read(dataset), rounds)

    return run


@pytest.fixture
def benchmark_read(benchmark, dataset):
    """``run(probe)``: time reading all of ``dataset.X`` once the ``probe`` way (the roof)."""

    def run(probe):
        _run(benchmark, dataset, workloads.READ_PROBES[probe](dataset), "read X", probe, dataset.X.nbytes)

    return run


def pytest_configure(config):
    """Create the folder of ``--benchmark-json`` now: pytest-benchmark writes the file
    only at the very end, and a missing folder would lose a run of many minutes."""
    path = config.getoption("benchmark_json", default=None)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
