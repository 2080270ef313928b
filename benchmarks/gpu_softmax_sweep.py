"""The softmax pass on a GPU against its roofs, by number of classes, and the launch shapes.

For each case (dtype, K, n, m with X of about 2 GB) it times, with CUDA events
in one run (median of ``--repeats`` after 3 warm-ups):

- ``fused``: the kernel shaped for K ≤ 32 (W in registers), where it applies;
- ``gemm``: two cuBLAS products per chunk and the fused epilogue
  (``softmax_cost_gradient_gemm``), and ``gemm-tf32`` with TF32 tensor cores;
- ``torch``: PyTorch's autograd, forward (``cross_entropy``) and backward, where installed;

and reports each as a share of the device-to-device copy bandwidth (bytes of X
read once / time) and, for the GEMM cases, of the device's float32 GEMM rate
measured in the same run (2 · 2 m n K flops). Then, for K = 10, n = 100, it
sweeps ``config.CUDA_ROW_GROUP_BYTES`` and ``config.CUDA_THREADS_PER_BLOCK``
for the fused kernel. Goals of issue 15: fused K ≤ 32 at ≥ 60% of copy
bandwidth and ≥ 2x torch; K = 1000, n = 2048 at ≥ 50% of the GEMM rate or
faster than torch.

    python benchmarks/gpu_softmax_sweep.py [--quick] [--output benchmarks/results]

Writes ``gpu_<device>_softmax_sweep.{json,log,png}`` under ``--output``.
"""

import argparse
import json
import pathlib
import platform

import numpy as np

import fastlr
from fastlr import config
from fastlr.bench.gpu import copy_bandwidth, median_gpu_seconds
from fastlr.dispatch import unavailable_reason

#: (K, n): the small-K regime of the fused kernel, its edge, and the GEMM regime (linear probes).
CASES = [(2, 100), (3, 100), (10, 100), (10, 1000), (32, 64), (64, 512), (100, 1000), (1000, 2048)]
X_BYTES = 2 * 2**30
QUICK_X_BYTES = 64 * 2**20
GROUP_BYTES = (32, 64, 128, 256)
THREADS = (64, 128, 256)


def gemm_rate(cp, repeats, size=8192):
    """float32 GEMM flops per second of this device (cuBLAS, size³, no TF32)."""
    A = cp.random.default_rng(0).standard_normal((size, size), dtype=cp.float32)
    seconds = median_gpu_seconds(lambda: A @ A, repeats)
    return 2 * size**3 / seconds


def softmax_problem(cp, m, n, classes, dtype, seed=0):
    rng = cp.random.default_rng(seed)
    X = rng.standard_normal((m, n), dtype=cp.float32).astype(dtype, copy=False)
    W = (0.1 * rng.standard_normal((classes, n), dtype=cp.float32)).astype(dtype)
    b = cp.zeros(classes, dtype=dtype)
    y = rng.integers(0, classes, m).astype(cp.int64)
    return X, y, W, b


def _variants(cp, kernels, classes, n, dtype):
    from fastlr.kernels.cuda_shapes import softmax_shape

    variants = {}
    if softmax_shape(n, classes, np.dtype(dtype).itemsize) is not None:
        variants["fused"] = kernels.softmax_cost_gradient
    variants["gemm"] = kernels.softmax_cost_gradient_gemm
    if dtype == "float32":
        def tf32(X, y, W, b):
            config.CUDA_SOFTMAX_TF32 = True
            try:
                return kernels.softmax_cost_gradient_gemm(X, y, W, b)
            finally:
                config.CUDA_SOFTMAX_TF32 = False

        variants["gemm-tf32"] = tf32
    try:
        import torch
    except ImportError:
        return variants

    def torch_autograd(X, y, W, b):
        Xt, yt = torch.as_tensor(X, device="cuda"), torch.as_tensor(y, device="cuda")
        Wt = torch.as_tensor(W, device="cuda").clone().requires_grad_()
        bt = torch.as_tensor(b, device="cuda").clone().requires_grad_()
        loss = torch.nn.functional.cross_entropy(Xt @ Wt.T + bt, yt)
        loss.backward()
        return loss, Wt.grad, bt.grad

    variants["torch"] = torch_autograd
    return variants


def run(x_bytes, repeats, dtypes, progress=print):
    import cupy as cp

    kernels = fastlr.get_backend("cupy")
    device = cp.cuda.Device()
    record = {
        "device": cp.cuda.runtime.getDeviceProperties(device.id)["name"].decode(),
        "cupy": cp.__version__, "python": platform.python_version(), "results": [], "launch_sweep": [],
    }
    roof = copy_bandwidth(cp)
    flops = gemm_rate(cp, repeats)
    record.update(copy_bandwidth_GBps=roof / 1e9, gemm_TFLOPs=flops / 1e12)
    progress(f"{record['device']}: copy bandwidth {roof / 1e9:.0f} GB/s, float32 GEMM {flops / 1e12:.1f} TFLOP/s")
    for dtype in dtypes:
        for classes, n in CASES:
            record["results"] += _time_case(cp, kernels, dtype, classes, n, x_bytes, repeats, roof, flops, progress)
            cp.get_default_memory_pool().free_all_blocks()
    record["launch_sweep"] = sweep_launch_shapes(cp, kernels, x_bytes, repeats, roof, progress)
    return record


def _time_case(cp, kernels, dtype, classes, n, x_bytes, repeats, roof, flops, progress):
    m = max(1024, x_bytes // (n * np.dtype(dtype).itemsize))
    X, y, W, b = softmax_problem(cp, m, n, classes, dtype)
    rows = []
    for name, function in _variants(cp, kernels, classes, n, dtype).items():
        seconds = median_gpu_seconds(lambda: function(X, y, W, b), repeats)
        rows.append({
            "variant": name, "dtype": dtype, "classes": classes, "n": n, "m": m, "seconds": seconds,
            "percent_of_copy_bandwidth": 100 * X.nbytes / seconds / roof,
            "percent_of_gemm_rate": 100 * 4 * m * n * classes / seconds / flops,
        })
        progress(f"{dtype} K={classes:4d} n={n:4d} m={m:>10,d} {name:10s} {seconds * 1e3:9.3f} ms "
                 f"{rows[-1]['percent_of_copy_bandwidth']:5.1f}% of copy bandwidth "
                 f"{rows[-1]['percent_of_gemm_rate']:5.1f}% of GEMM rate")
    return rows


def sweep_launch_shapes(cp, kernels, x_bytes, repeats, roof, progress, classes=10, n=100):
    """The fused kernel at K = 10, n = 100, float32, for each rows-per-group budget and block size."""
    m = x_bytes // (n * 4)
    X, y, W, b = softmax_problem(cp, m, n, classes, "float32")
    defaults = config.CUDA_ROW_GROUP_BYTES, config.CUDA_THREADS_PER_BLOCK
    rows = []
    try:
        for group_bytes in GROUP_BYTES:
            for threads in THREADS:
                config.CUDA_ROW_GROUP_BYTES, config.CUDA_THREADS_PER_BLOCK = group_bytes, threads
                seconds = median_gpu_seconds(lambda: kernels.softmax_cost_gradient(X, y, W, b), repeats)
                rows.append({"group_bytes": group_bytes, "threads": threads, "seconds": seconds,
                             "percent_of_copy_bandwidth": 100 * X.nbytes / seconds / roof})
                progress(f"fused K={classes} n={n} group_bytes={group_bytes:3d} threads={threads:3d} "
                         f"{seconds * 1e3:8.3f} ms {rows[-1]['percent_of_copy_bandwidth']:5.1f}% of copy bandwidth")
    finally:
        config.CUDA_ROW_GROUP_BYTES, config.CUDA_THREADS_PER_BLOCK = defaults
    return rows


def plot(record, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dtypes = sorted({r["dtype"] for r in record["results"]})
    figure, axes = plt.subplots(1, len(dtypes), figsize=(7 * len(dtypes), 4), squeeze=False)
    for ax, dtype in zip(axes[0], dtypes):
        rows = [r for r in record["results"] if r["dtype"] == dtype]
        cases = list(dict.fromkeys((r["classes"], r["n"]) for r in rows))
        variants = list(dict.fromkeys(r["variant"] for r in rows))
        width = 0.8 / len(variants)
        for index, variant in enumerate(variants):
            shares = {(r["classes"], r["n"]): r["percent_of_copy_bandwidth"] for r in rows if r["variant"] == variant}
            positions = [i + index * width for i, case in enumerate(cases) if case in shares]
            ax.bar(positions, [shares[case] for case in cases if case in shares], width, label=variant)
        ax.set_xticks([i + 0.4 - width / 2 for i in range(len(cases))], [f"K={k}\nn={n}" for k, n in cases], fontsize=8)
        ax.axhline(100, color="k", linestyle="--", linewidth=1)
        ax.set(title=f"softmax cost + gradient, {dtype}", ylabel="% of copy bandwidth (X read once)")
        ax.legend(fontsize=8)
    figure.suptitle(record["device"])
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python benchmarks/gpu_softmax_sweep.py", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"X of {QUICK_X_BYTES // 2**20} MB per case (seconds)")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--dtype", nargs="+", default=["float32", "float64"], choices=["float32", "float64"])
    parser.add_argument("--output", type=pathlib.Path, default=pathlib.Path("benchmarks/results"))
    args = parser.parse_args(argv)
    reason = unavailable_reason("cupy")
    if reason is not None:
        print(f"gpu_softmax_sweep: cupy cannot run here: {reason}")
        return 1
    lines = []

    def progress(line):
        print(line, flush=True)
        lines.append(line)

    record = run(QUICK_X_BYTES if args.quick else X_BYTES, args.repeats, args.dtype, progress)
    args.output.mkdir(parents=True, exist_ok=True)
    stem = args.output / f"gpu_{record['device'].replace(' ', '_')}_softmax_sweep"
    stem.with_suffix(".json").write_text(json.dumps(record, indent=1))
    stem.with_suffix(".log").write_text("\n".join(lines) + "\n")
    plot(record, stem.with_suffix(".png"))
    print(f"wrote {stem}.{{json,log,png}}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
