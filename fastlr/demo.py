"""The demo: fit generated data on every backend usable here and compare.

Run it with ``python -m fastlr.demo`` (or ``fastlr demo``). Each backend fits
the same data to the same tolerance, twice: the first fit is this process's
first call of that backend's kernels, so it includes their compilation (or
loading them from Numba's disk cache), which the table reports in a column
of its own; the second, identical fit is the time per fit, and the speed-up
over NumPy is taken from it. The last column says how far each optimum is
from scikit-learn's.
"""

import argparse

from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression

import fastlr
from fastlr.bench.reference import relative_gap, sklearn_objective
from fastlr.warmup import timed

# The python backend loops in the interpreter: give it a slice it finishes in seconds.
PYTHON_BACKEND_MAX_ROWS = 2_000


def run(n_samples=200_000, n_features=50, C=1.0, tol=1e-6, seed=0):
    X, y = make_classification(
        n_samples=n_samples, n_features=n_features, n_informative=max(2, n_features // 2), n_redundant=0,
        n_clusters_per_class=1, random_state=seed,
    )
    reference = SklearnLogisticRegression(C=C, tol=1e-10, max_iter=10_000).fit(X, y)
    best = sklearn_objective(X, y, reference.coef_, reference.intercept_, C)
    rows = []
    for backend in fastlr.available_backends():
        X_b, y_b = (X, y) if backend != "python" else (X[:PYTHON_BACKEND_MAX_ROWS], y[:PYTHON_BACKEND_MAX_ROWS])

        def fit_once():
            return fastlr.fit(X_b, y_b, backend=backend, solver="lbfgs", C=C, tol=tol)

        _, first = timed(fit_once)  # the same call as the timed one: every path it takes is compiled here
        model, again = timed(fit_once)
        gap = "n/a (subset)"
        if backend != "python":
            gap = f"{relative_gap(sklearn_objective(X, y, model.coef_, model.intercept_, C), best):.1e}"
        rows.append((backend, len(X_b), int(model.n_iter_[0]), first, again.seconds, gap))
    numpy_time = next(seconds for backend, _, _, _, seconds, _ in rows if backend == "numpy")
    print(f"fastlr demo: L-BFGS to tol={tol} on make_classification({n_samples}, {n_features}), C={C}")
    print("first fit: this process's first call, compiling included; time: the same fit again")
    print(f"{'backend':<16}{'rows':>10}{'iters':>7}{'first fit [s]':>15}{'compile [s]':>13}{'time [s]':>11}"
          f"{'vs numpy':>10}  gap to sklearn")
    for backend, n_rows, n_iter, first, seconds, gap in rows:
        speedup = f"{numpy_time / seconds:.2f}x" if n_rows == n_samples else "-"
        print(f"{backend:<16}{n_rows:>10}{n_iter:>7}{first.seconds:>15.4f}{first.compile_seconds:>13.4f}"
              f"{seconds:>11.4f}{speedup:>10}  {gap}")
    return rows


def main(argv=None, prog="python -m fastlr.demo"):
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200_000, help="rows of generated data (default: 200000)")
    parser.add_argument("--features", type=int, default=50, help="features (default: 50)")
    args = parser.parse_args(argv)
    run(n_samples=args.samples, n_features=args.features)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
