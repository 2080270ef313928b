"""fastlr.LogisticRegressionCV against independent fits, scikit-learn's LogisticRegressionCV, and itself.

Each point of the path must be the fit of its fold at its C (checked against
a cold fastlr fit on the fold's rows, and against scikit-learn's optimum),
each score the scorer on the held-out rows, the selected C and the refit
scikit-learn's; the folds must not copy X (0/1 weights) or copy it once per
fold (gathered rows), and both must give the same path.
"""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression
from sklearn.linear_model import LogisticRegressionCV as SklearnLogisticRegressionCV
from sklearn.metrics import get_scorer
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler

import fastlr
from fastlr import LogisticRegression, LogisticRegressionCV, config
from fastlr.bench.reference import relative_gap, sklearn_objective
from fastlr.objective import Objective
from tests.conftest import backend_params

BACKENDS = backend_params(["numpy", "numba-parallel", "cupy"])
CS = [0.01, 0.1, 1.0, 10.0]
TIGHT = dict(tol=1e-10, max_iter=10_000)


@pytest.fixture(scope="module")
def binary():
    X, y = make_classification(600, 6, n_informative=4, random_state=0)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def three_classes():
    X, y = make_classification(450, 5, n_informative=4, n_redundant=0, n_classes=3, random_state=2)
    return StandardScaler().fit_transform(X), y


def cv_fit(X, y, **params):
    params = {"Cs": CS, "cv": StratifiedKFold(3), "l1_ratios": (0.0,), "scoring": "neg_log_loss",
              "use_legacy_attributes": False, **TIGHT, **params}
    return LogisticRegressionCV(**params).fit(X, y)


@pytest.mark.parametrize("backend", BACKENDS)
def test_each_path_point_is_the_fit_of_its_fold(backend, binary):
    X, y = binary
    model = cv_fit(X, y, backend=backend)
    assert model.coefs_paths_.shape == (3, 1, len(CS), 1, X.shape[1] + 1)
    for fold, (train, _) in enumerate(StratifiedKFold(3).split(X, y)):
        for position, C in enumerate(CS):
            point = model.coefs_paths_[fold, 0, position, 0]
            cold = LogisticRegression(backend="numpy", C=C, **TIGHT).fit(X[train], y[train])
            np.testing.assert_allclose(point[:-1], cold.coef_[0], rtol=0, atol=1e-7)
            np.testing.assert_allclose(point[-1], cold.intercept_[0], rtol=0, atol=1e-7)
            reference = SklearnLogisticRegression(C=C, tol=1e-12, max_iter=10_000).fit(X[train], y[train])
            best = sklearn_objective(X[train], y[train], reference.coef_, reference.intercept_, C)
            ours = sklearn_objective(X[train], y[train], point[None, :-1], point[-1:], C)
            assert abs(relative_gap(ours, best)) < 1e-10


def test_each_score_is_the_scorer_on_the_held_out_rows(three_classes):
    X, y = three_classes
    model = cv_fit(X, y, backend="numpy", scoring="neg_brier_score")
    scorer = get_scorer("neg_brier_score")
    for fold, (_, test) in enumerate(StratifiedKFold(3).split(X, y)):
        for position in range(len(CS)):
            point = model.coefs_paths_[fold, 0, position]  # (3 classes, n + 1)
            probe = LogisticRegression(backend="numpy").fit(X, y)
            probe.coef_, probe.intercept_ = point[:, :-1], point[:, -1]
            assert model.scores_[fold, 0, position] == pytest.approx(scorer(probe, X[test], y[test]), rel=1e-12)


@pytest.mark.parametrize("data", ["binary", "three_classes"])
def test_selects_the_C_and_refit_of_sklearns_cv(data, request):
    X, y = request.getfixturevalue(data)
    ours = cv_fit(X, y, backend="numpy")
    theirs = SklearnLogisticRegressionCV(Cs=CS, cv=StratifiedKFold(3), l1_ratios=(0.0,), scoring="neg_log_loss",
                                         use_legacy_attributes=False, tol=1e-12, max_iter=10_000).fit(X, y)
    assert ours.C_ == theirs.C_ and ours.l1_ratio_ == theirs.l1_ratio_
    np.testing.assert_allclose(ours.scores_, theirs.scores_, rtol=1e-7)
    np.testing.assert_allclose(ours.coefs_paths_, theirs.coefs_paths_, rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(ours.Cs_, theirs.Cs_)


@pytest.mark.parametrize("legacy", [True, False])
@pytest.mark.parametrize("l1_ratios", [None, np.array([0.0, 1.0])])  # an array: scikit-learn's refit=False indexes it
@pytest.mark.parametrize("data", ["binary", "three_classes"])
@pytest.mark.parametrize("refit", [True, False])
def test_attribute_layouts_are_sklearns(legacy, l1_ratios, data, refit, request):
    X, y = request.getfixturevalue(data)
    params = dict(Cs=[0.1, 1.0], cv=StratifiedKFold(2), l1_ratios=l1_ratios, scoring="neg_log_loss",
                  use_legacy_attributes=legacy, refit=refit, tol=1e-6, max_iter=10_000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # l1_ratios=None is deprecated in both
        ours = LogisticRegressionCV(backend="numpy", **params).fit(X, y)
        theirs = SklearnLogisticRegressionCV(solver="saga", **params).fit(X, y)

    def layout(value):
        if isinstance(value, dict):
            return {repr(key): layout(item) for key, item in value.items()}
        return (type(value).__name__, np.shape(value))

    for name in ("coefs_paths_", "scores_", "n_iter_", "C_", "l1_ratio_", "Cs_", "l1_ratios_", "coef_", "intercept_"):
        assert layout(getattr(ours, name)) == layout(getattr(theirs, name)), name


def test_refit_false_averages_each_folds_best(binary):
    X, y = binary
    model = cv_fit(X, y, backend="numpy", refit=False)
    best = model.scores_[:, 0].argmax(axis=1)
    mean = np.mean([model.coefs_paths_[f, 0, c, 0] for f, c in enumerate(best)], axis=0)
    np.testing.assert_allclose(model.coef_[0], mean[:-1], rtol=1e-12)
    assert model.C_ == pytest.approx(np.mean(np.asarray(CS)[best]))


@pytest.fixture
def objectives_X(monkeypatch):
    """The X of every Objective built while the test runs."""
    seen = []
    build = Objective.__init__

    def record(self, backend, X_seen, *args, **kwargs):
        seen.append(X_seen)
        build(self, backend, X_seen, *args, **kwargs)

    monkeypatch.setattr(Objective, "__init__", record)
    return seen


def test_folds_in_place_never_copy_X(binary, monkeypatch, objectives_X):
    X, y = binary
    monkeypatch.setattr(config, "CV_GATHER_FOLD_MAX_BYTES", 0)
    cv_fit(X, y, backend="numpy")
    seen = objectives_X
    assert len(seen) == 3 * len(CS) + 1  # every fit of every fold, and the refit
    assert all(X_seen is X for X_seen in seen)  # the caller's array itself, in place


def test_gathered_folds_copy_once_per_fold_and_agree(binary, monkeypatch, objectives_X):
    X, y = binary
    with monkeypatch.context() as patch:
        patch.setattr(config, "CV_GATHER_FOLD_MAX_BYTES", 0)
        in_place_model = cv_fit(X, y, backend="numpy")
    objectives_X.clear()
    gathered = cv_fit(X, y, backend="numpy")
    assert len({id(X_seen) for X_seen in objectives_X}) == 3 + 1  # a copy per fold, shared by its Cs; X for the refit
    np.testing.assert_allclose(gathered.coefs_paths_, in_place_model.coefs_paths_, rtol=0, atol=1e-9)
    np.testing.assert_allclose(gathered.scores_, in_place_model.scores_, rtol=1e-9)


def test_the_path_is_warm_started(binary):
    X, y = binary
    cold = sum(int(LogisticRegression(backend="numpy", solver="lbfgs", C=C, tol=1e-6).fit(X[:400], y[:400]).n_iter_[0]) for C in CS)
    path = cv_fit(X, y, backend="numpy", cv=[(np.arange(400), np.arange(400, 600))], tol=1e-6, solver="lbfgs")
    assert path.n_iter_.sum() < cold


def test_l1_ratio_grid_picks_a_solver_per_ratio(binary):
    X, y = binary
    model = cv_fit(X, y, backend="numpy", l1_ratios=(0.0, 0.5, 1.0), tol=1e-9)
    for position, l1_ratio in enumerate((0.0, 0.5, 1.0)):
        for fold, (train, _) in enumerate(StratifiedKFold(3).split(X, y)):
            cold = LogisticRegression(backend="numpy", C=CS[1], l1_ratio=l1_ratio, tol=1e-10).fit(X[train], y[train])
            np.testing.assert_allclose(model.coefs_paths_[fold, position, 1, 0, :-1], cold.coef_[0], atol=1e-7)
    assert model.l1_ratio_ in (0.0, 0.5, 1.0)


def test_every_cpu_backend_selects_the_same(binary):
    X, y = binary[0][:150], binary[1][:150]
    fits = {name: cv_fit(X, y, backend=name) for name in ("python", "numpy", "numba", "numba-parallel")
            if name in fastlr.available_backends()}
    reference = fits["numpy"]
    for name, model in fits.items():
        assert model.C_ == reference.C_, name
        assert model.backend_ == name
        np.testing.assert_allclose(model.coefs_paths_, reference.coefs_paths_, rtol=0, atol=1e-7, err_msg=name)


def test_chunked_input_is_refused_clearly(binary):
    da = pytest.importorskip("dask.array")
    X, y = binary
    with pytest.raises(ValueError, match="needs random access to the rows"):
        cv_fit(da.from_array(X, chunks=200), da.from_array(y, chunks=200), backend="numpy")
