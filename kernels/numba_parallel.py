"""The ``numba-parallel`` backend: the row passes of :mod:`fastlr.kernels.numba_common`
on one contiguous range of rows per thread.

The rows are split into one range per thread (fewer for small inputs, see
``config.NUMBA_MIN_ROWS_PER_THREAD``; a single range runs on the calling
thread). The calling thread takes the first range and a small pool of worker
threads the others; each range writes its own output slot, and the backend
adds the slots in range order, so results depend on the thread count but
never on scheduling.

Why threads and not ``prange``: the row passes are compiled with
``nogil=True``, so Python threads run them truly in parallel, and both Numba
backends share every compiled function and its disk cache. A ``prange`` driver
is one more compiled function per pass, and a slow one to compile: the
parallel Newton and prediction drivers cost 1.3–3.9 s each and doubled the CPU
time of the first default fit (11.3 s instead of 5.2 s on a 2-core Xeon).
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait

import numba

from fastlr import config
from fastlr.kernels import numba_common as rows


class RangeThreads:
    """Worker threads for the row ranges after the first, started on first use.

    Safe to share between threads that fit at the same time (each waits only
    for its own ranges) and across ``fork`` (a child starts its own workers:
    the parent's do not exist there). One instance per process,
    :data:`THREADS`: a pickled backend (dask sends it to its workers) finds
    the receiving process's own instance.
    """

    def __init__(self):
        self._forget()
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self):
        self._lock = threading.Lock()
        self._executor = None
        self._workers = 0

    @staticmethod
    def count():
        """Threads to use: ``config.NUMBA_THREADS``, or Numba's thread count
        (``NUMBA_NUM_THREADS``, the CPU count unless lowered by ``numba.set_num_threads``)."""
        return config.NUMBA_THREADS or numba.get_num_threads()

    def _executor_for(self, workers):
        with self._lock:
            if self._workers < workers:
                if self._executor is not None:
                    self._executor.shutdown(wait=False)
                self._executor = ThreadPoolExecutor(workers, thread_name_prefix="fastlr-rows")
                self._workers = workers
            return self._executor

    def __reduce__(self):
        return _process_threads, ()

    def run(self, row_pass, bounds, inputs, outputs):
        """``row_pass(*inputs, lo, hi, *outputs(r))`` for each range r, (lo, hi) = bounds[r]; r = 0 here."""
        executor = self._executor_for(len(bounds) - 1)
        futures = [
            executor.submit(row_pass, *inputs, lo, hi, *outputs(r)) for r, (lo, hi) in enumerate(bounds) if r > 0
        ]
        try:
            row_pass(*inputs, *bounds[0], *outputs(0))
        finally:
            wait(futures)  # no range may still be writing when this returns, whatever happened here
        for future in futures:
            future.result()  # a worker's exception, raised here


#: The worker threads of this process.
THREADS = RangeThreads()


def _process_threads():
    return THREADS


backend = rows.NumbaBackend(
    "numba-parallel",
    "@njit(nogil=True), one fused pass over X, one row range per thread",
    threads=THREADS,
    auto_priority=20,
)
