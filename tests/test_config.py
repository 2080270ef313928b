"""Config by binding time: runtime knobs are read at call time, compile-time ones have a way to recompile."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastlr
from fastlr import config
from fastlr.dispatch import is_usable


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 4))
    return X, (X[:, 0] + 0.5 * rng.standard_normal(300) > 0).astype(int)


def test_auto_solver_threshold_is_read_at_call_time(data, monkeypatch):
    X, y = data
    assert fastlr.fit(X, y, backend="numpy").solver_ == "newton"
    monkeypatch.setattr(config, "AUTO_NEWTON_MAX_ROWS", 299)
    assert fastlr.fit(X, y, backend="numpy").solver_ == "newton-cg"
    monkeypatch.setattr(config, "AUTO_NEWTON_CG_MAX_ELEMENTS", 100)
    assert fastlr.fit(X, y, backend="numpy").solver_ == "lbfgs"


def test_divergence_factor_is_read_at_call_time(data, monkeypatch):
    X, y = data
    fastlr.fit(X, y, backend="numpy", solver="gd", learning_rate=3.0, max_iter=50, tol=0.0)
    monkeypatch.setattr(config, "DIVERGENCE_FACTOR", 1e-3)  # any cost above 0.001 · F(θ₀) counts as diverged
    with pytest.raises(fastlr.DivergenceError, match="diverged"):
        fastlr.fit(X, y, backend="numpy", solver="gd", learning_rate=3.0, max_iter=50, tol=0.0)


def test_hessian_block_size_is_read_at_call_time(data, monkeypatch):
    X, y = data
    backend = fastlr.get_backend("numpy")
    w = np.full(4, 0.3)
    whole = backend.cost_gradient_hessian(X, y.astype(float), w, 0.1)
    monkeypatch.setattr(config, "HESSIAN_BLOCK_ROWS", 7)  # 43 blocks instead of one
    blocked = backend.cost_gradient_hessian(X, y.astype(float), w, 0.1)
    np.testing.assert_allclose(blocked[3], whole[3], rtol=1e-12)


@pytest.mark.skipif(not is_usable("numba-parallel"), reason="Numba is not installed")
def test_parallel_threshold_is_read_at_call_time(monkeypatch):
    """Rows per thread decide serial or parallel at each call: with a huge minimum,
    the serial pass runs (same numbers for a thread count of one)."""
    import numba

    backend = fastlr.get_backend("numba-parallel")
    rng = np.random.default_rng(1)
    X, y, w = rng.standard_normal((20_000, 5)), (rng.random(20_000) < 0.5).astype(float), rng.standard_normal(5)
    serial = fastlr.get_backend("numba").cost_gradient(X, y, w, 0.2)
    if numba.get_num_threads() > 1:
        parallel = backend.cost_gradient(X, y, w, 0.2)
        assert not np.array_equal(parallel[1], serial[1])  # another summation order
    monkeypatch.setattr(config, "NUMBA_MIN_ROWS_PER_THREAD", 10**9)
    np.testing.assert_array_equal(backend.cost_gradient(X, y, w, 0.2)[1], serial[1])


@pytest.mark.skipif(not is_usable("numba-parallel"), reason="Numba is not installed")
def test_fitting_in_parallel_sets_no_environment_variable():
    """Neither importing fastlr nor a pass on several threads changes the environment."""
    script = textwrap.dedent(
        """
        import os, numpy as np
        before = dict(os.environ)
        import fastlr
        fastlr.config.NUMBA_THREADS = 2
        backend = fastlr.get_backend("numba-parallel")
        rows = 2 * fastlr.config.NUMBA_MIN_ROWS_PER_THREAD
        backend.cost(np.ones((rows, 2)), np.zeros(rows), np.zeros(2), 0.0)
        print(sorted(set(os.environ.items()) ^ set(before.items())))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["[]"]


def test_clear_cache_removes_only_the_kernel_caches(tmp_path, monkeypatch):
    from fastlr.kernels import numba_build

    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    directory = numba_build.cache_directory()
    directory.mkdir(parents=True)
    kept = directory / "other_module.f-1.py311.nbi"
    doomed = [directory / "numba_common.binary_rows-120.py311.nbi", directory / "numba_serial._binary_pass-14.py311.1.nbc"]
    for path in [kept, *doomed]:
        path.write_text("")
    assert sorted(numba_build.clear_cache()) == sorted(doomed)
    assert kept.exists() and not any(path.exists() for path in doomed)
