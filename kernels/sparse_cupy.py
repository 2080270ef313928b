"""The CSR companion of ``cupy``: CUDA kernels over ``cupyx.scipy.sparse`` CSR matrices.

The binary and softmax cost-gradient passes are the kernels of
``cuda/sparse.cu``: a group of lanes per row computes the margins, the loss
and each row's residual, then the gradient is Xᵀ times the residuals, one
group of lanes per row of Xᵀ. Everything else (the Hessian-vector products,
a softmax with more classes than the kernel keeps in registers) is the code
of :mod:`fastlr.kernels.sparse_numpy` run on CuPy, its two products X U and
Xᵀ U being the same deterministic kernel (``csr_rows_times_dense``): the same
lines that the NumPy tests exercise.

Deterministic, at a memory price: no atomics (whose order of additions
depends on scheduling), so Xᵀ is held on the device as a second CSR matrix,
made once per X (:meth:`SparseCupyBackend._transposed`, a cuSPARSE
transposition, kept while X lives): one more copy of X's stored entries
(data and indices, and n + 1 row pointers), and one more read of them per
gradient. The dense Hessian (``solver="newton"``) is built from cuSPARSE's
sparse-sparse products, which this module does not make deterministic.

CuPy's sparse matrices hold int32 indices, so X on the GPU has fewer than
2³¹ stored entries; a larger one is refused with a message naming a CPU
backend. Nothing here waits for the device: costs come back as 0-d device
arrays, as on the dense ``cupy`` backend.
"""

import functools
import pathlib
import weakref

import cupy as cp
import cupyx.scipy.sparse
import numpy as np
import scipy.sparse

from fastlr import config
from fastlr.kernels import cupy_cuda
from fastlr.kernels.cupy_cuda import CUDA_TYPE, WARP_SIZE, _launch, _multiprocessors, _optional, _resident_blocks
from fastlr.kernels.cupy_cuda import _scalar_array, _threads
from fastlr.kernels.sparse_numpy import SparseNumpyBackend

SOURCE_DIRECTORY = pathlib.Path(__file__).parent / "cuda"
#: The softmax kernel keeps CLASSES partial margins, margins and residuals per lane in registers.
MAX_FUSED_CLASSES = 16
INT32_MAX = np.iinfo(np.int32).max


@functools.lru_cache(maxsize=None)
def _kernel(name, *template_args):
    """The compiled kernel ``name<template_args...>`` of sparse.cu (memoized per process)."""
    expression = f"{name}<{', '.join(str(a) for a in template_args)}>"
    module = cp.RawModule(
        code=(SOURCE_DIRECTORY / "sparse.cu").read_text(),
        options=("-std=c++17", f"-I{SOURCE_DIRECTORY}"),
        name_expressions=[expression],
    )
    return module.get_function(expression)


def lanes_per_row(nnz, m):
    """Lanes that share a row: the smallest power of two (2 to 32) at least the mean
    stored entries per row, so that short rows do not leave most of a warp idle."""
    mean = nnz / max(m, 1)
    lanes = 2
    while lanes < WARP_SIZE and lanes < mean:
        lanes *= 2
    return lanes


class SparseCupyBackend(SparseNumpyBackend):
    sparse_module = cupyx.scipy.sparse

    def __init__(self, dense, summary):
        super().__init__(dense, summary)
        self._transposes = {}  # id(X) -> Xᵀ as CSR, while X lives

    def accepts(self, array):
        return cupyx.scipy.sparse.issparse(array)

    def to_device(self, array):
        """A host CSR copied to the device once (its three arrays through the dense backend's
        pinned transfers); device arrays as they are."""
        if scipy.sparse.issparse(array):
            if array.nnz > INT32_MAX:
                raise ValueError(
                    f"X has {array.nnz} stored entries; cupyx.scipy.sparse holds int32 indices, so at most "
                    f"{INT32_MAX} on the GPU: use backend='numba-parallel', which takes int64 indices"
                )
            csr = array.tocsr()
            arrays = (csr.data, csr.indices.astype(np.int32), csr.indptr.astype(np.int32))
            return cupyx.scipy.sparse.csr_matrix(tuple(self.dense.to_device(a) for a in arrays), shape=csr.shape)
        if cupyx.scipy.sparse.issparse(array):
            return array
        return self.dense.to_device(array)

    def _check_labels_in_range(self, cost, y, n_classes):
        """Nothing to read back: the CUDA kernels compare labels, they never index with them."""

    # -- the two products, deterministic ------------------------------------------------
    def _transposed(self, X):
        """Xᵀ as a CSR matrix, made once per X (a fit passes the same X to every call) and
        dropped when X is."""
        key = id(X)
        transposed = self._transposes.get(key)
        if transposed is None:
            transposed = X.T.tocsr()
            self._transposes[key] = transposed
            weakref.finalize(X, self._transposes.pop, key, None)
        return transposed

    def _rows_times(self, A, U, dtype):
        """A U (float64, (rows,) or (rows, K)) for a device CSR A and U of A's column count
        (1-D or 2-D): ``csr_rows_times_dense``, at most ``MAX_FUSED_CLASSES`` columns a launch."""
        rows = A.shape[0]
        U = cp.ascontiguousarray(U, dtype=cp.float64)
        columns = 1 if U.ndim == 1 else U.shape[1]
        out = cp.empty((rows, columns), dtype=cp.float64)
        lanes = lanes_per_row(A.nnz, rows)
        for offset in range(0, columns, MAX_FUSED_CLASSES):
            width = min(MAX_FUSED_CLASSES, columns - offset)
            kernel = _kernel("csr_rows_times_dense", CUDA_TYPE[dtype], lanes, width)
            threads = _threads(kernel)
            _launch(
                kernel, rows, (threads // WARP_SIZE) * (WARP_SIZE // lanes), threads,
                (A.data.astype(dtype, copy=False), A.indices, A.indptr, np.int64(rows), U, np.int32(columns),
                 np.int32(offset), out),
            )
        return out[:, 0] if U.ndim == 1 else out

    def _product(self, X, U):
        return self._rows_times(X, U, X.dtype).astype(X.dtype)

    def _transpose_product(self, X, U):
        return self._rows_times(self._transposed(X), U, X.dtype)

    # -- binary ------------------------------------------------------------------------
    def _fused_binary(self, X, y, w, b, sample_weight, with_gradient, curvature=None):
        m, n = X.shape
        dtype = X.dtype
        lanes = lanes_per_row(X.nnz, m)
        kernel = _kernel("csr_binary_rows", CUDA_TYPE[dtype], lanes)
        threads = _threads(kernel)
        shared_bytes = (threads // WARP_SIZE) * 3 * 8
        capacity = _multiprocessors() * _resident_blocks(kernel, threads, shared_bytes)
        scaled_residual = cp.empty(m if with_gradient else 1, dtype=cp.float64)
        block_sums = cp.empty((capacity, 3), dtype=cp.float64)
        weights, weighted = _optional(sample_weight, dtype)
        curvature, write_curvature = _optional(curvature, cp.float64)
        blocks = _launch(
            kernel, m, (threads // WARP_SIZE) * (WARP_SIZE // lanes), threads,
            (X.data, X.indices, X.indptr, y, cp.asarray(w, dtype=dtype), _scalar_array(b, dtype), weights, weighted,
             np.int64(m), np.int32(with_gradient), scaled_residual, block_sums, curvature, write_curvature),
            shared_bytes=shared_bytes,
        )
        gradient_sum = self._transpose_product(X, scaled_residual) if with_gradient else cp.zeros(n)
        gradient = cp.empty(n + 1, dtype=dtype)
        cost = cp.empty(1, dtype=dtype)
        threads = config.CUDA_THREADS_PER_BLOCK
        _launch(
            _kernel("csr_finalize_binary", CUDA_TYPE[dtype]), n + 1, threads, threads,
            (gradient_sum, block_sums, np.int32(blocks), np.int32(n), gradient, cost),
        )
        return cost[0], gradient[:n], gradient[n]

    def _cost(self, X, y, w, b, sample_weight):
        return self._fused_binary(X, y, w, b, sample_weight, False)[0]

    def _cost_gradient(self, X, y, w, b, sample_weight):
        return self._fused_binary(X, y, w, b, sample_weight, True)

    def _cost_gradient_curvature(self, X, y, w, b, sample_weight):
        curvature = cp.empty(X.shape[0], dtype=cp.float64)
        cost, dw, db = self._fused_binary(X, y, w, b, sample_weight, True, curvature)
        total = X.shape[0] if sample_weight is None else sample_weight.sum(dtype=cp.float64)
        return cost, dw, db, curvature / total

    # -- softmax ------------------------------------------------------------------------
    def _fused_softmax(self, X, y, W, b, sample_weight, with_gradient):
        m, n = X.shape
        classes = W.shape[0]
        dtype = X.dtype
        lanes = lanes_per_row(X.nnz, m)
        kernel = _kernel("csr_softmax_rows", CUDA_TYPE[dtype], lanes, classes)
        threads = _threads(kernel)
        shared_bytes = (threads // WARP_SIZE) * (classes + 2) * 8
        capacity = _multiprocessors() * _resident_blocks(kernel, threads, shared_bytes)
        residuals = cp.empty((m, classes) if with_gradient else (1, classes), dtype=cp.float64)
        block_sums = cp.empty((capacity, classes + 2), dtype=cp.float64)
        weights, weighted = _optional(sample_weight, dtype)
        WT = cp.ascontiguousarray(cp.asarray(W, dtype=dtype).T)
        blocks = _launch(
            kernel, m, (threads // WARP_SIZE) * (WARP_SIZE // lanes), threads,
            (X.data, X.indices, X.indptr, cp.asarray(y, dtype=cp.int64), WT, cp.asarray(b, dtype=dtype), weights,
             weighted, np.int64(m), np.int32(with_gradient), residuals, block_sums),
            shared_bytes=shared_bytes,
        )
        gradient_sum = self._transpose_product(X, residuals) if with_gradient else cp.zeros((n, classes))
        out = cp.empty(classes * (n + 1), dtype=dtype)
        cost = cp.empty(1, dtype=dtype)
        threads = config.CUDA_THREADS_PER_BLOCK
        _launch(
            _kernel("csr_finalize_softmax", CUDA_TYPE[dtype]), classes * (n + 1), threads, threads,
            (gradient_sum, block_sums, np.int32(blocks), np.int32(classes), np.int32(n), out, cost),
            shared_bytes=(classes + 2) * 8,
        )
        return cost[0], out[: classes * n].reshape(classes, n), out[classes * n:]

    def _softmax_cost_gradient(self, X, y, W, b, sample_weight):
        if W.shape[0] > MAX_FUSED_CLASSES:
            return super()._softmax_cost_gradient(X, y, W, b, sample_weight)
        return self._fused_softmax(X, y, W, b, sample_weight, True)

    def _softmax_cost(self, X, y, W, b, sample_weight):
        if W.shape[0] > MAX_FUSED_CLASSES:
            return super()._softmax_cost_gradient(X, y, W, b, sample_weight)[0]
        return self._fused_softmax(X, y, W, b, sample_weight, False)[0]


backend = SparseCupyBackend(
    cupy_cuda.backend, "CUDA kernels over cupyx CSR, a group of lanes per row; the gradient over a device copy of Xᵀ "
    "(deterministic, no atomics)"
)
