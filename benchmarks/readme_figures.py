"""The README's figures, at full size, each part on its own (run them on a quiet machine):

    python benchmarks/readme_figures.py time-to-optimum --output docs/figures   # a few minutes
    python benchmarks/readme_figures.py roofline --output docs/figures          # ~20 minutes on 2 cores

``time-to-optimum``: time to optimum on make_classification(500 000, 100),
C = 1, tol = 1e-6, in float64 and float32 (:mod:`fastlr.bench.optimum`):
fastlr's solvers on numba-parallel against scikit-learn's lbfgs and
newton-cholesky and scikit-learn-intelex where it is installed, interleaved,
each with its median time and its relative objective gap to scikit-learn's
best: ``time_to_optimum.json`` and a Markdown table on standard output.

``roofline``: ``fastlr bench`` in float32 and float64, m = 10³ … 10⁷, n = 50,
every usable backend and peer: ``bench.json`` and ``bench.png``, and the table
on standard output.

Without a part, both run (time to optimum first). ``--quick`` runs the same at
small sizes (``FASTLR_BENCH_QUICK=1``), to check the script, not to measure.
asv runs both workloads too (``asv_kernels``, ``asv_fit``, ``asv_time_to_optimum``).
"""

import argparse
import json
import os
from pathlib import Path

from fastlr.bench import command, optimum, workloads
from fastlr.outputs import atomic_write


def race_to_optimum(quick: bool) -> list:
    """The rows of :func:`fastlr.bench.optimum.race` in both dtypes; a peer that is missing is named."""
    rows, notes = optimum.race(dtypes=workloads.DTYPES, rounds=1 if quick else 5)
    for note in notes:
        print(f"skipped: {note}")
    return rows


def run_time_to_optimum(output: Path, quick: bool) -> int:
    rows = race_to_optimum(quick)
    output.mkdir(parents=True, exist_ok=True)
    with atomic_write(output / "time_to_optimum.json") as file:
        file.write(json.dumps(rows, indent=2) + "\n")
    shape = workloads.QUICK_OPTIMUM_SHAPE if quick else workloads.OPTIMUM_SHAPE
    print(f"\nTime to optimum, make_classification{shape}, C={workloads.FIT_C}, tol={workloads.FIT_TOL}:")
    print(optimum.markdown_table(rows))
    print(f"wrote {output / 'time_to_optimum.json'}")
    return 0


def run_roofline(output: Path, quick: bool) -> int:
    bench_parser = argparse.ArgumentParser()
    command.configure_parser(bench_parser)
    bench_args = ["--dtype", *workloads.DTYPES, "--output", str(output), *(["--quick"] if quick else [])]
    return command.main(bench_parser.parse_args(bench_args))


#: The parts, in the order they run when none is named.
PARTS = {"time-to-optimum": run_time_to_optimum, "roofline": run_roofline}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/readme_figures.py", description=__doc__.splitlines()[0])
    parser.add_argument("parts", nargs="*", metavar="PART",
                        help=f"what to measure: {', '.join(PARTS)} (default: all, in this order)")
    parser.add_argument("--output", type=Path, default=Path("out/readme"), help="(default: %(default)s)")
    parser.add_argument("--quick", action="store_true", help="small sizes: check the script, do not measure")
    args = parser.parse_args(argv)
    unknown = [part for part in args.parts if part not in PARTS]
    if unknown:
        parser.error(f"unknown part {', '.join(map(repr, unknown))}; the parts are {', '.join(PARTS)}")
    if args.quick:
        os.environ["FASTLR_BENCH_QUICK"] = "1"  # read by fastlr.bench.workloads each time it sizes a workload
    quick = workloads.quick_mode()
    for name in [part for part in PARTS if part in (args.parts or PARTS)]:
        status = PARTS[name](args.output, quick)
        if status != 0:
            return status
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
