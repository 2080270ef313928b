"""fastlr inside scikit-learn: Pipeline, GridSearchCV, pickle, DataFrames, labels.

The reference is scikit-learn's own LogisticRegression on the same data: both
minimise C·Σℓ + ½‖w‖² (the softmax loss for more than two classes), so
probabilities must agree to the solvers' tolerance, not just "look right".
Then scikit-learn 1.9's parameters (the penalty from l1_ratio and C, the
solver names, dual, n_jobs, intercept_scaling, sparsify) and its callback API.
"""

import json
import pickle
import warnings

import numpy as np
import pytest
from scipy import sparse
from sklearn.datasets import load_breast_cancer, load_iris, make_classification
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fastlr import LogisticRegression
from tests.conftest import backend_params, saga_optimum

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


# -- scikit-learn 1.9's parameters ---------------------------------------------------------
@pytest.fixture(scope="module")
def small():
    X, y = make_classification(300, 6, n_informative=4, random_state=0)
    return StandardScaler().fit_transform(X), y


@pytest.mark.parametrize("l1_ratio", [0.0, 0.5, 1.0])
def test_l1_ratio_alone_chooses_the_penalty(l1_ratio, small):
    X, y = small
    reference = saga_optimum(X, y, C=0.3, l1_ratio=l1_ratio)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # scikit-learn 1.9's spelling: no warning of any kind
        model = LogisticRegression(backend="numpy", C=0.3, l1_ratio=l1_ratio, tol=1e-12).fit(X, y)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(model.coef_ == 0, reference.coef_ == 0)  # L1 and elastic net: saga's zeros
    assert model.solver_ == ("newton" if l1_ratio == 0 else "newton-cd")


def test_C_inf_is_no_penalty(small):
    X, y = small
    X = X + np.random.default_rng(0).normal(scale=2.0, size=X.shape)  # not separable: a finite optimum
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = LogisticRegression(backend="numpy", C=np.inf, tol=1e-10).fit(X, y)
    reference = SklearnLogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(X, y)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-6)


@pytest.mark.parametrize(
    "named, sklearn_spelling",
    [(dict(penalty="l1"), dict(l1_ratio=1.0)), (dict(penalty="elasticnet", l1_ratio=0.4), dict(l1_ratio=0.4)),
     (dict(penalty=None), dict(C=np.inf)), (dict(penalty="l2"), dict())],
)
def test_the_named_penalties_still_mean_what_they_did(named, sklearn_spelling, small):
    X, y = small
    X = X + np.random.default_rng(0).normal(scale=2.0, size=X.shape)
    old = LogisticRegression(backend="numpy", tol=1e-10, **{"C": 0.3, **named}).fit(X, y)
    new = LogisticRegression(backend="numpy", tol=1e-10, **{"C": 0.3, **sklearn_spelling}).fit(X, y)
    np.testing.assert_array_equal(old.coef_, new.coef_)


def test_elasticnet_at_an_end_of_the_mix_says_which_penalty_it_is(small):
    X, y = small
    with pytest.warns(UserWarning, match="penalty='elasticnet' with l1_ratio=0.0 is the L2 penalty"):
        LogisticRegression(backend="numpy", penalty="elasticnet", l1_ratio=0.0).fit(X, y)


SKLEARN_SOLVERS = ["lbfgs", "newton-cg", "newton-cholesky", "sag", "saga"]


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("solver", SKLEARN_SOLVERS)
def test_sklearn_solver_names_reach_sklearns_optimum(solver, n_classes):
    X, y = make_classification(300, 5, n_informative=4, n_redundant=0, n_classes=n_classes, random_state=3)
    X = StandardScaler().fit_transform(X)
    reference = SklearnLogisticRegression(solver=solver, tol=1e-13, max_iter=100_000, random_state=0).fit(X, y)
    model = LogisticRegression(backend="numpy", solver=solver, tol=1e-8, max_iter=10_000).fit(X, y)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=0, atol=1e-6)
    np.testing.assert_allclose(model.intercept_, reference.intercept_, rtol=0, atol=1e-6)


def test_liblinear_without_intercept_is_liblinears_optimum_and_says_nothing(small):
    X, y = small
    reference = SklearnLogisticRegression(solver="liblinear", l1_ratio=1, fit_intercept=False, tol=1e-10,
                                          max_iter=10_000).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = LogisticRegression(backend="numpy", solver="liblinear", l1_ratio=1, fit_intercept=False,
                                   tol=1e-10).fit(X, y)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=0, atol=1e-5)
    assert model.solver_ == "newton-cd"


def test_liblinear_with_an_intercept_warns_that_it_is_not_penalized(small):
    X, y = small
    with pytest.warns(UserWarning, match="never penalizes the intercept; liblinear penalizes it"):
        LogisticRegression(backend="numpy", solver="liblinear").fit(X, y)


def test_liblinear_keeps_its_limits(small):
    X, y = make_classification(200, 5, n_informative=3, n_classes=3, random_state=0)
    with pytest.raises(ValueError, match="does not support multiclass classification.*multi_class='ovr'"):
        LogisticRegression(backend="numpy", solver="liblinear").fit(X, y)
    with pytest.warns(UserWarning, match="never penalizes"):
        model = LogisticRegression(backend="numpy", solver="liblinear", multi_class="ovr").fit(X, y)
    assert model.coef_.shape == (3, 5)
    with pytest.raises(ValueError, match="Only 'saga' solver supports elasticnet penalty"):
        LogisticRegression(backend="numpy", solver="liblinear", l1_ratio=0.5).fit(*small)


@pytest.mark.parametrize("solver", ["lbfgs", "saga", "newton", "auto"])
def test_dual_true_is_refused_naming_the_primal_solvers(solver, small):
    with pytest.raises(ValueError, match=r"dual=True.*'lbfgs', 'newton', 'newton-cg', 'newton-cd', 'fista', 'gd'.*use dual=False"):
        LogisticRegression(backend="numpy", solver=solver, dual=True).fit(*small)


def test_n_jobs_and_intercept_scaling_change_nothing(small):
    X, y = small
    reference = LogisticRegression(backend="numpy", tol=1e-10).fit(X, y)
    with pytest.warns(FutureWarning, match="'n_jobs' has no effect"):
        model = LogisticRegression(backend="numpy", tol=1e-10, n_jobs=2, intercept_scaling=100.0).fit(X, y)
    np.testing.assert_array_equal(model.coef_, reference.coef_)
    json.dumps(model.get_params())  # model files store the parameters as JSON


def test_sparsify_and_densify_predict_the_same(small):
    X, y = small
    model = LogisticRegression(backend="numpy", l1_ratio=1, C=0.05).fit(X, y)
    margins = model.decision_function(X)
    assert sparse.issparse(model.sparsify().coef_)
    np.testing.assert_array_equal(model.decision_function(X), margins)
    np.testing.assert_array_equal(model.predict_proba(X), model.densify().predict_proba(X))
    assert isinstance(model.coef_, np.ndarray)
    with pytest.raises(NotFittedError, match="must be fitted before sparsifying"):
        LogisticRegression().sparsify()


# -- scikit-learn 1.9's callbacks -------------------------------------------------------------
class HookRecorder:
    """A scikit-learn FitCallback that keeps every hook call; optionally asks to stop after some iterations."""

    def __init__(self, stop_after=None):
        self.calls, self.stop_after = [], stop_after

    def setup(self, estimator, context):
        self.calls.append(("setup", context.task_name, None))

    def teardown(self, estimator, context):
        self.calls.append(("teardown", context.task_name, None))

    def on_fit_task_begin(self, estimator, context, *, X=None, y=None, metadata=None, fitted_estimator=None):
        self.calls.append(("begin", context.task_name, fitted_estimator))

    def on_fit_task_end(self, estimator, context, *, X=None, y=None, metadata=None, fitted_estimator=None):
        self.calls.append(("end", context.task_name, fitted_estimator))
        ended = sum(1 for name, task, _ in self.calls if name == "end" and task.endswith("-iter"))
        return self.stop_after is not None and ended >= self.stop_after


@pytest.mark.parametrize("params", [dict(solver="lbfgs"), dict(solver="newton"), dict(solver="newton-cd", l1_ratio=1),
                                    dict(solver="fista", l1_ratio=1), dict(solver="gd")])
def test_callbacks_see_every_iteration_of_every_solver(params, small):
    pytest.importorskip("sklearn.callback", reason="scikit-learn < 1.9 has no callback API")
    X, y = small
    recorder = HookRecorder()
    model = LogisticRegression(backend="numpy", max_iter=30, tol=1e-6, **params).set_callbacks(recorder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    n_iter = int(model.n_iter_[0])
    names = [name for name, _, _ in recorder.calls]
    assert names.count("setup") == names.count("teardown") == 1
    iterations = [call for call in recorder.calls if call[1].endswith("-iter")]
    assert [name for name, _, _ in iterations] == ["begin", "end"] * (n_iter + 1)
    # the fitted_estimator at the end of iteration i is the model after i + 1 iterations
    for i in range(min(n_iter, 3)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            after = LogisticRegression(backend="numpy", max_iter=i + 1, tol=1e-6, **params).fit(X, y)
        snapshot = iterations[2 * i + 1][2]
        np.testing.assert_allclose(snapshot.coef_, after.coef_, rtol=1e-12)
        np.testing.assert_array_equal(snapshot.predict(X), after.predict(X))
    assert iterations[-1][2] is None  # the task begun after the last iteration never ran


def test_a_callback_can_stop_the_fit(small):
    pytest.importorskip("sklearn.callback", reason="scikit-learn < 1.9 has no callback API")
    X, y = small
    model = LogisticRegression(backend="numpy", solver="lbfgs", tol=1e-12).set_callbacks(HookRecorder(stop_after=2))
    with pytest.warns(ConvergenceWarning, match=r"after 2 iterations \(callback\)"):
        model.fit(X, y)
    assert model.n_iter_[0] == 2


def test_one_vs_rest_callbacks_have_a_task_per_problem():
    pytest.importorskip("sklearn.callback", reason="scikit-learn < 1.9 has no callback API")
    X, y = make_classification(200, 5, n_informative=3, n_classes=3, random_state=0)
    recorder = HookRecorder()
    LogisticRegression(backend="numpy", solver="newton", multi_class="ovr").set_callbacks(recorder).fit(X, y)
    assert [task for name, task, _ in recorder.calls if name == "begin" and task == "problem"] == ["problem"] * 3
