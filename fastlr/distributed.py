"""Fitting and predicting on dask arrays: on a cluster, or from disk.

:meth:`fastlr.LogisticRegression.fit` hands dask arrays here. X of shape
(n_samples, n_features) is split into row chunks (its columns in one block);
the solvers of :mod:`fastlr.solvers` run unchanged on the client, and every
evaluation they ask for (cost and gradient; for Newton also the Hessian) is
ONE map-reduce over the chunks. Each chunk task runs the per-chunk backend's
kernel on its rows, which returns weighted means, and sends back the chunk's
weight total Σs_c with those means; a tree sum then gives

    J = Σ_c Σs_c·J_c / Σ_c Σs_c        (the same for the gradient and the Hessian),

so only vectors of n + 2 numbers (and the (n+1)² Hessian for Newton) travel,
never rows of X. :class:`ChunkedKernels` is that map-reduce behind the kernel
contract, and :class:`DaskObjective` is :class:`fastlr.objective.Objective`
over it: penalties are added once, by the same code as for in-memory data.

Persisted or streamed
---------------------
With ``persist=True`` X is validated and persisted once (``dask.persist``:
in the worker processes' memory with a ``dask.distributed`` client, in this
process with the threaded scheduler), so each iteration reads chunks from
memory and X's source graph (files, casts) never runs again. With
``persist=False`` X is streamed: each evaluation reads every chunk from its
source (a Zarr store through ``dask.array.from_zarr``, a ``.npy`` file through
:func:`from_npy`), uses it and drops it, so peak memory is a few chunks per
worker thread whatever the size of X, at the price of one read of the data
per evaluation. ``persist="auto"`` (the default) persists when X takes at
most ``config.DASK_PERSIST_MEMORY_FRACTION`` of the memory the scheduler has (the
workers' memory limits, or this machine's available memory) and streams
otherwise. The n_samples-long vectors derived from y and the weights (class
indices, one-vs-rest targets, class weights) follow X: persisted with it, or
recomputed chunk by chunk with it.
"""

import contextlib
import contextvars
import copy
import os
from functools import partial

import dask
import dask.array as da
import numpy as np
import scipy.sparse
import psutil
from dask.array.utils import meta_from_array
from sklearn.utils.validation import check_is_fitted

from fastlr import config, validation
from fastlr.dispatch import backend_for, get_backend, resolve_backend_name
from fastlr.training_data import TrainingData
from fastlr.kernels.base import Backend
from fastlr.objective import Objective

#: The kernel functions that solvers call through an objective, with the shapes
#: of what they return, from the shapes of w (or W) and b.
_RESULT_SHAPES = {
    "cost": lambda w, b: [()],
    "softmax_cost": lambda w, b: [()],
    "cost_gradient": lambda w, b: [(), w, b],
    "softmax_cost_gradient": lambda w, b: [(), w, b],
    "cost_gradient_hessian": lambda w, b: [(), w, b, (w[0] + 1, w[0] + 1)],
}

#: ``persist`` of the fit in progress: set by :func:`fit`, read by :func:`prepare_training_data`.
_persist = contextvars.ContextVar("fastlr_dask_persist", default="auto")


# -- one map-reduce over row chunks --------------------------------------------
def _sum_over_chunks(chunk_function, X, vectors, length, **params):
    """Σ over the row chunks c of ``chunk_function(X_c, *vectors_c, **params)``.

    Parameters
    ----------
    chunk_function : callable
        Called as ``chunk_function(X_c, *vectors_c, length=length, **params)``;
        returns a float64 array of shape (1, length) for one chunk.
    X : dask array of shape (n_samples, n_features), one column block
    vectors : list of dask arrays of shape (n_samples,) or None
        Chunked like X's rows; ``None`` entries are left out.
    length : int

    Returns
    -------
    ndarray of shape (length,)
        From one ``compute``: a task per chunk, then a tree sum.
    """
    indexed = [X, "ij"]
    for vector in vectors:
        if vector is not None:
            indexed += [vector, "i"]
    per_chunk = da.blockwise(
        chunk_function, "ij", *indexed, adjust_chunks={"i": 1, "j": length}, dtype=np.float64,
        meta=np.empty((0, 0)), length=length, **params,
    )
    return per_chunk.sum(axis=0).compute()


def _chunk_sums(X, y, sample_weight=None, *, backend, function, w, b, length):
    """[Σs, Σs·r₁, Σs·r₂, ...] of one chunk, shape (1, length).

    r are the results of kernel ``function`` of ``backend`` on the chunk's
    rows (weighted means), flattened; multiplying them by the chunk's Σs turns
    them back into sums, which add across chunks.
    """
    kernels = get_backend(backend)
    sums = np.zeros((1, length))
    weight = float(X.shape[0] if sample_weight is None else sample_weight.sum())
    if weight == 0.0:
        return sums  # the means of a chunk without weight are 0/0; it adds nothing
    # The n_samples-long vectors are host arrays; a device backend moves this chunk's share.
    if sample_weight is not None:
        sample_weight = kernels.to_device(sample_weight)
    results = getattr(kernels, function)(
        X, kernels.to_device(y), kernels.to_device(w), kernels.to_device(b), sample_weight
    )
    parts = results if isinstance(results, tuple) else (results,)
    sums[0, 0] = weight
    sums[0, 1:] = weight * np.concatenate(
        [np.asarray(kernels.to_host(part), dtype=np.float64).ravel() for part in parts]
    )
    return sums


def _chunk_gram_product(X, sample_weight=None, *, backend, v, intercept, length):
    """X̃_cᵀ S_c X̃_c v of one chunk, shape (1, length = n_features + 1); X̃ = [X, 1] or [X, 0]."""
    kernels = get_backend(backend)
    v = kernels.to_device(v.astype(X.dtype))
    u = X @ v[:-1] + intercept * v[-1]
    if sample_weight is not None:
        u = u * kernels.to_device(sample_weight)
    product = np.concatenate([np.asarray(kernels.to_host(X.T @ u), dtype=np.float64), [intercept * float(u.sum())]])
    return product[None, :]


def _chunk_hessian_product(X, y, sample_weight=None, *, backend, n_classes, w, b, v_w, v_b, length):
    """Σs_c · (∇² of the chunk's mean loss at (w, b)) · (v_w, v_b), flattened after Σs_c, shape (1, length).

    The chunk's curvature (D, or P for the softmax) is computed here from (w, b)
    and used at once, so nothing m-long outlives the task.
    """
    kernels = get_backend(backend)
    sums = np.zeros((1, length))
    weight = float(X.shape[0] if sample_weight is None else sample_weight.sum())
    if weight == 0.0:
        return sums
    if sample_weight is not None:
        sample_weight = kernels.to_device(sample_weight)
    w, b, y = kernels.to_device(w), kernels.to_device(b), kernels.to_device(y)
    if n_classes == 1:
        curvature = kernels.cost_gradient_curvature(X, y, w, b, sample_weight)[3]
        parts = kernels.hessian_product(X, curvature, kernels.to_device(v_w), v_b)
    else:
        probabilities = kernels.softmax_cost_gradient_probabilities(X, y, w, b, sample_weight)[3]
        parts = kernels.softmax_hessian_product(
            X, probabilities, sample_weight, kernels.to_device(v_w), kernels.to_device(v_b)
        )
    sums[0, 0] = weight
    sums[0, 1:] = weight * np.concatenate(
        [np.asarray(kernels.to_host(part), dtype=np.float64).ravel() for part in parts]
    )
    return sums


class ChunkedBackend(Backend):
    """The training half of the kernel contract, over row-chunked dask arrays.

    Each function takes X, y and sample_weight as dask arrays with the same
    row chunks (X in one column block) and w, b on the host; it runs the
    function of the same name of backend ``backend`` on every chunk and
    returns what that function returns for all rows at once (weighted means,
    in float64), from one map-reduce.

    Parameters
    ----------
    backend : str
        The per-chunk backend, resolved (not ``"auto"``).
    blas_threads : int or None
        That backend's BLAS thread setting, for chunks run in this process.
    """

    def __init__(self, backend, blas_threads):
        self.name = f"{backend} chunks"
        self.chunk_backend = backend
        self.blas_threads = blas_threads

    def accepts(self, array):
        return hasattr(array, "dask")

    def to_device(self, array):
        """Identity: dask arrays stay where dask keeps them, θ stays on the host."""
        return array

    def _reduce(self, function, X, y, w, b, sample_weight):
        shapes = _RESULT_SHAPES[function](np.shape(w), np.shape(b))
        sizes = [int(np.prod(shape)) for shape in shapes]
        sums = _sum_over_chunks(
            _chunk_sums, X, [y, sample_weight], 1 + sum(sizes), backend=self.chunk_backend, function=function,
            w=w, b=b,
        )
        means = np.split(sums[1:] / sums[0], np.cumsum(sizes)[:-1])
        return tuple(mean.reshape(shape) for mean, shape in zip(means, shapes))

    def _cost(self, X, y, w, b, sample_weight):
        return self._reduce("cost", X, y, w, b, sample_weight)[0]

    def _cost_gradient(self, X, y, w, b, sample_weight):
        return self._reduce("cost_gradient", X, y, w, b, sample_weight)

    def _cost_gradient_hessian(self, X, y, w, b, sample_weight):
        return self._reduce("cost_gradient_hessian", X, y, w, b, sample_weight)

    def _softmax_cost(self, X, y, W, b, sample_weight):
        return self._reduce("softmax_cost", X, y, W, b, sample_weight)[0]

    def _softmax_cost_gradient(self, X, y, W, b, sample_weight):
        return self._reduce("softmax_cost_gradient", X, y, W, b, sample_weight)


class DaskObjective(Objective):
    """:class:`~fastlr.objective.Objective` over row-chunked dask data.

    Parameters are those of ``Objective``, with ``backend`` a
    :class:`ChunkedBackend` and X, y, sample_weight dask arrays with the same
    row chunks, and

    persist : bool, default=True
        Persist y and the weights (as X was persisted): one-vs-rest's
        ``y == k`` and the casts then run once rather than per evaluation.
    """

    def __init__(self, backend, X, y, sample_weight, *, persist=True, **params):
        if persist:
            y, sample_weight = dask.persist(y, sample_weight)
        super().__init__(backend, X, y, sample_weight, **params)

    def gram_product(self, v):
        """X̃ᵀ S X̃ v (see :meth:`Objective.gram_product`): one map-reduce over the chunks."""
        return _sum_over_chunks(
            _chunk_gram_product, self.X, [self.sample_weight], self.n_features + 1,
            backend=self.backend.chunk_backend, v=v, intercept=1.0 if self.fit_intercept else 0.0,
        )

    def largest_row_norm(self):
        ones = 1.0 if self.fit_intercept else 0.0
        return float(da.einsum("ij,ij->i", self.X, self.X).max().compute()) + ones

    def row_sample(self, rows):
        """Every row: chunks give no cheap random rows, so Newton-CG's Hessian and start use all."""
        return self

    def check_finite_inputs(self):
        """Nothing to scan: X was checked finite chunk by chunk when it was prepared."""

    def value_gradient_curvature(self, theta):
        """(F, ∇F, θ): here the curvature is θ itself; each Hessian-vector product
        recomputes D (or P) chunk by chunk in the task that multiplies by it."""
        return (*self.value_and_gradient(theta), theta)

    def hessian_product(self, curvature, v):
        """∇²F(θ) v (see :meth:`Objective.hessian_product`), θ = ``curvature``: one map-reduce."""
        w, b = self.unpack(curvature)
        V = v[: self.n_weights].reshape(np.shape(w))
        v_b = v[self.n_weights:] if self.fit_intercept else np.zeros(self.n_classes)
        sums = _sum_over_chunks(
            _chunk_hessian_product, self.X, [self.y, self.sample_weight], 1 + self.n_classes * (self.n_features + 1),
            backend=self.backend.chunk_backend, n_classes=self.n_classes, w=w, b=b,
            v_w=V.astype(self.X.dtype), v_b=v_b[0] if self.n_classes == 1 else v_b,
        )
        product_w, product_b = np.split(sums[1:] / sums[0], [self.n_weights])
        product = self.pack(product_w, product_b)
        product[: self.n_weights] += self.l2_strength * v[: self.n_weights]
        return product


# -- validation: the rules of fastlr.validation, computed chunk by chunk --------------------
def _prepared_matrix(X, n_features=None):
    """X checked for shape, as float32/float64 C-contiguous chunks in one column block (lazy).

    The shape checks need no computation; finiteness is checked in the pass
    that persists X (:func:`_checked`).
    """
    if scipy.sparse.issparse(X._meta):
        raise ValueError(
            "X is a dask array with sparse chunks, which the chunked objective does not take: fit the "
            "sparse matrix itself (it is held as CSR, O(nnz) memory: X.compute() for scipy.sparse chunks), "
            "or densify the chunks (X.map_blocks(lambda block: block.toarray())) if they fit in memory dense"
        )
    if any(np.isnan(size) for size in X.shape):
        raise ValueError(
            f"X has unknown chunk sizes (shape {X.shape}); call X.compute_chunk_sizes() first"
        )
    validation.check_matrix_shape(X.shape, n_features)
    X = X.astype(validation.float_dtype(X.dtype), copy=False)
    if X.numblocks[1] != 1:
        X = X.rechunk({1: -1})  # kernels need whole rows
    # A no-op for the row chunks of a C-ordered array; copies F-ordered chunks once.
    return X.map_blocks(np.ascontiguousarray, dtype=X.dtype)


def _row_aligned(vector, X, name):
    """``vector`` (array-like or dask) as a dask array of shape (n_samples,) chunked like X's rows."""
    if not hasattr(vector, "chunks"):
        vector = np.asarray(vector)
    if vector.ndim != 1 or vector.shape[0] != X.shape[0]:
        raise ValueError(
            f"{name} must be 1-D with one entry per row of X ({X.shape[0]}), got shape {vector.shape}"
        )
    return da.asarray(vector).rechunk((X.chunks[0],))


def _memory_of_scheduler():
    """Bytes the active scheduler can hold: the workers' memory limits with a
    ``dask.distributed`` client, this machine's available memory otherwise."""
    try:
        from distributed import default_client

        workers = default_client().scheduler_info(n_workers=-1)["workers"].values()
    except (ImportError, ValueError):  # no distributed, or no client
        return psutil.virtual_memory().available
    # A worker without a limit (0) can use its machine's memory.
    return sum(worker["memory_limit"] or psutil.virtual_memory().total for worker in workers)


def _keeps_in_memory(X, persist):
    if persist == "auto":
        return X.nbytes <= config.DASK_PERSIST_MEMORY_FRACTION * _memory_of_scheduler()
    if isinstance(persist, bool):
        return persist
    raise ValueError(f"persist must be True, False or 'auto', got {persist!r}")


def _checked(X, labels, sample_weight, in_memory):
    """One pass over the data: X finite, the classes of y, the weights valid.

    Returns X (persisted when ``in_memory``) and the sorted classes. The checks
    are computed in the same pass that persists X, so a disk source is read
    once for both.
    """
    checks = {"finite": da.isfinite(X).all(), "classes": da.unique(labels)}
    if sample_weight is not None:
        checks.update(
            weight_finite=da.isfinite(sample_weight).all(),
            weight_min=sample_weight.min(),
            weight_total=sample_weight.sum(dtype=np.float64),
        )
    if in_memory:
        X, checks = dask.persist(X, checks)
    (checks,) = dask.compute(checks)
    validation.check_finite(bool(checks["finite"]))
    if sample_weight is not None:
        validation.check_weight_summary(
            bool(checks["weight_finite"]), float(checks["weight_min"]), float(checks["weight_total"])
        )
    validation.check_classes(checks["classes"])
    return X, checks["classes"]


def _class_index(labels, classes):
    """Position of each label in the sorted ``classes``."""
    return np.searchsorted(classes, labels)


# -- data on disk ------------------------------------------------------------------
_NPY_HEADER_READERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


class _NpyRows:
    """Row ranges of a C-ordered 2-D ``.npy`` file, read with plain file reads.

    Each read returns a fresh array of just those rows. Plain reads rather than
    a memory map keep the file's pages in the page cache, outside the
    process's resident memory; and the object has no ``copy`` method, which
    ``dask.array.from_array`` would call on a ``np.memmap``, loading the
    whole file (dask issue #11850).
    """

    def __init__(self, path):
        self.path = str(path)
        with open(self.path, "rb") as file:
            version = np.lib.format.read_magic(file)
            if version not in _NPY_HEADER_READERS:
                raise ValueError(f"{self.path}: .npy format version {version} is not supported")
            shape, fortran_order, dtype = _NPY_HEADER_READERS[version](file)
            self._offset = file.tell()
        if len(shape) != 2 or fortran_order or dtype.hasobject:
            raise ValueError(
                f"{self.path}: expected a C-ordered 2-D array of numbers, got shape {shape}, dtype {dtype}, "
                f"fortran_order={fortran_order}"
            )
        self.shape, self.dtype, self.ndim = shape, dtype, 2

    def __dask_tokenize__(self):
        status = os.stat(self.path)
        return self.path, status.st_mtime_ns, status.st_size

    def __getitem__(self, index):
        rows, columns = index
        start, stop, step = rows.indices(self.shape[0])
        count = max(stop - start, 0)
        with open(self.path, "rb") as file:
            file.seek(self._offset + start * self.shape[1] * self.dtype.itemsize)
            block = np.fromfile(file, dtype=self.dtype, count=count * self.shape[1])
        return block.reshape(count, self.shape[1])[::step, columns]


def from_npy(path, chunk_rows):
    """A dask array over a 2-D ``.npy`` file that reads ``chunk_rows`` rows per chunk.

    Nothing is read until the array is computed, and each chunk is read on
    its own, so a streamed fit (``persist=False``) holds a few chunks at a
    time. With a ``dask.distributed`` cluster, ``path`` must be readable by
    every worker.

    Returns
    -------
    dask array of shape (n_samples, n_features), chunks (chunk_rows, n_features)
    """
    return da.from_array(_NpyRows(path), chunks=(chunk_rows, -1))


# -- public entry points ------------------------------------------------------------
def prepare_training_data(X, y, sample_weight=None, *, backend="auto", class_weight=None) -> TrainingData:
    """The chunked adapter of :mod:`fastlr.inputs`: dask X validated, placed and encoded.

    ``backend`` names the kernels that run on each chunk (``"auto"``: as for
    NumPy data, or ``"cupy"`` for CuPy chunks, seen from ``X._meta``). Whether
    X is persisted or streamed follows the ``persist`` of :func:`fit`
    (``"auto"`` for a plain ``estimator.fit``).
    """
    name = resolve_backend_name(backend, X._meta)
    chunk_kernels = get_backend(name)  # fail here, not in a worker
    X = _prepared_matrix(X)
    # On the backend's device, as in memory: part of what is persisted, so moved once.
    X = X.map_blocks(chunk_kernels.to_device, dtype=X.dtype)
    labels = _row_aligned(y, X, "y")
    if sample_weight is not None:
        sample_weight = _row_aligned(sample_weight, X, "sample_weight").astype(X.dtype)
    in_memory = _keeps_in_memory(X, _persist.get())
    X, classes = _checked(X, labels, sample_weight, in_memory)
    y_index = labels.map_blocks(_class_index, classes=classes, dtype=np.intp)
    sample_weight = validation.fold_class_weight(
        class_weight, classes, y_index, sample_weight, xp=da, to_host=np.asarray, dtype=X.dtype
    )
    if in_memory:
        y_index, sample_weight = dask.persist(y_index, sample_weight)
    return TrainingData(
        X, y_index, classes, sample_weight, ChunkedBackend(name, chunk_kernels.blas_threads), name,
        objective=partial(DaskObjective, persist=in_memory), random_rows=False,
    )


@contextlib.contextmanager
def persistence(persist):
    """Fits inside the block persist (True), stream (False) or decide ("auto") dask X."""
    if persist != "auto" and not isinstance(persist, bool):
        raise ValueError(f"persist must be True, False or 'auto', got {persist!r}")
    token = _persist.set(persist)
    try:
        yield
    finally:
        _persist.reset(token)


def fit(estimator, X, y, sample_weight=None, *, persist="auto"):
    """Fit ``estimator`` (a :class:`fastlr.LogisticRegression`) on dask data, choosing ``persist``.

    ``estimator.fit`` does the same with ``persist="auto"``. Solvers
    ``"lbfgs"``, ``"newton"``, ``"newton-cg"``, ``"fista"`` and full-batch ``"gd"`` work;
    mini-batch descent does not (it needs random rows).

    Parameters
    ----------
    estimator : fastlr.LogisticRegression
    X : dask array of shape (n_samples, n_features)
        Row-chunked with known chunk sizes; columns are put in one block.
    y : array-like or dask array of shape (n_samples,)
    sample_weight : array-like or dask array of shape (n_samples,), default=None
    persist : {"auto", True, False}, default="auto"
        Keep X in memory (True) or stream it from its source at every
        evaluation (False); see the module docstring.

    Returns
    -------
    estimator
        Fitted, with the attributes of an in-memory fit.
    """
    with persistence(persist):
        return estimator.fit(X, y, sample_weight)


#: Per prediction method: the shape its output adds after the rows, and the
#: dtype of labels (None for numbers in X's dtype, on X's device).
_PREDICTIONS = {
    "decision_function": lambda model: (() if model.coef_.shape[0] == 1 else (model.coef_.shape[0],), None),
    "predict_proba": lambda model: ((len(model.classes_),), None),
    "predict_log_proba": lambda model: ((len(model.classes_),), None),
    "predict": lambda model: ((), model.classes_.dtype),
}


def _predict_chunk(estimator, method, trailing, dtype, X):
    """``estimator.method(X)`` for one chunk; a chunk without rows (a filtered
    array's) gives an empty result of the right shape, on the chunk's device."""
    if X.shape[0] == 0:
        return backend_for(estimator.backend_, X).xp.empty((0, *trailing), dtype=dtype)
    return getattr(estimator, method)(X)


def predict_lazily(estimator, method, X):
    """``estimator.method`` on each row chunk of dask X: a lazy dask array.

    Nothing is computed here: a snapshot of the fitted estimator travels with
    the graph (refitting it before the result is computed changes nothing),
    and each chunk runs the in-memory method, with its checks, when the
    result is computed.

    Returns
    -------
    dask array of shape (n_samples,) or (n_samples, n_outputs)
    """
    check_is_fitted(estimator)
    X = _prepared_matrix(X, n_features=estimator.n_features_in_)
    trailing, label_dtype = _PREDICTIONS[method](estimator)
    ndim = 1 + len(trailing)
    if label_dtype is None:
        dtype, meta = X.dtype, meta_from_array(X._meta, ndim=ndim, dtype=X.dtype)
    else:
        dtype, meta = label_dtype, np.empty((0,) * ndim, dtype=label_dtype)
    # A shallow copy is a snapshot: fit rebinds coef_ and the other attributes, never mutates them.
    return X.map_blocks(
        partial(_predict_chunk, copy.copy(estimator), method, trailing, dtype),
        chunks=(X.chunks[0], *((size,) for size in trailing)),
        drop_axis=[] if trailing else [1],
        dtype=dtype,
        meta=meta,
    )
