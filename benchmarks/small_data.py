"""Small data, where most fits happen: fastlr's default fit against scikit-learn's solvers.

On scikit-learn's bundled breast cancer (569 × 30, binary) and digits
(1797 × 64, ten classes, softmax), both standardized, C = 1, tol = 1e-6:
fastlr's default (``backend="auto"``, ``solver="auto"``) against every
scikit-learn solver that fits the problem and scikit-learn-intelex where it
is installed (skipped with the reason otherwise). Every implementation fits
once first (JIT compilation, imports), then they take turns, one fit each per
round, so that all see the same load; each reports its median time, its gap
to scikit-learn's best objective (newton-cholesky, or lbfgs for the softmax,
at tol 1e-10) and its ratio to the fastest scikit-learn solver.

    python benchmarks/small_data.py [--rounds 20] [--output small_data.json]
"""

import argparse
import statistics
import sys
import time
import warnings
from functools import partial
from pathlib import Path

from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression
from sklearn.preprocessing import StandardScaler

import fastlr
from fastlr.bench.reference import relative_gap, sklearn_objective
from fastlr.bench.workloads import SkipCase, sklearnex_estimator
from fastlr.outputs import write_json

TOL = 1e-6
REFERENCE_TOL = 1e-10
DATASETS = {"breast_cancer": load_breast_cancer, "digits": load_digits}


def _sklearn(solver, X, y, tol=TOL):
    return SklearnLogisticRegression(solver=solver, tol=tol, max_iter=10_000).fit(X, y)


def _sklearnex(X, y):
    return sklearnex_estimator()(solver="lbfgs", tol=TOL, max_iter=10_000).fit(X, y)


def implementations(binary):
    """name -> fit(X, y); liblinear only for the binary problem (it has no softmax)."""
    table = {
        "fastlr-default": lambda X, y: fastlr.fit(X, y, tol=TOL),
        "sklearn-lbfgs": partial(_sklearn, "lbfgs"),
        "sklearn-newton-cholesky": partial(_sklearn, "newton-cholesky"),
        "sklearn-newton-cg": partial(_sklearn, "newton-cg"),
        "sklearnex-lbfgs": _sklearnex,
    }
    if binary:
        table["sklearn-liblinear"] = partial(_sklearn, "liblinear")
    return table


def race(rounds, progress=print):
    """(rows, notes): a row per (data set, implementation) that ran, a note per one that could not."""
    rows, notes = [], []
    for dataset, load in DATASETS.items():
        X, y = load(return_X_y=True)
        X = StandardScaler().fit_transform(X)
        binary = len(set(y)) == 2
        reference = _sklearn("newton-cholesky" if binary else "lbfgs", X, y, tol=REFERENCE_TOL)
        best = sklearn_objective(X, y, reference.coef_, reference.intercept_, 1.0)
        fits = {}
        for name, fit in implementations(binary).items():
            try:
                fit(X, y)  # compilation, imports, thread start-up: outside the timing
            except SkipCase as skip:
                notes.append(f"{name}: {skip}")
                continue
            fits[name] = fit
        seconds = {name: [] for name in fits}
        models = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # liblinear's, at its own stopping rule
            for _ in range(rounds):
                for name, fit in fits.items():
                    start = time.perf_counter()
                    models[name] = fit(X, y)
                    seconds[name].append(time.perf_counter() - start)
        fastest_sklearn = min(statistics.median(seconds[n]) for n in fits if n.startswith("sklearn-"))
        for name in fits:
            median = statistics.median(seconds[name])
            model = models[name]
            rows.append({
                "dataset": dataset, "implementation": name, "milliseconds": 1e3 * median,
                "relative_gap": relative_gap(sklearn_objective(X, y, model.coef_, model.intercept_, 1.0), best),
                "times_fastest_sklearn": fastest_sklearn / median,
                "solver": getattr(model, "solver_", getattr(model, "solver", "")),
            })
        progress(f"{dataset}: {rounds} rounds done")
    return rows, notes


def markdown_table(rows) -> str:
    lines = ["| data | implementation | time [ms] | gap to scikit-learn's best | fastest scikit-learn ÷ this |",
             "|---|---|---:|---:|---:|"]
    lines += [f"| {r['dataset']} | {r['implementation']} ({r['solver']}) | {r['milliseconds']:.2f} | "
              f"{r['relative_gap']:.1e} | {r['times_fastest_sklearn']:.2f} |" for r in rows]
    return "\n".join(lines)


def main(argv=None) -> list:
    parser = argparse.ArgumentParser(prog="python benchmarks/small_data.py", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="fits per implementation (default: %(default)s)")
    parser.add_argument("--output", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    rows, notes = race(args.rounds, progress=lambda text: print(text, file=sys.stderr))
    for note in notes:
        print(f"skipped: {note}", file=sys.stderr)
    print(markdown_table(rows))
    if args.output is not None:
        write_json(args.output, {"tol": TOL, "rounds": args.rounds, "rows": rows, "skipped": notes}, indent=2)
    return rows


if __name__ == "__main__":
    main()
