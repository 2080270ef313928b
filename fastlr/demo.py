"""The demo: fit generated data on every backend usable here and compare.

Run it with ``python -m fastlr.demo`` (or ``fastlr demo``). Each backend fits
the same data to the same tolerance; the table shows the time per fit (JIT
compilation excluded by a warm-up fit), the speed-up over NumPy, and how far
each optimum is from scikit-learn's.
"""

import argparse
import time

from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression

import fastlr
from fastlr.bench.reference import relative_gap, sklearn_objective

# The python backend loops in the interpreter: give it a slice it finishes in seconds.
PYTHON_BACKEND_MAX_ROWS = 2_000


def _time_fit(X, y, **params):
    start = time.perf_counter()
    model = fastlr.fit(X, y, **params)
    return model, time.perf_counter() - start


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
        _time_fit(X_b[:1000], y_b[:1000], backend=backend, solver="lbfgs", C=C, tol=tol)  # warm-up / JIT
        model, seconds = _time_fit(X_b, y_b, backend=backend, solver="lbfgs", C=C, tol=tol)
        gap = "n/a (subset)"
        if backend != "python":
            gap = f"{relative_gap(sklearn_objective(X, y, model.coef_, model.intercept_, C), best):.1e}"
        rows.append((backend, len(X_b), int(model.n_iter_[0]), seconds, gap))
    numpy_time = next(seconds for backend, _, _, seconds, _ in rows if backend == "numpy")
    print(f"fastlr demo: L-BFGS to tol={tol} on make_classification({n_samples}, {n_features}), C={C}")
    print(f"{'backend':<16}{'rows':>10}{'iters':>7}{'time [s]':>11}{'vs numpy':>10}  gap to sklearn")
    for backend, n_rows, n_iter, seconds, gap in rows:
        speedup = f"{numpy_time / seconds:.2f}x" if n_rows == n_samples else "-"
        print(f"{backend:<16}{n_rows:>10}{n_iter:>7}{seconds:>11.4f}{speedup:>10}  {gap}")
    return rows


def main(argv=None, prog="python -m fastlr.demo"):
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200_000)
    parser.add_argument("--features", type=int, default=50)
    args = parser.parse_args(argv)
    run(n_samples=args.samples, n_features=args.features)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
