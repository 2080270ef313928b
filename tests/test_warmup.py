"""``fastlr warmup`` compiles every path a fit takes; the demo's first run reports compilation apart."""

import numpy as np
import pytest
from scipy import sparse

import fastlr
from fastlr import cli, demo, warmup

numba = pytest.importorskip("numba")


def test_timed_reports_compilation_in_its_own_figure():
    @numba.njit  # a function of this test: never in the disk cache
    def first_call(x):
        return x + 1

    _, cold = warmup.timed(lambda: first_call(1.0))
    _, warm = warmup.timed(lambda: first_call(1.0))
    assert 0 < cold.compile_seconds <= cold.seconds
    assert warm.compile_seconds == 0


def test_after_warming_up_the_default_fit_compiles_nothing():
    """Warm-up on float64, then the default fit and prediction, serial and parallel sizes
    and another shape than the warm-up's: no kernel left to compile."""
    warmup.warm_up(dtypes=["float64"])
    rng = np.random.default_rng(5)
    for rows, features in [(300, 4), (20_000, 12)]:
        X = rng.standard_normal((rows, features))
        for y in [(X[:, 0] > 0).astype(int), np.digitize(X[:, 1], [-1, 0, 1])]:
            def fit_and_predict():
                model = fastlr.fit(X, y)
                return model.predict(X), model.predict_proba(X), model.decision_function(X)

            _, timing = warmup.timed(fit_and_predict)
            assert timing.compile_seconds == 0, (rows, features, len(np.unique(y)))
            X_csr = sparse.random(rows, features, density=0.3, format="csr", random_state=0)  # and on CSR
            _, timing = warmup.timed(lambda: fastlr.fit(X_csr, y).predict_proba(X_csr))
            assert timing.compile_seconds == 0, ("CSR", rows, features, len(np.unique(y)))


def test_warmup_command(capsys):
    assert cli.main(["warmup", "--dtype", "float64"]) == 0
    out = capsys.readouterr().out
    for solver in fastlr.solvers.SOLVERS:
        assert f" binary           {solver}" in out and f" binary CSR       {solver}" in out
    assert "done in" in out


def test_demo_warms_up_with_the_call_it_times(monkeypatch, capsys):
    """Each backend's first fit is the same call as the timed one, and the table has
    a first-fit and a compile column beside the time per fit."""
    calls = []
    fit = fastlr.fit

    def recording_fit(X, y, **params):
        calls.append((X, y, params))
        return fit(X, y, **params)

    monkeypatch.setattr(fastlr, "fit", recording_fit)
    rows = demo.run(n_samples=600, n_features=4)
    assert len(calls) == 2 * len(rows)
    for first, again in zip(calls[::2], calls[1::2]):
        assert first[0] is again[0] and first[1] is again[1] and first[2] == again[2]
    out = capsys.readouterr().out
    assert "first fit [s]" in out and "compile [s]" in out
    for backend, _, _, first_fit, seconds, _ in rows:
        assert first_fit.compile_seconds <= first_fit.seconds and seconds > 0
