"""Register tiles written as LLVM vector code: running sums that stay in vector registers.

The block products of the softmax pass want, per tile of the output, a few
vector registers of running sums carried across a loop over the block's rows,
as a BLAS micro-kernel keeps them. LLVM does not build such code from Numba's
scalar loops: the loop vectorizer vectorizes the innermost loop only (the row
loop, which has no contiguous axis), and the SLP vectorizer left 40 scalar sums
of a 5 × 8 tile written out by hand scalar (``vfmadd231sd``, 2.5x slower than
the kernels of :mod:`~fastlr.kernels.numba_small_gemm`). So the tile here is
emitted as LLVM IR through a Numba ``@intrinsic``: vector loads of X, one
broadcast per coefficient, ``llvm.fma`` on vectors, the sums added to the
output once per tile.

:func:`products_tile` makes the kernel for one tile shape:
P[k₀+a, j₀ : j₀+V·L] += Σ_{r < count} R[k₀+a, r] X[start+r, j₀ : j₀+V·L] for
a < ``classes``, with L lanes per vector (4 float64 or 8 float32: 32-byte
vectors, which AVX2 and AVX-512 both have; 16-byte ones for the last columns)
and V = ``vectors``. A 5 × 2 tile
holds 10 sums, 2 loads of X and a broadcast: 13 of AVX2's 16 registers.
Measured on one Zen 3 core (K = 10, n = 100 float64, blocks of 80 rows in
cache, 2·10⁶ rows): 119 ms against 176 ms for the best scalar-loop kernel
(4 rows × 2 classes with P in memory) and 238 ms for BLAS, 34 GFLOP/s
(``benchmarks/small_gemm_shapes.py``).

Sums run in X's dtype in a fixed order (row by row, from zero, then added to
P), so results are deterministic for a given machine. The kernels take
C-contiguous X and P only (vector loads need unit stride along rows); any
other layout is a typing error, never a wrong read.
"""

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.core.extending import intrinsic

#: Bytes per vector register the tiles use: AVX2's ymm, which AVX-512 CPUs also run at full rate.
VECTOR_BYTES = 32


def _fma_intrinsic(module, vector):
    suffix = f"v{vector.count}{'f64' if isinstance(vector.element, ir.DoubleType) else 'f32'}"
    return cgutils.get_or_insert_function(module, ir.FunctionType(vector, [vector] * 3), f"llvm.fma.{suffix}")


def _splat(builder, vector, value):
    """The vector whose every lane is ``value``."""
    one = builder.insert_element(ir.Constant(vector, None), value, ir.Constant(ir.IntType(32), 0))
    return builder.shuffle_vector(one, ir.Constant(vector, None), ir.Constant(ir.VectorType(ir.IntType(32), vector.count),
                                                                                [0] * vector.count))


class _Matrix:
    """Element pointers of a 2-D Numba array inside an intrinsic, no wraparound (indices are ≥ 0)."""

    def __init__(self, context, builder, array_type, value):
        self.context, self.builder, self.type = context, builder, array_type
        self.array = context.make_array(array_type)(context, builder, value)

    def pointer(self, i, j):
        return cgutils.get_item_pointer2(
            self.context, self.builder, self.array.data, cgutils.unpack_tuple(self.builder, self.array.shape),
            cgutils.unpack_tuple(self.builder, self.array.strides), self.type.layout, [i, j], wraparound=False)

    def vector_pointer(self, i, j, vector):
        return self.builder.bitcast(self.pointer(i, j), vector.as_pointer())


def products_tile(classes: int, vectors: int, vector_bytes: int = VECTOR_BYTES):
    """The kernel ``tile(X, R, start, count, P, k0, j0)`` for one tile of ``classes`` × ``vectors``
    vectors of ``vector_bytes`` each (16-byte vectors take the columns that a 32-byte one overruns).

    X : (m, n) C-contiguous; R : (K, ≥ count), any layout; P : (K, n) C-contiguous; all of
    one dtype, float32 or float64. Adds Σ_{r < count} R[k0+a, r] X[start+r, j0 + c] to
    P[k0+a, j0 + c] for a < classes and c < vectors · lanes; the caller keeps the tile
    inside P (k0 + classes ≤ K, j0 + vectors · lanes ≤ n).
    """

    @intrinsic
    def tile(typingctx, X, R, start, count, P, k0, j0):
        arrays = (X, R, P)
        if not all(isinstance(a, types.Array) and a.ndim == 2 and a.dtype == X.dtype for a in arrays):
            return None
        if X.dtype not in (types.float32, types.float64) or X.layout != "C" or P.layout != "C":
            return None
        signature = types.void(X, R, types.intp, types.intp, P, types.intp, types.intp)

        def codegen(context, builder, sig, args):
            x, r, p = (_Matrix(context, builder, sig.args[i], args[i]) for i in (0, 1, 4))
            start_row, row_count, first_class, first_column = (args[i] for i in (2, 3, 5, 6))
            scalar = context.get_value_type(sig.args[0].dtype)
            width = vector_bytes // context.get_abi_sizeof(scalar)
            vector = ir.VectorType(scalar, width)
            align = context.get_abi_sizeof(scalar)  # rows of X need not start on a vector boundary
            fma = _fma_intrinsic(builder.module, vector)
            index = lambda base, offset: builder.add(base, ir.Constant(base.type, offset))
            columns = [index(first_column, h * width) for h in range(vectors)]
            class_rows = [index(first_class, a) for a in range(classes)]
            # Allocas that LLVM's mem2reg turns into vector registers carried by the row loop.
            sums = [[cgutils.alloca_once_value(builder, ir.Constant(vector, None)) for _ in columns] for _ in class_rows]
            with cgutils.for_range(builder, row_count) as loop:
                row = builder.add(start_row, loop.index)
                xs = [builder.load(x.vector_pointer(row, column, vector), align=align) for column in columns]
                for a, k in enumerate(class_rows):
                    coefficient = _splat(builder, vector, builder.load(r.pointer(k, loop.index)))
                    for h, xh in enumerate(xs):
                        builder.store(builder.call(fma, [coefficient, xh, builder.load(sums[a][h])]), sums[a][h])
            for a, k in enumerate(class_rows):
                for h, column in enumerate(columns):
                    target = p.vector_pointer(k, column, vector)
                    total = builder.fadd(builder.load(target, align=align), builder.load(sums[a][h]))
                    builder.store(total, target, align=align)
            return context.get_dummy_value()

        return signature, codegen

    return tile
