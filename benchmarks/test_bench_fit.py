"""pytest-benchmark: a fit to a fixed tolerance on every backend, and scikit-learn's."""

import pytest

from fastlr.bench import workloads

#: Fits per case, with no calibration rounds: a fit at m = 10⁷ takes tens of seconds.
FIT_ROUNDS = 3


@pytest.mark.parametrize("implementation", workloads.OPERATIONS["fit"].implementations())
def test_fit(benchmark_operation, implementation):
    benchmark_operation("fit", implementation, rounds=FIT_ROUNDS)
