"""Compile the kernels before the first fit needs them: ``fastlr warmup``.

Numba compiles each kernel at its first call, once per dtype, and keeps the
machine code on disk (:mod:`fastlr.kernels.numba_build`), so only the first
process after an install (or after clearing that cache) pays for it: about
5 s of CPU for a default fit and prediction on a 2-core Xeon, against well
under a second once the cache is there. ``fastlr warmup`` pays it ahead of
time: it fits small generated data with every solver of
:data:`fastlr.solvers.SOLVERS`, binary and (where the solver has one)
multinomial, dense and CSR, in every dtype asked for, and predicts with each
model: every pass a fit or a prediction can take. The data has enough rows for every
thread to get a range of its own, so the parallel paths run too.

:func:`timed` measures a call and the part of it Numba spent compiling; the
demo reports that part in a column of its own.
"""

import argparse
import contextlib
import time
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from fastlr import config
from fastlr.dispatch import is_usable
from fastlr.estimator import fit
from fastlr.solvers import SOLVERS

DEFAULT_BACKEND = "numba-parallel"
DTYPES = ("float64", "float32")
N_FEATURES = 10
N_CLASSES = 3
#: Iterations per warm-up fit: enough for a line search and a second evaluation.
MAX_ITER = 5


@dataclass(frozen=True)
class Timing:
    """Wall seconds of a call, and the seconds Numba spent compiling inside it."""

    seconds: float
    compile_seconds: float


@contextlib.contextmanager
def _compile_clock(total):
    """Adds to ``total[0]`` the wall time during which Numba was compiling (nested
    compilations counted once). Without Numba's event API, nothing is added."""
    try:
        from numba.core import event
    except ImportError:
        yield
        return
    with event.install_recorder("numba:compile") as recorder:
        yield
    depth, started = 0, 0.0
    for timestamp, record in recorder.buffer:
        if record.is_start:
            depth, started = depth + 1, timestamp if depth == 0 else started
        else:
            depth -= 1
            if depth == 0:
                total[0] += timestamp - started


def timed(thunk):
    """``(thunk(), Timing)``: its wall time and the part of it spent in Numba's compiler."""
    compiling = [0.0]
    # time.time(), not perf_counter: Numba stamps its compile events with time.time(), and
    # the compiling part must come from the same clock as the whole. With perf_counter a
    # call that was all compilation could report a part above its whole (a test saw it).
    start = time.time()
    with _compile_clock(compiling):
        result = thunk()
    return result, Timing(time.time() - start, compiling[0])


def rows_for_every_thread():
    """Rows that give each thread of ``numba-parallel`` a range of its own."""
    try:
        from fastlr.kernels.numba_parallel import RangeThreads

        threads = RangeThreads.count()
    except ImportError:
        threads = 1
    return 2 * max(2, threads) * config.NUMBA_MIN_ROWS_PER_THREAD


def warm_up_problems(dtype, rows, seed=0):
    """{"binary": (X, y), "multinomial": (X, y), "binary CSR": ..., "multinomial CSR": ...}:
    separable-enough generated data in ``dtype``, dense and as a CSR matrix (the sparse passes)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, N_FEATURES)).astype(dtype)
    score = X[:, 0] + 0.5 * rng.standard_normal(rows)
    labels = {"binary": (score > 0).astype(np.int64), "multinomial": np.digitize(score, np.linspace(-1, 1, N_CLASSES - 1))}
    X_csr = sparse.csr_matrix(X)
    return {**{name: (X, y) for name, y in labels.items()}, **{f"{name} CSR": (X_csr, y) for name, y in labels.items()}}


def _fit_and_predict(X, y, backend, solver):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a 5-iteration fit is not meant to converge
        model = fit(X, y, backend=backend, solver=solver, max_iter=MAX_ITER)
    model.predict(X)
    model.predict_proba(X)


def warm_up(backend=DEFAULT_BACKEND, dtypes=DTYPES, report=None):
    """Run every solver, binary and multinomial, and the predictions, on ``backend``.

    Returns ``[(dtype, problem, solver, Timing), ...]``; ``report`` (e.g. ``print``)
    gets one line per fit as it finishes.
    """
    rows = rows_for_every_thread()
    steps = []
    for dtype in dtypes:
        for problem, (X, y) in warm_up_problems(dtype, rows).items():
            for name, spec in SOLVERS.items():
                if problem.startswith("multinomial") and not spec.multinomial:
                    continue
                _, timing = timed(lambda: _fit_and_predict(X, y, backend, name))
                steps.append((dtype, problem, name, timing))
                if report is not None:
                    report(f"  {dtype:<8} {problem:<16} {name:<9} {timing.seconds:7.2f} s  "
                           f"(compiling {timing.compile_seconds:.2f} s)")
    return steps


def main(argv=None, prog="python -m fastlr.warmup"):
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default=DEFAULT_BACKEND, help=f"backend to warm up (default: {DEFAULT_BACKEND})")
    parser.add_argument(
        "--dtype", nargs="+", choices=DTYPES, default=list(DTYPES), help="dtypes to compile for (default: both)"
    )
    args = parser.parse_args(argv)
    if not is_usable(args.backend):
        print(f"fastlr warmup: backend {args.backend!r} cannot run here; nothing to compile")
        return 0
    print(f"fastlr warmup: every solver and prediction on {args.backend}, {rows_for_every_thread()} rows "
          f"x {N_FEATURES} features")
    steps, total = timed(lambda: warm_up(args.backend, args.dtype, report=print))
    print(f"done in {total.seconds:.1f} s, {total.compile_seconds:.1f} s of it compiling "
          f"({'nothing left to compile: the cache was warm' if total.compile_seconds < 0.05 else 'now cached on disk'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
