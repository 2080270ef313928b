"""Input checks, done once per call in the public layer; kernels only compute.

Host data goes through scikit-learn's own validation (so errors read the way
scikit-learn users expect, and DataFrames get ``feature_names_in_``); CuPy data
is checked on the device with the same rules. Either way X leaves here 2-D,
non-empty, finite, float32 or float64 and C-contiguous: the single conversion
of a fit happens here, never inside an iteration.
"""

import numpy as np
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, validate_data

from fastlr.dispatch import is_cupy_array

FLOAT_DTYPES = (np.float64, np.float32)


def _check_total_weight(sample_weight):
    if sample_weight is not None and not float(sample_weight.sum()) > 0:
        raise ValueError("sample_weight sums to zero: at least one sample needs a positive weight")


def check_fit_data(estimator, X, y, sample_weight, kernels):
    """Validated (X, y, sample_weight) for ``fit``; y stays on the host.

    Raises ``ValueError`` naming the problem: X not 2-D, empty, NaN or inf in X
    or the weights, y of the wrong length or not class labels, negative weights.
    """
    if is_cupy_array(X):
        return _check_device_fit_data(estimator, X, y, sample_weight, kernels)
    X, y = validate_data(estimator, X, y, dtype=FLOAT_DTYPES, order="C", accept_sparse=False)
    check_classification_targets(y)
    if sample_weight is not None:
        sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype, ensure_non_negative=True)
        _check_total_weight(sample_weight)
    return X, y, sample_weight


def check_predict_data(estimator, X, kernels):
    """Validated X for prediction: same checks, and the fitted feature count."""
    if is_cupy_array(X):
        return _check_device_matrix(X, kernels.xp, n_features=estimator.n_features_in_)
    return validate_data(estimator, X, reset=False, dtype=FLOAT_DTYPES, order="C", accept_sparse=False)


def _check_device_matrix(X, xp, n_features=None):
    if X.ndim != 2:
        raise ValueError(f"Expected a 2-D array for X, got an array of shape {X.shape}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X is empty: shape {X.shape}; at least one sample and one feature are required")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"X has {X.shape[1]} features, but the model was fitted with {n_features} features")
    if X.dtype not in FLOAT_DTYPES:
        X = X.astype(xp.float64)
    if not bool(xp.isfinite(X).all()):
        raise ValueError("Input X contains NaN or infinity")
    return xp.ascontiguousarray(X)


def _check_device_fit_data(estimator, X, y, sample_weight, kernels):
    xp = kernels.xp
    X = _check_device_matrix(X, xp)
    if is_cupy_array(y) or np.asarray(y).dtype.kind in "biuf":
        y = xp.asarray(y)  # numeric labels stay on the device: classes come from a GPU sort
        if y.dtype.kind == "f" and not bool(xp.all(y == xp.floor(y))):
            raise ValueError("Unknown label type: continuous; y must hold class labels")
    else:
        y = np.asarray(y)  # strings and other objects: the host knows them
        check_classification_targets(y)
    if y.ndim != 1 or len(y) != X.shape[0]:
        raise ValueError(f"y must be 1-D with one label per row of X ({X.shape[0]}), got shape {y.shape}")
    if sample_weight is not None:
        sample_weight = xp.asarray(sample_weight, dtype=X.dtype)
        if sample_weight.shape != (X.shape[0],):
            raise ValueError(f"sample_weight.shape == {sample_weight.shape}, expected {(X.shape[0],)}")
        if not bool(xp.isfinite(sample_weight).all()):
            raise ValueError("Input sample_weight contains NaN or infinity")
        if bool((sample_weight < 0).any()):
            raise ValueError("Negative values in data passed to sample_weight")
        _check_total_weight(sample_weight)
    estimator.n_features_in_ = X.shape[1]
    if hasattr(estimator, "feature_names_in_"):
        del estimator.feature_names_in_
    return X, y, sample_weight
