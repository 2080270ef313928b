"""Runtime tunables, in one place, read at call time.

Every knob that trades speed for something else lives here, documented, and
is read when it is used, so that setting one (``config.X = ...``, or
``monkeypatch.setattr(config, ...)`` in a test) takes effect at the next call
and nothing else hard-codes a magic number. Knobs that Numba freezes into
compiled code (fast-math flags, the on-disk cache, the prefetch distance) are
not here: they live with the kernels, in :mod:`fastlr.kernels.numba_build`,
with the way to recompile after changing them.
"""

#: Threads of ``numba-parallel`` (one row range each); ``None``: Numba's thread
#: count (``NUMBA_NUM_THREADS``, the CPU count unless ``numba.set_num_threads`` lowered it).
NUMBA_THREADS = None

#: Rows that each thread of ``numba-parallel`` gets at least. Below this, the
#: cost of waking a thread exceeds the work, so small inputs run in fewer chunks.
NUMBA_MIN_ROWS_PER_THREAD = 4096

#: Bytes of X per block of rows in the fused Numba passes: a block's margins,
#: losses and residuals are computed together (SIMD over rows), then its
#: gradient while the block is still in cache (L2).
NUMBA_BLOCK_BYTES = 64 * 1024

#: Rows per block in the blocked (BLAS) Hessian ``Xᵀ D X``: the block and its
#: weighted copy stay in cache, so X is read from memory once per Hessian.
HESSIAN_BLOCK_ROWS = 2048

#: ``solver="auto"`` uses Newton when n_features is at most this. A Newton
#: iteration (gradient and Hessian, m·n² work) cost 6.5 L-BFGS evaluations at
#: n = 100 on a 2-core Xeon, more than the iterations it saves on
#: well-conditioned data; for small n the Hessian is nearly free.
AUTO_NEWTON_MAX_FEATURES = 50

#: Power iterations used to estimate the Lipschitz constant for
#: ``learning_rate="auto"``.
LIPSCHITZ_POWER_ITERATIONS = 30

#: A gradient-descent run is declared diverged when the cost becomes non-finite
#: or grows beyond this multiple of its starting value.
DIVERGENCE_FACTOR = 1e4

#: On device backends, convergence is checked every this many iterations, so the
#: loop does not wait for the GPU after each step.
DEVICE_CHECK_EVERY = 10

#: Threads per block of the CUDA row kernels (4 warps). Smaller blocks fit the
#: register budget more finely: on an H200, 128 beat 256 and 512 in float64 and
#: for n = 1000 (benchmarks/results/gpu_NVIDIA_H200_row_group_sweep.log).
CUDA_THREADS_PER_BLOCK = 128

#: Bytes of X each lane holds in registers for one group of rows in the fused
#: CUDA pass (rows per group = this / (columns per lane × itemsize), at most 32).
#: More rows per group: more loads in flight and fewer shuffles per row, at the
#: price of registers (fewer resident warps).
CUDA_ROW_GROUP_BYTES = 128

#: Logits per chunk of the GEMM softmax path (K > 32 classes, or W too large for the
#: fused kernel's registers): sized to stay in a GPU's L2 cache (50 MB on an H100/H200)
#: between the cuBLAS product that writes them and the epilogue that reads them.
CUDA_SOFTMAX_CHUNK_BYTES = 32 * 2**20

#: Opt-in: the GEMM softmax path multiplies float32 data on TF32 tensor cores
#: (10-bit mantissas in, float32 accumulation). Off by default: it changes the
#: gradients at the 1e-3 relative level.
CUDA_SOFTMAX_TF32 = False

#: Host arrays at least this large go to the GPU through pinned buffers of this size.
CUDA_PINNED_TRANSFER_BYTES = 64 * 2**20

#: Rows per cuBLAS block of the device Hessian (bounds the scaled-block temporary).
HESSIAN_BLOCK_ROWS_DEVICE = 2**16

#: With ``persist="auto"`` a dask X is persisted (held in the workers' memory
#: for the whole fit) when it takes at most this share of the memory the
#: scheduler has; the rest is left for the chunks' temporaries and the Hessians
#: in flight. Larger X is streamed from its source at every evaluation.
DASK_PERSIST_MEMORY_FRACTION = 0.5
