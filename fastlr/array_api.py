"""Arrays of other libraries (PyTorch, array-api-strict, ...): taken in, computed on, answered in.

In: an array of another library in host memory (a PyTorch CPU tensor, an
array-api-strict array) becomes a NumPy view through DLPack, with no copy where
the layout allows, and goes to the host backends; an array in GPU memory (a
PyTorch CUDA tensor, CuPy) goes to the ``cupy`` backend as it is, which views
any ``__cuda_array_interface__`` array without a copy. A tensor that requires
grad is detached first (a view). ``backend="auto"`` routes each kind there.

Out: under scikit-learn's ``config_context(array_api_dispatch=True)`` the fitted
attributes live in X's namespace and on its device (``classes_`` in y's), as
with scikit-learn's own LogisticRegression; without it they stay NumPy.
Predictions answer in the namespace and on the device of their input whenever
that input is not NumPy (labels from ``predict`` are ``classes_``'s kind).
"""

import numpy as np
from sklearn import get_config

from fastlr.dispatch import is_dask_array
from fastlr.kernels.base import is_device_array


def _compat():
    from sklearn.externals import array_api_compat  # scikit-learn's vendored copy

    return array_api_compat


def foreign_namespace(array):
    """The array-API namespace of an array of a library other than NumPy, else None
    (NumPy arrays, lists, DataFrames, dask arrays, scalars)."""
    if array is None or isinstance(array, np.ndarray) or is_dask_array(array) or not hasattr(array, "__dlpack__"):
        return None
    compat = _compat()
    try:
        xp = compat.array_namespace(array)
    except TypeError:
        return None
    return None if compat.is_numpy_namespace(xp) else xp


def detached(array):
    """A PyTorch tensor that requires grad, as a detached view (every other array as it is):
    such a tensor exports neither DLPack nor ``__cuda_array_interface__``."""
    if getattr(array, "requires_grad", False) and hasattr(array, "detach"):
        return array.detach()
    return array


def computable(array):
    """What a backend can take: a NumPy view of a host array of another library
    (DLPack; a copy only where its layout requires one), device arrays and
    everything else unchanged."""
    array = detached(array)
    xp = foreign_namespace(array)
    if xp is None or is_device_array(array):
        return array
    try:
        return np.from_dlpack(array)
    except (BufferError, RuntimeError, TypeError, ValueError):
        # not exportable as it is (another device, an unusual layout): scikit-learn's conversion
        from sklearn.utils._array_api import _convert_to_numpy

        return _convert_to_numpy(array, xp)


class Placement:
    """A namespace and a device that results are put in."""

    def __init__(self, xp, device):
        self.xp, self.device = xp, device

    @classmethod
    def of(cls, array):
        """Where ``array`` lives, or None for NumPy (and everything that is not an array)."""
        array = detached(array)
        xp = foreign_namespace(array)
        return None if xp is None else cls(xp, _compat().device(array))

    def put(self, array, dtype=None):
        """``array`` (NumPy, or a backend's device array) in this namespace, on this device."""
        compat = _compat()
        try:
            result = self.xp.from_dlpack(array)
        except (BufferError, RuntimeError, TypeError, ValueError, AttributeError):
            result = self.xp.asarray(np.asarray(array))
        if compat.device(result) != self.device:
            result = compat.to_device(result, self.device)
        return result if dtype is None else self.xp.asarray(result, dtype=dtype)


def dispatch_enabled() -> bool:
    return bool(get_config().get("array_api_dispatch", False))


def fitted_placements(X, y):
    """(where the fitted arrays go, where ``classes_`` goes) under ``array_api_dispatch``; Nones otherwise."""
    if not dispatch_enabled():
        return None, None
    return Placement.of(X), Placement.of(y)


def check_same_namespace(X, estimator, method):
    """scikit-learn's rule under ``array_api_dispatch``: predict with X in the namespace
    and on the device the estimator was fitted in (its ``coef_``'s), else a ValueError
    naming ``method``. A no-op without dispatch, and on scikit-learn releases without
    the rule (before 1.8)."""
    try:
        from sklearn.utils._array_api import check_same_namespace as check
    except ImportError:
        return
    check(X, estimator, attribute="coef_", method=method)
