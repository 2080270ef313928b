"""The two products of the softmax pass on one block of rows, register-blocked for few classes.

Per block of rows X_B (count × n, in cache) the softmax pass needs the scores
Zᵀ = W X_Bᵀ (K × count) and, once the residuals R (K × count) are known, the
gradient R X_B (K × n). With K = 10 these are GEMMs of a shape (10 × 100 ×
163) for which OpenBLAS's kernels reach about a third of a core's FMA rate
(27 GFLOP/s of float64 on a Zen 5 core, whose OpenBLAS build runs its AVX2
kernels), and the two products were 90% of the pass.

The scores are loops over the columns j that LLVM vectorizes, with the work
per column blocked so that each load feeds several multiply-adds. How many
running sums a block can keep depends on the vector registers, so there is one
block shape per register file (:data:`SCORE_BLOCKS`, picked for the host by
:func:`host_register_file`):

* 32 registers (AVX-512, a Zen 5): 4 rows × 4 classes (16 running sums plus
  8 loads), 150 ms per 4·10⁶ rows of 100 float64 against BLAS's 310 ms on
  one core.
* 16 registers (AVX2, a Zen 3): that 4 × 4 block spills. 3 rows × 4 classes
  (12 sums, 3 loads of X and one of W: all 16 registers), classes in groups
  of 4 and then 3 (K = 10: 4 + 3 + 3). Per 2·10⁶ rows of 100 float64, K = 10,
  the block in cache, one core: 145–182 ms against 161–200 ms for the
  2 rows × 5 classes block it replaced and 247–485 ms for 4 × 4, same runs
  (this VM's load moves every figure); ``benchmarks/small_gemm_shapes.py``.
  In the whole softmax pass on both cores it took the float32 pass from
  387–436 to 324–351 ms per 4·10⁶ rows; float64 stayed within the noise
  (501–531 against 500–548 ms), three runs each in alternating processes
  (``benchmarks/results/cpu_kernel_roofs_scores_3x4_vs_447e62f_2core_zen3.json``).

The products P += R X_B sum over the block's rows, an axis that no loop of
scalar code can keep in registers for LLVM: they are tiles of 5 classes × 2
vectors of columns written as LLVM vector code
(:mod:`~fastlr.kernels.numba_vector_tiles`), one shape for both register
files. On the Zen 3 they took 119 ms per 2·10⁶ rows against 176 ms for the
best loop kernel (4 rows × 2 classes, P in memory; 4 × 4 was best on the
Zen 5, 150 ms per 4·10⁶ rows) and 238 ms for BLAS, same run.

The same two kernels serve Newton-CG's softmax Hessian-vector product
(:mod:`~fastlr.kernels.numba_second_order`: Uᵀ = V X_Bᵀ, then R X_B) and the
K-class margins of prediction (:func:`~fastlr.kernels.numba_common.margins_rows`).

Classes left over from the groups go one at a time (still a group of rows),
rows and columns left over one at a time. Sums run in X's dtype, as BLAS's
would; the order of additions is fixed by the code, so results are
deterministic for a given machine.
"""

import llvmlite.binding
import numpy as np
from numba import njit

from fastlr.kernels import numba_build, numba_vector_tiles
from fastlr.kernels.numba_prefetch import prefetch_row, rows_ahead

#: As the other row passes (:mod:`fastlr.kernels.numba_common`): ``reassoc`` lets
#: LLVM split each running sum over SIMD lanes; ``nogil`` for numba-parallel.
_jit = dict(cache=numba_build.CACHE, fastmath=set(numba_build.FASTMATH), error_model="numpy", nogil=True)

#: Classes and rows per register block of the 4 × 4 kernels: 16 running sums
#: plus the 8 loads that feed them fit in the 32 vector registers of AVX-512.
GROUP = 4


# The tails of the register blocks, shared and called (not inlined): for K = 10 and
# blocks of whole groups of rows they never run, and they stay out of the code that LLVM
# schedules for the blocked loops.
@njit(**_jit)
def scores_row_by_row(X, W, start, first, count, Z):
    """Z[k, r] = x_{start+r} · W_k for first ≤ r < count: rows left over from the groups."""
    n_classes, n = W.shape
    for r in range(first, count):
        i = start + r
        for k in range(n_classes):
            a = X.dtype.type(0)
            for j in range(n):
                a += X[i, j] * W[k, j]
            Z[k, r] = a


@njit(**_jit)
def block_scores_4x4(X, W, start, count, Z):
    """Z[k, r] = x_{start+r} · W_k for r < count and every class k.

    X : (m, n) C-contiguous; W : (K, n) in X's dtype; Z : (K, ≥ count), written.
    Reads X from memory (the rows :func:`~fastlr.kernels.numba_prefetch.rows_ahead`
    further on are prefetched).
    """
    n_classes, n = W.shape
    zero = X.dtype.type(0)
    grouped = n_classes - n_classes % GROUP
    ahead = rows_ahead(X)
    r = 0
    while r + GROUP <= count:
        i = start + r
        for q in range(GROUP):  # from memory: the products alone ran at 10 GB/s without this
            prefetch_row(X, i + ahead + q)
        # The bound is written as n_classes − GROUP + 1, not as `grouped`: with `grouped`
        # LLVM left the column loop of a products kernel of this shape 4x slower.
        for k in range(0, n_classes - GROUP + 1, GROUP):
            a00 = zero; a01 = zero; a02 = zero; a03 = zero  # a<row><class>, one line per row
            a10 = zero; a11 = zero; a12 = zero; a13 = zero
            a20 = zero; a21 = zero; a22 = zero; a23 = zero
            a30 = zero; a31 = zero; a32 = zero; a33 = zero
            for j in range(n):
                x0 = X[i, j]
                x1 = X[i + 1, j]
                x2 = X[i + 2, j]
                x3 = X[i + 3, j]
                w0 = W[k, j]
                w1 = W[k + 1, j]
                w2 = W[k + 2, j]
                w3 = W[k + 3, j]
                a00 += x0 * w0; a01 += x0 * w1; a02 += x0 * w2; a03 += x0 * w3
                a10 += x1 * w0; a11 += x1 * w1; a12 += x1 * w2; a13 += x1 * w3
                a20 += x2 * w0; a21 += x2 * w1; a22 += x2 * w2; a23 += x2 * w3
                a30 += x3 * w0; a31 += x3 * w1; a32 += x3 * w2; a33 += x3 * w3
            Z[k, r] = a00; Z[k + 1, r] = a01; Z[k + 2, r] = a02; Z[k + 3, r] = a03
            Z[k, r + 1] = a10; Z[k + 1, r + 1] = a11; Z[k + 2, r + 1] = a12; Z[k + 3, r + 1] = a13
            Z[k, r + 2] = a20; Z[k + 1, r + 2] = a21; Z[k + 2, r + 2] = a22; Z[k + 3, r + 2] = a23
            Z[k, r + 3] = a30; Z[k + 1, r + 3] = a31; Z[k + 2, r + 3] = a32; Z[k + 3, r + 3] = a33
        for k in range(grouped, n_classes):
            a0 = zero
            a1 = zero
            a2 = zero
            a3 = zero
            for j in range(n):
                w = W[k, j]
                a0 += X[i, j] * w
                a1 += X[i + 1, j] * w
                a2 += X[i + 2, j] * w
                a3 += X[i + 3, j] * w
            Z[k, r] = a0
            Z[k, r + 1] = a1
            Z[k, r + 2] = a2
            Z[k, r + 3] = a3
        r += GROUP
    scores_row_by_row(X, W, start, r, count, Z)


@njit(inline="always", **_jit)
def groups_of_four(n_classes):
    """How many groups of 4 classes :func:`block_scores_3x4` takes before its groups of 3:
    the most that leave a multiple of 3 (K = 10: 4 + 3 + 3; K = 12: 4 + 4 + 4), or as many
    as fit when none does (K = 5: 4, then one class on its own)."""
    for fours in range(n_classes // 4, -1, -1):
        if (n_classes - 4 * fours) % 3 == 0:
            return fours
    return n_classes // 4


@njit(**_jit)
def block_scores_3x4(X, W, start, count, Z):
    """As :func:`block_scores_4x4`, 3 rows × 4 classes at a time, for AVX2's 16 vector
    registers: 12 running sums, 3 loads of X and one of W per column. Classes go in groups
    of 4, then of 3 (9 sums), then one at a time (:func:`groups_of_four`); rows left over
    from the groups of 3, one at a time.

    Why 12 sums: each sum is a chain of n/4 dependent multiply-adds (latency about 5
    cycles on a Zen 3), so 2 FMA units need about 10 sums in flight; 10 (the 2 × 5
    block) leave no slack for the loads, 12 do (module docstring).
    """
    n_classes, n = W.shape
    zero = X.dtype.type(0)
    fours = groups_of_four(n_classes)
    threes_end = 4 * fours + 3 * ((n_classes - 4 * fours) // 3)
    ahead = rows_ahead(X)
    r = 0
    while r + 3 <= count:
        i = start + r
        for q in range(3):
            prefetch_row(X, i + ahead + q)
        for k in range(0, 4 * fours, 4):
            a00 = zero; a01 = zero; a02 = zero; a03 = zero  # a<row><class>, one line per row
            a10 = zero; a11 = zero; a12 = zero; a13 = zero
            a20 = zero; a21 = zero; a22 = zero; a23 = zero
            for j in range(n):
                x0 = X[i, j]
                x1 = X[i + 1, j]
                x2 = X[i + 2, j]
                w = W[k, j]
                a00 += x0 * w; a10 += x1 * w; a20 += x2 * w
                w = W[k + 1, j]
                a01 += x0 * w; a11 += x1 * w; a21 += x2 * w
                w = W[k + 2, j]
                a02 += x0 * w; a12 += x1 * w; a22 += x2 * w
                w = W[k + 3, j]
                a03 += x0 * w; a13 += x1 * w; a23 += x2 * w
            Z[k, r] = a00; Z[k + 1, r] = a01; Z[k + 2, r] = a02; Z[k + 3, r] = a03
            Z[k, r + 1] = a10; Z[k + 1, r + 1] = a11; Z[k + 2, r + 1] = a12; Z[k + 3, r + 1] = a13
            Z[k, r + 2] = a20; Z[k + 1, r + 2] = a21; Z[k + 2, r + 2] = a22; Z[k + 3, r + 2] = a23
        # The group of 4 with one class fewer, written out again: a loop over the classes
        # inside the column loop would keep the sums in memory, not in registers.
        for k in range(4 * fours, threes_end, 3):
            a00 = zero; a01 = zero; a02 = zero
            a10 = zero; a11 = zero; a12 = zero
            a20 = zero; a21 = zero; a22 = zero
            for j in range(n):
                x0 = X[i, j]
                x1 = X[i + 1, j]
                x2 = X[i + 2, j]
                w = W[k, j]
                a00 += x0 * w; a10 += x1 * w; a20 += x2 * w
                w = W[k + 1, j]
                a01 += x0 * w; a11 += x1 * w; a21 += x2 * w
                w = W[k + 2, j]
                a02 += x0 * w; a12 += x1 * w; a22 += x2 * w
            Z[k, r] = a00; Z[k + 1, r] = a01; Z[k + 2, r] = a02
            Z[k, r + 1] = a10; Z[k + 1, r + 1] = a11; Z[k + 2, r + 1] = a12
            Z[k, r + 2] = a20; Z[k + 1, r + 2] = a21; Z[k + 2, r + 2] = a22
        for k in range(threes_end, n_classes):
            a0 = zero
            a1 = zero
            a2 = zero
            for j in range(n):
                w = W[k, j]
                a0 += X[i, j] * w
                a1 += X[i + 1, j] * w
                a2 += X[i + 2, j] * w
            Z[k, r] = a0
            Z[k, r + 1] = a1
            Z[k, r + 2] = a2
        r += 3
    scores_row_by_row(X, W, start, r, count, Z)


#: Classes × vectors of columns per tile of :func:`add_block_products`: 10 running sums
#: in vector registers (:mod:`~fastlr.kernels.numba_vector_tiles`), and its one-vector
#: forms (32 and 16 bytes) for the columns left over from the wide tiles: without the
#: 16-byte one, the last 4 of 100 float32 columns were summed in scalar code, and the
#: float32 softmax pass took 459 ms against 411 ms with the loop kernels it replaced
#: (separate runs; 297 ms with it).
PRODUCT_CLASSES, PRODUCT_VECTORS = 5, 2
_products_wide = numba_vector_tiles.products_tile(PRODUCT_CLASSES, PRODUCT_VECTORS)
_products_narrow = numba_vector_tiles.products_tile(PRODUCT_CLASSES, 1)
_products_half = numba_vector_tiles.products_tile(PRODUCT_CLASSES, 1, vector_bytes=numba_vector_tiles.VECTOR_BYTES // 2)


@njit(**_jit)
def products_scalar(X, R, start, count, first_class, last_class, first_column, P):
    """P[k, j] += Σ_{r < count} R[k, r] X[start+r, j] for first_class ≤ k < last_class and
    j ≥ first_column: the classes and columns left over from the tiles."""
    n = P.shape[1]
    for k in range(first_class, last_class):
        for r in range(count):
            c = R[k, r]
            for j in range(first_column, n):
                P[k, j] += c * X[start + r, j]


@njit(**_jit)
def add_block_products(X, R, start, count, P):
    """P[k, :] += Σ_{r < count} R[k, r] x_{start+r} for every class k.

    X : (m, n) and P : (K, n) C-contiguous, R : (K, ≥ count), in X's dtype. Tiles of
    ``PRODUCT_CLASSES`` classes × ``PRODUCT_VECTORS`` vectors of columns, each summed over
    all the block's rows in registers; the rest by :func:`products_scalar`.
    """
    n_classes, n = P.shape
    width = numba_vector_tiles.VECTOR_BYTES // X.itemsize
    grouped = n_classes - n_classes % PRODUCT_CLASSES
    for k in range(0, grouped, PRODUCT_CLASSES):
        j = 0
        while j + PRODUCT_VECTORS * width <= n:
            _products_wide(X, R, start, count, P, k, j)
            j += PRODUCT_VECTORS * width
        if j + width <= n:
            _products_narrow(X, R, start, count, P, k, j)
            j += width
        if j + width // 2 <= n:
            _products_half(X, R, start, count, P, k, j)
            j += width // 2
        products_scalar(X, R, start, count, k, k + PRODUCT_CLASSES, j, P)
    # np.intp(0), not the literal 0: a literal argument would compile a second specialization.
    products_scalar(X, R, start, count, grouped, n_classes, np.intp(0), P)


#: The scores kernel by the number of vector registers (measured: see the module docstring).
SCORE_BLOCKS = {32: block_scores_4x4, 16: block_scores_3x4}


def host_register_file() -> int:
    """Vector registers of the CPU Numba compiles for: 32 with AVX-512, 16 otherwise."""
    return 32 if llvmlite.binding.get_host_cpu_features().get("avx512f", False) else 16


#: The host's scores kernel, bound once: the softmax pass calls this name. Numba compiles
#: and caches per CPU (its cache key holds the CPU's name and features), so a cache
#: made on one machine never hands another the other shape's code.
block_scores = SCORE_BLOCKS[host_register_file()]
