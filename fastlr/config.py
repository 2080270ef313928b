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

#: Work of the CSR passes, in stored entries: each row also costs this many
#: (its exp and log, its label and weight), so that ranges of empty or short rows
#: are not treated as free when ``numba-parallel`` balances its row ranges.
SPARSE_ROW_COST = 8

#: Work (stored entries plus ``SPARSE_ROW_COST`` per row) that each thread of
#: the ``numba-parallel`` CSR passes gets at least; less work runs on one thread.
#: About 0.3 ms of one core: at 1.4 · 10⁵ entries a pass on two threads took
#: 3.7 ms against 1.5 ms on one (2-core Xeon, shared).
SPARSE_MIN_WORK_PER_THREAD = 2**18

#: Bytes of X per block of rows in the fused Numba passes: a block's margins,
#: losses and residuals are computed together (SIMD over rows), then its
#: gradient while the block is still in cache (L2).
NUMBA_BLOCK_BYTES = 64 * 1024

#: Rows per block in the blocked (BLAS) Hessian ``Xᵀ D X``: the block and its
#: weighted copy stay in cache, so X is read from memory once per Hessian.
HESSIAN_BLOCK_ROWS = 2048

#: ``solver="auto"`` (:func:`fastlr.solvers.auto_solver`) picks Newton-CG for
#: problems up to this many elements (rows × parameters), L-BFGS above, unless
#: the Hessian can be sampled. Measured on numba-parallel, float64,
#: make_classification, tol = 1e-6, to convergence (2-core Xeon, shared):
#: Newton-CG was fastest at m = 1000 for n ≤ 300 (8 iterations, 1.1–2x faster
#: than L-BFGS) and at 10⁴ × 10; L-BFGS at 10⁴ × 30 (25 ms vs 29 ms) and beyond,
#: up to the sampled regime (10⁵ × 100: 231 ms vs 368 ms; 10⁵ × 300: 0.76 s vs 1.24 s),
#: where Newton-CG wins again (5 × 10⁵ × 100: 0.92 s vs 1.5 s; 10⁵ × 10: 144 ms vs 236 ms).
#: (Newton-CG and L-BFGS only: the dense Newton of the narrow shapes below comes first.)
AUTO_NEWTON_CG_MAX_ELEMENTS = 3 * 10**5

#: ``solver="auto"`` picks the dense Newton (one pass per iteration that returns the
#: (n+1)² Hessian, a Cholesky solve on the host) for binary problems, smooth penalties,
#: dense X, up to this many features and rows. There the Hessian costs little more than
#: a gradient, and each iteration is one kernel call where Newton-CG makes one per CG
#: step. Measured with ``benchmarks/solver_crossover.py`` (numba-parallel, tol = 1e-6,
#: 2-core Zen 3, record ``benchmarks/results/solver_crossover_2core_zen3.json``):
#: fastest of fastlr's solvers at m ≤ 3·10⁴ with n ≤ 30 but for near ties (at most
#: 1.07x; 10⁴ × 20 float64: 9.4 ms against 18.7 for Newton-CG), slower at n = 50
#: (10⁴ × 50 float64: 33.0 against 25.9 ms) and at m = 10⁵, where Newton-CG samples
#: its Hessian (10⁵ × 10 float64: 34.5 against 21.3 ms).
AUTO_NEWTON_MAX_FEATURES = 30
AUTO_NEWTON_MAX_ROWS = 30_000

#: For the softmax, ``"auto"`` picks Newton-CG up to this many features, L-BFGS
#: above. Newton-CG takes 6–10 iterations where L-BFGS takes 80–280, and its
#: Hessian-vector products cost a blocked pass like a gradient's. Measured on
#: numba-parallel, float64, make_classification (30 informative features), each
#: solver to tol = 1e-6, medians of 2–3 fits alternating (2-core Zen 3):
#: K = 10: 10⁴ × 100: 0.15 s against 0.30 s; 10⁵ × 100: 1.03 against 1.10;
#: 10⁴ × 300: 0.64 against 0.96; 10⁵ × 300: 3.88 against 4.57;
#: 2·10⁴ × 1000: 4.1 against 5.9; K = 3, 10⁵ × 300: 4.8 against 7.2.
#: At 3000 features it depends on the rows: K = 5, 2·10⁴ rows: 19.2 against 26.8,
#: but K = 10, 5000 rows: 17.4 against 13.2, so L-BFGS above 1000. (Before the
#: Hessian products were blocked, L-BFGS won from 300 features and this was 100.)
AUTO_SOFTMAX_NEWTON_MAX_FEATURES = 1000

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

#: Logits per chunk of the GEMM softmax path (K > 32 classes, or W too large for the
#: fused kernel's registers): sized to stay in a GPU's L2 cache (50 MB on an H100/H200)
#: between the cuBLAS product that writes them and the epilogue that reads them.
CUDA_SOFTMAX_CHUNK_BYTES = 32 * 2**20

#: Opt-in: the GEMM softmax path multiplies float32 data on TF32 tensor cores
#: (10-bit mantissas in, float32 accumulation). Off by default: it changes the
#: gradients at the 1e-3 relative level.
CUDA_SOFTMAX_TF32 = False

#: Host arrays at least this large go to the GPU in chunks of this size, through pinned buffers.
CUDA_PINNED_TRANSFER_BYTES = 32 * 2**20

#: Threads that stage those chunks into pinned memory at once, each with its own
#: stream and two buffers (2 × lanes × chunk bytes of pinned memory, kept in
#: CuPy's pool). One core copies pageable memory at ~6 GB/s, under a tenth of a
#: PCIe 5 link: several together keep the link busy.
CUDA_TRANSFER_LANES = 6

#: Rows per cuBLAS block of the device Hessian (bounds the scaled-block temporary).
HESSIAN_BLOCK_ROWS_DEVICE = 2**16

#: With ``persist="auto"`` a dask X is persisted (held in the workers' memory
#: for the whole fit) when it takes at most this share of the memory the
#: scheduler has; the rest is left for the chunks' temporaries and the Hessians
#: in flight. Larger X is streamed from its source at every evaluation.
DASK_PERSIST_MEMORY_FRACTION = 0.5

#: Pairs (s, y) that L-BFGS keeps (SciPy's L-BFGS-B default, which scikit-learn uses).
LBFGS_MEMORY = 10

#: Relative rounding of a computed mean loss, by the dtype of X: below it the
#: line search compares gradients instead of values (Hager and Zhang's
#: approximate Wolfe test, their ε = 1e-6 for float32, where F has 7 digits;
#: sums over millions of rows in float64 keep about 13).
LINE_SEARCH_COST_NOISE = {"float32": 1e-6, "float64": 1e-13}

#: Checks of the stop test (iterations, on the host) without progress — F falling by more
#: than its rounding above, or the optimality measure halving — after which a fit has
#: stalled. float32 L-BFGS at tol=1e-12 otherwise runs to max_iter with F wandering at
#: 1e-7; a Newton or L-BFGS fit that progresses halves its measure far more often.
STALL_PATIENCE_CHECKS = 30

#: Hessian-vector products (passes over X) per Newton-CG iteration at most
#: (scikit-learn's newton-cg uses the same 200).
NEWTON_CG_MAX_INNER = 200

#: Newton-CG estimates the Hessian on a row sample of this many rows per
#: parameter (``Objective.row_sample``), the gradient always on every row. The
#: sampled Hessian's relative error falls like √(parameters / rows), so this
#: share keeps it near 0.06 and the Newton steps contract the gradient by about
#: that factor, while its products cost ~1/20 of a pass at 500k × 100.
NEWTON_CG_HESSIAN_ROWS_PER_PARAMETER = 250

#: ... but only when the data have at least this many times as many rows: below,
#: the exact Hessian (products on every row) costs little more and converges faster.
NEWTON_CG_HESSIAN_SAMPLE_FACTOR = 8

#: A fit that starts from a row sample's solution (Newton-CG on large data) solves
#: the sample to this tolerance (or the fit's own, if looser): the sample's own
#: optimum is only within ~0.5/√rows of the full one, so more is wasted.
SAMPLE_START_TOL = 1e-3
