"""Time to scikit-learn's optimum: every solver of :data:`fastlr.bench.workloads.OPTIMUM_SOLVERS`, raced.

On ``make_classification(*OPTIMUM_SHAPE)`` in each dtype (binary, or with K classes
the softmax), C = 1, tol = 1e-6:
each solver fits once on ``OPTIMUM_WARMUP_ROWS`` rows (JIT compilation, thread
start-up), then the solvers take turns, one fit each per round, for
``rounds`` rounds, so that every solver sees the same load on a shared
machine; a solver's time is its median. Its model's gap (J − J*)/|J*| uses
scikit-learn's objective J and its best J* (newton-cholesky to tol 1e-10, in
float64). ``speedup`` is the time of the fastest scikit-learn solver in that
dtype over the solver's. Peers that are not installed are skipped with the
reason.
"""

import statistics
import time

from fastlr.bench import workloads


def race(solvers=None, dtypes=("float64",), rounds=5, progress=print, n_classes=2) -> tuple:
    """(rows, notes): one row per (dtype, solver) that ran; a note per solver that could not.
    ``n_classes`` > 2 races the softmax (every solver's multinomial model) instead."""
    names = list(solvers or workloads.OPTIMUM_SOLVERS)
    rows, notes = [], []
    for dtype in dtypes:
        X, y = workloads.make_optimum_problem(dtype, n_classes)
        best = workloads.reference_objective(X, y)
        runnable = []
        for name in names:
            solve = workloads.OPTIMUM_SOLVERS[name]
            try:
                solve(X[: workloads.OPTIMUM_WARMUP_ROWS], y[: workloads.OPTIMUM_WARMUP_ROWS])
            except workloads.SkipCase as skip:
                notes.append(f"{name}: {skip}")
                continue
            runnable.append(name)
        seconds = {name: [] for name in runnable}
        models = {}
        for round_index in range(rounds):
            for name in runnable:
                start = time.perf_counter()
                models[name] = workloads.OPTIMUM_SOLVERS[name](X, y)
                seconds[name].append(time.perf_counter() - start)
            progress(f"{dtype}: round {round_index + 1}/{rounds} done")
        for name in runnable:
            rows.append({
                "solver": name,
                "dtype": dtype,
                "classes": n_classes,
                "seconds": statistics.median(seconds[name]),
                "all_seconds": seconds[name],
                "iterations": int(max(models[name].n_iter_)),
                "relative_gap": workloads.relative_gap(models[name], X, y, best),
            })
    _add_speedups(rows)
    return rows, list(dict.fromkeys(notes))


def _add_speedups(rows) -> None:
    for row in rows:
        sklearn = [r["seconds"] for r in rows if r["dtype"] == row["dtype"] and r["solver"].startswith("sklearn-")]
        row["speedup_vs_fastest_sklearn"] = min(sklearn) / row["seconds"] if sklearn else None


def markdown_table(rows) -> str:
    lines = [
        "| solver | dtype | time [s] | iterations | gap to scikit-learn's best | × fastest scikit-learn |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        speedup = "" if r["speedup_vs_fastest_sklearn"] is None else f"{r['speedup_vs_fastest_sklearn']:.2f}"
        lines.append(
            f"| {r['solver']} | {r['dtype']} | {r['seconds']:.3f} | {r['iterations']} | {r['relative_gap']:.1e} | {speedup} |"
        )
    return "\n".join(lines)
