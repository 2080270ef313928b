"""Tune ``config.CUDA_ROW_GROUP_BYTES`` and ``config.CUDA_THREADS_PER_BLOCK``:
time the fused CUDA pass for several row-group sizes and block sizes on ≥ 1 GB
of X, in one run (needs a CUDA device).

    python benchmarks/gpu_row_group_sweep.py
"""

import numpy as np

import fastlr
from fastlr import config
from fastlr.bench.gpu import copy_bandwidth, make_problem, median_gpu_seconds

CASES = [
    ("float32", 100, 10**7), ("float64", 100, 10**7), ("float32", 1000, 10**6), ("float32", 1000, 2 * 10**6),
    ("float64", 1000, 10**6),
]
GROUP_BYTES = (32, 64, 128, 256, 512)
THREADS = (128, 256, 512)


def main():
    import cupy as cp

    from fastlr.kernels.cuda_shapes import row_group

    kernels = fastlr.get_backend("cupy")
    roof = copy_bandwidth(cp)
    print(f"copy bandwidth {roof / 1e9:.0f} GB/s")
    for dtype, n, m in CASES:
        X, y, w = make_problem(cp, m, n, dtype)
        two_pass = median_gpu_seconds(lambda: kernels.cost_gradient_two_pass(X, y, w, 0.1), 20)
        defaults = config.CUDA_ROW_GROUP_BYTES, config.CUDA_THREADS_PER_BLOCK
        settings = [(b, t) for t in THREADS for b in GROUP_BYTES]
        for group_bytes, threads in settings:
            config.CUDA_ROW_GROUP_BYTES, config.CUDA_THREADS_PER_BLOCK = group_bytes, threads
            group = row_group(n, np.dtype(dtype).itemsize)
            seconds = median_gpu_seconds(lambda: kernels.cost_gradient(X, y, w, 0.1), 20)
            print(f"{dtype} n={n:4d} m={m:>10,d} group_bytes={group_bytes:3d} threads={threads:3d} "
                  f"rows/group={group:2d} {seconds * 1e3:8.3f} ms {100 * X.nbytes / seconds / roof:5.1f}% of roof "
                  f"{two_pass / seconds:5.2f}x vs cuBLAS two-pass")
        config.CUDA_ROW_GROUP_BYTES, config.CUDA_THREADS_PER_BLOCK = defaults
        del X, y, w
        cp.get_default_memory_pool().free_all_blocks()


if __name__ == "__main__":
    main()
