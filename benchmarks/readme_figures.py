"""The README's figures, at full size, in one command (run it on a quiet machine):

    python benchmarks/readme_figures.py --output docs/figures

1. ``fastlr bench`` in float32 and float64, m = 10³ … 10⁷, n = 50, every usable
   backend and peer: ``bench.json`` and ``bench.png`` (the roofline), and the
   table on standard output.
2. Time to optimum on make_classification(500 000, 100), C = 1, tol = 1e-6:
   fastlr's Newton and L-BFGS on numba-parallel against scikit-learn's lbfgs and
   newton-cholesky, each with its median time over repeated fits and its
   relative objective gap to scikit-learn's best: ``time_to_optimum.json`` and
   a Markdown table on standard output.

``--quick`` runs the same at small sizes (``FASTLR_BENCH_QUICK=1``), to check
the script, not to measure. asv runs both workloads too (``asv_kernels``,
``asv_fit``, ``asv_time_to_optimum``).
"""

import argparse
import json
import os
from functools import partial
from pathlib import Path

from fastlr.bench import command, timing, workloads


def race_to_optimum(policy) -> list:
    """One row per solver of ``workloads.OPTIMUM_SOLVERS``: median seconds per fit, gap, iterations."""
    X, y = workloads.make_optimum_problem()
    best = workloads.reference_objective(X, y)
    rows = []
    for name, solve in workloads.OPTIMUM_SOLVERS.items():
        solve(X[: workloads.WARMUP_ROWS], y[: workloads.WARMUP_ROWS])  # JIT warm-up
        seconds = timing.measure(partial(solve, X, y), policy)
        model = solve(X, y)
        rows.append(
            {
                "solver": name,
                "seconds": seconds,
                "relative_gap": workloads.relative_gap(model, X, y, best),
                "iterations": int(max(model.n_iter_)),
            }
        )
    return rows


def markdown_table(rows) -> str:
    lines = ["| solver | time [s] | iterations | gap to scikit-learn's best |", "|---|---:|---:|---:|"]
    lines += [f"| {r['solver']} | {r['seconds']:.3f} | {r['iterations']} | {r['relative_gap']:.1e} |" for r in rows]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/readme_figures.py", description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=Path("out/readme"), help="(default: %(default)s)")
    parser.add_argument("--quick", action="store_true", help="small sizes: check the script, do not measure")
    args = parser.parse_args(argv)
    if args.quick:
        os.environ["FASTLR_BENCH_QUICK"] = "1"  # read by fastlr.bench_data each time it sizes a workload
    quick = workloads.quick_mode()
    bench_parser = argparse.ArgumentParser()
    command.configure_parser(bench_parser)
    bench_args = ["--dtype", *workloads.DTYPES, "--output", str(args.output), *(["--quick"] if quick else [])]
    status = command.main(bench_parser.parse_args(bench_args))
    if status != 0:
        return status
    rows = race_to_optimum(timing.timing_policy(quick))
    (args.output / "time_to_optimum.json").write_text(json.dumps(rows, indent=2) + "\n")
    shape = workloads.QUICK_OPTIMUM_SHAPE if quick else workloads.OPTIMUM_SHAPE
    print(f"\nTime to optimum, make_classification{shape}, C={workloads.FIT_C}, tol={workloads.FIT_TOL}:")
    print(markdown_table(rows))
    print(f"wrote {args.output / 'time_to_optimum.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
