"""Placement for the CPU backends: host and device are the same memory."""

import numpy as np

xp = np
to_device = np.asarray
to_host = np.asarray
#: Solvers may read a scalar result every iteration: it costs nothing on the CPU.
check_every = 1
#: BLAS threads during a fit (None: leave BLAS as it is).
blas_threads = None
