"""The registry, the resolver, registration of new backends and the scoped default."""

import importlib.util

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.preprocessing import StandardScaler

import fastlr
from fastlr.dispatch import BACKENDS
from fastlr.kernels.base import Backend, KernelInputError


def test_unknown_backend_names_the_known_ones():
    with pytest.raises(ValueError, match="unknown backend 'fortran'.*'numpy'.*'numba-parallel'"):
        fastlr.get_backend("fortran")


def test_unknown_backend_fails_in_fit_too():
    X, y = np.random.default_rng(0).standard_normal((20, 2)), np.arange(20) % 2
    with pytest.raises(ValueError, match="unknown backend"):
        fastlr.fit(X, y, backend="fortran")


def test_available_backends_are_the_usable_ones():
    available = fastlr.available_backends()
    assert {"python", "numpy"} <= set(available)
    for name in available:
        backend = fastlr.get_backend(name)
        assert isinstance(backend, Backend) and backend.name == name
        assert fastlr.get_backend(name) is backend  # loaded once


@pytest.mark.skipif(BACKENDS["cupy"].unavailable_reason() is None, reason="a CUDA device is visible here")
def test_cupy_without_a_device_says_why():
    with pytest.raises(fastlr.BackendUnavailableError, match="^cupy: .*(CuPy is not installed|no CUDA device)"):
        fastlr.get_backend("cupy")
    assert isinstance(fastlr.BackendUnavailableError("x"), RuntimeError)
    assert "cupy" not in fastlr.available_backends()


def test_a_backend_is_probed_once_per_process():
    """The probe (an import that may fail, a CUDA device count) runs on the first
    question only; every later one gets the same answer."""
    from fastlr.dispatch import BackendEntry

    calls = []
    entry = BackendEntry("probe-count", "counts its probes", lambda: calls.append(1) or "not here", lambda: None)
    assert [entry.unavailable_reason() for _ in range(3)] == ["not here"] * 3
    assert len(calls) == 1
    usable = BackendEntry("probe-ok", "usable", lambda: calls.append(1), lambda: None)
    assert usable.unavailable_reason() is None and usable.unavailable_reason() is None
    assert len(calls) == 2


def test_auto_picks_numba_parallel_when_numba_is_installed():
    expected = "numba-parallel" if importlib.util.find_spec("numba") else "numpy"
    assert fastlr.resolve_backend_name("auto", np.zeros((2, 2))) == expected


class Unusable(Backend):
    summary = "stands in for a backend that cannot run here"
    auto_priority = 100

    def unavailable_reason(self):
        return "no numba"


@pytest.fixture
def registered():
    """register(name, backend): registered for the test, the registry restored afterwards."""
    names = []

    def register(name, backend, replace=False):
        fastlr.register_backend(name, backend, replace=replace)
        names.append(name)

    yield register
    for name in names:
        fastlr.unregister_backend(name)


def test_auto_falls_back_to_numpy_without_numba(registered):
    registered("numba-parallel", Unusable(), replace=True)
    assert fastlr.resolve_backend_name("auto") == "numpy"
    with pytest.raises(fastlr.BackendUnavailableError, match="numba-parallel: no numba"):
        fastlr.get_backend("numba-parallel")


def test_a_replaced_builtin_comes_back_when_unregistered():
    fastlr.register_backend("numba-parallel", Unusable(), replace=True)
    fastlr.unregister_backend("numba-parallel")
    assert "numba-parallel" in fastlr.available_backends() or not importlib.util.find_spec("numba")
    with pytest.raises(ValueError, match="built-in"):
        fastlr.unregister_backend("numpy")


class ShiftedNumpy(Backend):
    """A third-party backend with only the two required hooks: NumPy's formulas,
    written here independently, for the binary and the softmax loss."""

    summary = "a test backend implementing only the required hooks"

    def _cost_gradient(self, X, y, w, b, sample_weight):
        s = np.ones(len(y)) if sample_weight is None else sample_weight
        z = X @ w + b
        r = s * (1 / (1 + np.exp(-z)) - y)
        total = s.sum()
        cost = float(s @ (np.logaddexp(0, z) - y * z)) / total
        return X.dtype.type(cost), (X.T @ r / total).astype(X.dtype), X.dtype.type(r.sum() / total)

    def _softmax_cost_gradient(self, X, y, W, b, sample_weight):
        s = np.ones(len(y)) if sample_weight is None else sample_weight
        Z = X @ W.T + b
        lse = np.logaddexp.reduce(Z, axis=1)
        P = np.exp(Z - lse[:, None])
        P[np.arange(len(y)), y] -= 1
        R = P * s[:, None]
        total = s.sum()
        cost = float(s @ (lse - (X @ W.T + b)[np.arange(len(y)), y])) / total
        return X.dtype.type(cost), (R.T @ X / total).astype(X.dtype), (R.sum(axis=0) / total).astype(X.dtype)


def test_a_registered_backend_is_usable_everywhere(registered):
    registered("shifted", ShiftedNumpy())
    assert "shifted" in fastlr.available_backends()
    assert ("shifted", True, ShiftedNumpy.summary) in fastlr.backend_report()
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    for solver in ("newton", "lbfgs", "fista"):  # newton uses the derived, generic Hessian pass
        ours = fastlr.fit(X, y, backend="shifted", solver=solver, tol=1e-8)
        reference = fastlr.fit(X, y, backend="numpy", solver=solver, tol=1e-8)
        assert ours.backend_ == "shifted"
        np.testing.assert_allclose(ours.coef_, reference.coef_, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(ours.predict_proba(X), reference.predict_proba(X), atol=1e-10)
    with fastlr.use_backend("shifted"):
        assert fastlr.fit(X, y).backend_ == "shifted"
    # auto_priority None: never picked by "auto"
    assert fastlr.resolve_backend_name("auto", X) != "shifted"


def test_register_backend_rejects_what_is_not_a_backend():
    with pytest.raises(TypeError, match="Backend instance"):
        fastlr.register_backend("module", np)
    with pytest.raises(ValueError, match="registered already"):
        fastlr.register_backend("numpy", ShiftedNumpy())
    with pytest.raises(ValueError, match="other than 'auto'"):
        fastlr.register_backend("auto", ShiftedNumpy())


def test_a_backend_without_its_required_hooks_says_so(registered):
    registered("empty", Backend())
    X = np.zeros((4, 2))
    with pytest.raises(NotImplementedError, match="'empty' does not implement _cost_gradient"):
        fastlr.get_backend("empty").cost_gradient(X, np.zeros(4), np.zeros(2), 0.0)


@pytest.mark.parametrize("backend", fastlr.available_backends())
def test_kernel_calls_check_their_shapes(backend):
    kernels = fastlr.get_backend(backend)
    X, y = np.ones((6, 3)), np.zeros(6)
    calls = {
        "w too long": lambda: kernels.decision_function(X, np.ones(4), 0.0),
        "w too short": lambda: kernels.cost_gradient(X, y, np.ones(2), 0.0),
        "y too short": lambda: kernels.cost(X, y[:5], np.ones(3), 0.0),
        "weights too long": lambda: kernels.cost_gradient(X, y, np.ones(3), 0.0, np.ones(7)),
        "1-D X": lambda: kernels.cost_gradient(X[0], y, np.ones(3), 0.0),
        "W of the wrong width": lambda: kernels.softmax_cost_gradient(X, y.astype(int), np.ones((2, 4)), np.zeros(2)),
        "b of the wrong length": lambda: kernels.softmax_cost(X, y.astype(int), np.ones((2, 3)), np.zeros(3)),
        "integer X": lambda: kernels.cost(X.astype(int), y, np.ones(3), 0.0),
    }
    for what, call in calls.items():
        with pytest.raises(KernelInputError):
            call()
            pytest.fail(f"{backend}: {what} was accepted")


def test_use_backend_sets_a_scoped_default():
    X = np.random.default_rng(0).standard_normal((40, 3))
    y = (X[:, 0] > 0).astype(int)
    with fastlr.use_backend("numpy"):
        assert fastlr.resolve_backend_name("auto") == "numpy"
        assert fastlr.fit(X, y).backend_ == "numpy"
        # an explicit backend still wins over the scoped default
        assert fastlr.fit(X, y, backend="python").backend_ == "python"
    assert fastlr.resolve_backend_name("auto") != "numpy" or not importlib.util.find_spec("numba")


def test_use_backend_rejects_unknown_names_at_entry():
    with pytest.raises(ValueError, match="unknown backend"):
        with fastlr.use_backend("nope"):
            pass


def test_backend_report_covers_every_backend():
    rows = fastlr.backend_report()
    assert [row[0] for row in rows] == list(BACKENDS)
    for name, usable, text in rows:
        assert usable == (name in fastlr.available_backends())
        assert text
