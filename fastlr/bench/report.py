"""The results of ``fastlr bench``: rows, the text table, the JSON record and the picture."""

import json
import os
import platform
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

import numba
import numpy as np

import fastlr
from fastlr.bench import workloads

READ_OPERATION = "read"
ROOF_LABEL = "roof: one read of the input at the best read bandwidth"


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


def make_row(operation, backend, data, seconds, bytes_read, roof_gbps) -> Row:
    gbps = None if bytes_read is None else bytes_read / seconds / 1e9
    return Row(
        operation, backend, data.m, data.X.shape[1], data.dtype, seconds, bytes_read, gbps, roof_gbps,
        None if gbps is None else 100 * gbps / roof_gbps,
    )


def _format_seconds(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def format_table(rows) -> str:
    """The rows as a fixed-width text table; '-' where a column does not apply."""

    def optional(value, spec):
        return "-" if value is None else format(value, spec)

    header = f"{'operation':<16}{'backend':<23}{'dtype':<9}{'m':>10}{'time':>12}{'GB/s':>9}{'% roof':>8}{'vs numpy':>10}"
    lines = [header, "-" * len(header)]
    for r in rows:
        speedup = optional(r.speedup_vs_numpy, ".2f") + ("x" if r.speedup_vs_numpy is not None else "")
        lines.append(
            f"{r.operation:<16}{r.backend:<23}{r.dtype:<9}{r.m:>10}{_format_seconds(r.seconds):>12}"
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
    # One colour per backend in every panel, in the registry's order (peers after).
    colours = list(dict.fromkeys([*workloads.IMPLEMENTATIONS, *(r.backend for r in rows)]))
    for axis_row, dtype in zip(axes, dtypes):
        for axis, operation in zip(axis_row, operations):
            cell = [r for r in rows if r.operation == operation and r.dtype == dtype]
            for backend in dict.fromkeys(r.backend for r in cell):
                points = sorted((r.m, r.seconds) for r in cell if r.backend == backend)
                color = f"C{colours.index(backend) % 10}"
                (legend[backend],) = axis.plot(*zip(*points), marker="o", color=color)
            roof = sorted({(r.m, r.bytes_read / r.roof_gbps / 1e9) for r in cell if r.bytes_read is not None})
            if roof:
                (legend[ROOF_LABEL],) = axis.plot(*zip(*roof), color="black", linestyle="--")
            axis.set(xscale="log", yscale="log", xlabel="m (rows)", ylabel="time [s]", title=f"{operation}, {dtype}")
    figure.legend(legend.values(), legend.keys(), loc="outside lower center", ncols=len(legend))
    figure.savefig(path, dpi=120)
    return True
