"""The fused CPU passes against their roofs: one ``X @ w`` and one read of X, interleaved in one run.

For m rows and n = 100 features (issue 15: m = 4·10⁶) it times, round after
round so that a change of machine load hits every case alike, the median of
``--repeats`` rounds of:

- the roofs: ``X @ w`` in float32 and float64 (BLAS on every core) and
  ``X.sum()`` split over every core (float64): one read of X each; and, for
  the softmax, whose 4·K·n flops a row make it compute-bound, one GEMM of
  ``GEMM_SIZE``² per dtype (BLAS on every core): the machine's multiply-add rate;
- ``numba-parallel`` ``cost_gradient`` in float32 and float64 (binary);
- ``numba-parallel`` ``softmax_cost_gradient`` with K = 10 in float64 and float32.

Every timed call starts after a pause of ``SETTLE_SECONDS``: OpenBLAS's
threads spin for about 0.1 s after a call, and on two cores they took one
from the pass timed next (the float32 pass read 1.7x one ``X @ w`` right
after it, 1.1x after a pause, in the same process).

Each pass is reported against one ``X @ w`` of its dtype and against one
float64 read of X (the faster of ``X @ w`` and the threaded sum). Goals of
issue 15: float32 binary pass ≤ 1.3x one float32 ``X @ w``; softmax K = 10
≤ 2.5x one float64 read of X. Each softmax pass is also reported as a share
of its dtype's GEMM rate (its 4·m·K·n flops over its time): how far it is from the
arithmetic roof, as the read is the memory roof. The load average is recorded
with the result: on a shared machine the memory-bound roofs and the
compute-bound softmax do not slow down alike.

``--plot FILE.png`` draws each pass against its goal (``fastlr[plot]``);
``--replot RECORD.json --plot FILE.png`` draws a record already written.

    python benchmarks/cpu_kernel_roofs.py [--m 4000000] [--repeats 7] [--output benchmarks/results/cpu_kernel_roofs.json] [--plot FILE.png]
"""

import argparse
import json
import os
import pathlib
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from fastlr import get_backend
from fastlr.bench.report import machine
from fastlr.outputs import write_json

N_FEATURES = 100
N_CLASSES = 10
#: Side of the square GEMMs whose rate is the arithmetic roof (in cache per block, BLAS's best case).
GEMM_SIZE = 2000
#: The goals of issue 15, by the roof each pass is held against.
GOALS = {"float32 cost_gradient": ("vs_one_X_at_w", 1.3), "float64 softmax_cost_gradient K=10": ("vs_one_float64_read", 2.5)}
#: Idle time before each timed call, longer than OpenBLAS's threads spin after a call.
SETTLE_SECONDS = 0.3


def cases(m, seed=0):
    rng = np.random.default_rng(seed)
    X64 = 0.1 * rng.standard_normal((m, N_FEATURES))
    X32 = X64.astype(np.float32)
    y64 = (rng.random(m) < 0.5).astype(np.float64)
    y32 = y64.astype(np.float32)
    w64 = 0.1 * rng.standard_normal(N_FEATURES)
    w32 = w64.astype(np.float32)
    W64 = 0.1 * rng.standard_normal((N_CLASSES, N_FEATURES))
    W32 = W64.astype(np.float32)
    b64, b32 = np.zeros(N_CLASSES), np.zeros(N_CLASSES, dtype=np.float32)
    labels = rng.integers(0, N_CLASSES, m)
    blocks = np.array_split(X64, os.cpu_count() or 1)
    pool = ThreadPoolExecutor(len(blocks))
    kernels = get_backend("numba-parallel")
    A64 = rng.standard_normal((GEMM_SIZE, GEMM_SIZE))
    B64 = rng.standard_normal((GEMM_SIZE, GEMM_SIZE))
    A32, B32 = A64.astype(np.float32), B64.astype(np.float32)
    return {
        "float64 GEMM": lambda: A64 @ B64,
        "float32 GEMM": lambda: A32 @ B32,
        "float32 X @ w": lambda: X32 @ w32,
        "float64 X @ w": lambda: X64 @ w64,
        "float64 X.sum() threaded": lambda: sum(pool.map(np.sum, blocks)),
        "float32 cost_gradient": lambda: kernels.cost_gradient(X32, y32, w32, np.float32(0.1)),
        "float64 cost_gradient": lambda: kernels.cost_gradient(X64, y64, w64, 0.1),
        "float64 softmax_cost_gradient K=10": lambda: kernels.softmax_cost_gradient(X64, labels, W64, b64),
        "float32 softmax_cost_gradient K=10": lambda: kernels.softmax_cost_gradient(X32, labels, W32, b32),
    }


def run(m, repeats):
    timed = cases(m)
    for call in timed.values():
        call()  # compilation, thread start-up, first touch of the memory
    samples = {name: [] for name in timed}
    loads = []
    for _ in range(repeats):
        loads.append(os.getloadavg()[0])
        for name, call in timed.items():
            time.sleep(SETTLE_SECONDS)
            start = time.perf_counter()
            call()
            samples[name].append(time.perf_counter() - start)
    median = {name: statistics.median(values) for name, values in samples.items()}
    gemm_flops = {dtype: 2 * GEMM_SIZE**3 / median.pop(f"{dtype} GEMM") for dtype in ("float64", "float32")}
    read64 = min(median["float64 X @ w"], median["float64 X.sum() threaded"])
    rows = []
    for name, seconds in median.items():
        dtype = name.split()[0]
        row = {"case": name, "seconds": seconds, "vs_one_X_at_w": seconds / median[f"{dtype} X @ w"],
               "vs_one_float64_read": seconds / read64}
        if "softmax" in name:  # scores and gradient: two products of m x n by n x K
            row["share_of_gemm_rate"] = 4 * m * N_CLASSES * N_FEATURES / seconds / gemm_flops[dtype]
        rows.append(row)
    return {"m": m, "n": N_FEATURES, "classes": N_CLASSES, "repeats": repeats, "cpus": os.cpu_count(),
            "machine": machine(), "load_average": [min(loads), max(loads)], "gemm_gflops": {dtype: flops / 1e9 for dtype, flops in gemm_flops.items()},
            "results": rows}


def plot(record, path):
    """Bars: each pass in units of the roof its goal names, the goals as ticks (matplotlib)."""
    from fastlr.plotting import require_matplotlib

    require_matplotlib()
    import matplotlib

    matplotlib.use("Agg")  # a file, never a window
    import matplotlib.pyplot as plt

    rows = [row for row in record["results"] if "X @ w" not in row["case"] and "sum()" not in row["case"]]
    fig, ax = plt.subplots(figsize=(8, 0.6 * len(rows) + 1.5))
    for y, row in enumerate(rows):
        roof = "vs_one_float64_read" if "softmax" in row["case"] else "vs_one_X_at_w"
        ax.barh(y, row[roof], color="tab:blue" if roof == "vs_one_X_at_w" else "tab:orange")
        ax.text(row[roof], y, f" {row[roof]:.2f}x", va="center")
        if row["case"] in GOALS:
            ax.plot([GOALS[row["case"]][1]] * 2, [y - 0.4, y + 0.4], "k-", lw=2)
    ax.set_yticks(range(len(rows)), [row["case"] for row in rows])
    ax.axvline(1.0, color="grey", ls="--", lw=1)
    ax.set_xlabel("time / one X @ w of its dtype (binary, blue)\nor / one float64 read of X (softmax, orange); black bars: the goals")
    ax.set_title(f"{record['machine']['cpu']}, {record['cpus']} cores: m={record['m']:,} n={record['n']} K={record['classes']}, "
                 f"median of {record['repeats']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--m", type=int, default=4_000_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--output", type=pathlib.Path)
    parser.add_argument("--plot", type=pathlib.Path, help="draw the passes against their goals into this PNG")
    parser.add_argument("--replot", type=pathlib.Path, help="with --plot: draw this record instead of measuring")
    args = parser.parse_args(argv)
    if args.replot is not None:
        if args.plot is None:
            parser.error("--replot needs --plot FILE.png")
        print(f"wrote {plot(json.loads(args.replot.read_text()), args.plot)}")
        return 0
    record = run(args.m, args.repeats)
    print(f"{record['machine']['cpu']}: m={record['m']} n={record['n']} K={record['classes']}, median of {record['repeats']} interleaved rounds, "
          f"load average {record['load_average'][0]:.1f}-{record['load_average'][1]:.1f} on {record['cpus']} CPUs")
    for row in record["results"]:
        print(f"{row['case']:<36}{row['seconds'] * 1e3:9.1f} ms  {row['vs_one_X_at_w']:5.2f}x one X @ w of its dtype  "
              f"{row['vs_one_float64_read']:5.2f}x one float64 read of X"
              + (f"  {100 * row['share_of_gemm_rate']:4.1f}% of its dtype's GEMM rate" if "share_of_gemm_rate" in row else ""))
    for dtype, gflops in record["gemm_gflops"].items():
        print(f"{dtype} GEMM {GEMM_SIZE}x{GEMM_SIZE}: {gflops:.1f} GFLOP/s on every core")
    if args.output is not None:
        print(f"wrote {write_json(args.output, record)}")
    if args.plot is not None:
        print(f"wrote {plot(record, args.plot)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
