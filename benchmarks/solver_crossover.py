"""Which binary solver reaches scikit-learn's optimum first, over a grid of narrow shapes.

On ``make_classification(m, n)`` (C = 1, tol = 1e-6, the default backend) each
fastlr solver of :data:`SOLVERS` and the :data:`PEERS` (scikit-learn's
``newton-cholesky``, its solver for tall, narrow data, and scikit-learn-intelex's
lbfgs, skipped with the reason where it is not installed) fit once first (JIT compilation, thread start-up),
then take turns, one fit each per round, the order rotated round by round;
each reports its median time and its gap to scikit-learn's best objective.
For every shape the record says which fastlr solver was fastest, what
``solver="auto"`` (:func:`fastlr.solvers.auto_solver`) picks there and the
ratio of the two: the figures behind ``config.AUTO_NEWTON_MAX_PARAMETERS`` and
``config.AUTO_NEWTON_MAX_ELEMENTS``.

    python benchmarks/solver_crossover.py [--rounds 7] [--dtype float64 float32] [--output FILE]

About 3 minutes on the 2-core Zen 3 VM with the defaults.
"""

import argparse
import importlib.metadata
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression

import fastlr
from fastlr.bench.reference import relative_gap, sklearn_objective
from fastlr.bench.report import machine
from fastlr.bench.workloads import SkipCase, sklearnex_estimator
from fastlr.outputs import write_json
from fastlr.solvers import auto_solver

TOL = 1e-6
REFERENCE_TOL = 1e-10
SOLVERS = ("newton", "newton-cg", "lbfgs")
PEERS = {
    "sklearn-newton-cholesky": lambda: SklearnLogisticRegression(solver="newton-cholesky", tol=TOL, max_iter=10_000),
    "sklearnex-lbfgs": lambda: sklearnex_estimator()(solver="lbfgs", tol=TOL, max_iter=10_000),
}
ROWS = (500, 2_000, 10_000, 30_000, 100_000)
FEATURES = (5, 10, 20, 30, 50)


def dataset(m, n, dtype, seed=0):
    X, y = make_classification(m, n, n_informative=min(n - 1, 10), n_redundant=0, random_state=seed)
    return X.astype(dtype), y


def peer_versions(peers):
    """The installed versions of the packages behind ``peers`` (for the record)."""
    packages = {"sklearn": "scikit-learn", "sklearnex": "scikit-learn-intelex"}
    return {packages[name.split("-")[0]]: importlib.metadata.version(packages[name.split("-")[0]]) for name in peers}


def installed_peers():
    """(names of the :data:`PEERS` that run here, a note for each that does not)."""
    names, notes = [], []
    for name, make in PEERS.items():
        try:
            make()
        except SkipCase as skip:
            notes.append(f"{name}: {skip}")
        else:
            names.append(name)
    return names, notes


def fits(X, y, peers):
    """name -> fit(); fastlr's solvers and the ``peers``, all at tol = :data:`TOL`."""
    table = {solver: (lambda s=solver: fastlr.fit(X, y, solver=s, tol=TOL)) for solver in SOLVERS}
    table.update({name: (lambda make=PEERS[name]: make().fit(X, y)) for name in peers})
    return table


def race(shape, dtype, rounds, peers):
    """The record's row for one shape: median milliseconds and gap per implementation."""
    m, n = shape
    X, y = dataset(m, n, dtype)
    X64 = X.astype(np.float64)
    reference = SklearnLogisticRegression(solver="newton-cholesky", tol=REFERENCE_TOL, max_iter=10_000).fit(X64, y)
    best = sklearn_objective(X64, y, reference.coef_, reference.intercept_, 1.0)
    table = fits(X, y, peers)
    models = {name: fit() for name, fit in table.items()}  # compile outside the timing
    seconds = {name: [] for name in table}
    names = list(table)
    for r in range(rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            start = time.perf_counter()
            models[name] = table[name]()
            seconds[name].append(time.perf_counter() - start)
    milliseconds = {name: 1e3 * statistics.median(values) for name, values in seconds.items()}
    gaps = {name: relative_gap(sklearn_objective(X64, y, np.asarray(model.coef_, np.float64),
                                                 np.asarray(model.intercept_, np.float64), 1.0), best)
            for name, model in models.items()}
    fastest = min(SOLVERS, key=milliseconds.get)
    picked = auto_solver("l2", m, n, 1)
    return {"m": m, "n": n, "dtype": dtype, "milliseconds": milliseconds, "relative_gap": gaps,
            "fastest_fastlr": fastest, "auto": picked, "auto_over_fastest": milliseconds[picked] / milliseconds[fastest],
            "fastest_peer_over_auto": min(milliseconds[name] for name in peers) / milliseconds[picked]}


def markdown_table(rows, peers) -> str:
    names = (*SOLVERS, *peers)
    head = ("| m | n | dtype | " + " | ".join(f"{name} [ms]" for name in names)
            + " | auto picks | auto ÷ fastest | fastest peer ÷ auto |")
    lines = [head, "|" + "---:|" * (3 + len(names)) + "---|---:|---:|"]
    for row in rows:
        times = " | ".join(f"{row['milliseconds'][name]:.1f}" for name in names)
        lines.append(f"| {row['m']} | {row['n']} | {row['dtype']} | {times} | {row['auto']} | "
                     f"{row['auto_over_fastest']:.2f} | {row['fastest_peer_over_auto']:.2f} |")
    return "\n".join(lines)


def main(argv=None) -> list:
    parser = argparse.ArgumentParser(prog="python benchmarks/solver_crossover.py", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="fits per implementation and shape (default: %(default)s)")
    parser.add_argument("--dtype", nargs="+", default=["float64", "float32"], choices=["float64", "float32"])
    parser.add_argument("--rows", type=int, nargs="+", default=list(ROWS))
    parser.add_argument("--features", type=int, nargs="+", default=list(FEATURES))
    parser.add_argument("--output", type=Path, help="also write the record as JSON here")
    args = parser.parse_args(argv)
    peers, notes = installed_peers()
    for note in notes:
        print(f"skipped: {note}", file=sys.stderr)
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a stalled fit shows in its gap
        for dtype in args.dtype:
            for m in args.rows:
                for n in args.features:
                    rows.append(race((m, n), dtype, args.rounds, peers))
                    print(f"{m} x {n} {dtype}: done", file=sys.stderr)
    print(markdown_table(rows, peers))
    if args.output is not None:
        write_json(args.output, {"tol": TOL, "rounds": args.rounds, "machine": machine(), "peers": peer_versions(peers),
                                 "skipped": notes, "rows": rows}, indent=2)
    return rows


if __name__ == "__main__":
    main()
