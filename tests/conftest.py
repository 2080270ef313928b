"""Shared fixtures: backends parametrized from the registry, small data sets."""

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.preprocessing import StandardScaler

from fastlr.bench.reference import sklearn_objective  # noqa: F401  (the yardstick, shared by the tests)
from fastlr.dispatch import BACKENDS


def backend_params(names=None):
    """One pytest param per registered backend, skipped (with the reason) where unusable."""
    params = []
    for name, spec in BACKENDS.items():
        if names is not None and name not in names:
            continue
        reason = spec.unavailable_reason()
        marks = [pytest.mark.skip(reason=f"{name}: {reason}")] if reason else []
        if name == "cupy":
            marks.append(pytest.mark.gpu)
        params.append(pytest.param(name, marks=marks, id=name))
    return params


ALL_BACKENDS = backend_params()
FAST_BACKENDS = backend_params(["numpy", "numba", "numba-parallel", "cupy"])


@pytest.fixture(scope="session")
def breast_cancer():
    """scikit-learn's bundled breast-cancer data, standardized: (569, 30), labels 0/1."""
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def saga_optimum(X, y, **params):
    """scikit-learn's saga run to convergence (tol=1e-15): the reference optimum for L1 and elastic net."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(solver="saga", tol=1e-15, max_iter=100_000, random_state=0, **params).fit(X, y)


def make_problem(m=300, n=7, dtype=np.float64, seed=0, scale=1.0, weighted=False):
    """A random binary problem: X (m, n), y in {0, 1}, w (n,), b, sample weights or None."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n)).astype(dtype)
    w = (scale * rng.standard_normal(n)).astype(dtype)
    b = dtype(0.3 * scale)
    y = (rng.random(m) < 0.5).astype(dtype)
    sample_weight = rng.uniform(0.1, 2.0, m).astype(dtype) if weighted else None
    return X, y, w, b, sample_weight
