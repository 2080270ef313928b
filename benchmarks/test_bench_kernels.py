"""pytest-benchmark: sigmoid, cost, gradient and cost_gradient on every implementation."""

import pytest

from fastlr import bench_data

CASES = [
    (operation, implementation)
    for operation in bench_data.KERNEL_OPERATIONS
    for implementation in bench_data.OPERATIONS[operation].implementations()
]


@pytest.mark.parametrize(("operation", "implementation"), CASES, ids=[f"{o}-{i}" for o, i in CASES])
def test_kernel(benchmark_operation, operation, implementation):
    benchmark_operation(operation, implementation)
