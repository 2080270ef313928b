"""Out-of-core fits: a ``.npy`` on disk streamed through dask, against dask-ml.

For each size, X (n_samples × ``--features`` float64, ``--gigabytes`` GB) and y
are written to ``--directory`` block by block (never whole in memory). Each
implementation then fits in a fresh process, so that its peak resident memory
starts from a clean baseline, with dask's threaded scheduler, on
X = ``fastlr.distributed.from_npy(path, chunk_rows)``:

- ``fastlr-lbfgs`` and ``fastlr-newton``: ``fastlr.distributed.fit(...,
  persist=False)``, each evaluation one map-reduce over the chunks read from
  disk (numba-parallel on each chunk);
- ``fastlr-lbfgs-persisted``: the same with ``persist=True``, X read once
  and kept in memory: the reference for the cost of streaming;
- ``dask-ml-lbfgs``: dask-ml's ``LogisticRegression(solver="lbfgs")`` (the
  peer) on the same dask arrays.

All run at most ``--iterations`` iterations (dask-ml with ``tol=0``, fastlr
to ``FASTLR_TOL``). Reported per run: peak RSS and
its growth over the process's baseline (taken after imports and a warm-up
fit, sampled every 5 ms during the fit), passes over X (chunk reads divided by
the number of chunks, validation passes included), fit time, time per pass,
and time per iteration (dask-ml's iterations read from the SciPy L-BFGS-B
call inside it). ``--memory-limit-gb`` caps each fit
process's address space (RLIMIT_AS) below the size of X, to show that the fit
does not need X in memory.

Usage::

    python benchmarks/dask_out_of_core.py --gigabytes 1 4
    python benchmarks/dask_out_of_core.py --gigabytes 1 4 --directory data/ooc   # keep the files for next time
    FASTLR_BENCH_QUICK=1 python benchmarks/dask_out_of_core.py    # 0.25 GB, seconds

Without ``--directory`` the data goes to a temporary folder that is removed
when the script ends, also when it fails or is interrupted (the 1 + 4 GB run
writes 5 GB); with it, the files stay and a later run reuses them.

The file stays in the page cache when RAM allows, so the times are those of
reading from memory; from a cold disk a pass takes at least size / disk bandwidth.
"""

import argparse
import json
import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import threading
import time
import warnings

import numpy as np

ROWS_PER_WRITE = 50_000
#: fastlr's tol: the max-norm of the gradient of the mean loss, well converged.
FASTLR_TOL = 1e-6


# -- data ----------------------------------------------------------------------------------
def write_dataset(directory, gigabytes, n_features, seed=0):
    """X.npy (float64) and y.npy under ``directory``, written block by block; returns the path."""
    n_samples = int(gigabytes * 1e9 / (8 * n_features))
    path = pathlib.Path(directory) / f"{n_samples}x{n_features}"
    if (path / "y.npy").exists():
        return path
    path.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(n_features) / np.sqrt(n_features)
    header = {"descr": np.dtype(np.float64).str, "fortran_order": False, "shape": (n_samples, n_features)}
    y = np.empty(n_samples)
    with open(path / "X.npy", "wb") as file:
        np.lib.format.write_array_header_1_0(file, header)
        for start in range(0, n_samples, ROWS_PER_WRITE):
            rows = rng.standard_normal((min(ROWS_PER_WRITE, n_samples - start), n_features))
            file.write(rows.tobytes())
            y[start : start + len(rows)] = rows @ w + rng.logistic(size=len(rows)) > 0
    np.save(path / "y.npy", y)
    return path


# -- implementations (each runs in its own process) ----------------------------------------------
def _fastlr(solver, persist):
    def fit(X, y, max_iter):
        import fastlr
        from fastlr import distributed as dask_path

        # Not tol=0: at the optimum Newton's line search would halve its step
        # down to 1e-10, one pass over X per halving, on rounding noise alone.
        model = fastlr.LogisticRegression(solver=solver, max_iter=max_iter, tol=FASTLR_TOL)
        return int(dask_path.fit(model, X, y, persist=persist).n_iter_[0])

    return fit


def _dask_ml_lbfgs(X, y, max_iter):
    import dask_glm.algorithms
    from dask_ml.linear_model import LogisticRegression

    # dask-ml does not report its iteration count; the SciPy call inside it does.
    lbfgs, counts = dask_glm.algorithms.fmin_l_bfgs_b, []

    def counting_lbfgs(*args, **kwargs):
        result = lbfgs(*args, **kwargs)
        counts.append(result[2]["nit"])
        return result

    dask_glm.algorithms.fmin_l_bfgs_b = counting_lbfgs
    try:
        LogisticRegression(solver="lbfgs", max_iter=max_iter, tol=0.0).fit(X, y)
    finally:
        dask_glm.algorithms.fmin_l_bfgs_b = lbfgs
    return counts[-1]


IMPLEMENTATIONS = {
    "fastlr-lbfgs": _fastlr("lbfgs", persist=False),
    "fastlr-newton": _fastlr("newton", persist=False),
    # The in-memory reference: X read from disk once, then from RAM.
    "fastlr-lbfgs-persisted": _fastlr("lbfgs", persist=True),
    "dask-ml-lbfgs": _dask_ml_lbfgs,
}


def run_one(implementation, path, chunk_rows, iterations, memory_limit_gb):
    """The child process: warm up, then fit on the file with RSS sampled; prints one JSON line."""
    import dask.array as da
    import psutil

    from fastlr import distributed as dask_path

    warnings.simplefilter("ignore")  # ConvergenceWarning: max_iter is a budget here
    fit = IMPLEMENTATIONS[implementation]
    process = psutil.Process()
    small = np.random.default_rng(1).standard_normal((4000, 8))
    fit(da.from_array(small, chunks=(1000, 8)), da.from_array(small[:, 0] > 0, chunks=1000), 2)
    if memory_limit_gb:
        limit = int(memory_limit_gb * 1e9)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    reads, lock = [0], threading.Lock()

    def count_read(block):
        with lock:
            reads[0] += 1
        return block

    source = dask_path.from_npy(path / "X.npy", chunk_rows)
    X = source.map_blocks(count_read, dtype=source.dtype, meta=np.empty((0, 0)))
    y = da.from_array(np.load(path / "y.npy"), chunks=(source.chunks[0],))
    peak, done = [0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], process.memory_info().rss)
            time.sleep(0.005)

    baseline = process.memory_info().rss
    sampler = threading.Thread(target=sample)
    sampler.start()
    start = time.perf_counter()
    n_iter = fit(X, y, iterations)
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    print(json.dumps({
        "implementation": implementation,
        "gigabytes": X.nbytes / 1e9,
        "shape": list(X.shape),
        "chunk_megabytes": source.blocks[0].nbytes / 1e6,
        "baseline_rss_megabytes": baseline / 1e6,
        "peak_rss_megabytes": peak[0] / 1e6,
        "growth_megabytes": (peak[0] - baseline) / 1e6,
        "passes": reads[0] / X.numblocks[0],
        "seconds": seconds,
        "n_iter": n_iter,
        "seconds_per_iteration": seconds / n_iter,
        "seconds_per_pass": seconds * X.numblocks[0] / reads[0],
    }))


# -- driver ---------------------------------------------------------------------------------------
def main(argv=None):
    quick = os.environ.get("FASTLR_BENCH_QUICK") == "1"
    parser = argparse.ArgumentParser(prog="python benchmarks/dask_out_of_core.py", description=__doc__.splitlines()[0])
    parser.add_argument("--gigabytes", type=float, nargs="+", default=[0.25] if quick else [1.0, 4.0])
    parser.add_argument("--features", type=int, default=100)
    parser.add_argument("--chunk-megabytes", type=float, default=64.0)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--directory", help="where to write (and keep) the data (default: a temporary folder, removed)")
    parser.add_argument("--implementations", nargs="+", default=list(IMPLEMENTATIONS), choices=list(IMPLEMENTATIONS))
    parser.add_argument("--memory-limit-gb", type=float, default=None)
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per fit process")
    parser.add_argument("--child", nargs=2, metavar=("IMPLEMENTATION", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    chunk_rows = int(args.chunk_megabytes * 1e6 / (8 * args.features))
    if args.child:
        run_one(args.child[0], pathlib.Path(args.child[1]), chunk_rows, args.iterations, args.memory_limit_gb)
        return
    if args.directory is not None:
        compare(args, args.directory)
        return
    with tempfile.TemporaryDirectory(prefix="fastlr-out-of-core-") as directory:
        compare(args, directory)


def compare(args, directory):
    """Every implementation on every size, each fit in a child process; prints the table."""
    rows = []
    for gigabytes in args.gigabytes:
        path = write_dataset(directory, gigabytes, args.features)
        for implementation in args.implementations:
            command = [sys.executable, __file__, "--child", implementation, str(path),
                       "--features", str(args.features), "--chunk-megabytes", str(args.chunk_megabytes),
                       "--iterations", str(args.iterations)]
            if args.memory_limit_gb:
                command += ["--memory-limit-gb", str(args.memory_limit_gb)]
            try:
                done = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout)
            except subprocess.TimeoutExpired:
                # Under --memory-limit-gb a fit that needs more can hang in a thread instead of failing.
                print(f"{implementation} at {gigabytes} GB: no result in {args.timeout} s", file=sys.stderr)
                continue
            if done.returncode != 0:
                print(f"{implementation} at {gigabytes} GB failed:\n{done.stderr[-2000:]}", file=sys.stderr)
                continue
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(json.dumps(rows[-1]), file=sys.stderr)

    print("| implementation | X (GB) | chunk (MB) | peak RSS (MB) | growth (MB) | iterations | passes "
          "| fit (s) | s / iteration | s / pass |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['implementation']} | {row['gigabytes']:.2f} | {row['chunk_megabytes']:.0f} "
              f"| {row['peak_rss_megabytes']:.0f} | {row['growth_megabytes']:.0f} | {row['n_iter']} "
              f"| {row['passes']:.0f} | {row['seconds']:.1f} | {row['seconds_per_iteration']:.2f} "
              f"| {row['seconds_per_pass']:.2f} |")


if __name__ == "__main__":
    main()
