"""BLAS thread limits for the duration of a fit, safe under concurrent fits.

threadpoolctl scans the process's shared libraries to find the BLAS runtimes
(about 10 ms); the scan happens once per process here, not once per fit.
Limits nest and overlap across threads: the first fit to enter sets the
limit, the last to leave restores what was there before, so two fits running
at once never leave BLAS at one thread for the rest of the process.

threadpoolctl ≥ 3.8 lets one thread at a time change a process-wide OpenBLAS
pool (pthreads): the first that sets a limit controls it until it lets go, and
the others' calls do nothing, silently. The last fit to leave is often not the
first to enter, so each change here lets go of that control at once
(:func:`_release_openblas_control`). Before, the restore of the last fit was
dropped whenever the first fit's thread was still alive: BLAS stayed at one
thread for the rest of the process (a test saw it in 3 of 5 runs).
"""

import contextlib
import threading

import threadpoolctl
from threadpoolctl import ThreadpoolController

_lock = threading.Lock()
_controller = None
_holders = 0
_limiter = None


def _release_openblas_control():
    """Let go of threadpoolctl's hold on OpenBLAS's shared pool that this thread took by
    changing it (threadpoolctl ≥ 3.8; before, there is no such hold and nothing to do)."""
    controller_class = getattr(threadpoolctl, "OpenBLASController", None)
    release = getattr(controller_class, "clear_controlling_thread", None)
    if release is not None:
        release()  # only the holding thread's call has an effect: another's hold stays


def _blas_controller():
    global _controller
    if _controller is None:
        _controller = ThreadpoolController().select(user_api="blas")
    return _controller


@contextlib.contextmanager
def blas_threads_limited(limit):
    """BLAS limited to ``limit`` threads inside the block (``None``: leave BLAS alone)."""
    global _holders, _limiter
    if limit is None:
        yield
        return
    with _lock:
        if _holders == 0:
            _limiter = _blas_controller().limit(limits=limit)
            _release_openblas_control()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0:
                _limiter.restore_original_limits()
                _release_openblas_control()
                _limiter = None
