"""The yardstick every comparison uses: scikit-learn's objective, computed independently of fastlr.

scikit-learn's ``LogisticRegression`` minimises

    J(w, b) = C · Σ_i s_i ℓ_i + ½ (1 − ρ) ‖W‖² + ρ ‖W‖₁,

with ℓ_i the binary cross-entropy softplus(z_i) − y_i z_i (z_i = x_i·w + b,
y_i in {0, 1}) or the softmax cross-entropy lse(z_i) − z_{i, y_i}
(z_i = W x_i + b, y_i a class index), ρ the L1 ratio, and the intercept never
penalized. Plain NumPy/SciPy here, no fastlr code: the demo, the benchmarks and
the tests measure fastlr's models against it.
"""

import numpy as np
from scipy.special import logsumexp


def sklearn_objective(X, y, coef, intercept, C=1.0, sample_weight=None, l1_ratio=0.0):
    """J at (coef, intercept); binary when coef has one row, softmax otherwise.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
        0/1 for a binary model, class indices 0..K-1 for a softmax one.
    coef : ndarray of shape (n_features,), (1, n_features) or (K, n_features)
    intercept : scalar or ndarray of shape (1,) or (K,)
    C : float
    sample_weight : ndarray of shape (n_samples,) or None
    l1_ratio : float
        ρ: 0 for L2, 1 for L1.

    Returns
    -------
    float
    """
    X = np.asarray(X, dtype=np.float64)
    W = np.atleast_2d(np.asarray(coef, dtype=np.float64))
    b = np.ravel(np.asarray(intercept, dtype=np.float64))
    s = np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    if W.shape[0] == 1:
        z = X @ W[0] + b[0]
        y = np.asarray(y, dtype=np.float64)
        losses = np.logaddexp(0, z) - y * z
    else:
        Z = X @ W.T + b
        labels = np.asarray(y, dtype=np.intp)
        losses = logsumexp(Z, axis=1) - Z[np.arange(len(labels)), labels]
    penalty = 0.5 * (1 - l1_ratio) * float(np.sum(W * W)) + l1_ratio * float(np.abs(W).sum())
    return C * float(s @ losses) + penalty


def relative_gap(value, best):
    """(J − J*) / |J*|: how far J is above the best value J*."""
    return (value - best) / abs(best)
