"""The results of ``fastlr bench``: rows, the text table, the JSON record and the picture."""

import json
import os
import platform
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

import llvmlite.binding
import numba
import numpy as np

import fastlr
from fastlr.bench import workloads
from fastlr.outputs import atomic_write

READ_OPERATION = "read"
ROOF_LABEL = "roof: one read of the input at the best read bandwidth"


@dataclass
class Row:
    """One line of the table: an operation on one implementation at one size.

    gbps = bytes_read / seconds / 1e9; percent_of_roof = 100 · (gbps / roof_gbps);
    above_roof = percent_of_roof > 100 (flagged, never shown bare: see
    :data:`ABOVE_ROOF_NOTE`); speedup_vs_numpy = seconds of the numpy backend /
    seconds (same operation, m and dtype). Fields that do not apply are None.
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
    above_roof: Optional[bool] = None


#: Why a share of the roof can exceed 100 %, printed under a table that has one.
ABOVE_ROOF_NOTE = (
    "! above the measured roof: the input fits in cache at this m (cache, not memory, bandwidth), "
    "or the machine was busier while the roof was read than while this ran; rerun on a quiet machine"
)


def make_row(operation, backend, data, seconds, bytes_read, roof_gbps) -> Row:
    gbps = None if bytes_read is None else bytes_read / seconds / 1e9
    # The ratio first: (100 · g) / g can round to 100.00000000000001, which flagged the
    # probe that sets the roof as above it; 100 · (g / g) is 100 exactly.
    percent = None if gbps is None else 100 * (gbps / roof_gbps)
    return Row(
        operation, backend, data.m, data.X.shape[1], data.dtype, seconds, bytes_read, gbps, roof_gbps, percent,
        above_roof=None if percent is None else percent > 100,
    )


def _format_seconds(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


#: The table's columns: (header, left-aligned?); text columns left, numbers right.
TABLE_COLUMNS = (
    ("operation", True), ("backend", True), ("dtype", True), ("m", False), ("time", False),
    ("GB/s", False), ("% roof", False), ("vs numpy", False),
)
#: Spaces between two columns.
COLUMN_GAP = 2


def format_table(rows) -> str:
    """The rows as a fixed-width text table; '-' where a column does not apply.

    Every column is as wide as its widest cell (header included), so that a
    long operation name such as ``softmax_cost_gradient`` keeps the columns aligned.
    """

    def optional(value, spec):
        return "-" if value is None else format(value, spec)

    cells = [[header for header, _ in TABLE_COLUMNS]]
    for r in rows:
        speedup = optional(r.speedup_vs_numpy, ".2f") + ("x" if r.speedup_vs_numpy is not None else "")
        share = optional(r.percent_of_roof, ".0f") + ("!" if r.above_roof else "")
        cells.append([
            r.operation, r.backend, r.dtype, str(r.m), _format_seconds(r.seconds), optional(r.gbps, ".2f"), share,
            speedup,
        ])
    widths = [max(len(line[column]) for line in cells) for column in range(len(TABLE_COLUMNS))]

    def line(values):
        fields = [
            value.ljust(width) if left else value.rjust(width)
            for value, width, (_, left) in zip(values, widths, TABLE_COLUMNS)
        ]
        return (" " * COLUMN_GAP).join(fields).rstrip()

    header, *body = (line(values) for values in cells)
    lines = [header, "-" * len(header), *body]
    if any(r.above_roof for r in rows):
        lines.append(ABOVE_ROOF_NOTE)
    return "\n".join(lines)


def machine() -> dict:
    """What a record was measured on. ``cpu`` is the CPU as LLVM (so Numba) names it,
    ``znver3`` or ``cascadelake``: ``platform.processor()`` says only ``x86_64`` on Linux,
    and which CPU it was decides which register blocks the kernels use."""
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu": llvmlite.binding.get_host_cpu_name(),
        "cpu_count": os.cpu_count(),
        "numba_threads": numba.config.NUMBA_NUM_THREADS,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "fastlr": fastlr.__version__,
    }


def write_json(path: Path, rows, settings: dict) -> None:
    document = {"machine": machine(), "settings": settings, "rows": [asdict(r) for r in rows]}
    text = json.dumps(document, indent=2) + "\n"
    with atomic_write(path) as file:
        file.write(text)


def _draw_lines(axis, cell, colours):
    """Time against m, one line per implementation, and the roof: reading the input once at the roof bandwidth."""
    legend = {}
    for backend in dict.fromkeys(r.backend for r in cell):
        points = sorted((r.m, r.seconds) for r in cell if r.backend == backend)
        (legend[backend],) = axis.plot(*zip(*points), marker="o", color=_colour(backend, colours))
    roof = sorted({(r.m, r.bytes_read / r.roof_gbps / 1e9) for r in cell if r.bytes_read is not None})
    if roof:
        (legend[ROOF_LABEL],) = axis.plot(*zip(*roof), color="black", linestyle="--")
    axis.set(xscale="log", yscale="log", xlabel="m (rows)", ylabel="time [s]")
    return legend


def _draw_bars(axis, cell, colours):
    """One m: a bar per implementation, and the roof as a horizontal line across them."""
    legend = {}
    backends = list(dict.fromkeys(r.backend for r in cell))
    for position, backend in enumerate(backends):
        seconds = next(r.seconds for r in cell if r.backend == backend)
        legend[backend] = axis.bar(position, seconds, color=_colour(backend, colours))
    roof = {r.bytes_read / r.roof_gbps / 1e9 for r in cell if r.bytes_read is not None}
    if roof:
        legend[ROOF_LABEL] = axis.axhline(min(roof), color="black", linestyle="--")
    axis.set_xticks(range(len(backends)), backends, rotation=30, ha="right")
    axis.set(yscale="log", ylabel="time [s]", xlabel=f"m = {cell[0].m}")
    return legend


def _colour(backend, colours):
    return f"C{colours.index(backend) % 10}"  # one colour per implementation in every panel


def draw(rows):
    """The figure of :func:`plot`: one panel per operation and dtype; time against m
    (log-log) with the roof dashed, or, when only one m was run, a bar chart."""
    from matplotlib.figure import Figure

    operations = list(dict.fromkeys(r.operation for r in rows if r.operation != READ_OPERATION))
    dtypes = list(dict.fromkeys(r.dtype for r in rows))
    one_size = len({r.m for r in rows}) == 1
    figure = Figure(figsize=(4 * len(operations), 3.2 * len(dtypes) + 0.8), layout="constrained")
    axes = figure.subplots(len(dtypes), len(operations), squeeze=False)
    legend = {}
    # One colour per backend in every panel, in the registry's order (peers after).
    colours = list(dict.fromkeys([*workloads.IMPLEMENTATIONS, *(r.backend for r in rows)]))
    for axis_row, dtype in zip(axes, dtypes):
        for axis, operation in zip(axis_row, operations):
            cell = [r for r in rows if r.operation == operation and r.dtype == dtype]
            legend.update((_draw_bars if one_size else _draw_lines)(axis, cell, colours))
            axis.set_title(f"{operation}, {dtype}")
    figure.legend(legend.values(), legend.keys(), loc="outside lower center", ncols=len(legend))
    return figure


def plot(path: Path, rows) -> bool:
    """Save :func:`draw`'s figure to ``path`` (PNG, written atomically).
    Returns False, drawing nothing, when matplotlib is missing."""
    try:
        import matplotlib.figure  # noqa: F401
    except ImportError:
        return False
    figure = draw(rows)
    with atomic_write(path, "wb") as file:
        figure.savefig(file, format="png", dpi=120)
    return True
