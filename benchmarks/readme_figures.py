"""The README's figures, at full size, in one command (run it on a quiet machine):

    python benchmarks/readme_figures.py --output docs/figures

1. ``fastlr bench`` in float32 and float64, m = 10³ … 10⁷, n = 50, every usable
   backend and peer: ``bench.json`` and ``bench.png`` (the roofline), and the
   table on standard output.
2. Time to optimum on make_classification(500 000, 100), C = 1, tol = 1e-6, in
   float64 and float32 (:mod:`fastlr.bench.optimum`): fastlr's solvers on
   numba-parallel against scikit-learn's lbfgs and newton-cholesky and
   scikit-learn-intelex where it is installed, interleaved, each with its
   median time and its relative objective gap to scikit-learn's best:
   ``time_to_optimum.json`` and a Markdown table on standard output.

``--quick`` runs the same at small sizes (``FASTLR_BENCH_QUICK=1``), to check
the script, not to measure. asv runs both workloads too (``asv_kernels``,
``asv_fit``, ``asv_time_to_optimum``).
"""

import argparse
import json
import os
from pathlib import Path

from fastlr.bench import command, optimum, workloads


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
    rows, notes = optimum.race(dtypes=workloads.DTYPES, rounds=1 if quick else 5)
    for note in notes:
        print(f"skipped: {note}")
    (args.output / "time_to_optimum.json").write_text(json.dumps(rows, indent=2) + "\n")
    shape = workloads.QUICK_OPTIMUM_SHAPE if quick else workloads.OPTIMUM_SHAPE
    print(f"\nTime to optimum, make_classification{shape}, C={workloads.FIT_C}, tol={workloads.FIT_TOL}:")
    print(optimum.markdown_table(rows))
    print(f"wrote {args.output / 'time_to_optimum.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
