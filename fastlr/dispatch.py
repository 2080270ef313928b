"""The dispatch layer: backend names to kernel modules.

Every backend is a module in ``fastlr.kernels`` with the same function names
(the kernel contract, documented in :mod:`fastlr.kernels`). This module keeps
the registry of those modules with a probe that says whether each can run here,
turns a name (or ``"auto"``) into a module, and offers :func:`use_backend` for a
scoped default. Nothing else in fastlr branches on backend names.
"""

import contextlib
import contextvars
import importlib
from dataclasses import dataclass
from typing import Callable, Optional


class BackendUnavailableError(RuntimeError):
    """A known backend that cannot run on this machine (the message says why)."""


def _always_usable() -> Optional[str]:
    return None


def _numba_missing() -> Optional[str]:
    try:
        import numba  # noqa: F401
    except ImportError as exc:
        return f"Numba is not installed ({exc})"
    return None


def _no_cuda_device() -> Optional[str]:
    try:
        import cupy
    except ImportError:
        return "CuPy is not installed (pip install 'fastlr[gpu]')"
    except Exception as exc:  # a broken CUDA install raises at import time
        return f"CuPy failed to import: {exc}"
    try:
        n_devices = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:
        return f"no CUDA device visible ({exc})"
    if n_devices == 0:
        return "no CUDA device visible"
    return None


@dataclass(frozen=True)
class BackendSpec:
    """One registry entry: where the kernels live and how to know they can run."""

    name: str
    module: str
    probe: Callable[[], Optional[str]]
    summary: str

    def unavailable_reason(self) -> Optional[str]:
        """``None`` when the backend can run here, else a sentence saying why not."""
        return self.probe()


BACKENDS = {
    spec.name: spec
    for spec in (
        BackendSpec(
            "python",
            "fastlr.kernels.python_loops",
            _always_usable,
            "plain loops over examples and features; the reference, slow on purpose",
        ),
        BackendSpec(
            "numpy",
            "fastlr.kernels.numpy_vectorized",
            _always_usable,
            "vectorized NumPy/SciPy; two passes over X per cost and gradient",
        ),
        BackendSpec(
            "numba",
            "fastlr.kernels.numba_serial",
            _numba_missing,
            "@njit, one thread, one fused pass over X",
        ),
        BackendSpec(
            "numba-parallel",
            "fastlr.kernels.numba_parallel",
            _numba_missing,
            "@njit(parallel=True), one fused pass over X, per-thread accumulators",
        ),
        BackendSpec(
            "cupy",
            "fastlr.kernels.cupy_cuda",
            _no_cuda_device,
            "CUDA kernels through CuPy, data on the device, one fused pass over X",
        ),
    )
}

_default_backend = contextvars.ContextVar("fastlr_default_backend", default="auto")


def _spec(name: str) -> BackendSpec:
    try:
        return BACKENDS[name]
    except (KeyError, TypeError):
        known = ", ".join(repr(n) for n in ("auto", *BACKENDS))
        raise ValueError(f"unknown backend {name!r}; known backends: {known}") from None


def get_backend(name: str):
    """Return the kernel module of backend ``name``.

    Raises
    ------
    ValueError
        ``name`` is not a registered backend.
    BackendUnavailableError
        The backend is known but cannot run here; the message says why.
    """
    spec = _spec(name)
    reason = spec.unavailable_reason()
    if reason is not None:
        raise BackendUnavailableError(f"{name}: {reason}")
    return importlib.import_module(spec.module)


def available_backends() -> list:
    """Names of the backends that can run on this machine, in registry order."""
    return [name for name, spec in BACKENDS.items() if spec.unavailable_reason() is None]


def backend_report() -> list:
    """One ``(name, usable, reason_or_summary)`` row per registered backend."""
    rows = []
    for name, spec in BACKENDS.items():
        reason = spec.unavailable_reason()
        rows.append((name, reason is None, spec.summary if reason is None else reason))
    return rows


def is_cupy_array(array) -> bool:
    """True for CuPy arrays, without importing CuPy when it is not loaded."""
    return type(array).__module__.split(".")[0] == "cupy"


def is_dask_array(array) -> bool:
    """True for dask arrays, without importing dask when it is not loaded."""
    return type(array).__module__.split(".")[0] == "dask"


def resolve_backend_name(name: str = "auto", data=None) -> str:
    """Turn ``name`` (possibly ``"auto"``) into a concrete backend name.

    ``"auto"`` first defers to a scoped default set by :func:`use_backend`; if
    that is ``"auto"`` too, it picks from the data and the machine: CuPy arrays
    go to ``cupy``, everything else to ``numba-parallel`` when Numba is
    installed and ``numpy`` when it is not.
    """
    if name == "auto":
        name = _default_backend.get()
    if name != "auto":
        _spec(name)
        return name
    if data is not None and is_cupy_array(data):
        return "cupy"
    return "numba-parallel" if BACKENDS["numba-parallel"].unavailable_reason() is None else "numpy"


def resolve_backend(name: str = "auto", data=None):
    """:func:`resolve_backend_name` followed by :func:`get_backend`."""
    return get_backend(resolve_backend_name(name, data))


@contextlib.contextmanager
def use_backend(name: str):
    """Make ``name`` the backend that ``backend="auto"`` means inside the block.

    Examples
    --------
    >>> import fastlr
    >>> with fastlr.use_backend("numpy"):
    ...     fastlr.resolve_backend_name("auto")
    'numpy'
    """
    if name != "auto":
        get_backend(name)  # fail here, not at the first fit inside the block
    token = _default_backend.set(name)
    try:
        yield
    finally:
        _default_backend.reset(token)
