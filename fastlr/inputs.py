"""From what the user passed to what the solvers need: one adapter per kind of input.

:func:`prepare_training_data` hands X to the first adapter of :data:`ADAPTERS`
that takes it. Each adapter owns, for its kind of input, the validation
(:mod:`fastlr.validation`'s rules), the label encoding, the folding of class
weights into sample weights and the placement on the backend's device, and
returns one :class:`~fastlr.training_data.TrainingData`:

- :class:`InMemoryInput`: NumPy arrays and everything NumPy can read (lists,
  DataFrames, memory maps, PyTorch CPU tensors viewed through DLPack) on the
  host backends; CuPy arrays and other CUDA arrays (PyTorch), checked on the
  device, on ``cupy``; host data with ``backend="cupy"`` is copied there once.
- :class:`SparseInput`: sparse matrices and arrays (``scipy.sparse`` in any
  format, ``cupyx.scipy.sparse`` on the GPU), as canonical CSR, computed on
  by the CSR companion of the backend (:func:`fastlr.dispatch.get_sparse_backend`).
- :class:`ChunkedInput`: dask arrays, fitted chunk by chunk
  (:mod:`fastlr.distributed`, imported only for dask input).

A new kind of input is one more adapter class with ``handles`` and
``prepare``, placed in :data:`ADAPTERS` before the catch-all in-memory one;
nothing downstream changes.
"""

from functools import partial

import numpy as np
import scipy.sparse

from fastlr import array_api, validation
from fastlr.dispatch import get_backend, get_sparse_backend, is_dask_array, resolve_backend_name
from fastlr.kernels.base import is_device_sparse
from fastlr.objective import Objective, SparseObjective
from fastlr.training_data import TrainingData


def _placed(X, y, sample_weight, kernels, name, class_weight, estimator_name, objective=Objective, **extra):
    """Labels encoded, everything on the backend's device, class weights folded: the TrainingData."""
    xp = kernels.xp
    if xp is not np and y.dtype.kind in "biuf":
        y = kernels.to_device(y)  # numeric labels are encoded where X will be
    classes, y_index = validation.encode_labels(y, xp if kernels.accepts(y) else np, kernels.to_host)
    validation.check_class_count(classes)
    # The one copy of a fit to the device (a no-op on the CPU and for device input).
    X = kernels.to_device(X)
    y_index = kernels.to_device(y_index)
    if sample_weight is not None:
        sample_weight = kernels.to_device(sample_weight)
    sample_weight = validation.fold_class_weight(
        class_weight, classes, y_index, sample_weight, xp=xp, to_host=kernels.to_host, dtype=X.dtype
    )
    return TrainingData(
        X, y_index, classes, sample_weight, kernels, name, objective=partial(objective, estimator_name=estimator_name),
        **extra,
    )


class InMemoryInput:
    """Arrays held whole in host or device memory."""

    @staticmethod
    def handles(X) -> bool:
        return True

    @staticmethod
    def prepare(X, y, sample_weight, *, backend, class_weight, estimator_name):
        # Arrays of other libraries (PyTorch, ...): NumPy views in host memory, as they are on a GPU.
        X, y, sample_weight = (array_api.computable(array) for array in (X, y, sample_weight))
        name = resolve_backend_name(backend, X)
        kernels = get_backend(name)
        xp = kernels.xp
        if kernels.accepts(X) and xp is not np:
            # Device data stays where it is (other CUDA arrays are viewed, not copied) and is checked there.
            X = validation.check_device_matrix(xp.asarray(X), xp, finite=False)
            y = validation.check_device_labels(y, X.shape[0], xp)
            sample_weight = validation.check_device_sample_weight(sample_weight, X.shape[0], X.dtype, xp)
            feature_names = None
        else:
            X, y, sample_weight, feature_names = validation.check_host_fit_data(X, y, sample_weight, estimator_name)
        return _placed(X, y, sample_weight, kernels, name, class_weight, estimator_name, feature_names=feature_names)


def is_sparse_matrix(X) -> bool:
    """scipy.sparse matrices and arrays, and CuPy's sparse matrices."""
    return scipy.sparse.issparse(X) or is_device_sparse(X)


class SparseInput:
    """Sparse X, as canonical CSR (sorted indices, no duplicates), validated once.

    The backend is chosen as for dense data (``"auto"`` by where X lives) and
    its CSR companion computes: host sparse data on the host backends,
    ``cupyx.scipy.sparse`` data on ``cupy``, where it stays; host sparse data
    with ``backend="cupy"`` is copied to the device once.
    """

    @staticmethod
    def handles(X) -> bool:
        return is_sparse_matrix(X)

    @staticmethod
    def prepare(X, y, sample_weight, *, backend, class_weight, estimator_name):
        name = resolve_backend_name(backend, X)
        kernels = get_sparse_backend(name)
        xp = kernels.xp
        if kernels.accepts(X) and xp is not np:
            X = validation.check_device_sparse_matrix(X, xp)
            y = validation.check_device_labels(y, X.shape[0], xp)
            sample_weight = validation.check_device_sample_weight(sample_weight, X.shape[0], X.dtype, xp)
        else:
            X, y, sample_weight, _ = validation.check_host_fit_data(
                X, y, sample_weight, estimator_name, accept_sparse="csr"
            )
        return _placed(
            X, y, sample_weight, kernels, name, class_weight, estimator_name, objective=SparseObjective, sparse=True
        )

    @staticmethod
    def for_prediction(estimator, X, backend):
        """(X validated for prediction as canonical CSR, the CSR companion of ``backend``)."""
        kernels = get_sparse_backend(backend.name)
        if kernels.accepts(X) and kernels.xp is not np:
            return validation.check_device_sparse_matrix(X, kernels.xp, estimator.n_features_in_), kernels
        return kernels.to_device(validation.check_sparse_predict_data(estimator, X)), kernels


class ChunkedInput:
    """dask arrays: validated and fitted chunk by chunk (dask is an optional extra)."""

    @staticmethod
    def handles(X) -> bool:
        return is_dask_array(X)

    @staticmethod
    def prepare(X, y, sample_weight, *, backend, class_weight, estimator_name):
        from fastlr import distributed

        return distributed.prepare_training_data(X, y, sample_weight, backend=backend, class_weight=class_weight)


#: Tried in order; the first whose ``handles(X)`` is true prepares X.
ADAPTERS = (ChunkedInput, SparseInput, InMemoryInput)


def prepare_training_data(X, y, sample_weight=None, *, backend="auto", class_weight=None,
                          estimator_name="LogisticRegression") -> TrainingData:
    """Validate (X, y, sample_weight) once and place them for ``backend``; see the module docstring."""
    adapter = next(adapter for adapter in ADAPTERS if adapter.handles(X))
    return adapter.prepare(
        X, y, sample_weight, backend=backend, class_weight=class_weight, estimator_name=estimator_name
    )

