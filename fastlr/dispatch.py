"""The dispatch layer: backend names to backend objects.

Every backend is an instance of :class:`fastlr.kernels.base.Backend` (the
kernel contract). The registry maps names to entries that know how to load a
backend and, before loading it, whether it can run here; the built-in
backends are loaded from their modules on first use, so that a missing CuPy
costs nothing. :func:`register_backend` adds one of your own. ``"auto"`` is
resolved by asking the usable backends which of them accept the data and
taking the one with the highest ``auto_priority``; :func:`use_backend` sets a
scoped default. Nothing else in fastlr branches on backend names.

A backend may come with a companion for CSR matrices (``fastlr.kernels.sparse_*``):
the same contract, computed over the stored entries; :func:`get_sparse_backend`
returns it for a backend's name.
"""

import contextlib
import contextvars
import importlib
from dataclasses import dataclass, field
from typing import Callable, Optional

from fastlr.kernels.base import Backend


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


@dataclass
class BackendEntry:
    """One registry entry: how to get the backend, and whether it can run here.

    ``probe`` answers without loading the backend (None, or why not), once per
    process: Python does not cache an import that fails, and asking again made
    each ``backend="auto"`` resolution (one per fit or predict) take 68 µs
    instead of 1.7 µs without CuPy (a package installed or a device attached
    later needs a new process);
    ``load`` returns the :class:`~fastlr.kernels.base.Backend`, once;
    ``load_sparse``, when given, its companion for CSR matrices, once.
    """

    name: str
    summary: str
    probe: Callable[[], Optional[str]]
    load: Callable[[], Backend]
    load_sparse: Optional[Callable[[], Backend]] = None
    _backend: Optional[Backend] = None
    _sparse_backend: Optional[Backend] = None
    _reason: Optional[str] = field(default=None, init=False)
    _probed: bool = field(default=False, init=False)

    def unavailable_reason(self) -> Optional[str]:
        """``None`` when the backend can run here, else a sentence saying why not."""
        if not self._probed:
            self._reason, self._probed = self.probe(), True
        return self._reason

    def backend(self) -> Backend:
        if self._backend is None:
            self._backend = self.load()
        return self._backend

    def sparse_backend(self) -> Optional[Backend]:
        if self._sparse_backend is None and self.load_sparse is not None:
            self._sparse_backend = self.load_sparse()
        return self._sparse_backend


def _from_module(module: str) -> Callable[[], Backend]:
    return lambda: importlib.import_module(module).backend


_BUILT_IN = {
    entry.name: entry
    for entry in (
        BackendEntry(
            "python",
            "plain loops over examples and features; the reference, slow on purpose",
            _always_usable,
            _from_module("fastlr.kernels.python_loops"),
            _from_module("fastlr.kernels.sparse_python"),
        ),
        BackendEntry(
            "numpy",
            "vectorized NumPy/SciPy; two passes over X per cost and gradient",
            _always_usable,
            _from_module("fastlr.kernels.numpy_vectorized"),
            _from_module("fastlr.kernels.sparse_numpy"),
        ),
        BackendEntry(
            "numba",
            "@njit, one thread, one fused pass over X",
            _numba_missing,
            _from_module("fastlr.kernels.numba_serial"),
            _from_module("fastlr.kernels.sparse_numba"),
        ),
        BackendEntry(
            "numba-parallel",
            "@njit(nogil=True), one fused pass over X, one row range per thread",
            _numba_missing,
            _from_module("fastlr.kernels.numba_parallel"),
            _from_module("fastlr.kernels.sparse_numba_parallel"),
        ),
        BackendEntry(
            "cupy",
            "CUDA kernels through CuPy, data on the device, one fused pass over X",
            _no_cuda_device,
            _from_module("fastlr.kernels.cupy_cuda"),
            _from_module("fastlr.kernels.sparse_cupy"),
        ),
    )
}

#: The registry, name → entry, in the order ``available_backends`` lists them.
BACKENDS = dict(_BUILT_IN)

_default_backend = contextvars.ContextVar("fastlr_default_backend", default="auto")


def register_backend(name: str, backend: Backend, *, replace: bool = False, sparse: Optional[Backend] = None) -> None:
    """Make ``backend`` usable as ``backend=name`` everywhere.

    Parameters
    ----------
    name : str
    backend : fastlr.kernels.base.Backend
        An object of the kind :func:`get_backend` returns: a subclass instance
        implementing at least ``_cost_gradient`` and ``_softmax_cost_gradient``.
        Its ``unavailable_reason()`` is its probe, its ``summary`` is listed by
        :func:`backend_report`, its ``auto_priority`` ranks it for ``"auto"``.
    replace : bool, default=False
        Allow replacing a registered backend of the same name
        (:func:`unregister_backend` brings a built-in one back).
    sparse : fastlr.kernels.base.Backend or None
        Its companion for CSR matrices (see :func:`get_sparse_backend`), if any.
    """
    for candidate in (backend, sparse):
        if candidate is not None and not isinstance(candidate, Backend):
            raise TypeError(f"a backend must be a fastlr.kernels.base.Backend instance, got {type(candidate).__name__}")
    if not isinstance(name, str) or not name or name == "auto":
        raise ValueError(f"a backend needs a name other than 'auto', got {name!r}")
    if name in BACKENDS and not replace:
        raise ValueError(f"a backend named {name!r} is registered already; pass replace=True to replace it")
    backend.name = name
    if sparse is not None:
        sparse.name = name
    BACKENDS[name] = BackendEntry(
        name, backend.summary, backend.unavailable_reason, lambda: backend, None if sparse is None else lambda: sparse
    )


def unregister_backend(name: str) -> None:
    """Remove a backend added by :func:`register_backend`; a replaced built-in comes back."""
    _entry(name)
    if name in _BUILT_IN:
        if BACKENDS[name] is _BUILT_IN[name]:
            raise ValueError(f"{name!r} is a built-in backend; only registered ones can be removed")
        BACKENDS[name] = _BUILT_IN[name]
    else:
        del BACKENDS[name]


def _entry(name: str) -> BackendEntry:
    try:
        return BACKENDS[name]
    except (KeyError, TypeError):
        known = ", ".join(repr(n) for n in ("auto", *BACKENDS))
        raise ValueError(f"unknown backend {name!r}; known backends: {known}") from None


def get_backend(name: str) -> Backend:
    """Return backend ``name`` (a :class:`~fastlr.kernels.base.Backend`).

    Raises
    ------
    ValueError
        ``name`` is not a registered backend.
    BackendUnavailableError
        The backend is known but cannot run here; the message says why.
    """
    entry = _entry(name)
    reason = entry.unavailable_reason()
    if reason is not None:
        raise BackendUnavailableError(f"{name}: {reason}")
    return entry.backend()


def get_sparse_backend(name: str) -> Backend:
    """The companion of backend ``name`` for CSR matrices (same contract, X a CSR matrix).

    Raises
    ------
    ValueError
        ``name`` is unknown, or the backend has no CSR kernels (the message names those that do).
    BackendUnavailableError
        The backend cannot run here.
    """
    get_backend(name)
    sparse = BACKENDS[name].sparse_backend()
    if sparse is None:
        able = ", ".join(repr(n) for n, entry in BACKENDS.items() if entry.load_sparse is not None)
        raise ValueError(f"backend {name!r} has no kernels for sparse (CSR) matrices; backends that do: {able}")
    return sparse


def unavailable_reason(name: str) -> Optional[str]:
    """None when backend ``name`` can run here, else why not (``ValueError`` for unknown names)."""
    return _entry(name).unavailable_reason()


def is_usable(name: str) -> bool:
    """True when backend ``name`` is registered and can run here."""
    return name in BACKENDS and BACKENDS[name].unavailable_reason() is None


def available_backends() -> list:
    """Names of the backends that can run on this machine, in registry order."""
    return [name for name, entry in BACKENDS.items() if entry.unavailable_reason() is None]


def backend_report() -> list:
    """One ``(name, usable, reason_or_summary)`` row per registered backend."""
    rows = []
    for name, entry in BACKENDS.items():
        reason = entry.unavailable_reason()
        rows.append((name, reason is None, entry.summary if reason is None else reason))
    return rows


def is_dask_array(array) -> bool:
    """True for dask arrays, without importing dask when it is not loaded."""
    return type(array).__module__.split(".")[0] == "dask"


def resolve_backend_name(name: str = "auto", data=None) -> str:
    """Turn ``name`` (possibly ``"auto"``) into a concrete backend name.

    ``"auto"`` first defers to a scoped default set by :func:`use_backend`; if
    that is ``"auto"`` too, it takes the usable backend with the highest
    ``auto_priority`` among those that accept ``data`` as it is (CuPy arrays:
    ``cupy``; host data: ``numba-parallel`` when Numba is installed, else ``numpy``).
    """
    if name == "auto":
        name = _default_backend.get()
    if name != "auto":
        _entry(name)
        return name
    best, best_priority = None, None
    for candidate, entry in BACKENDS.items():
        if entry.unavailable_reason() is not None:
            continue
        backend = entry.backend()
        priority = backend.auto_priority
        if priority is None or (data is not None and not backend.accepts(data)):
            continue
        if best_priority is None or priority > best_priority:
            best, best_priority = candidate, priority
    if best is None:
        raise BackendUnavailableError(
            f"no usable backend takes {type(data).__name__} data here; usable: {', '.join(available_backends())}"
        )
    return best


def resolve_backend(name: str = "auto", data=None) -> Backend:
    """:func:`resolve_backend_name` followed by :func:`get_backend`."""
    return get_backend(resolve_backend_name(name, data))


def backend_for(name: str, data) -> Backend:
    """Backend ``name`` if it can run here and accepts ``data`` as it is, else the one
    ``"auto"`` picks for ``data`` (how a fitted model predicts on other arrays)."""
    if is_usable(name):
        backend = BACKENDS[name].backend()
        if backend.accepts(data):
            return backend
    return resolve_backend("auto", data)


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
