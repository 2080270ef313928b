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
from sklearn.utils.validation import (
    _assert_all_finite,
    _check_sample_weight,
    _get_feature_names,
    check_array,
    check_X_y,
    validate_data,
)

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


def check_finite_matrix(X, xp, estimator_name):
    """``ValueError`` for NaN or infinity in X, with the message of the check a fit skipped:
    scikit-learn's for host arrays (its ``check_array``), ``check_finite``'s on a device."""
    if xp is np:
        _assert_all_finite(X, input_name="X", estimator_name=estimator_name)
    else:
        check_finite(bool(xp.isfinite(X).all()))


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
    check_class_count(classes)


def check_class_count(classes):
    """At least two classes (labels already known to be class labels)."""
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
    # The (sample-weighted) count of each class: what "balanced" needs, and what
    # gives the total of the folded weights without another pass over the rows.
    counts = np.asarray(to_host(xp.bincount(y_index, weights=sample_weight, minlength=len(classes))), dtype=np.float64)
    per_class = class_weights(class_weight, classes, counts)
    with np.errstate(over="ignore", invalid="ignore"):
        total = float(counts @ per_class)
    check_weight_summary(True, 0.0, total, name="sample_weight times class_weight")
    with np.errstate(over="ignore"):
        representable = np.all(np.isfinite(per_class.astype(dtype)))
    if not representable:
        raise ValueError(f"class_weight values {per_class.tolist()} overflow {np.dtype(dtype).name}; scale them down")
    per_row = xp.asarray(per_class.astype(dtype))[y_index]
    return per_row if sample_weight is None else sample_weight * per_row


# -- host data: scikit-learn's validation ------------------------------------------------
def check_host_fit_data(X, y, sample_weight, estimator_name, accept_sparse=False):
    """(X, y, sample_weight, feature_names) validated by scikit-learn's rules, but one.

    Raises ``ValueError`` naming the problem: X not 2-D or empty, NaN or inf in
    y or the weights, y of the wrong length, bad weights. Two checks are left
    to later steps that make them without a pass of their own: NaN or inf in
    dense X shows in the fit's first evaluation, which then raises scikit-learn's
    message (:meth:`fastlr.objective.Objective.check_finite_inputs`), and y's
    label type is checked where the labels are encoded
    (:func:`encode_labels`). ``accept_sparse="csr"``: sparse X comes back as
    canonical CSR (:func:`canonical_csr`), whose stored values are checked for
    NaN and inf here, in the O(nnz) pass that checks its structure anyway.
    """
    feature_names = _get_feature_names(X)
    X, y = check_X_y(
        X, y, dtype=FLOAT_DTYPES, order="C", accept_sparse=accept_sparse, estimator=estimator_name,
        ensure_all_finite=bool(accept_sparse),
    )
    if accept_sparse:
        X = canonical_csr(X)
    if sample_weight is not None:
        sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype, ensure_non_negative=True)
        with np.errstate(over="ignore"):
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
def check_device_matrix(X, xp, n_features=None, finite=True):
    """A CuPy X, checked on the device: 2-D, non-empty, float, C-contiguous, and finite
    unless ``finite=False`` (a fit, whose first evaluation sees every value)."""
    check_matrix_shape(X.shape, n_features)
    X = X.astype(float_dtype(X.dtype), copy=False)
    if finite:
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


# -- labels -------------------------------------------------------------------------------
#: Non-negative integer labels below this are counted (``bincount``) rather than sorted.
COUNTED_LABELS = 2**16


def encode_labels(y, xp, to_host):
    """(classes, y_index): the sorted distinct labels (on the host) and each row's index
    into them (where y lives, as ``xp`` integers); ``ValueError`` unless y holds class labels.

    Numeric labels take O(m) paths without a sort: two distinct values, or
    integers (integral floats) in 0..``COUNTED_LABELS`` − 1, counted and mapped
    through a table (the identity when they are already 0..K−1). Other labels
    (strings, negative or huge integers) are checked by scikit-learn's rules
    and sorted (``unique``).
    """
    codes = _numeric_codes(y, xp, to_host) if y.dtype.kind in "biuf" else None
    if codes is not None:
        return codes
    if y.dtype.kind == "f" or not hasattr(y, "__cuda_array_interface__"):
        y_host = np.asarray(to_host(y))
        check_classification_targets(y_host)
        if y.dtype.kind not in "biuf":
            return np.unique(y_host, return_inverse=True)
    classes, y_index = xp.unique(y, return_inverse=True)
    return np.asarray(to_host(classes)), y_index


def _numeric_codes(y, xp, to_host):
    """The O(m) encodings of :func:`encode_labels`, or None where they do not apply."""
    if y.size == 0:
        return None
    low, high = to_host(xp.stack([y.min(), y.max()]))  # in y's dtype: exact for any integer
    if y.dtype.kind == "f" and not (np.isfinite(low) and np.isfinite(high) and bool((y == xp.floor(y)).all())):
        return None  # not integral: scikit-learn's check names the label type
    dtype = y.dtype
    if low == high:
        return np.array([low], dtype=dtype), xp.zeros(y.shape, dtype=xp.intp)
    upper = y == high
    if bool((upper | (y == low)).all()):
        return np.array([low, high], dtype=dtype), upper.astype(xp.intp)
    if low < 0 or high >= COUNTED_LABELS:
        return None
    labels = y.astype(xp.intp)
    present = xp.bincount(labels, minlength=int(high) + 1) > 0
    classes = np.flatnonzero(to_host(present))
    if len(classes) == int(high) + 1:  # already 0..K-1
        return classes.astype(dtype), labels
    table = xp.cumsum(present) - 1
    return classes.astype(dtype), table[labels].astype(xp.intp)
