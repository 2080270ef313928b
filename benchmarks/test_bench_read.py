"""pytest-benchmark: the roof, reading all of X once by BLAS gemv and by NumPy's sum (one thread, every core)."""

import pytest

from fastlr.bench import workloads


@pytest.mark.parametrize("probe", list(workloads.READ_PROBES))
def test_read(benchmark_read, probe):
    benchmark_read(probe)
