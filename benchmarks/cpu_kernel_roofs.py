"""The fused CPU passes against their roofs: one ``X @ w`` and one read of X, interleaved in one run.

For m rows and n = 100 features (issue 15: m = 4·10⁶) it times, round after
round so that a change of machine load hits every case alike, the median of
``--repeats`` rounds of:

- the roofs: ``X @ w`` in float32 and float64 (BLAS on every core) and
  ``X.sum()`` split over every core (float64): one read of X each;
- ``numba-parallel`` ``cost_gradient`` in float32 and float64 (binary);
- ``numba-parallel`` ``softmax_cost_gradient`` with K = 10 in float64 and float32.

Every timed call starts after a pause of ``SETTLE_SECONDS``: OpenBLAS's
threads spin for about 0.1 s after a call, and on two cores they took one
from the pass timed next (the float32 pass read 1.7x one ``X @ w`` right
after it, 1.1x after a pause, in the same process).

Each pass is reported against one ``X @ w`` of its dtype and against one
float64 read of X (the faster of ``X @ w`` and the threaded sum). Goals of
issue 15: float32 binary pass ≤ 1.3x one float32 ``X @ w``; softmax K = 10
≤ 2.5x one float64 read of X. The load average is recorded with the result:
on a shared machine the memory-bound roofs and the compute-bound softmax do
not slow down alike.

    python benchmarks/cpu_kernel_roofs.py [--m 4000000] [--repeats 7] [--output benchmarks/results/cpu_kernel_roofs.json]
"""

import argparse
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
    return {
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
    read64 = min(median["float64 X @ w"], median["float64 X.sum() threaded"])
    rows = []
    for name, seconds in median.items():
        dtype = name.split()[0]
        rows.append({
            "case": name, "seconds": seconds, "vs_one_X_at_w": seconds / median[f"{dtype} X @ w"],
            "vs_one_float64_read": seconds / read64,
        })
    return {"m": m, "n": N_FEATURES, "classes": N_CLASSES, "repeats": repeats, "cpus": os.cpu_count(),
            "machine": machine(), "load_average": [min(loads), max(loads)], "results": rows}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--m", type=int, default=4_000_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--output", type=pathlib.Path)
    args = parser.parse_args(argv)
    record = run(args.m, args.repeats)
    print(f"{record['machine']['cpu']}: m={record['m']} n={record['n']} K={record['classes']}, median of {record['repeats']} interleaved rounds, "
          f"load average {record['load_average'][0]:.1f}-{record['load_average'][1]:.1f} on {record['cpus']} CPUs")
    for row in record["results"]:
        print(f"{row['case']:<36}{row['seconds'] * 1e3:9.1f} ms  {row['vs_one_X_at_w']:5.2f}x one X @ w of its dtype  "
              f"{row['vs_one_float64_read']:5.2f}x one float64 read of X")
    if args.output is not None:
        print(f"wrote {write_json(args.output, record)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
