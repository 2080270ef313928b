"""GPU experiments: how close does each way of computing the logistic
cost and gradient come to the device's memory bandwidth?

Sweeps m from 10⁴ up to what fits in device memory, for n = 100 and n = 1000,
float32 and float64, and times with CUDA events after warm-up
(``cupyx.profiler.benchmark``, median of the repeats):

- ``fused``: fastlr's one-pass kernel (``cupy`` backend ``cost_gradient``);
- ``cublas-two-pass``: cuBLAS ``X @ w``, an elementwise kernel, cuBLAS ``Xᵀ r``;
- ``cupy-naive``: the NumPy code run on CuPy arrays (``logaddexp``, ``exp``, two products);
- ``torch``: the same two-pass computation in PyTorch, where it is installed;
- ``fit-lbfgs``: a whole L-BFGS fit (tol 1e-6) on the device, per m.

The roof is the device-to-device copy bandwidth measured in the same run
(bytes read + bytes written per second). Each kernel's effective bandwidth is
the bytes of X it must read (m·n·itemsize) over its time. Results go to JSON
and a PNG under ``--output`` (default ``benchmarks/results``).

Run: ``python -m fastlr.bench.gpu`` or ``fastlr bench --gpu``.
"""

import argparse
import json
import pathlib
import platform
import time

import numpy as np

import fastlr
from fastlr.dispatch import get_backend, unavailable_reason

DEFAULT_SIZES = (10**4, 10**5, 10**6, 10**7, 3 * 10**7, 10**8)
QUICK_SIZES = (10**4, 10**5, 10**6)
DEFAULT_FEATURES = (100, 1000)
DEFAULT_DTYPES = ("float32", "float64")
# Leave room for the temporaries of the two-pass variants and the fit.
MEMORY_SHARE_FOR_X = 0.4


def median_gpu_seconds(function, repeats, warmup=3):
    from cupyx.profiler import benchmark

    result = benchmark(function, (), n_repeat=repeats, n_warmup=warmup)
    return float(np.median(result.gpu_times[0]))


def copy_bandwidth(cp, n_bytes=4 * 2**30, repeats=20):
    """Device-to-device copy of ``n_bytes``: (read + write bytes) / median time, in B/s."""
    source = cp.ones(n_bytes // 4, dtype=cp.float32)
    target = cp.empty_like(source)
    seconds = median_gpu_seconds(lambda: cp.copyto(target, source), repeats)
    del source, target
    return 2 * n_bytes / seconds


def make_problem(cp, m, n, dtype, seed=0):
    """Random X (m, n) on the device and labels drawn from a logistic model."""
    rng = cp.random.default_rng(seed)
    X = rng.standard_normal((m, n), dtype=cp.float32).astype(dtype, copy=False)
    w_true = (rng.standard_normal(n, dtype=cp.float32) / np.sqrt(n)).astype(dtype)
    y = (rng.random(m, dtype=cp.float32) < 1 / (1 + cp.exp(-(X @ w_true)))).astype(dtype)
    w = (0.1 * rng.standard_normal(n, dtype=cp.float32)).astype(dtype)
    return X, y, w


def _variants(cp, kernels):
    def naive(X, y, w, b):
        z = X @ w + b
        losses = cp.logaddexp(0, z) - y * z
        residual = 1 / (1 + cp.exp(-z)) - y
        return losses.mean(), X.T @ residual / len(y), residual.mean()

    variants = {
        "fused": kernels.cost_gradient,
        "cublas-two-pass": kernels.cost_gradient_two_pass,
        "cupy-naive": naive,
    }
    try:
        import torch
    except ImportError:
        return variants

    def torch_two_pass(X, y, w, b):
        Xt, yt, wt = (torch.as_tensor(a, device="cuda") for a in (X, y, w))
        z = Xt @ wt + b
        losses = torch.nn.functional.softplus(z) - yt * z
        residual = torch.sigmoid(z) - yt
        return losses.mean(), Xt.T @ residual / len(yt), residual.mean()

    variants["torch"] = torch_two_pass
    return variants


def _fits(m, n, itemsize, free_bytes):
    return m * n * itemsize <= MEMORY_SHARE_FOR_X * free_bytes


def run(sizes, features, dtypes, repeats, fit_sizes, progress=print):
    import cupy as cp

    kernels = get_backend("cupy")
    device = cp.cuda.Device()
    properties = cp.cuda.runtime.getDeviceProperties(device.id)
    record = {
        "device": properties["name"].decode() if isinstance(properties["name"], bytes) else properties["name"],
        "driver": cp.cuda.runtime.driverGetVersion(),
        "runtime": cp.cuda.runtime.runtimeGetVersion(),
        "versions": {"cupy": cp.__version__, "numpy": np.__version__, "fastlr": fastlr.__version__,
                     "python": platform.python_version()},
        "method": "cupyx.profiler.benchmark (CUDA events), median of repeats after 3 warm-ups",
        "results": [],
        "fits": [],
    }
    roof = copy_bandwidth(cp)
    record["copy_bandwidth_GBps"] = roof / 1e9
    progress(f"device {record['device']}: copy bandwidth {roof / 1e9:.0f} GB/s (read + write)")
    variants = _variants(cp, kernels)
    for dtype in dtypes:
        for n in features:
            for m in sizes:
                itemsize = np.dtype(dtype).itemsize
                if not _fits(m, n, itemsize, device.mem_info[0]):
                    continue
                X, y, w = make_problem(cp, m, n, dtype)
                x_bytes = m * n * itemsize
                for name, function in variants.items():
                    seconds = median_gpu_seconds(lambda: function(X, y, w, 0.1), repeats)
                    row = {"variant": name, "dtype": dtype, "m": m, "n": n, "seconds": seconds,
                           "x_bytes": x_bytes, "GBps": x_bytes / seconds / 1e9,
                           "percent_of_roof": 100 * x_bytes / seconds / roof}
                    record["results"].append(row)
                    progress(f"{dtype} n={n:5d} m={m:>10,d} {name:16s} {seconds * 1e3:9.3f} ms "
                             f"{row['GBps']:7.0f} GB/s {row['percent_of_roof']:5.1f}% of roof")
                if m in fit_sizes and n == features[0]:
                    record["fits"].append(_time_fit(cp, X, y, dtype, progress))
                del X, y, w
                cp.get_default_memory_pool().free_all_blocks()
    return record


def _time_fit(cp, X, y, dtype, progress, repeats=3):
    """Median wall time of whole L-BFGS fits on device data (the first fit,
    which compiles the kernels, is not timed)."""
    m, n = X.shape
    fastlr.fit(X[:10_000], y[:10_000], backend="cupy", solver="lbfgs", tol=1e-6)
    times = []
    for _ in range(repeats):
        cp.cuda.Device().synchronize()
        start = time.perf_counter()
        model = fastlr.fit(X, y, backend="cupy", solver="lbfgs", tol=1e-6)
        cp.cuda.Device().synchronize()
        times.append(time.perf_counter() - start)
    seconds = float(np.median(times))
    progress(f"{dtype} n={n} m={m:,d} L-BFGS fit: {seconds:.3f} s (median of {repeats}: "
             f"{', '.join(f'{t:.3f}' for t in times)}), {int(model.n_iter_[0])} iterations")
    return {"solver": "lbfgs", "dtype": dtype, "m": m, "n": n, "seconds": seconds, "all_seconds": times,
            "n_iter": int(model.n_iter_[0]), "tol": 1e-6}


def summarize(record):
    """The figures the issue asks about: fused at ≥1 GB vs the roof and vs cuBLAS."""
    lines = []
    rows = record["results"]
    for row in rows:
        if row["variant"] != "fused" or row["x_bytes"] < 2**30:
            continue
        twin = next(r for r in rows if r["variant"] == "cublas-two-pass" and
                    (r["m"], r["n"], r["dtype"]) == (row["m"], row["n"], row["dtype"]))
        lines.append(
            f"{row['dtype']} m={row['m']:,} n={row['n']}: fused {row['percent_of_roof']:.0f}% of copy bandwidth, "
            f"{twin['seconds'] / row['seconds']:.2f}x faster than cuBLAS two-pass"
        )
    for fit in record["fits"]:
        lines.append(f"L-BFGS fit {fit['dtype']} m={fit['m']:,} n={fit['n']}: {fit['seconds']:.3f} s "
                     f"({fit['n_iter']} iterations)")
    return lines


def plot(record, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = sorted({(r["dtype"], r["n"]) for r in record["results"]})
    figure, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), squeeze=False)
    roof = record["copy_bandwidth_GBps"] * 1e9
    for ax, (dtype, n) in zip(axes[0], panels):
        rows = [r for r in record["results"] if (r["dtype"], r["n"]) == (dtype, n)]
        for variant in dict.fromkeys(r["variant"] for r in rows):
            points = sorted((r["m"], r["seconds"]) for r in rows if r["variant"] == variant)
            ax.loglog(*zip(*points), marker="o", label=variant)
        ms = sorted({r["m"] for r in rows})
        itemsize = np.dtype(dtype).itemsize
        ax.loglog(ms, [m * n * itemsize / roof for m in ms], "k--", label="roof (read X once)")
        ax.set(title=f"{dtype}, n = {n}", xlabel="m (rows)", ylabel="time per cost+gradient [s]")
        ax.legend(fontsize=8)
    figure.suptitle(f"{record['device']}: logistic cost and gradient")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m fastlr.bench.gpu", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only (seconds)")
    parser.add_argument("--m", type=int, nargs="+", help="row counts to sweep")
    parser.add_argument("--n", type=int, nargs="+", default=list(DEFAULT_FEATURES))
    parser.add_argument("--dtype", nargs="+", default=list(DEFAULT_DTYPES), choices=DEFAULT_DTYPES)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--fit-m", type=int, nargs="*", default=[10**7], help="row counts with a full fit")
    parser.add_argument("--output", type=pathlib.Path, default=pathlib.Path("benchmarks/results"))
    args = parser.parse_args(argv)
    reason = unavailable_reason("cupy")
    if reason is not None:
        parser.exit(1, f"fastlr gpu experiments: the cupy backend cannot run here: {reason}\n")
    sizes = args.m or (QUICK_SIZES if args.quick else DEFAULT_SIZES)
    record = run(sizes, args.n, args.dtype, args.repeats, set(args.fit_m))
    args.output.mkdir(parents=True, exist_ok=True)
    stem = args.output / f"gpu_{record['device'].replace(' ', '_')}"
    stem.with_suffix(".json").write_text(json.dumps(record, indent=2))
    try:
        plot(record, stem.with_suffix(".png"))
    except ImportError:
        print("matplotlib is not installed: no plot (pip install 'fastlr[plot]')")
    print("\n".join(["", *summarize(record)]))
    print(f"\nwrote {stem.with_suffix('.json')} and {stem.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
