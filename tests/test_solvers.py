"""Every solver, optimizer, schedule and penalty against scikit-learn's optimum.

Data: scikit-learn's bundled breast-cancer (binary) and digits (10 classes),
standardized. Objectives are computed here, independently of fastlr.
"""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.multiclass import OneVsRestClassifier
from sklearn.preprocessing import StandardScaler

import fastlr
from fastlr.bench.reference import relative_gap, sklearn_objective
from fastlr.solvers import OPTIMIZERS, SCHEDULES, SOLVERS
from tests.conftest import backend_params

BACKENDS = backend_params(["numpy", "numba-parallel", "cupy"])


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def sklearn_fit(X, y, **params):
    params = {"C": 1.0, "tol": 1e-12, "max_iter": 100_000, **params}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return SklearnLogisticRegression(**params).fit(X, y)


def softmax_objective(X, y, coef, intercept, C=1.0):
    return sklearn_objective(X, y, coef, intercept, C)


def elastic_objective(X, y, coef, intercept, C, l1_ratio):
    return sklearn_objective(X, y, coef, intercept, C, l1_ratio=l1_ratio)


@pytest.fixture(scope="module")
def binary_optimum(breast_cancer):
    X, y = breast_cancer
    reference = sklearn_fit(X, y)
    return sklearn_objective(X, y, reference.coef_, reference.intercept_)


# -- second-order and quasi-Newton: scikit-learn's optimum to ~1e-8 ------------
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("solver", ["lbfgs", "newton"])
@pytest.mark.parametrize("C", [0.01, 1.0, 100.0])
def test_binary_optimum(backend, solver, C, breast_cancer):
    X, y = breast_cancer
    reference = sklearn_fit(X, y, C=C)
    best = sklearn_objective(X, y, reference.coef_, reference.intercept_, C=C)
    model = fastlr.fit(X, y, backend=backend, solver=solver, C=C, tol=1e-9, max_iter=10_000)
    assert abs(relative_gap(sklearn_objective(X, y, model.coef_, model.intercept_, C=C), best)) < 1e-8
    # Weakly penalized (C=100) the optimum is flat: equal objectives, coefficients within 1e-3.
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("solver", ["newton", "newton-cg"])
def test_newton_solvers_converge_on_float32(backend, solver):
    """Near a float32 optimum every true decrease of F hides in its rounding: the dense Newton
    stalled at optimality 3.2e-6 (tol 1e-6) on this problem when its line search tested values
    alone; both Newton solvers now share the approximate Wolfe test."""
    X, y = make_classification(5000, 15, n_informative=10, n_redundant=0, random_state=2)
    X32 = X.astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = fastlr.fit(X32, y, backend=backend, solver=solver, tol=1e-6)
    assert model.coef_.dtype == np.float32
    reference = sklearn_fit(X, y)
    best = sklearn_objective(X, y, reference.coef_, reference.intercept_)
    got = sklearn_objective(X, y, model.coef_.astype(np.float64), model.intercept_.astype(np.float64))
    assert abs(relative_gap(got, best)) < 1e-6


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("problem", ["binary", "softmax"])
@pytest.mark.parametrize("solver", ["lbfgs", "newton-cg", "newton"])
def test_second_order_and_quasi_newton_reach_sklearn_optimum(solver, problem, weighted, backend, breast_cancer,
                                                             digits):
    """Breast cancer (binary) and digits (softmax), with and without sample weights: within 1e-8
    (relative) of scikit-learn's objective at its own optimum (lbfgs to tol 1e-12)."""
    X, y = breast_cancer if problem == "binary" else digits
    weights = np.random.default_rng(1).uniform(0.2, 3.0, len(y)) if weighted else None
    best = _sklearn_best(problem, weighted, X, y, weights)
    model = fastlr.fit(X, y, backend=backend, solver=solver, sample_weight=weights, tol=1e-9, max_iter=10_000)
    got = sklearn_objective(X, y, model.coef_, model.intercept_, sample_weight=weights)
    assert abs(relative_gap(got, best)) < 1e-8
    assert model.solver_ == solver and model.coef_.shape[0] == (1 if problem == "binary" else 10)


_BEST = {}


def _sklearn_best(problem, weighted, X, y, weights):
    """scikit-learn's objective at its optimum (lbfgs, tol 1e-12), once per problem and weighting."""
    if (problem, weighted) not in _BEST:
        reference = sklearn_fit(X, y)
        reference.fit(X, y, sample_weight=weights)
        _BEST[problem, weighted] = sklearn_objective(X, y, reference.coef_, reference.intercept_, sample_weight=weights)
    return _BEST[problem, weighted]


@pytest.mark.parametrize("backend", BACKENDS)
def test_softmax_matches_sklearn_multinomial(backend, digits):
    X, y = digits
    reference = sklearn_fit(X, y, solver="lbfgs")
    model = fastlr.fit(X, y, backend=backend, solver="lbfgs", tol=1e-9)
    best = softmax_objective(X, y, reference.coef_, reference.intercept_)
    assert abs(relative_gap(softmax_objective(X, y, model.coef_, model.intercept_), best)) < 1e-8
    assert model.coef_.shape == (10, 64) and model.intercept_.shape == (10,)
    np.testing.assert_allclose(model.predict_proba(X), reference.predict_proba(X), atol=1e-5)
    np.testing.assert_allclose(model.predict_log_proba(X), np.log(model.predict_proba(X)), atol=1e-9)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("solver", ["lbfgs", "newton"])
def test_one_vs_rest_matches_sklearn(backend, solver, digits):
    X, y = digits
    reference = OneVsRestClassifier(SklearnLogisticRegression(C=1.0, tol=1e-12, max_iter=100_000)).fit(X, y)
    model = fastlr.fit(X, y, backend=backend, solver=solver, multi_class="ovr", tol=1e-9)
    assert model.coef_.shape == (10, 64) and model.n_iter_.shape == (10,)
    for k, estimator in enumerate(reference.estimators_):
        y_k = (y == k).astype(float)
        best = sklearn_objective(X, y_k, estimator.coef_, estimator.intercept_)
        got = sklearn_objective(X, y_k, model.coef_[k], model.intercept_[k:k + 1])
        assert abs(relative_gap(got, best)) < 1e-8
        np.testing.assert_allclose(model.coef_[k], estimator.coef_[0], rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(model.predict_proba(X), reference.predict_proba(X), atol=1e-5)
    assert len(model.cost_history_) == 10


# -- first-order: each optimizer, full batch, to ~1e-4 ----------------------------
OPTIMIZER_SETTINGS = {
    "sgd": dict(learning_rate="auto"),
    "momentum": dict(learning_rate="auto"),
    "nesterov": dict(learning_rate="auto"),
    "adagrad": dict(learning_rate=0.5),
    "rmsprop": dict(learning_rate=0.01, schedule="time", decay=0.01),
    "adam": dict(learning_rate=0.05),
}


def test_every_optimizer_is_tested():
    assert set(OPTIMIZER_SETTINGS) == set(OPTIMIZERS)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("optimizer", sorted(OPTIMIZER_SETTINGS))
def test_full_batch_gradient_descent(backend, optimizer, breast_cancer, binary_optimum):
    X, y = breast_cancer
    model = fastlr.fit(X, y, backend=backend, solver="gd", optimizer=optimizer, tol=1e-5, max_iter=20_000,
                       **OPTIMIZER_SETTINGS[optimizer])
    assert relative_gap(sklearn_objective(X, y, model.coef_, model.intercept_), binary_optimum) < 1e-4
    assert len(model.cost_history_) == model.n_iter_[0] + 1


@pytest.mark.parametrize("schedule", sorted(SCHEDULES))
def test_every_schedule_converges(schedule, breast_cancer, binary_optimum):
    X, y = breast_cancer
    model = fastlr.fit(X, y, backend="numpy", solver="gd", optimizer="nesterov", schedule=schedule,
                       decay=1e-3, decay_every=2000, tol=1e-5, max_iter=20_000)
    assert relative_gap(sklearn_objective(X, y, model.coef_, model.intercept_), binary_optimum) < 1e-3


STOCHASTIC_SETTINGS = {
    "sgd-momentum": (dict(batch_size=1, optimizer="momentum", learning_rate=0.01, decay=0.1, max_iter=60), 5e-3),
    "sgd-plain": (dict(batch_size=1, optimizer="sgd", decay=0.05, max_iter=60), 5e-2),
    "minibatch-momentum": (dict(batch_size=32, optimizer="momentum", decay=0.02, max_iter=100), 5e-3),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("variant", sorted(STOCHASTIC_SETTINGS))
def test_stochastic_descent(backend, variant, breast_cancer, binary_optimum):
    X, y = breast_cancer
    settings, bound = STOCHASTIC_SETTINGS[variant]
    model = fastlr.fit(X, y, backend=backend, solver="gd", schedule="time", tol=1e-6,
                       n_iter_no_change=settings["max_iter"], random_state=0, **settings)
    assert relative_gap(sklearn_objective(X, y, model.coef_, model.intercept_), binary_optimum) < bound
    assert len(model.cost_history_) == model.n_iter_[0] + 1  # F(θ₀), then one entry per epoch


def test_mini_batches_are_reproducible(breast_cancer):
    X, y = breast_cancer
    fits = [fastlr.fit(X, y, backend="numpy", solver="gd", batch_size=16, max_iter=5, random_state=7)
            for _ in range(2)]
    np.testing.assert_array_equal(fits[0].coef_, fits[1].coef_)
    other = fastlr.fit(X, y, backend="numpy", solver="gd", batch_size=16, max_iter=5, random_state=8)
    assert not np.array_equal(fits[0].coef_, other.coef_)


def test_early_stopping_stops_on_the_held_out_loss():
    """Unpenalized on few, wide, noisy rows the training loss falls for ever while the held-out
    loss turns up: early stopping must stop near the turn and return the best held-out model; the
    control, the same descent on the same training rows without early stopping, run for the whole
    budget, ends worse on the held-out rows."""
    X, y = make_classification(n_samples=240, n_features=60, n_informative=5, flip_y=0.2, random_state=0)
    settings = dict(backend="numpy", solver="gd", penalty=None, batch_size=16, learning_rate=0.05,
                    n_iter_no_change=5, tol=0.0, max_iter=300, random_state=0)
    training, held_out = train_test_split(np.arange(len(y)), test_size=0.25, random_state=0, stratify=y)

    def held_out_loss(model):
        return sklearn_objective(X[held_out], y[held_out], model.coef_, model.intercept_) / len(held_out)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        stopped = fastlr.fit(X, y, early_stopping=True, validation_fraction=0.25, **settings)
        control = fastlr.fit(X[training], y[training], **{**settings, "n_iter_no_change": 300})
    assert stopped.n_iter_[0] < 100 and control.n_iter_[0] == 300
    assert held_out_loss(stopped) < 0.9 * held_out_loss(control)
    assert len(stopped.cost_history_) == stopped.n_iter_[0] + 1


# -- L1 and elastic net: saga's optimum and sparsity ---------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("penalty, l1_ratio", [("l1", 1.0), ("elasticnet", 0.5)])
def test_l1_and_elastic_net_match_saga(backend, penalty, l1_ratio, breast_cancer):
    X, y = breast_cancer
    C = 0.1
    reference = sklearn_fit(X, y, solver="saga", C=C, l1_ratio=l1_ratio, tol=1e-10, max_iter=200_000)
    model = fastlr.fit(X, y, backend=backend, solver="fista", penalty=penalty, l1_ratio=l1_ratio, C=C,
                       tol=1e-8, max_iter=100_000)
    best = elastic_objective(X, y, reference.coef_, reference.intercept_, C, l1_ratio)
    assert abs(relative_gap(elastic_objective(X, y, model.coef_, model.intercept_, C, l1_ratio), best)) < 1e-6
    np.testing.assert_allclose(model.coef_, reference.coef_, atol=2e-3)
    zeros = model.coef_ == 0
    assert zeros.sum() >= 5, "L1 must give exact zeros"
    clearly_zero = np.abs(reference.coef_) < 1e-8
    np.testing.assert_array_equal(zeros, clearly_zero)


def test_proximal_gd_gives_exact_zeros(breast_cancer):
    X, y = breast_cancer
    model = fastlr.fit(X, y, backend="numpy", solver="gd", penalty="l1", C=0.1, optimizer="sgd",
                       tol=1e-6, max_iter=50_000)
    fista = fastlr.fit(X, y, backend="numpy", solver="fista", penalty="l1", C=0.1, tol=1e-9, max_iter=50_000)
    assert (model.coef_ == 0).sum() >= 5
    np.testing.assert_allclose(model.coef_, fista.coef_, atol=1e-3)


def test_auto_picks_a_proximal_solver_for_l1(breast_cancer, digits, monkeypatch):
    X, y = breast_cancer
    assert fastlr.fit(X, y, backend="numpy", l1_ratio=1, C=0.1).solver_ == "newton-cd"
    assert fastlr.fit(X, y, backend="numpy", l1_ratio=0.5, C=0.1).solver_ == "newton-cd"
    assert fastlr.fit(X, y, backend="numpy").solver_ == "newton"
    # Proximal Newton holds the (n+1)² Hessian: beyond the configured width, and for the softmax, FISTA.
    monkeypatch.setattr(fastlr.config, "AUTO_NEWTON_CD_MAX_FEATURES", X.shape[1] - 1)
    assert fastlr.fit(X, y, backend="numpy", l1_ratio=1, C=0.1).solver_ == "fista"
    assert fastlr.fit(*digits, backend="numpy", l1_ratio=1, C=0.1, max_iter=5, tol=0.1).solver_ == "fista"


# -- weights ---------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_sample_weight_matches_sklearn(backend, breast_cancer):
    X, y = breast_cancer
    weights = np.random.default_rng(0).uniform(0.1, 3.0, len(y))
    reference = sklearn_fit(X, y)
    reference.fit(X, y, sample_weight=weights)
    model = fastlr.fit(X, y, backend=backend, solver="lbfgs", sample_weight=weights, tol=1e-9)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("class_weight", ["balanced", {0: 3.0, 1: 0.5}], ids=["balanced", "dict"])
def test_class_weight_matches_sklearn(backend, class_weight, breast_cancer):
    X, y = breast_cancer
    reference = sklearn_fit(X, y, class_weight=class_weight)
    model = fastlr.fit(X, y, backend=backend, solver="newton", class_weight=class_weight, tol=1e-9)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-5, atol=1e-6)


def test_class_weight_in_softmax_matches_sklearn(digits):
    X, y = digits
    reference = sklearn_fit(X, y, class_weight="balanced")
    model = fastlr.fit(X, y, backend="numpy", solver="lbfgs", class_weight="balanced", tol=1e-9)
    np.testing.assert_allclose(model.predict_proba(X), reference.predict_proba(X), atol=1e-5)


# -- warm start, histories, stopping -------------------------------------------------
def test_warm_start_resumes(breast_cancer):
    X, y = breast_cancer
    model = fastlr.LogisticRegression(backend="numpy", solver="lbfgs", warm_start=True, tol=1e-8)
    first = model.fit(X, y).n_iter_[0]
    second = model.fit(X, y).n_iter_[0]
    assert second < first // 4


HISTORY_CASES = {
    "gd": dict(solver="gd", max_iter=40, tol=0),
    "sgd": dict(solver="gd", batch_size=1, max_iter=3, tol=0, random_state=0),
    "minibatch": dict(solver="gd", batch_size=64, max_iter=5, tol=0, random_state=0),
    "lbfgs": dict(solver="lbfgs", tol=1e-8),
    "newton": dict(solver="newton", tol=1e-8),
    "newton-cg": dict(solver="newton-cg", tol=1e-8),
    "fista-l1": dict(solver="fista", penalty="l1", C=0.5, tol=1e-7, max_iter=5000),
    "newton-cd-l1": dict(solver="newton-cd", penalty="l1", C=0.5, tol=1e-10),
    "gd-max-iter-0": dict(solver="gd", max_iter=0),
    "lbfgs-max-iter-0": dict(solver="lbfgs", max_iter=0),
}


def test_every_solver_has_a_history_case():
    assert {case["solver"] for case in HISTORY_CASES.values()} == set(SOLVERS)


def starting_cost(X, y, coef_shape, prior, C):
    """F(θ₀) in the mean form, from scikit-learn's objective: θ₀ = 0, or w = 0 with the intercepts
    at the log class shares (log-odds for a binary y) when the solver starts from the priors."""
    classes, counts = np.unique(y, return_counts=True)
    shares = counts / len(y)
    intercept = np.log(shares) if prior else np.zeros(len(classes))
    if coef_shape[0] == 1:
        intercept = intercept[1:] - intercept[:1]
    return sklearn_objective(X, y, np.zeros(coef_shape), intercept, C) / (C * len(y))


@pytest.mark.parametrize("problem", ["binary", "ovr", "softmax"])
@pytest.mark.parametrize("case", list(HISTORY_CASES))
def test_history_starts_at_theta0_and_has_one_entry_per_iteration(case, problem, breast_cancer, digits):
    """For every solver and sub-problem: cost_history_[0] = F(θ₀) (θ₀ = 0, or the class priors for the
    solvers that start there), len = n_iter_ + 1, and the last entry is F at the returned coefficients,
    both computed here with scikit-learn's objective."""
    params = dict(HISTORY_CASES[case])
    if problem == "softmax" and not SOLVERS[params["solver"]].multinomial:
        pytest.skip(f"{params['solver']} fits binary and one-vs-rest problems only")
    X, y = breast_cancer if problem == "binary" else (digits[0][:400], digits[1][:400])
    params["multi_class"] = {"binary": "auto", "ovr": "ovr", "softmax": "multinomial"}[problem]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = fastlr.fit(X, y, backend="numpy", **params)
    C, l1_ratio = params.get("C", 1.0), 1.0 if params.get("penalty") == "l1" else 0.0
    prior = SOLVERS[params["solver"]].prior_start and params.get("max_iter", 1) > 0  # max_iter=0: the zero model
    histories = model.cost_history_ if isinstance(model.cost_history_, list) else [model.cost_history_]
    assert len(histories) == len(model.n_iter_)
    if problem == "softmax":
        end = sklearn_objective(X, y, model.coef_, model.intercept_, C, l1_ratio=l1_ratio) / (C * len(y))
        starts, ends = [starting_cost(X, y, (10, X.shape[1]), prior, C)], [end]
    else:
        classes = [1] if problem == "binary" else range(10)
        targets = [(y == k).astype(float) for k in classes]
        starts = [starting_cost(X, target, (1, X.shape[1]), prior, C) for target in targets]
        ends = [
            sklearn_objective(X, target, model.coef_[i], model.intercept_[i], C, l1_ratio=l1_ratio) / (C * len(y))
            for i, target in enumerate(targets)
        ]
    for history, n_iter, start, end in zip(histories, model.n_iter_, starts, ends):
        assert len(history) == n_iter + 1
        assert history[0] == pytest.approx(start, rel=1e-12)
        assert history[-1] == pytest.approx(end, rel=1e-10)


def test_max_iter_zero_returns_the_starting_model_with_a_warning(breast_cancer):
    X, y = breast_cancer
    with pytest.warns(ConvergenceWarning, match="max_iter=0"):
        model = fastlr.fit(X, y, backend="numpy", solver="lbfgs", max_iter=0)
    assert model.n_iter_[0] == 0 and np.all(model.coef_ == 0) and len(model.cost_history_) == 1


@pytest.mark.parametrize("solver", ["gd", "lbfgs", "newton", "fista"])
def test_cost_history_is_recorded_and_ends_at_the_optimum(solver, breast_cancer, binary_optimum):
    X, y = breast_cancer
    C = 1.0
    model = fastlr.fit(X, y, backend="numpy", solver=solver, tol=1e-7, max_iter=50_000)
    history = np.asarray(model.cost_history_)
    assert history.ndim == 1 and len(history) >= 2
    # The history is the mean-form objective: scikit-learn's divided by C·m.
    assert history[-1] == pytest.approx(binary_optimum / (C * len(y)), rel=1e-6)
    assert history[-1] <= history[0]


def test_maximum_iterations_warn_with_solver_advice(breast_cancer):
    X, y = breast_cancer
    with pytest.warns(ConvergenceWarning, match="'lbfgs' did not converge.*standardize"):
        fastlr.fit(X * 100, y, backend="numpy", solver="lbfgs", max_iter=3)


def test_float32_cost_wandering_at_its_rounding_is_a_stall_not_max_iter():
    """float32 iris at tol=1e-12 (scikit-learn's array-API test): F goes up and down by ~1e-7
    while the gradient sits near 1e-7; the record stops with 'stalled' well before max_iter
    (config.STALL_PATIENCE_CHECKS), and says it did not converge."""
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    weights = np.random.default_rng(0).uniform(-1, 5, size=len(y)).clip(0, None).astype(np.float32)
    with pytest.warns(ConvergenceWarning, match=r"\(stalled\)"):
        model = fastlr.LogisticRegression(backend="numpy", solver="lbfgs", C=0.01, tol=1e-12, max_iter=500).fit(
            X.astype(np.float32), y, sample_weight=weights)
    assert model.n_iter_[0] < 500
    history = np.asarray(model.cost_history_)
    assert np.all(np.abs(np.diff(history[-fastlr.config.STALL_PATIENCE_CHECKS:])) < 1e-6)  # at F's rounding
