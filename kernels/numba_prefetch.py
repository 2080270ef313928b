"""Software prefetch for the row loops over X: which rows to ask for, and how far ahead.

The row loops read X once, in order; the hardware prefetcher alone does not
run far enough ahead of a loop that also computes, so the loops ask for the
row :func:`rows_ahead` rows further on (``numba_build.PREFETCH_BYTES_*``).
"""

from llvmlite import ir
from numba import njit, types
from numba.core.extending import intrinsic

from fastlr.kernels import numba_build

_jit = dict(cache=numba_build.CACHE, nogil=True)
PREFETCH_BYTES_FLOAT32 = numba_build.PREFETCH_BYTES_FLOAT32
PREFETCH_BYTES_FLOAT64 = numba_build.PREFETCH_BYTES_FLOAT64
CACHE_LINE_BYTES = 64


@intrinsic
def prefetch(typingctx, array, flat_index):
    """Hint the CPU to bring ``array.flat[flat_index]`` into cache (``llvm.prefetch``).

    A hint only: it never faults and changes no result. Numba has no
    spelling for it, so it is emitted as the LLVM intrinsic (read, high
    locality, data cache).
    """
    signature = types.void(array, flat_index)

    def codegen(context, builder, sig, args):
        array_struct = context.make_array(sig.args[0])(context, builder, args[0])
        address = builder.gep(array_struct.data, [args[1]])
        byte_pointer = ir.IntType(8).as_pointer()
        int32 = ir.IntType(32)
        function = builder.module.declare_intrinsic(
            "llvm.prefetch",
            fnty=ir.FunctionType(ir.VoidType(), [byte_pointer, int32, int32, int32]),
        )
        builder.call(
            function,
            [builder.bitcast(address, byte_pointer), int32(0), int32(3), int32(1)],
        )
        return context.get_dummy_value()

    return signature, codegen


@njit(inline="always", **_jit)
def rows_ahead(X):
    """How many rows ahead a loop over X prefetches: ``numba_build.PREFETCH_BYTES_*``
    of X's dtype, at least one row. Loops compute it once, outside the row loop."""
    ahead = PREFETCH_BYTES_FLOAT32 if X.itemsize == 4 else PREFETCH_BYTES_FLOAT64
    return max(1, ahead // (X.shape[1] * X.itemsize))


@njit(inline="always", **_jit)
def prefetch_row(X, row):
    """Prefetch every cache line of row ``row`` of a C-contiguous X (if it exists)."""
    m, n = X.shape
    if row < m:
        step = max(1, CACHE_LINE_BYTES // X.itemsize)
        for k in range(row * n, row * n + n, step):
            prefetch(X, k)
