"""The registry, the resolver and the scoped default."""

import importlib.util

import numpy as np
import pytest

import fastlr
from fastlr.dispatch import BACKENDS


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
        assert fastlr.get_backend(name).__name__ == BACKENDS[name].module


@pytest.mark.skipif(BACKENDS["cupy"].unavailable_reason() is None, reason="a CUDA device is visible here")
def test_cupy_without_a_device_says_why():
    with pytest.raises(fastlr.BackendUnavailableError, match="^cupy: .*(CuPy is not installed|no CUDA device)"):
        fastlr.get_backend("cupy")
    assert isinstance(fastlr.BackendUnavailableError("x"), RuntimeError)
    assert "cupy" not in fastlr.available_backends()


def test_auto_picks_numba_parallel_when_numba_is_installed():
    expected = "numba-parallel" if importlib.util.find_spec("numba") else "numpy"
    assert fastlr.resolve_backend_name("auto", np.zeros((2, 2))) == expected


def test_auto_falls_back_to_numpy_without_numba(monkeypatch):
    import fastlr.dispatch as dispatch

    spec = dispatch.BACKENDS["numba-parallel"]
    monkeypatch.setitem(
        dispatch.BACKENDS, "numba-parallel", dispatch.BackendSpec(spec.name, spec.module, lambda: "no numba", "")
    )
    assert fastlr.resolve_backend_name("auto") == "numpy"


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
