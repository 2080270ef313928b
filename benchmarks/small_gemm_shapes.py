"""The softmax pass's two block products, each register-block shape against BLAS, on one core.

For K = 10 classes and n = 100 features, a block of ``--block`` rows held in
cache (4 blocks, cycled) is multiplied as the softmax pass multiplies it,
``--rows`` rows in all, round after round (median of ``--repeats``):

- scores Zᵀ = W X_Bᵀ: each shape of
  :data:`fastlr.kernels.numba_small_gemm.SCORE_BLOCKS`, and NumPy's ``W @ X_B.T``;
- products P += R X_B: the vector-register tiles of
  :func:`~fastlr.kernels.numba_small_gemm.add_block_products`, and NumPy's ``R @ X_B``.

Run it with one thread (``NUMBA_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1``); the
shape the host uses is marked. Its figures chose the shape per register file
(module docstring of :mod:`~fastlr.kernels.numba_small_gemm`).

    NUMBA_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/small_gemm_shapes.py [--dtype float64] [--output FILE]
"""

import argparse
import statistics
import time

import numpy as np
from numba import njit

from fastlr.bench.report import machine
from fastlr.kernels import numba_small_gemm
from fastlr.outputs import write_json

N_FEATURES = 100
N_CLASSES = 10
BLOCKS_IN_CACHE = 4


@njit(nogil=True)
def _cycle(product, X, operand, block, rounds, out):
    """``rounds`` passes of ``product`` over the ``BLOCKS_IN_CACHE`` blocks of X."""
    for _ in range(rounds):
        for start in range(0, X.shape[0], block):
            product(X, operand, start, block, out)


def _numpy_scores(X, W, block, rounds, Z):
    for _ in range(rounds):
        for start in range(0, X.shape[0], block):
            np.dot(W, X[start : start + block].T, out=Z)


def _numpy_products(X, R, block, rounds, P):
    for _ in range(rounds):
        for start in range(0, X.shape[0], block):
            P += R @ X[start : start + block]


def measure(dtype="float64", rows=2_000_000, block=80, repeats=5, seed=0) -> list:
    """Median seconds per ``rows`` rows for every shape and product, interleaved round by round."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((BLOCKS_IN_CACHE * block, N_FEATURES)).astype(dtype)
    W = rng.standard_normal((N_CLASSES, N_FEATURES)).astype(dtype)
    R = rng.standard_normal((N_CLASSES, block)).astype(dtype)
    Z = np.empty((N_CLASSES, block), dtype=dtype)
    P = np.zeros((N_CLASSES, N_FEATURES), dtype=dtype)
    rounds = max(1, rows // (BLOCKS_IN_CACHE * block))
    host = numba_small_gemm.host_register_file()
    cases = {}
    for registers, scores in numba_small_gemm.SCORE_BLOCKS.items():
        label = f"{registers} registers ({scores.__name__.rsplit('_', 1)[1]})" + (" [host]" if registers == host else "")
        cases[("scores", label)] = lambda s=scores: _cycle(s, X, W, block, rounds, Z)
    tile = f"{numba_small_gemm.PRODUCT_CLASSES} classes x {numba_small_gemm.PRODUCT_VECTORS} vectors [host]"
    cases[("products", tile)] = lambda: _cycle(numba_small_gemm.add_block_products, X, R, block, rounds, P)
    cases[("scores", "BLAS (NumPy)")] = lambda: _numpy_scores(X, W, block, rounds, Z)
    cases[("products", "BLAS (NumPy)")] = lambda: _numpy_products(X, R, block, rounds, P)
    for run in cases.values():  # compile outside the timed rounds
        run()
    times = {key: [] for key in cases}
    for _ in range(repeats):
        for key, run in cases.items():
            start = time.perf_counter()
            run()
            times[key].append(time.perf_counter() - start)
    return [
        {"product": product, "shape": label, "dtype": str(dtype), "rows": rounds * BLOCKS_IN_CACHE * block,
         "block_rows": block, "seconds": statistics.median(values)}
        for (product, label), values in times.items()
    ]


def main(argv=None) -> list:
    parser = argparse.ArgumentParser(prog="python benchmarks/small_gemm_shapes.py", description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--block", type=int, default=80)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--output", default=None)
    args = parser.parse_args(argv)
    records = measure(args.dtype, args.rows, args.block, args.repeats)
    print(f"{machine()['cpu']}, host register file: {numba_small_gemm.host_register_file()}; "
          f"K={N_CLASSES} n={N_FEATURES} {args.dtype}, block of {args.block} rows in cache, median of {args.repeats}")
    for record in records:
        print(f"{record['product']:9s} {record['shape']:38s} {1e3 * record['seconds']:7.1f} ms per {record['rows']} rows")
    if args.output:
        write_json(args.output, {"machine": machine(), "records": records})
        print(f"wrote {args.output}")
    return records


if __name__ == "__main__":
    main()
