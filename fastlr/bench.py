"""``fastlr bench``: time every kernel and the fit on each backend against the machine's read bandwidth.

For each dtype and m, the run generates one dataset
(:func:`fastlr.bench_data.make_dataset`), measures the roof on it, reading all
of X once each way of :data:`fastlr.bench_data.READ_PROBES` (``X @ w``, and
``X.sum()`` on one thread and on every core), then times each operation on each
implementation: a warm-up on a few rows first (JIT compilation), then repeated
samples, of which it keeps the median. Effective bandwidth is bytes of input
read / time, in GB/s of 10⁹ bytes (X for the cost and gradient kernels, z for
``sigmoid``); the roof is the fastest read of X at the same m and dtype. Below a
few MB the input sits in cache, so "bandwidth" there is cache bandwidth, and
``sigmoid``, whose input is n times smaller than X, can exceed 100 % of the
roof; so can a kernel that reads X faster than all three probes.

Writes ``bench.json`` (every row of the printed table, the settings and the
machine) and ``bench.png`` (time against m, log-log, one line per backend, the
roof as a dashed line) in ``--output``. ``python -m fastlr.bench --help`` lists
the options; ``fastlr bench`` takes the same ones.
"""

import argparse
import importlib
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

import numba
import numpy as np
from threadpoolctl import threadpool_limits
from tqdm import tqdm

import fastlr
from fastlr import bench_data
from fastlr.dispatch import BACKENDS, available_backends

READ_OPERATION = "read"
ROOF_LABEL = "roof: one read of the input at the best read bandwidth"


@dataclass(frozen=True)
class TimingPolicy:
    """How long to measure one case.

    repeat : samples kept (at most); the reported time is their median
    min_sample_seconds : a sample repeats the call until it lasts this long, so
        that timer resolution and call overhead do not dominate small m
    max_seconds : stop taking samples after this long (one sample at least)
    """

    repeat: int
    min_sample_seconds: float
    max_seconds: float


FULL_POLICY = TimingPolicy(repeat=7, min_sample_seconds=0.05, max_seconds=30.0)
QUICK_POLICY = TimingPolicy(repeat=3, min_sample_seconds=0.002, max_seconds=1.0)


def timing_policy(quick: bool) -> TimingPolicy:
    return QUICK_POLICY if quick else FULL_POLICY


def measure(thunk, policy: TimingPolicy) -> float:
    """Median seconds per call of ``thunk()``, from ``time.perf_counter``.

    Calibration first, not kept: the number of calls per sample doubles until a
    sample lasts ``policy.min_sample_seconds`` (as ``timeit``'s autorange). It
    also warms up: the first calls touch fresh memory and wake threads.
    """
    calls = 1
    while _seconds_per_call(thunk, calls) * calls < policy.min_sample_seconds:
        calls *= 2
    samples = []
    deadline = time.perf_counter() + policy.max_seconds
    while len(samples) < policy.repeat and (not samples or time.perf_counter() < deadline):
        samples.append(_seconds_per_call(thunk, calls))
    return statistics.median(samples)


def _seconds_per_call(thunk, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        thunk()
    return (time.perf_counter() - start) / calls


def measure_roof(data: bench_data.Dataset, policy: TimingPolicy) -> tuple:
    """Read X once each way of :data:`fastlr.bench_data.READ_PROBES`.

    Returns (seconds by probe name, roof): the roof is the best of them in GB/s,
    X.nbytes / min(seconds) / 1e9.
    """
    seconds = {name: measure(probe(data), policy) for name, probe in bench_data.READ_PROBES.items()}
    return seconds, data.X.nbytes / min(seconds.values()) / 1e9


@dataclass
class Row:
    """One line of the table: an operation on one implementation at one size.

    gbps = bytes_read / seconds / 1e9; percent_of_roof = 100 · gbps / roof_gbps;
    speedup_vs_numpy = seconds of the numpy backend / seconds (same operation,
    m and dtype). Fields that do not apply are None.
    """

    operation: str
    backend: str
    m: int
    n: int
    dtype: str
    seconds: float
    bytes_read: Optional[int]
    gbps: Optional[float]
    roof_gbps: float
    percent_of_roof: Optional[float]
    speedup_vs_numpy: Optional[float] = None


def _row(operation, backend, data, seconds, bytes_read, roof_gbps) -> Row:
    gbps = None if bytes_read is None else bytes_read / seconds / 1e9
    return Row(
        operation, backend, data.m, data.X.shape[1], data.dtype, seconds, bytes_read, gbps, roof_gbps,
        None if gbps is None else 100 * gbps / roof_gbps,
    )


def make_plan(operations, implementations, row_counts) -> tuple:
    """({m: [(operation, implementation), ...]}, notes): the cases that can run at
    each m, and why others that were asked for cannot."""
    plan, notes = {}, []
    for m in row_counts:
        plan[m] = []
        for name in operations:
            operation = bench_data.OPERATIONS[name]
            for implementation in implementations:
                if implementation not in operation.implementations():
                    continue
                try:
                    operation.check_runnable(implementation, m)
                except bench_data.SkipCase as skip:
                    notes.append(str(skip))
                else:
                    plan[m].append((operation, implementation))
    return plan, list(dict.fromkeys(notes))


def _measure_size(data, cases, policy, progress) -> list:
    """The rows of one dataset: its roof, then every case on it."""
    read_seconds, roof = measure_roof(data, policy)
    rows = [_row(READ_OPERATION, probe, data, seconds, data.X.nbytes, roof) for probe, seconds in read_seconds.items()]
    progress.update(len(read_seconds))
    for operation, implementation in cases:
        progress.set_postfix_str(f"{operation.name} {implementation} m={data.m} {data.dtype}")
        operation.warm_up(implementation, data)
        thunk = operation.bind(implementation, data)
        with threadpool_limits(limits=bench_data.blas_threads(implementation), user_api="blas"):
            seconds = measure(thunk, policy)
        rows.append(_row(operation.name, implementation, data, seconds, operation.bytes_read(data), roof))
        progress.update()
    return rows


def run(plan, n, dtypes, policy) -> list:
    """Measure every case of ``plan`` (from :func:`make_plan`) for each dtype; one :class:`Row` each.

    One dataset lives at a time (the largest X is GBs): each is generated, used
    by :func:`_measure_size` and dropped before the next.
    """
    total = len(dtypes) * sum(len(bench_data.READ_PROBES) + len(cases) for cases in plan.values())
    rows = []
    with tqdm(total=total, desc="fastlr bench", unit="case", disable=None) as progress:
        for dtype in dtypes:
            for m, cases in plan.items():
                progress.set_postfix_str(f"generating m={m} {dtype}")
                rows += _measure_size(bench_data.make_dataset(m, n, dtype), cases, policy, progress)
    _add_speedups(rows)
    return rows


def _add_speedups(rows) -> None:
    numpy_seconds = {(r.operation, r.m, r.dtype): r.seconds for r in rows if r.backend == "numpy"}
    for row in rows:
        reference = numpy_seconds.get((row.operation, row.m, row.dtype))
        row.speedup_vs_numpy = None if reference is None else reference / row.seconds


# -- output ---------------------------------------------------------------------------
def _format_seconds(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def format_table(rows) -> str:
    """The rows as a fixed-width text table; '-' where a column does not apply."""

    def optional(value, spec):
        return "-" if value is None else format(value, spec)

    header = f"{'operation':<14}{'backend':<18}{'dtype':<9}{'m':>10}{'time':>12}{'GB/s':>9}{'% roof':>8}{'vs numpy':>10}"
    lines = [header, "-" * len(header)]
    for r in rows:
        speedup = optional(r.speedup_vs_numpy, ".2f") + ("x" if r.speedup_vs_numpy is not None else "")
        lines.append(
            f"{r.operation:<14}{r.backend:<18}{r.dtype:<9}{r.m:>10}{_format_seconds(r.seconds):>12}"
            f"{optional(r.gbps, '.2f'):>9}{optional(r.percent_of_roof, '.0f'):>8}{speedup:>10}"
        )
    return "\n".join(lines)


def _machine() -> dict:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "numba_threads": numba.config.NUMBA_NUM_THREADS,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "fastlr": fastlr.__version__,
    }


def write_json(path: Path, rows, settings: dict) -> None:
    document = {"machine": _machine(), "settings": settings, "rows": [asdict(r) for r in rows]}
    path.write_text(json.dumps(document, indent=2) + "\n")


def plot(path: Path, rows) -> bool:
    """Draw time against m (log-log), one panel per operation and dtype, the roof
    dashed: the time to read the operation's input once at the roof bandwidth.
    Returns False, drawing nothing, when matplotlib is missing."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return False
    operations = list(dict.fromkeys(r.operation for r in rows if r.operation != READ_OPERATION))
    dtypes = list(dict.fromkeys(r.dtype for r in rows))
    figure = Figure(figsize=(4 * len(operations), 3.2 * len(dtypes) + 0.8), layout="constrained")
    axes = figure.subplots(len(dtypes), len(operations), squeeze=False)
    legend = {}
    for axis_row, dtype in zip(axes, dtypes):
        for axis, operation in zip(axis_row, operations):
            cell = [r for r in rows if r.operation == operation and r.dtype == dtype]
            for backend in dict.fromkeys(r.backend for r in cell):
                points = sorted((r.m, r.seconds) for r in cell if r.backend == backend)
                color = f"C{bench_data.IMPLEMENTATIONS.index(backend)}"  # one colour per backend in every panel
                (legend[backend],) = axis.plot(*zip(*points), marker="o", color=color)
            roof = sorted({(r.m, r.bytes_read / r.roof_gbps / 1e9) for r in cell if r.bytes_read is not None})
            if roof:
                (legend[ROOF_LABEL],) = axis.plot(*zip(*roof), color="black", linestyle="--")
            axis.set(xscale="log", yscale="log", xlabel="m (rows)", ylabel="time [s]", title=f"{operation}, {dtype}")
    figure.legend(legend.values(), legend.keys(), loc="outside lower center", ncols=len(legend))
    figure.savefig(path, dpi=120)
    return True


# -- command line -------------------------------------------------------------------------
def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``fastlr bench`` to ``parser``."""
    parser.add_argument("--quick", action="store_true", help="small sizes and few samples: a check, not a measurement")
    parser.add_argument(
        "--backends", nargs="+", metavar="NAME",
        help=f"backends and peers to run (default: every usable one); known: {', '.join(bench_data.IMPLEMENTATIONS)}",
    )
    parser.add_argument(
        "--operations", nargs="+", metavar="NAME",
        help=f"operations to time (default: all); known: {', '.join(bench_data.OPERATIONS)}",
    )
    parser.add_argument(
        "--m", nargs="+", type=int, metavar="ROWS",
        help=f"row counts (default: {' '.join(map(str, bench_data.ROW_COUNTS))}; "
        f"with --quick: {' '.join(map(str, bench_data.QUICK_ROW_COUNTS))})",
    )
    parser.add_argument("--n", type=int, default=bench_data.N_FEATURES, help="features (default: %(default)s)")
    parser.add_argument("--dtype", nargs="+", choices=bench_data.DTYPES, default=["float64"], help="(default: float64)")
    parser.add_argument(
        "--output", type=Path, default=Path("out/bench"), help="folder for bench.json and bench.png (default: %(default)s)"
    )
    parser.add_argument("--gpu", action="store_true", help="run fastlr.gpu_experiments instead (needs a CUDA device)")


def _check_names(kind: str, names, known) -> None:
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"unknown {kind} {', '.join(map(repr, unknown))}; known: {', '.join(known)}")


def _selection(args) -> tuple:
    """(operations, implementations, row counts, dtypes) from the arguments, each
    without repeats; ValueError on bad input."""
    operations = list(dict.fromkeys(args.operations or bench_data.OPERATIONS))
    _check_names("operation", operations, list(bench_data.OPERATIONS))
    usable = [*available_backends(), *(name for name in bench_data.IMPLEMENTATIONS if name not in BACKENDS)]
    implementations = list(dict.fromkeys(args.backends or usable))
    _check_names("backend", implementations, bench_data.IMPLEMENTATIONS)
    row_counts = sorted(set(args.m or (bench_data.QUICK_ROW_COUNTS if args.quick else bench_data.ROW_COUNTS)))
    if row_counts[0] < 1 or args.n < 1:
        raise ValueError("--m and --n must be positive")
    return operations, implementations, row_counts, list(dict.fromkeys(args.dtype))


def _run_gpu_experiments(args) -> int:
    """``fastlr.gpu_experiments.main`` with --output, --quick and --m passed on
    (its sizes, feature counts and dtypes default to its own GPU-sized sweep)."""
    reason = BACKENDS["cupy"].unavailable_reason()
    if reason is not None:
        print(f"fastlr bench --gpu: no usable GPU: {reason}", file=sys.stderr)
        return 1
    try:
        experiments = importlib.import_module("fastlr.gpu_experiments")
    except ModuleNotFoundError as exc:
        if exc.name != "fastlr.gpu_experiments":
            raise
        print("fastlr bench --gpu: fastlr.gpu_experiments is not part of this installation", file=sys.stderr)
        return 1
    argv = ["--output", str(args.output), *(["--quick"] if args.quick else [])]
    if args.m:
        argv += ["--m", *map(str, args.m)]
    return experiments.main(argv)


def main(args: argparse.Namespace) -> int:
    """Run ``fastlr bench`` with parsed ``args``; returns the exit status."""
    if args.gpu:
        return _run_gpu_experiments(args)
    try:
        operations, implementations, row_counts, dtypes = _selection(args)
    except ValueError as exc:
        print(f"fastlr bench: {exc}", file=sys.stderr)
        return 2
    plan, notes = make_plan(operations, implementations, row_counts)
    for note in notes:
        print(f"fastlr bench: skipped: {note}", file=sys.stderr)
    if not any(plan.values()):
        print("fastlr bench: nothing can run with these options", file=sys.stderr)
        return 2
    policy = timing_policy(args.quick)
    rows = run(plan, args.n, dtypes, policy)
    print(format_table(rows))
    args.output.mkdir(parents=True, exist_ok=True)
    settings = {
        "operations": operations, "backends": implementations, "m": row_counts, "n": args.n,
        "dtypes": dtypes, "quick": args.quick, "timing": asdict(policy),
    }
    write_json(args.output / "bench.json", rows, settings)
    print(f"wrote {args.output / 'bench.json'}")
    if plot(args.output / "bench.png", rows):
        print(f"wrote {args.output / 'bench.png'}")
    else:
        print("fastlr bench: matplotlib is not installed, so no plot (pip install 'fastlr[plot]')", file=sys.stderr)
    return 0


if __name__ == "__main__":
    _parser = argparse.ArgumentParser(prog="python -m fastlr.bench", description=__doc__.splitlines()[0])
    configure_parser(_parser)
    raise SystemExit(main(_parser.parse_args()))
