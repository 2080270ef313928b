"""``fastlr bench``: time every kernel and the fit on each backend against the machine's read bandwidth.

For each dtype and m, the run generates one dataset
(:func:`fastlr.bench.workloads.make_dataset`), measures the roof on it, reading all
of X once each way of :data:`fastlr.bench.workloads.READ_PROBES` (``X @ w``, and
``X.sum()`` on one thread and on every core), then times each operation on each
implementation: a warm-up on a few rows first (JIT compilation), then repeated
samples, of which it keeps the median. Effective bandwidth is bytes of input
read / time, in GB/s of 10⁹ bytes (X for the cost and gradient kernels, z for
``sigmoid``); the roof is the fastest read of X at the same m and dtype, the
best sample of every probe, measured before and after the cases. A share
above 100 % is flagged (``!`` in the table, ``above_roof`` in the JSON) and
explained under the table, never printed bare: below a few MB the input sits in
cache, so "bandwidth" there is cache bandwidth (``sigmoid``, whose input is n
times smaller than X, reads from cache); otherwise the machine was busier while
the roof was read than while the kernel ran.

``--sparse`` runs the same on a TF-IDF-like CSR
(:mod:`fastlr.bench.sparse_workloads`: n = 50 000 columns, density 10⁻³ by
default): the CSR kernels of each backend, SciPy's two-pass product, and the
roof of reading the three CSR arrays once.

Writes ``bench.json`` (every row of the printed table, the settings and the
machine) and ``bench.png`` (time against m, log-log, one line per backend, the
roof as a dashed line; a bar chart per operation when only one m was run) in
``--output``. ``python -m fastlr.bench --help`` lists
the options; ``fastlr bench`` takes the same ones.
"""

import argparse
import importlib
import json
import os
import sys
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path
from typing import Callable, Mapping

from tqdm import tqdm

from fastlr.bench import optimum, sparse_workloads, workloads
from fastlr.bench.report import READ_OPERATION, format_table, make_row, plot, write_json
from fastlr.bench.timing import measure, measure_roof, roof_gbps, timing_policy
from fastlr.dispatch import BACKENDS, available_backends, is_usable, unavailable_reason
from fastlr.outputs import check_output_paths
from fastlr.threads import blas_threads_limited


@dataclass(frozen=True)
class Suite:
    """What one kind of data is benchmarked with: its operations, sizes, data and roof."""

    operations: Mapping
    implementations: list
    row_counts: tuple
    quick_row_counts: tuple
    n_features: int
    make_dataset: Callable
    read_probes: Mapping


DENSE = Suite(
    workloads.OPERATIONS, workloads.IMPLEMENTATIONS, workloads.ROW_COUNTS, workloads.QUICK_ROW_COUNTS,
    workloads.N_FEATURES, workloads.make_dataset, workloads.READ_PROBES,
)
SPARSE = Suite(
    sparse_workloads.OPERATIONS, sparse_workloads.IMPLEMENTATIONS, sparse_workloads.ROW_COUNTS,
    sparse_workloads.QUICK_ROW_COUNTS, sparse_workloads.SHAPE[1], sparse_workloads.make_dataset,
    sparse_workloads.READ_PROBES,
)


def make_plan(operations, implementations, row_counts, catalog=workloads.OPERATIONS) -> tuple:
    """({m: [(operation, implementation), ...]}, notes): the cases that can run at
    each m, and why others that were asked for cannot (``catalog``: the suite's operations)."""
    plan, notes = {}, []
    for m in row_counts:
        plan[m] = []
        for name in operations:
            operation = catalog[name]
            for implementation in implementations:
                if implementation not in operation.implementations():
                    continue
                try:
                    operation.check_runnable(implementation, m)
                except workloads.SkipCase as skip:
                    notes.append(str(skip))
                else:
                    plan[m].append((operation, implementation))
    return plan, list(dict.fromkeys(notes))


def _measure_size(data, cases, policy, progress, probes=workloads.READ_PROBES) -> list:
    """The rows of one dataset: its roof, every case on it, then the roof again.

    The roof is the best read of the input (``data.nbytes``: X, or the three CSR
    arrays) before and after the cases (each the best of several samples, one
    probe on every core): a load that comes and goes during the run lowers one
    of them, not both.
    """
    before = measure_roof(data, policy, probes)
    progress.update(len(before))
    timed = []
    for operation, implementation in cases:
        progress.set_postfix_str(f"{operation.name} {implementation} m={data.m} {data.dtype}")
        operation.warm_up(implementation, data)
        thunk = operation.bind(implementation, data)
        with blas_threads_limited(workloads.blas_threads(implementation)):
            seconds = measure(thunk, policy)
        timed.append((operation.name, implementation, seconds, operation.bytes_read(data)))
        progress.update()
    after = measure_roof(data, policy, probes)
    roof = roof_gbps(data.nbytes, before, after)
    reads = [(READ_OPERATION, probe, min(before[probe], after[probe]), data.nbytes) for probe in before]
    return [make_row(name, implementation, data, seconds, nbytes, roof)
            for name, implementation, seconds, nbytes in reads + timed]


def run(plan, n, dtypes, policy, suite=DENSE) -> list:
    """Measure every case of ``plan`` (from :func:`make_plan`) for each dtype; one :class:`Row` each.

    One dataset lives at a time (the largest X is GBs): each is generated, used
    by :func:`_measure_size` and dropped before the next.
    """
    total = len(dtypes) * sum(len(suite.read_probes) + len(cases) for cases in plan.values())
    total += len(dtypes) * len(plan) * len(suite.read_probes)  # the roof again after the cases
    rows = []
    with tqdm(total=total, desc="fastlr bench", unit="case", disable=None) as progress:
        for dtype in dtypes:
            for m, cases in plan.items():
                progress.set_postfix_str(f"generating m={m} {dtype}")
                data = suite.make_dataset(m, n, dtype)
                rows += _measure_size(data, cases, policy, progress, suite.read_probes)
    _add_speedups(rows)
    return rows


def _add_speedups(rows) -> None:
    numpy_seconds = {(r.operation, r.m, r.dtype): r.seconds for r in rows if r.backend == "numpy"}
    for row in rows:
        reference = numpy_seconds.get((row.operation, row.m, row.dtype))
        row.speedup_vs_numpy = None if reference is None else reference / row.seconds


# -- command line -------------------------------------------------------------------------
def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``fastlr bench`` to ``parser``."""
    parser.add_argument("--quick", action="store_true", help="small sizes and few samples: a check, not a measurement")
    parser.add_argument(
        "--backends", nargs="+", metavar="NAME",
        help=f"backends and peers to run (default: every usable one); known: {', '.join(workloads.IMPLEMENTATIONS)}",
    )
    parser.add_argument(
        "--operations", nargs="+", metavar="NAME",
        help=f"operations to time (default: all); known: {', '.join(workloads.OPERATIONS)}",
    )
    parser.add_argument(
        "--m", nargs="+", type=int, metavar="ROWS",
        help=f"row counts (default: {' '.join(map(str, workloads.ROW_COUNTS))}; "
        f"with --quick: {' '.join(map(str, workloads.QUICK_ROW_COUNTS))})",
    )
    parser.add_argument(
        "--n", type=int, help=f"features (default: {workloads.N_FEATURES}; with --sparse: {sparse_workloads.SHAPE[1]})"
    )
    parser.add_argument(
        "--sparse", action="store_true",
        help="a TF-IDF-like CSR instead of dense X: the CSR kernels against SciPy and the CSR read roof",
    )
    parser.add_argument(
        "--density", type=float,
        help=f"with --sparse: share of the (row, column) pairs drawn (default: {sparse_workloads.DENSITY}; "
        f"with --quick: {sparse_workloads.QUICK_DENSITY})",
    )
    parser.add_argument("--dtype", nargs="+", choices=workloads.DTYPES, default=["float64"], help="(default: float64)")
    parser.add_argument(
        "--output", type=Path, default=Path("out/bench"), help="folder for bench.json and bench.png (default: %(default)s)"
    )
    parser.add_argument("--gpu", action="store_true", help="run fastlr.bench.gpu instead (needs a CUDA device)")
    parser.add_argument(
        "--time-to-optimum", action="store_true",
        help="race the solvers to scikit-learn's optimum instead (fastlr.bench.optimum; --dtype applies)",
    )
    parser.add_argument(
        "--solvers", nargs="+", metavar="NAME",
        help=f"with --time-to-optimum: solvers to race (default: all); known: {', '.join(workloads.OPTIMUM_SOLVERS)}",
    )
    parser.add_argument("--rounds", type=int, default=5, help="with --time-to-optimum: fits per solver (default: 5)")
    parser.add_argument(
        "--classes", type=int, default=2, metavar="K",
        help="with --time-to-optimum: K > 2 races the softmax on K classes (default: 2, binary)",
    )


def _check_names(kind: str, names, known) -> None:
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"unknown {kind} {', '.join(map(repr, unknown))}; known: {', '.join(known)}")


def _suite(args) -> Suite:
    if not args.sparse:
        return DENSE
    density = args.density or (sparse_workloads.QUICK_DENSITY if args.quick else sparse_workloads.DENSITY)
    return replace(SPARSE, make_dataset=partial(sparse_workloads.make_dataset, density=density))


def _selection(args, suite=DENSE) -> tuple:
    """(operations, implementations, row counts, n, dtypes) from the arguments, each
    without repeats; ValueError on bad input."""
    operations = list(dict.fromkeys(args.operations or suite.operations))
    _check_names("operation", operations, list(suite.operations))
    usable = [*available_backends(), *(name for name in suite.implementations if name not in BACKENDS)]
    implementations = list(dict.fromkeys(args.backends or usable))
    _check_names("backend", implementations, suite.implementations)
    row_counts = sorted(set(args.m or (suite.quick_row_counts if args.quick else suite.row_counts)))
    n = suite.n_features if args.n is None else args.n
    if row_counts[0] < 1 or n < 1:
        raise ValueError("--m and --n must be positive")
    if args.sparse and args.density is not None and not 0 < args.density <= 1:
        raise ValueError("--density must be in (0, 1]")
    return operations, implementations, row_counts, n, list(dict.fromkeys(args.dtype))


def _run_gpu_experiments(args) -> int:
    """``fastlr.bench.gpu.main`` with --output, --quick and --m passed on
    (its sizes, feature counts and dtypes default to its own GPU-sized sweep)."""
    if not is_usable("cupy"):
        print(f"fastlr bench --gpu: no usable GPU: {unavailable_reason('cupy')}", file=sys.stderr)
        return 1
    try:
        experiments = importlib.import_module("fastlr.bench.gpu")
    except ModuleNotFoundError as exc:
        if exc.name != "fastlr.bench.gpu":
            raise
        print("fastlr bench --gpu: fastlr.bench.gpu is not part of this installation", file=sys.stderr)
        return 1
    argv = ["--output", str(args.output), *(["--quick"] if args.quick else [])]
    if args.m:
        argv += ["--m", *map(str, args.m)]
    return experiments.main(argv)


def _run_time_to_optimum(args) -> int:
    """:func:`fastlr.bench.optimum.race` with the chosen solvers and dtypes; a table and ``time_to_optimum.json``."""
    solvers = list(dict.fromkeys(args.solvers or workloads.OPTIMUM_SOLVERS))
    try:
        _check_names("solver", solvers, list(workloads.OPTIMUM_SOLVERS))
    except ValueError as exc:
        print(f"fastlr bench: {exc}", file=sys.stderr)
        return 2
    if args.classes < 2:
        print(f"fastlr bench: --classes must be at least 2, not {args.classes}", file=sys.stderr)
        return 2
    if args.quick:
        os.environ["FASTLR_BENCH_QUICK"] = "1"
    rows, notes = optimum.race(solvers, list(dict.fromkeys(args.dtype)), max(1, args.rounds), progress=lambda _: None,
                               n_classes=args.classes)
    for note in notes:
        print(f"fastlr bench: skipped: {note}", file=sys.stderr)
    print(optimum.markdown_table(rows))
    args.output.mkdir(parents=True, exist_ok=True)
    path = args.output / "time_to_optimum.json"
    path.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"wrote {path}")
    return 0


def main(args: argparse.Namespace) -> int:
    """Run ``fastlr bench`` with parsed ``args``; returns the exit status."""
    if args.gpu:
        return _run_gpu_experiments(args)
    if args.time_to_optimum:
        return _run_time_to_optimum(args)
    suite = _suite(args)
    try:
        operations, implementations, row_counts, n, dtypes = _selection(args, suite)
    except ValueError as exc:
        print(f"fastlr bench: {exc}", file=sys.stderr)
        return 2
    plan, notes = make_plan(operations, implementations, row_counts, suite.operations)
    for note in notes:
        print(f"fastlr bench: skipped: {note}", file=sys.stderr)
    if not any(plan.values()):
        print("fastlr bench: nothing can run with these options", file=sys.stderr)
        return 2
    try:  # before the run, not after it: a folder that cannot be written must not cost the measurements
        args.output.mkdir(parents=True, exist_ok=True)
        check_output_paths({"--output bench.json": args.output / "bench.json", "bench.png": args.output / "bench.png"})
    except (OSError, ValueError) as exc:
        print(f"fastlr bench: {exc}", file=sys.stderr)
        return 2
    policy = timing_policy(args.quick)
    rows = run(plan, n, dtypes, policy, suite)
    print(format_table(rows))
    settings = {
        "operations": operations, "backends": implementations, "m": row_counts, "n": n,
        "dtypes": dtypes, "quick": args.quick, "timing": asdict(policy), "sparse": args.sparse,
        **({"density": suite.make_dataset.keywords["density"]} if args.sparse else {}),
    }
    write_json(args.output / "bench.json", rows, settings)
    print(f"wrote {args.output / 'bench.json'}")
    if plot(args.output / "bench.png", rows):
        print(f"wrote {args.output / 'bench.png'}")
    else:
        print("fastlr bench: matplotlib is not installed, so no plot (pip install 'fastlr[plot]')", file=sys.stderr)
    return 0
