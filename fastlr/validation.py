"""Input checks, the rules in one place; each kind of input applies them once per call.

Host data goes through scikit-learn's own validation (so errors read the way
scikit-learn users expect, and DataFrames give their feature names); device
(CuPy) and chunked (dask) data are checked with the same rules, computed where
the data lives: the functions below that take *facts* (a shape, whether all
values are finite, a minimum and a total) are shared by every input kind.
Either way X leaves validation 2-D, non-empty, finite, float32 or float64 and
C-contiguous: the single conversion of a fit happens there, never inside an
iteration. Kernels only compute.

Sparse X (``scipy.sparse``, any format, matrix or array; ``cupyx.scipy.sparse``
on the GPU) passes the same rules on its stored values and leaves as canonical
CSR (:func:`canonical_csr`): the one conversion of a fit, never per iteration.
"""

import numbers

import numpy as np
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, _get_feature_names, check_array, check_X_y, validate_data

FLOAT_DTYPES = (np.float64, np.float32)


# -- rules on facts, shared by every kind of input -------------------------------------
def float_dtype(dtype):
    """The dtype X is computed in: float32 stays float32, every other real type becomes float64."""
    dtype = np.dtype(dtype)
    if dtype.kind not in "biuf":
        raise ValueError(f"X must hold real numbers, got dtype {dtype}")
    return dtype if dtype in FLOAT_DTYPES else np.dtype(np.float64)


def check_matrix_shape(shape, n_features=None):
    """X must be 2-D and non-empty, with the fitted number of features when one is given."""
    if len(shape) != 2:
        raise ValueError(f"Expected a 2-D array for X, got an array of shape {tuple(shape)}")
    if shape[0] == 0 or shape[1] == 0:
        raise ValueError(f"X is empty: shape {tuple(shape)}; at least one sample and one feature are required")
    if n_features is not None and shape[1] != n_features:
        raise ValueError(f"X has {shape[1]} features, but the model was fitted with {n_features} features")


def check_finite(all_finite, name="X"):
    if not all_finite:
        raise ValueError(f"Input {name} contains NaN or infinity")


def check_weight_summary(all_finite, minimum, total, name="sample_weight"):
    """Weights must be finite, non-negative, and sum to a positive, finite total."""
    check_finite(all_finite, name)
    if minimum < 0:
        raise ValueError(f"Negative values in data passed to {name}")
    if not total > 0:
        raise ValueError(f"{name} sums to zero: at least one sample needs a positive weight")
    if not np.isfinite(total):
        raise ValueError(f"{name} sums to {total}: the total overflows; scale the weights down")


def check_classes(classes):
    """``classes`` (sorted, unique) must be class labels, at least two of them."""
    check_classification_targets(classes)
    if len(classes) < 2:
        raise ValueError(
            f"fastlr needs samples of at least 2 classes in the data, but y holds only one class: {classes[0]!r}"
        )


def class_weights(class_weight, classes, weighted_counts=None):
    """The weight of each class, shape (K,), as scikit-learn 1.9 computes it.

    ``"balanced"`` is Σs / (K · Σ_{i in class k} s_i) from the (sample-weighted)
    counts of each class; a dict gives its value to each class it names, 1 to
    the others. Every value must be finite and non-negative, and not all zero.
    """
    if isinstance(class_weight, str) and class_weight == "balanced":
        counts = np.asarray(weighted_counts, dtype=np.float64)
        per_class = counts.sum() / (len(classes) * counts)
    elif isinstance(class_weight, dict):
        unknown = [key for key in class_weight if key not in set(classes.tolist())]
        if unknown:
            raise ValueError(f"class_weight names classes that are not in y: {unknown}; classes: {classes.tolist()}")
        per_class = compute_class_weight(class_weight, classes=classes, y=classes).astype(np.float64)
    else:
        raise ValueError(f"class_weight must be None, 'balanced' or a dict, got {class_weight!r}")
    values = np.asarray(per_class, dtype=np.float64)
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError(f"class_weight values must be finite and non-negative, got {dict(zip(classes.tolist(), values))}")
    if not np.any(values > 0):
        raise ValueError("class_weight gives every class a zero weight: at least one class needs a positive weight")
    return values


def fold_class_weight(class_weight, classes, y_index, sample_weight, *, xp, to_host, dtype):
    """Sample weights times class weights (scikit-learn's semantics), or ``sample_weight``.

    The one place that folds ``class_weight`` for every kind of input: ``xp``
    is the array namespace of ``y_index`` (NumPy, CuPy or dask.array) and
    ``to_host`` brings its per-class counts to NumPy.
    """
    if class_weight is None:
        return sample_weight
    counts = None
    if isinstance(class_weight, str) and class_weight == "balanced":
        counts = to_host(xp.bincount(y_index, weights=sample_weight, minlength=len(classes)))
    per_row = xp.asarray(class_weights(class_weight, classes, counts).astype(dtype))[y_index]
    return per_row if sample_weight is None else sample_weight * per_row


# -- host data: scikit-learn's validation ------------------------------------------------
def check_host_fit_data(X, y, sample_weight, estimator_name, accept_sparse=False):
    """(X, y, sample_weight, feature_names) validated by scikit-learn's rules.

    Raises ``ValueError`` naming the problem: X not 2-D, empty, NaN or inf in X
    or the weights, y of the wrong length or not class labels, bad weights.
    ``accept_sparse="csr"``: sparse X comes back as canonical CSR.
    """
    feature_names = _get_feature_names(X)
    X, y = check_X_y(X, y, dtype=FLOAT_DTYPES, order="C", accept_sparse=accept_sparse, estimator=estimator_name)
    if accept_sparse:
        X = canonical_csr(X)
    check_classification_targets(y)
    if sample_weight is not None:
        sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype, ensure_non_negative=True)
        total = float(sample_weight.sum(dtype=np.float64))
        check_weight_summary(True, 0.0, total)
    return X, y, sample_weight, feature_names


def check_host_predict_data(X, n_features, estimator_name):
    """X for prediction on the host: scikit-learn's checks and the fitted feature count."""
    X = check_array(X, dtype=FLOAT_DTYPES, order="C", accept_sparse=False, estimator=estimator_name)
    check_matrix_shape(X.shape, n_features)
    return X


# -- sparse data: the same rules on the stored values, then canonical CSR ------------------------
def canonical_csr(X):
    """A checked sparse X (2-D, finite, float) as CSR with sorted indices and no duplicates.

    Copies only what is not so already, and never changes the caller's matrix.
    Indices are int32 where nnz and n fit (int64 input is narrowed: a quarter
    less to read per pass), int64 where they need it. The structure is checked
    in full (indices within 0..n−1, indptr non-decreasing), once: the kernels
    index with it unchecked.
    """
    X = X.tocsr()  # no copy for CSR input
    try:
        X.check_format(full_check=True)
    except ValueError as exc:
        raise ValueError(f"X is not a valid sparse matrix: {exc}") from None
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()  # sorts, and adds duplicates up as every other format would
    if X.indices.dtype != np.int32 and max(X.nnz, X.shape[1]) <= np.iinfo(np.int32).max:
        # int32 where it fits: each pass reads 12 bytes per stored float64, not 16.
        X = type(X)((X.data, X.indices.astype(np.int32), X.indptr.astype(np.int32)), shape=X.shape)
    return X


def check_device_sparse_matrix(X, xp, n_features=None):
    """A ``cupyx.scipy.sparse`` X, checked on the device: 2-D, non-empty, finite values, float,
    indices within range; returned as canonical CSR (a copy only where needed)."""
    check_matrix_shape(X.shape, n_features)
    X = X.tocsr().astype(float_dtype(X.dtype))  # astype copies: the caller's matrix is never changed
    if not X.has_canonical_format:
        X.sum_duplicates()
    check_finite(bool(xp.isfinite(X.data).all()))
    if X.nnz and not (0 <= int(X.indices.min()) and int(X.indices.max()) < X.shape[1]):
        raise ValueError(f"X is not a valid sparse matrix: column indices outside 0..{X.shape[1] - 1}")
    return X


def check_sparse_predict_data(estimator, X):
    """Sparse X for prediction on the host: scikit-learn's checks and the fitted feature count."""
    return canonical_csr(validate_data(estimator, X, reset=False, dtype=FLOAT_DTYPES, accept_sparse="csr"))


# -- device data: the same rules, computed on the device --------------------------------------
def check_device_matrix(X, xp, n_features=None):
    """A CuPy X, checked on the device: 2-D, non-empty, finite, float, C-contiguous."""
    check_matrix_shape(X.shape, n_features)
    X = X.astype(float_dtype(X.dtype), copy=False)
    check_finite(bool(xp.isfinite(X).all()))
    return xp.ascontiguousarray(X)


def check_device_labels(y, m, xp):
    """Labels for a device X: numeric ones on the device (classes by a GPU sort), others on the host."""
    if hasattr(y, "__cuda_array_interface__") or np.asarray(y).dtype.kind in "biuf":
        y = xp.asarray(y)
        if y.dtype.kind == "f" and not bool(xp.all(y == xp.floor(y))):
            raise ValueError("Unknown label type: continuous; y must hold class labels")
    else:
        y = np.asarray(y)
        check_classification_targets(y)
    if y.ndim != 1 or len(y) != m:
        raise ValueError(f"y must be 1-D with one label per row of X ({m}), got shape {y.shape}")
    return y


def check_device_sample_weight(sample_weight, m, dtype, xp):
    if sample_weight is None:
        return None
    sample_weight = xp.asarray(sample_weight, dtype=dtype)
    if sample_weight.shape != (m,):
        raise ValueError(f"sample_weight.shape == {sample_weight.shape}, expected {(m,)}")
    summary = xp.stack([xp.isfinite(sample_weight).all(), sample_weight.min(), sample_weight.sum(dtype=xp.float64)])
    finite, minimum, total = (float(v) for v in summary.get())  # one read back for the three facts
    check_weight_summary(bool(finite), minimum, total)
    return sample_weight


def is_real_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)
