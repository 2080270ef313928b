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
        (dict(solver="newton-cd", multi_class="multinomial"), "does not support the multinomial"),
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


# -- checks made without a pass of their own ------------------------------------------------
def _sklearn_message(X, y):
    """The message scikit-learn's own validation gives for this X (what fastlr raised before it
    stopped scanning X ahead of the fit)."""
    from sklearn.utils.validation import check_X_y

    with pytest.raises(ValueError) as raised:
        check_X_y(X, y, estimator="LogisticRegression")
    return str(raised.value)


@pytest.mark.parametrize("backend", ["numpy", "numba-parallel"])
@pytest.mark.parametrize("solver", ["lbfgs", "newton-cg", "newton", "gd", "fista"])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
def test_non_finite_X_raises_scikit_learns_message_from_the_first_evaluation(backend, solver, value, data):
    X, y = data
    X = X.copy()
    X[17, 2] = value
    with pytest.raises(ValueError) as raised:
        fastlr.fit(X, y, backend=backend, solver=solver)
    assert str(raised.value) == _sklearn_message(X, y)


def test_non_finite_X_outside_the_row_sample_is_still_found(monkeypatch):
    """Newton-CG starts from a row sample's solution: a NaN in a row the sample skips must
    still stop the fit, at the first evaluation on every row."""
    from fastlr import config

    monkeypatch.setattr(config, "NEWTON_CG_HESSIAN_ROWS_PER_PARAMETER", 2)
    monkeypatch.setattr(config, "NEWTON_CG_HESSIAN_SAMPLE_FACTOR", 1)
    rng = np.random.default_rng(5)
    X = rng.standard_normal((400, 3))
    y = (X[:, 0] > 0).astype(int)
    X[np.arange(400)[::7], 1] = np.nan  # some rows in the 8-row sample or not, whichever it draws
    with pytest.raises(ValueError, match="Input X contains NaN"):
        fastlr.fit(X, y, backend="numpy", solver="newton-cg")


def test_non_finite_X_in_held_out_rows_is_found():
    """The evaluations of a fit see only its training rows; infinity in held-out rows alone must be
    found too (the split below is the one early stopping draws: stratified, seeded)."""
    from sklearn.model_selection import train_test_split

    rng = np.random.default_rng(6)
    X = rng.standard_normal((200, 3))
    y = (X[:, 0] > 0).astype(int)
    _, held_out = train_test_split(np.arange(200), test_size=0.5, random_state=0, stratify=y)
    X[held_out[:3], 2] = np.inf
    with pytest.raises(ValueError, match="Input X contains infinity"):
        fastlr.fit(X, y, backend="numpy", solver="gd", batch_size=16, early_stopping=True, validation_fraction=0.5,
                   random_state=0, max_iter=3)


LABELS = {
    "0..K-1": np.random.default_rng(0).integers(0, 5, 100),
    "1..3": np.random.default_rng(1).integers(1, 4, 100),
    "sparse-integers": np.array([3, 7, 7, 9, 3], dtype=np.uint8),
    "two-huge": np.array([10**18, 10**18 + 1] * 5),
    "minus-one-one": np.array([-1, 1] * 5),
    "negative": np.random.default_rng(2).integers(-3, 3, 50),
    "integral-floats": np.array([0.0, 1.0, 2.0] * 4),
    "bool": np.array([True, False] * 3),
    "strings": np.array(["b", "a", "c"] * 3),
    "beyond-counting": np.array([0, 70_000, 5, 70_000]),
}


@pytest.mark.parametrize("labels", list(LABELS.values()), ids=list(LABELS))
def test_labels_encode_as_numpy_unique_does(labels):
    from fastlr.validation import encode_labels

    classes, index = encode_labels(labels, np, np.asarray)
    expected_classes, expected_index = np.unique(labels, return_inverse=True)
    assert classes.dtype == expected_classes.dtype
    np.testing.assert_array_equal(classes, expected_classes)
    np.testing.assert_array_equal(index, expected_index)


@pytest.mark.parametrize("labels", [np.linspace(0, 1, 10), np.array([0.5, 1.0, 0.5])], ids=["ramp", "halves"])
def test_non_integral_float_labels_are_not_class_labels(labels):
    from fastlr.validation import encode_labels

    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        encode_labels(labels, np, np.asarray)
