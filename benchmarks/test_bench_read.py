"""pytest-benchmark: the roof, reading all of X once by BLAS gemv and by NumPy's sum (one thread, every core)."""

import pytest

from fastlr import bench_data


@pytest.mark.parametrize("probe", list(bench_data.READ_PROBES))
def test_read(benchmark_read, probe):
    benchmark_read(probe)
