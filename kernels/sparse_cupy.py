"""The CSR companion of ``cupy``: CUDA kernels over ``cupyx.scipy.sparse`` CSR matrices.

The binary and softmax cost-gradient passes are the fused kernels of
``cuda/sparse.cu`` (a group of lanes per row, the gradient scattered with
atomics as each row is read: one read of X per pass). Everything else (the
margins, the Hessian-vector products, a softmax with more classes than the
kernel keeps in registers) is the code of :mod:`fastlr.kernels.sparse_numpy`
run on CuPy and cuSPARSE: the same lines that the NumPy tests exercise.

CuPy's sparse matrices hold int32 indices, so X on the GPU has fewer than
2³¹ stored entries; a larger one is refused with a message naming a CPU
backend. Nothing here waits for the device: costs come back as 0-d device
arrays, as on the dense ``cupy`` backend.
"""

import functools
import pathlib

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

    # -- binary ------------------------------------------------------------------------
    def _fused_binary(self, X, y, w, b, sample_weight, with_gradient, curvature=None):
        m, n = X.shape
        dtype = X.dtype
        lanes = lanes_per_row(X.nnz, m)
        kernel = _kernel("csr_binary_cost_gradient", CUDA_TYPE[dtype], lanes)
        threads = _threads(kernel)
        shared_bytes = (threads // WARP_SIZE) * 3 * 8
        capacity = _multiprocessors() * _resident_blocks(kernel, threads, shared_bytes)
        gradient_sum = cp.zeros(n, dtype=cp.float64)
        block_sums = cp.empty((capacity, 3), dtype=cp.float64)
        weights, weighted = _optional(sample_weight, dtype)
        curvature, write_curvature = _optional(curvature, cp.float64)
        blocks = _launch(
            kernel, m, (threads // WARP_SIZE) * (WARP_SIZE // lanes), threads,
            (X.data, X.indices, X.indptr, y, cp.asarray(w, dtype=dtype), _scalar_array(b, dtype), weights, weighted,
             np.int64(m), np.int32(with_gradient), gradient_sum, block_sums, curvature, write_curvature),
            shared_bytes=shared_bytes,
        )
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
        kernel = _kernel("csr_softmax_cost_gradient", CUDA_TYPE[dtype], lanes, classes)
        threads = _threads(kernel)
        shared_bytes = (threads // WARP_SIZE) * (classes + 2) * 8
        capacity = _multiprocessors() * _resident_blocks(kernel, threads, shared_bytes)
        gradient_sum = cp.zeros(n * classes, dtype=cp.float64)
        block_sums = cp.empty((capacity, classes + 2), dtype=cp.float64)
        weights, weighted = _optional(sample_weight, dtype)
        WT = cp.ascontiguousarray(cp.asarray(W, dtype=dtype).T)
        blocks = _launch(
            kernel, m, (threads // WARP_SIZE) * (WARP_SIZE // lanes), threads,
            (X.data, X.indices, X.indptr, cp.asarray(y, dtype=cp.int64), WT, cp.asarray(b, dtype=dtype), weights,
             weighted, np.int64(m), np.int32(with_gradient), gradient_sum, block_sums),
            shared_bytes=shared_bytes,
        )
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
    cupy_cuda.backend, "CUDA kernels over cupyx CSR, a group of lanes per row, one fused pass over the stored entries"
)
