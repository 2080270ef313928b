"""The ``cupy`` backend: CUDA kernels on an NVIDIA GPU, data kept on the device.

The fused passes live in ``cuda/logistic.cu`` (loaded with ``cupy.RawModule``,
one template instance per dtype and column count, compiled on first use and
cached by CuPy). Every function takes and returns CuPy arrays and never waits
for the device: costs come back as 0-d device arrays, so a solver can run many
iterations before it reads one (``check_every``).

``cost_gradient`` reads X once (one warp per row, see the .cu file) for up to
``MAX_FUSED_FEATURES`` columns; wider X, and ``cost_gradient_two_pass`` at any
width, use cuBLAS for ``X @ w`` and ``Xᵀ r`` with a small elementwise kernel
between: the two-pass baseline the fused kernel is measured against.

The softmax has a kernel shaped for each regime of K: up to 32 classes (and W
small enough for the registers, :func:`fastlr.kernels.cuda_shapes.softmax_shape`)
one fused pass that keeps W in registers and reads X once; beyond, two cuBLAS
products per chunk of rows with a fused log-sum-exp epilogue between them
(:mod:`fastlr.kernels.gemm_softmax`), optionally on TF32 tensor cores
(``config.CUDA_SOFTMAX_TF32``). ``softmax_cost_gradient_gemm`` runs the GEMM
path at any K, the baseline the fused kernel is measured against.
"""

import contextlib
import functools
import pathlib
from concurrent.futures import ThreadPoolExecutor

import cupy as cp
import numpy as np

from fastlr import config
from fastlr.kernels import gemm_softmax
from fastlr.kernels.base import Backend, is_device_array
from fastlr.kernels.cuda_shapes import MAX_FUSED_FEATURES, WARP_SIZE, items_per_lane, row_group, softmax_shape

SOURCE_PATH = pathlib.Path(__file__).parent / "cuda" / "logistic.cu"
CUDA_TYPE = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}


@functools.lru_cache(maxsize=None)
def _source():
    return SOURCE_PATH.read_text()


@functools.lru_cache(maxsize=None)
def _kernel(name, *template_args):
    """The compiled kernel ``name<template_args...>`` (memoized per process)."""
    expression = f"{name}<{', '.join(str(a) for a in template_args)}>"
    module = cp.RawModule(code=_source(), options=("-std=c++17",), name_expressions=[expression])
    return module.get_function(expression)


@functools.lru_cache(maxsize=None)
def _multiprocessors():
    return cp.cuda.Device().attributes["MultiProcessorCount"]


def _resident_blocks(kernel, threads, shared_bytes):
    """Blocks of ``kernel`` that one SM holds at once (registers, shared memory, threads).

    A persistent grid of exactly that many blocks per SM keeps every SM busy
    and leaves no second, partial wave of blocks at the end.
    """
    attributes = cp.cuda.Device().attributes
    warps_per_block = threads // WARP_SIZE
    # Registers are allocated per warp in units of 256.
    registers_per_warp = -(-kernel.num_regs * WARP_SIZE // 256) * 256
    by_registers = attributes["MaxRegistersPerMultiprocessor"] // registers_per_warp // warps_per_block
    by_threads = attributes["MaxThreadsPerMultiProcessor"] // threads
    by_shared = attributes["MaxSharedMemoryPerMultiprocessor"] // (shared_bytes + 1024)  # 1 KiB reserved per block
    return max(1, min(by_registers, by_threads, by_shared))


def _launch(kernel, work_items, items_per_block, threads, args, shared_bytes=0):
    """Launch ``kernel`` on a persistent grid; returns the number of blocks used."""
    if shared_bytes > 48 * 1024:  # above the default, a kernel must opt in
        kernel.max_dynamic_shared_size_bytes = shared_bytes
    full = _multiprocessors() * _resident_blocks(kernel, threads, shared_bytes)
    blocks = max(1, min(full, -(-work_items // items_per_block)))
    kernel((blocks,), (threads,), args, shared_mem=shared_bytes)
    return blocks


def _threads(kernel):
    """``CUDA_THREADS_PER_BLOCK``, or fewer (whole warps) where the kernel's registers allow less."""
    return min(config.CUDA_THREADS_PER_BLOCK, kernel.max_threads_per_block // WARP_SIZE * WARP_SIZE)


def _scalar_array(b, dtype):
    """b as a 1-element device array, without a host round trip when it is already there."""
    return cp.asarray(b, dtype=dtype).reshape(1)


def _class_labels(y):
    """y as the int64 class indices the softmax kernels compare with (never index with): a
    label that is not a whole number (0.5, NaN) becomes −1, no class, so that its row's
    loss is NaN as on the host backends; on the device, nothing read back."""
    y = cp.asarray(y)
    if y.dtype.kind == "f":
        y = cp.where(cp.floor(y) == y, y, -1)
    return y.astype(cp.int64, copy=False)


def _optional(array, dtype):
    """(array, 1), or a 1-element placeholder and 0: flags say which arrays are real,
    since CuPy passes None as an invalid address rather than NULL (cupy/cupy#9046)."""
    if array is None:
        return cp.empty(1, dtype=dtype), np.int32(0)
    return array, np.int32(1)


class CupyBackend(Backend):
    """CUDA kernels on CuPy arrays; every result stays on the device."""

    name = "cupy"
    summary = "CUDA kernels through CuPy, data on the device, one fused pass over X"
    xp = cp
    auto_priority = 30

    @property
    def check_every(self):
        """Solvers read a scalar back every ``config.DEVICE_CHECK_EVERY`` iterations:
        each read waits for the device."""
        return config.DEVICE_CHECK_EVERY

    def accepts(self, array):
        """CuPy arrays and other CUDA arrays (``__cuda_array_interface__``)."""
        return is_device_array(array)

    def _check_labels_in_range(self, cost, y, n_classes):
        """Nothing to read back: the CUDA softmax kernel compares labels, it never
        indexes with them, so a label that is no class (out of range, or not a whole
        number) cannot read outside W; its row makes the cost NaN."""

    # -- placement -------------------------------------------------------------
    def to_device(self, array):
        """Copy a host array to the device once; large ones stream through pinned buffers.

        Pageable host memory forces the driver to stage every byte itself, on
        one thread. Large arrays are cut into chunks of
        ``config.CUDA_PINNED_TRANSFER_BYTES`` instead, and
        ``config.CUDA_TRANSFER_LANES`` threads each copy every lane-th chunk into
        one of their two pinned buffers (NumPy's copy releases the GIL) and
        send it with an asynchronous copy on their own stream, so host copies,
        transfers and the other lanes all overlap and the link, not one core,
        sets the pace. Pinned buffers come from CuPy's pinned memory pool:
        allocated once per process, reused by every later transfer.
        """
        if isinstance(array, cp.ndarray):
            return array
        array = np.ascontiguousarray(array)
        if array.nbytes < config.CUDA_PINNED_TRANSFER_BYTES:
            return cp.asarray(array)
        out = cp.empty(array.shape, dtype=array.dtype)
        source, target = array.reshape(-1), out.reshape(-1)
        chunk = max(1, config.CUDA_PINNED_TRANSFER_BYTES // array.itemsize)
        starts = range(0, source.size, chunk)
        lanes = max(1, min(config.CUDA_TRANSFER_LANES, len(starts)))
        device = out.device

        def lane(first):
            with device:  # the current device is per thread in CuPy
                stream = cp.cuda.Stream(non_blocking=True)
                buffers = [
                    np.frombuffer(cp.cuda.alloc_pinned_memory(chunk * array.itemsize), dtype=array.dtype, count=chunk)
                    for _ in range(2)
                ]
                sent = [None, None]
                for position, start in enumerate(starts[first::lanes]):
                    slot = position % 2
                    if sent[slot] is not None:
                        sent[slot].synchronize()  # the transfer out of this buffer has finished
                    piece = source[start : start + chunk]
                    np.copyto(buffers[slot][: piece.size], piece)
                    target[start : start + piece.size].set(buffers[slot][: piece.size], stream=stream)
                    sent[slot] = stream.record()
                stream.synchronize()

        with ThreadPoolExecutor(lanes) as pool:
            list(pool.map(lane, range(lanes)))  # list(): a lane's exception is raised here
        return out

    def to_host(self, array):
        return cp.asnumpy(array)

    # -- binary kernels -----------------------------------------------------------
    def _sigmoid(self, z):
        z = cp.ascontiguousarray(cp.asarray(z))
        out = cp.empty_like(z)
        threads = config.CUDA_THREADS_PER_BLOCK
        _launch(_kernel("sigmoid", CUDA_TYPE[z.dtype]), z.size, threads, threads, (z, np.int64(z.size), out))
        return out

    def _decision_function(self, X, w, b):
        w = cp.asarray(w, dtype=X.dtype)
        b = cp.asarray(b, dtype=X.dtype)
        return X @ (w if w.ndim == 1 else w.T) + b

    def _fused_binary(self, X, y, w, b, sample_weight, with_gradient, curvature=None):
        m, n = X.shape
        dtype = X.dtype
        group = row_group(n, dtype.itemsize)
        kernel = _kernel("binary_cost_gradient", CUDA_TYPE[dtype], items_per_lane(n), group)
        threads = _threads(kernel)
        shared_bytes = (threads // WARP_SIZE) * (n + 3) * 8
        # The partial-sum slots are sized for the largest grid this launch can use.
        capacity = _multiprocessors() * _resident_blocks(kernel, threads, shared_bytes)
        block_gradient = cp.empty((capacity, n + 1), dtype=cp.float64)
        block_sums = cp.empty((capacity, 2), dtype=cp.float64)
        weights, weighted = _optional(sample_weight, dtype)
        curvature, write_curvature = _optional(curvature, cp.float64)
        blocks = _launch(
            kernel, m, (threads // WARP_SIZE) * group, threads,
            (X, y, cp.asarray(w, dtype=dtype), _scalar_array(b, dtype), weights, weighted, np.int64(m), np.int32(n),
             np.int32(with_gradient), block_gradient, block_sums, curvature, write_curvature),
            shared_bytes=shared_bytes,
        )
        gradient = cp.empty(n + 1, dtype=dtype)
        cost = cp.empty(1, dtype=dtype)
        _launch(
            _kernel("finalize_binary", CUDA_TYPE[dtype]), n + 1, 128, 128,
            (block_gradient, block_sums, np.int32(blocks), np.int32(n), gradient, cost),
        )
        return cost[0], gradient[:n], gradient[n]

    def cost_gradient_two_pass(self, X, y, w, b, sample_weight=None):
        """cuBLAS ``X @ w``, an elementwise loss/residual kernel, cuBLAS ``Xᵀ r``: two reads of X."""
        m = X.shape[0]
        dtype = X.dtype
        z = self._decision_function(X, w, b)
        losses, residual = cp.empty_like(z), cp.empty_like(z)
        threads = config.CUDA_THREADS_PER_BLOCK
        weights, weighted = _optional(sample_weight, dtype)
        _launch(
            _kernel("logistic_rows", CUDA_TYPE[dtype]), m, threads, threads,
            (z, y, weights, weighted, np.int64(m), losses, residual),
        )
        total = dtype.type(m) if sample_weight is None else sample_weight.sum()
        return losses.sum() / total, (X.T @ residual) / total, residual.sum() / total

    def _cost_gradient(self, X, y, w, b, sample_weight):
        if X.shape[1] > MAX_FUSED_FEATURES:
            return self.cost_gradient_two_pass(X, y, w, b, sample_weight)
        return self._fused_binary(X, y, w, b, sample_weight, True)

    def _cost(self, X, y, w, b, sample_weight):
        if X.shape[1] > MAX_FUSED_FEATURES:
            return self.cost_gradient_two_pass(X, y, w, b, sample_weight)[0]
        return self._fused_binary(X, y, w, b, sample_weight, False)[0]

    def _cost_gradient_curvature(self, X, y, w, b, sample_weight):
        """The fused pass, which writes D_ii = s_i p_i(1−p_i) as it goes, then D / Σs: one read of X."""
        m, n = X.shape
        if n > MAX_FUSED_FEATURES:
            return super()._cost_gradient_curvature(X, y, w, b, sample_weight)
        curvature = cp.empty(m, dtype=cp.float64)
        loss, dw, db = self._fused_binary(X, y, w, b, sample_weight, True, curvature)
        curvature /= m if sample_weight is None else sample_weight.sum(dtype=cp.float64)
        return loss, dw, db, curvature

    def _cost_gradient_hessian(self, X, y, w, b, sample_weight):
        """The fused pass (which also writes D_ii = s_i p_i(1−p_i)), then X̃ᵀ D X̃ in
        row blocks through cuBLAS: two reads of X, no m×n temporary."""
        m, n = X.shape
        dtype = X.dtype
        if n > MAX_FUSED_FEATURES:
            z = self._decision_function(X, w, b)
            p = self._sigmoid(z)
            s = 1 if sample_weight is None else sample_weight
            curvature = (s * p * (1 - p)).astype(cp.float64)
            loss, dw, db = self.cost_gradient_two_pass(X, y, w, b, sample_weight)
        else:
            curvature = cp.empty(m, dtype=cp.float64)
            loss, dw, db = self._fused_binary(X, y, w, b, sample_weight, True, curvature)
        gram = cp.zeros((n + 1, n + 1), dtype=cp.float64)
        block_rows = config.HESSIAN_BLOCK_ROWS_DEVICE
        for start in range(0, m, block_rows):
            X_block = X[start : start + block_rows]
            d_block = curvature[start : start + block_rows]
            scaled = X_block * cp.sqrt(d_block).astype(dtype)[:, None]
            gram[:n, :n] += scaled.T @ scaled
            gram[:n, n] += X_block.T @ d_block.astype(dtype)
        gram[n, n] = curvature.sum()
        gram[n, :n] = gram[:n, n]
        total = m if sample_weight is None else sample_weight.sum(dtype=cp.float64)
        return loss, dw, db, (gram / total).astype(dtype)

    # -- softmax kernels ----------------------------------------------------------
    def _softmax(self, Z):
        Z = cp.ascontiguousarray(Z)
        m, classes = Z.shape
        out = cp.empty_like(Z)
        threads = config.CUDA_THREADS_PER_BLOCK
        _launch(
            _kernel("softmax_rows", CUDA_TYPE[Z.dtype]), m, threads, threads,
            (Z, np.int64(m), np.int32(classes), out),
        )
        return out

    def _fused_softmax(self, X, y, W, b, sample_weight, with_gradient, shape):
        """The fused kernel for K ≤ 32: W in registers, X read once (see logistic.cu)."""
        m, n = X.shape
        classes = W.shape[0]
        dtype = X.dtype
        items, group = shape
        width = classes * (n + 1)
        kernel = _kernel("softmax_cost_gradient", CUDA_TYPE[dtype], items, classes, group)
        threads = _threads(kernel)
        shared_bytes = (threads // WARP_SIZE) * (width + 2) * 8
        capacity = _multiprocessors() * _resident_blocks(kernel, threads, shared_bytes)
        block_gradient = cp.empty((capacity, width), dtype=cp.float64)
        block_sums = cp.empty((capacity, 2), dtype=cp.float64)
        weights, weighted = _optional(sample_weight, dtype)
        blocks = _launch(
            kernel, m, (threads // WARP_SIZE) * group, threads,
            (X, _class_labels(y), cp.ascontiguousarray(W, dtype=dtype), cp.asarray(b, dtype=dtype),
             weights, weighted, np.int64(m), np.int32(n), np.int32(with_gradient), block_gradient, block_sums),
            shared_bytes=shared_bytes,
        )
        gradient = cp.empty(width, dtype=dtype)
        cost_out = cp.empty(1, dtype=dtype)
        _launch(
            _kernel("finalize_softmax", CUDA_TYPE[dtype]), width, 128, 128,
            (block_gradient, block_sums, np.int32(blocks), np.int32(width), gradient, cost_out),
        )
        gradient = gradient.reshape(classes, n + 1)
        return cost_out[0], gradient[:, :n], gradient[:, n]

    def _residual_rows(self, Z, labels, b, sample_weight):
        """The GEMM path's epilogue as one CUDA kernel (``softmax_residual_rows``)."""
        rows, classes = Z.shape
        losses = cp.empty(rows, dtype=cp.float64)
        weights, weighted = _optional(sample_weight, Z.dtype)
        threads = config.CUDA_THREADS_PER_BLOCK
        _launch(
            _kernel("softmax_residual_rows", CUDA_TYPE[Z.dtype]), rows, threads // WARP_SIZE, threads,  # a warp per row
            (Z, cp.asarray(labels, dtype=cp.int64), b, weights, weighted, np.int64(rows), np.int32(classes), losses),
        )
        return losses

    def softmax_cost_gradient_gemm(self, X, y, W, b, sample_weight=None, with_gradient=True):
        """The GEMM path at any K: cuBLAS X_c Wᵀ, the fused epilogue, cuBLAS Rᵀ X_c per chunk
        (:mod:`fastlr.kernels.gemm_softmax`); float32 products on TF32 tensor cores when
        ``config.CUDA_SOFTMAX_TF32`` opts in."""
        rows = gemm_softmax.chunk_rows(W.shape[0], X.dtype.itemsize, config.CUDA_SOFTMAX_CHUNK_BYTES)
        with _tensor_float_32(X.dtype, config.CUDA_SOFTMAX_TF32):
            return gemm_softmax.softmax_gemm_pass(
                cp, X, _class_labels(y), W, b, sample_weight, with_gradient, rows, self._residual_rows
            )

    def _softmax_pass(self, X, y, W, b, sample_weight, with_gradient):
        shape = softmax_shape(X.shape[1], W.shape[0], X.dtype.itemsize)
        if shape is None:
            return self.softmax_cost_gradient_gemm(X, y, W, b, sample_weight, with_gradient)
        return self._fused_softmax(X, y, W, b, sample_weight, with_gradient, shape)

    def _softmax_cost_gradient(self, X, y, W, b, sample_weight):
        return self._softmax_pass(X, y, W, b, sample_weight, True)

    def _softmax_cost(self, X, y, W, b, sample_weight):
        return self._softmax_pass(X, y, W, b, sample_weight, False)[0]


@contextlib.contextmanager
def _tensor_float_32(dtype, enabled):
    """cuBLAS float32 products on TF32 tensor cores (float32 accumulation) inside the block,
    when ``enabled`` and the data is float32; CuPy's setting is restored afterwards."""
    if not enabled or dtype != np.float32:
        yield
        return
    from cupy._core import _routines_linalg as linalg  # CuPy's switch for its cuBLAS compute type

    previous = linalg.get_compute_type(dtype)
    linalg.set_compute_type(dtype, linalg.COMPUTE_TYPE_TF32)
    try:
        yield
    finally:
        linalg.set_compute_type(dtype, previous)


backend = CupyBackend()
