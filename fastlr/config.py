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

#: Rows per block in the blocked (BLAS) Hessian ``Xᵀ D X``: the block and its
#: weighted copy stay in cache, so X is read from memory once per Hessian.
HESSIAN_BLOCK_ROWS = 2048

#: ``solver="auto"`` uses Newton when n_features is at most this. A Newton
#: iteration (gradient and Hessian, m·n² work) cost 6.5 L-BFGS evaluations at
#: n = 100 on a 2-core Xeon, more than the iterations it saves on
#: well-conditioned data; for small n the Hessian is nearly free.
AUTO_NEWTON_MAX_FEATURES = 50

#: ``solver="auto"`` uses the proximal Newton solver ``newton-cd`` for L1 and
#: elastic net up to this many features (it holds the (n+1)² Hessian and spends
#: m·n² per iteration on it), ``fista`` beyond.
AUTO_NEWTON_CD_MAX_FEATURES = 2000

#: Sweeps of the inner coordinate descent of ``newton-cd`` per outer iteration
#: at most (each is (n+1)² work on the host, no pass over X), and per round
#: between two Newton steps on the zero pattern they found.
NEWTON_CD_MAX_SWEEPS = 1000
NEWTON_CD_SWEEPS_PER_ROUND = 20

#: ``LogisticRegressionCV`` gathers each fold's training rows once (one copy per
#: fold, shared by every C) when X is in host memory and those rows take at most
#: this many bytes: each pass over X then reads 1/k fewer rows (20% for 5 folds).
#: Beyond it, and on a GPU, a fold is X itself with 0/1 weights: no copy at all.
CV_GATHER_FOLD_MAX_BYTES = 2 * 2**30

#: ``LogisticRegressionCV`` with ``solver="auto"`` fits binary L2 paths with Newton up to
#: this many features. Along a warm-started path Newton takes 1-4 iterations per C
#: where L-BFGS takes 10-40, and the first one at each C is the last Hessian of the C
#: before (the path's memo), which pays for the m·n² Hessian further than for one fit:
#: at 200 000 × 100, 10 Cs × 5 folds, tol=1e-6 on a 2-core Xeon, 72 Hessian passes
#: took 25-29 s where L-BFGS's 760 gradient passes took 29-31 s.
CV_AUTO_NEWTON_MAX_FEATURES = 100

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
