"""Runtime tunables, in one place, read at call time.

Every knob that trades speed for something else lives here, documented, and
is read when it is used, so that setting one (``config.X = ...``, or
``monkeypatch.setattr(config, ...)`` in a test) takes effect at the next call
and nothing else hard-codes a magic number. Knobs that Numba freezes into
compiled code (fast-math flags, the on-disk cache, the prefetch distance) are
not here: they live with the kernels, in :mod:`fastlr.kernels.numba_build`,
with the way to recompile after changing them.
"""

#: Wait policy of the OpenMP runtime under ``numba-parallel``: put into the
#: environment (unless the user set OMP_WAIT_POLICY) at the first parallel call,
#: just before Numba starts its threads, never at import; ``None`` leaves it
#: alone. With OpenMP's default, idle threads spin and take the cores from the
#: solver's own thread and from other OpenMP runtimes (scikit-learn ships one):
#: on 2 busy cores a 20000 × 3 cost_gradient took 31 ms instead of 0.7 ms.
NUMBA_OMP_WAIT_POLICY = "PASSIVE"

#: Rows that each thread of ``numba-parallel`` gets at least. Below this, the
#: cost of waking a thread exceeds the work, so small inputs run in fewer chunks.
NUMBA_MIN_ROWS_PER_THREAD = 4096

#: Work of the CSR passes, in stored entries: each row also costs this many
#: (its exp and log, its label and weight), so that ranges of empty or short rows
#: are not treated as free when ``numba-parallel`` balances its row ranges.
SPARSE_ROW_COST = 8

#: Work (stored entries plus ``SPARSE_ROW_COST`` per row) that each thread of
#: the ``numba-parallel`` CSR passes gets at least; less work runs on one thread.
#: About 0.3 ms of one core: at 1.4 · 10⁵ entries a pass on two threads took
#: 3.7 ms against 1.5 ms on one (2-core Xeon, shared).
SPARSE_MIN_WORK_PER_THREAD = 2**18

#: Bytes of per-thread (n+1)² buffers the parallel CSR Hessian may allocate;
#: beyond, it runs on fewer threads (one, at worst) rather than multiply the Hessian.
SPARSE_HESSIAN_BUFFER_BYTES = 256 * 2**20

#: Rows per block in the blocked (BLAS) Hessian ``Xᵀ D X``: the block and its
#: weighted copy stay in cache, so X is read from memory once per Hessian.
HESSIAN_BLOCK_ROWS = 2048

#: A dense (n+1)² Hessian (Newton) may take at most this share of the backend's
#: memory: a Newton step holds the Hessian, its float64 copy, the shifted matrix
#: and its Cholesky factor. Wider problems are refused with a message naming
#: the size (200k × 10⁶ sparse data would need 8 TB); L-BFGS needs O(n).
DENSE_HESSIAN_MEMORY_FRACTION = 0.125

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

#: Host arrays at least this large go to the GPU through pinned buffers of this size.
CUDA_PINNED_TRANSFER_BYTES = 64 * 2**20

#: Rows per cuBLAS block of the device Hessian (bounds the scaled-block temporary).
HESSIAN_BLOCK_ROWS_DEVICE = 2**16

#: With ``persist="auto"`` a dask X is persisted (held in the workers' memory
#: for the whole fit) when it takes at most this share of the memory the
#: scheduler has; the rest is left for the chunks' temporaries and the Hessians
#: in flight. Larger X is streamed from its source at every evaluation.
DASK_PERSIST_MEMORY_FRACTION = 0.5
