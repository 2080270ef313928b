import os

import pytest


def pytest_configure(config):
    config.addinivalue_line("markers", "thread_unsafe: scikit-learn's marker for tests that are not thread-safe")


def pytest_generate_tests(metafunc):
    """scikit-learn's ``global_random_seed``: 42, or SKLEARN_TESTS_GLOBAL_RANDOM_SEED ("all", "3", "0-9")."""
    if "global_random_seed" not in metafunc.fixturenames:
        return
    value = os.environ.get("SKLEARN_TESTS_GLOBAL_RANDOM_SEED")
    if value is None:
        seeds = [42]
    elif value == "all":
        seeds = list(range(100))
    elif "-" in value:
        start, stop = value.split("-")
        seeds = list(range(int(start), int(stop) + 1))
    else:
        seeds = [int(value)]
    metafunc.parametrize("global_random_seed", seeds)
