"""pytest-benchmark: sigmoid, cost, gradient and cost_gradient on every implementation."""

import pytest

from fastlr.bench import workloads

CASES = [
    (operation, implementation)
    for operation in workloads.KERNEL_OPERATIONS
    for implementation in workloads.OPERATIONS[operation].implementations()
]


@pytest.mark.parametrize(("operation", "implementation"), CASES, ids=[f"{o}-{i}" for o, i in CASES])
def test_kernel(benchmark_operation, operation, implementation):
    benchmark_operation(operation, implementation)
