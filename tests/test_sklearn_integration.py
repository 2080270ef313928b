"""fastlr inside scikit-learn: Pipeline, GridSearchCV, pickle, DataFrames, labels.

The reference is scikit-learn's own LogisticRegression on the same data: both
minimise C·Σℓ + ½‖w‖² (the softmax loss for more than two classes), so
probabilities must agree to the solvers' tolerance, not just "look right".
"""

import pickle

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fastlr import LogisticRegression
from tests.conftest import backend_params

BACKENDS = backend_params(["numpy", "numba"])
FASTLR_TIGHT = {"tol": 1e-8}
SKLEARN_TIGHT = {"tol": 1e-10, "max_iter": 10_000}
PROBABILITY_ATOL = 1e-5


@pytest.fixture(scope="module")
def cancer():
    return load_breast_cancer(return_X_y=True)


@pytest.fixture(scope="module")
def iris_frame():
    """Iris, standardized (few iterations), as a DataFrame with named columns; string labels."""
    data = load_iris(as_frame=True)
    X = StandardScaler().set_output(transform="pandas").fit_transform(data.data)
    return X, data.target_names[data.target.to_numpy()]


@pytest.mark.parametrize("backend", BACKENDS)
def test_pipeline_with_scaler_matches_sklearn(backend, cancer):
    X, y = cancer
    ours = make_pipeline(StandardScaler(), LogisticRegression(backend=backend, **FASTLR_TIGHT)).fit(X, y)
    reference = make_pipeline(StandardScaler(), SklearnLogisticRegression(**SKLEARN_TIGHT)).fit(X, y)
    np.testing.assert_allclose(ours.predict_proba(X), reference.predict_proba(X), atol=PROBABILITY_ATOL)
    np.testing.assert_array_equal(ours.predict(X), reference.predict(X))
    assert ours.score(X, y) == pytest.approx(reference.score(X, y))


def test_grid_search_scores_match_sklearn(cancer):
    X, y = cancer
    grid = {"logisticregression__C": [0.01, 1.0]}

    def search(classifier):
        pipeline = make_pipeline(StandardScaler(), classifier)
        return GridSearchCV(pipeline, grid, cv=3, scoring="neg_log_loss").fit(X, y)

    ours = search(LogisticRegression(backend="numpy", **FASTLR_TIGHT))
    reference = search(SklearnLogisticRegression(**SKLEARN_TIGHT))
    np.testing.assert_allclose(
        ours.cv_results_["mean_test_score"], reference.cv_results_["mean_test_score"], rtol=1e-5
    )
    assert ours.best_params_ == reference.best_params_
    assert isinstance(ours.best_estimator_[-1], LogisticRegression)


@pytest.mark.parametrize("backend", BACKENDS)
def test_pickle_round_trip_predicts_identically(backend, iris_frame):
    X, y = iris_frame
    model = LogisticRegression(backend=backend).fit(X, y)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))
    assert restored.get_params() == model.get_params()


def test_dataframe_sets_feature_names_and_checks_them(iris_frame):
    X, y = iris_frame
    model = LogisticRegression(backend="numpy").fit(X, y)
    np.testing.assert_array_equal(model.feature_names_in_, X.columns.to_numpy())
    assert model.n_features_in_ == X.shape[1]
    with pytest.raises(ValueError, match="feature names"):
        model.predict(X[X.columns[::-1]])
    assert not hasattr(LogisticRegression(backend="numpy").fit(X.to_numpy(), y), "feature_names_in_")


@pytest.mark.parametrize("backend", BACKENDS)
def test_string_labels_multiclass_matches_sklearn(backend, iris_frame):
    X, y = iris_frame
    ours = LogisticRegression(backend=backend, **FASTLR_TIGHT).fit(X, y)
    reference = SklearnLogisticRegression(**SKLEARN_TIGHT).fit(X, y)
    np.testing.assert_array_equal(ours.classes_, ["setosa", "versicolor", "virginica"])
    np.testing.assert_array_equal(ours.classes_, reference.classes_)
    np.testing.assert_array_equal(ours.predict(X), reference.predict(X))
    assert set(ours.predict(X)) <= set(ours.classes_)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_probabilities_log_probabilities_and_margins(n_classes, iris_frame):
    X, y = iris_frame
    keep = np.isin(y, np.unique(y)[:n_classes])
    X, y = X.to_numpy()[keep], y[keep]
    ours = LogisticRegression(backend="numpy", C=0.5, **FASTLR_TIGHT).fit(X, y)
    reference = SklearnLogisticRegression(C=0.5, **SKLEARN_TIGHT).fit(X, y)

    probability = ours.predict_proba(X)
    assert probability.shape == (len(X), n_classes)
    np.testing.assert_allclose(probability.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(probability, reference.predict_proba(X), atol=PROBABILITY_ATOL)
    np.testing.assert_allclose(ours.predict_log_proba(X), reference.predict_log_proba(X), atol=1e-3)
    np.testing.assert_allclose(np.exp(ours.predict_log_proba(X)), probability, rtol=1e-10, atol=1e-300)

    margins = ours.decision_function(X)
    assert margins.shape == ((len(X),) if n_classes == 2 else (len(X), n_classes))
    np.testing.assert_allclose(margins, reference.decision_function(X), atol=1e-3)
    assert ours.score(X, y) == accuracy_score(y, ours.predict(X))


def test_log_probabilities_stay_finite_where_probabilities_round_to_zero():
    X = np.array([[-1.0], [1.0], [-2.0], [2.0]])
    y = np.array([0, 1, 0, 1])
    model = LogisticRegression(backend="numpy").fit(X, y)
    model.coef_[:] = 1000.0  # margins of ±1000 and more: σ underflows to 0
    log_probability = model.predict_log_proba(np.array([[-1.0], [1.0]]))
    assert np.all(np.isfinite(log_probability))
    np.testing.assert_allclose(log_probability[0, 1], -1000.0 + model.intercept_[0], rtol=1e-12)


def test_random_state_accepts_a_random_state_instance(cancer):
    X, y = cancer
    X = StandardScaler().fit_transform(X)

    def fit(random_state):
        params = dict(backend="numpy", solver="gd", batch_size=32, max_iter=3, tol=0, random_state=random_state)
        with pytest.warns(ConvergenceWarning):
            return LogisticRegression(**params).fit(X, y)

    first, second = fit(np.random.RandomState(0)), fit(np.random.RandomState(0))
    np.testing.assert_array_equal(first.coef_, second.coef_)  # same generator state, same shuffles
    assert not np.array_equal(first.coef_, fit(np.random.RandomState(1)).coef_)
