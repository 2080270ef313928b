"""BLAS thread limits for the duration of a fit, safe under concurrent fits.

threadpoolctl scans the process's shared libraries to find the BLAS runtimes
(about 10 ms); the scan happens once per process here, not once per fit.
Limits nest and overlap across threads: the first fit to enter sets the
limit, the last to leave restores what was there before, so two fits running
at once never leave BLAS at one thread for the rest of the process.
"""

import contextlib
import threading

from threadpoolctl import ThreadpoolController

_lock = threading.Lock()
_controller = None
_holders = 0
_limiter = None


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
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0:
                _limiter.restore_original_limits()
                _limiter = None
