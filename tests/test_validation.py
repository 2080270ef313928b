"""Bad input gets a clear error that names the problem, never a silent model."""

import numpy as np
import pytest

import fastlr


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 3))
    return X, (X[:, 0] > 0).astype(int)


@pytest.mark.parametrize("backend", ["numpy", "numba-parallel"])
@pytest.mark.parametrize(
    "corrupt, message",
    [
        (lambda X: np.where(np.arange(X.size).reshape(X.shape) == 4, np.nan, X), "NaN"),
        (lambda X: np.where(np.arange(X.size).reshape(X.shape) == 4, np.inf, X), "infinity"),
        (lambda X: X[:, 0], "2D array"),
        (lambda X: X[:, :, None], "dim"),
        (lambda X: X[:0], "0 sample"),
        (lambda X: X[:, :0], "0 feature"),
        (lambda X: np.full(X.shape, "a"), "string|could not convert"),
    ],
    ids=["nan", "inf", "1d", "3d", "no-rows", "no-columns", "strings"],
)
def test_bad_X(backend, data, corrupt, message):
    X, y = data
    bad = corrupt(X)
    with pytest.raises(ValueError, match=message):
        fastlr.fit(bad, y[: len(bad)] if bad.ndim else y, backend=backend)


def test_y_of_the_wrong_length(data):
    X, y = data
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        fastlr.fit(X, y[:-1], backend="numpy")


def test_one_class(data):
    X, _ = data
    with pytest.raises(ValueError, match="at least 2 classes.*only one class"):
        fastlr.fit(X, np.ones(len(X)), backend="numpy")


def test_continuous_targets(data):
    X, _ = data
    with pytest.raises(ValueError, match="Unknown label type"):
        fastlr.fit(X, np.linspace(0, 1, len(X)), backend="numpy")


@pytest.mark.parametrize(
    "weights, message",
    [
        (lambda n: -np.ones(n), "Negative values"),
        (lambda n: np.full(n, np.nan), "NaN"),
        (lambda n: np.ones(n - 1), "shape"),
        (lambda n: np.zeros(n), "non-zero|sums to zero"),
    ],
    ids=["negative", "nan", "length", "all-zero"],
)
def test_bad_sample_weight(data, weights, message):
    X, y = data
    with pytest.raises(ValueError, match=message):
        fastlr.fit(X, y, backend="numpy", sample_weight=weights(len(y)))


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(solver="sgd"), "unknown solver 'sgd'.*'lbfgs'.*scikit-learn's, as aliases: .*'saga'"),
        (dict(solver="gd", penalty="l1", dual=True), "dual=True .* not available .* use dual=False"),
        (dict(solver="lbfgs", penalty="l1"), "supports only 'l2' or None penalties, got l1 penalty"),
        (dict(solver="newton", penalty="l1"), "does not support penalty='l1'.*'gd', 'fista', 'newton-cd'"),
        (dict(solver="newton", multi_class="multinomial"), "does not support the multinomial"),
        (dict(penalty="l3"), "'penalty' parameter of LogisticRegression must be a str among"),
        (dict(C=-1.0), r"'C' parameter of LogisticRegression must be a float in the range \(0.0, inf\]"),
        (dict(max_iter=-1), r"'max_iter' parameter of LogisticRegression must be an int in the range \[0, inf\)"),
        (dict(optimizer="lion"), "'optimizer' parameter of LogisticRegression must be a str among"),
        (dict(schedule="cosine"), "'schedule' parameter of LogisticRegression must be a str among"),
        (dict(penalty="elasticnet", l1_ratio=None), "needs l1_ratio"),
        (dict(penalty="l2", l1_ratio=0.5), r"penalty='l2' contradicts l1_ratio=0.5 \(an L1 share\): write l1_ratio=0.5 without"),
        (dict(penalty="l1", l1_ratio=0.5), r"penalty='l1' contradicts l1_ratio=0.5: write l1_ratio=1"),
        (dict(penalty=None, l1_ratio=1.0), r"penalty=None \(no penalty\) contradicts l1_ratio=1.0: write C=np.inf"),
        (dict(intercept_scaling=0.0), "'intercept_scaling' parameter of LogisticRegression must be"),
        (dict(solver="liblinear", C=np.inf), "penalty=None is not supported for the liblinear solver"),
        (dict(learning_rate=-0.1), "'learning_rate' parameter of LogisticRegression must be"),
        (dict(batch_size=0), "'batch_size' parameter of LogisticRegression must be"),
        (dict(fit_intercept="yes"), "'fit_intercept' parameter of LogisticRegression must be an instance of 'bool'"),
    ],
)
def test_bad_parameters(data, params, message):
    X, y = data
    with pytest.raises(ValueError, match=message):
        fastlr.fit(X, y, backend="numpy", **params)


def test_predict_with_the_wrong_number_of_features(data):
    X, y = data
    model = fastlr.fit(X, y, backend="numpy")
    with pytest.raises(ValueError, match="3 features"):
        model.predict(X[:, :2])


def test_predict_before_fit(data):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        fastlr.LogisticRegression().predict(data[0])
