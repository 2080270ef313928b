"""fastlr.model_io: a saved and loaded model predicts exactly as the original."""

import json

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import StandardScaler

from fastlr import LogisticRegression
from fastlr.model_io import ModelFormatError, load_model, save_model


@pytest.fixture(scope="module")
def iris():
    data = load_iris(as_frame=True)
    X = StandardScaler().set_output(transform="pandas").fit_transform(data.data)
    return X, data.target_names[data.target.to_numpy()]


def _binary_float32(iris):
    X, y = iris
    return X.to_numpy(np.float32), (y == "virginica").astype(int)


MODELS = {
    "binary-float32": (dict(backend="numpy"), _binary_float32),
    "softmax-strings-dataframe": (dict(backend="numba", C=0.3), lambda iris: iris),
    "ovr-class-weight": (
        dict(backend="numpy", multi_class="ovr", class_weight={"setosa": 2.0, "versicolor": 1.0, "virginica": 0.5}),
        lambda iris: (iris[0].to_numpy(), iris[1]),
    ),
    "no-intercept-l1": (
        dict(backend="numpy", penalty="l1", fit_intercept=False, random_state=3),
        lambda iris: (iris[0].to_numpy(), iris[1]),
    ),
}


@pytest.mark.parametrize("name", MODELS)
def test_round_trip_predicts_identically(name, iris, tmp_path):
    params, data = MODELS[name]
    X, y = data(iris)
    model = LogisticRegression(**params).fit(X, y)
    path = tmp_path / "model.json"
    save_model(model, path)
    loaded = load_model(path)

    assert type(loaded) is LogisticRegression
    assert loaded.get_params() == model.get_params()
    for attribute in ("classes_", "coef_", "intercept_", "n_iter_"):
        original, restored = getattr(model, attribute), getattr(loaded, attribute)
        assert restored.dtype == original.dtype, attribute
        np.testing.assert_array_equal(restored, original, err_msg=attribute)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_array_equal(loaded.decision_function(X), model.decision_function(X))
    for attribute in ("backend_", "solver_", "n_features_in_"):
        assert getattr(loaded, attribute) == getattr(model, attribute), attribute
    if hasattr(model, "feature_names_in_"):
        np.testing.assert_array_equal(loaded.feature_names_in_, model.feature_names_in_)
    else:
        assert not hasattr(loaded, "feature_names_in_")
    original_history = model.cost_history_ if isinstance(model.cost_history_, list) else [model.cost_history_]
    loaded_history = loaded.cost_history_ if isinstance(loaded.cost_history_, list) else [loaded.cost_history_]
    for original, restored in zip(original_history, loaded_history, strict=True):
        np.testing.assert_array_equal(restored, original)


def test_the_file_is_plain_json_with_a_format_marker(iris, tmp_path):
    X, y = iris
    model = LogisticRegression(backend="numpy").fit(X, y)
    save_model(model, tmp_path / "model.json")
    document = json.loads((tmp_path / "model.json").read_text())
    assert document["format"] == "fastlr-model"
    assert document["fitted"]["feature_names"] == list(X.columns)
    assert document["params"]["backend"] == "numpy"


def test_feature_names_for_a_model_fitted_on_an_array(iris, tmp_path):
    X, y = iris
    model = LogisticRegression(backend="numpy").fit(X.to_numpy(), y)
    save_model(model, tmp_path / "model.json", feature_names=list(X.columns))
    loaded = load_model(tmp_path / "model.json")
    np.testing.assert_array_equal(loaded.feature_names_in_, X.columns)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X.to_numpy()))
    with pytest.raises(ValueError, match="2 feature names for a model with 4 features"):
        save_model(model, tmp_path / "bad.json", feature_names=["a", "b"])


def test_a_recorded_backend_that_cannot_run_here_falls_back(iris, tmp_path):
    X, y = iris
    model = LogisticRegression(backend="numpy").fit(X, y)
    save_model(model, tmp_path / "model.json")
    document = json.loads((tmp_path / "model.json").read_text())
    document["fitted"]["backend"] = "no-such-backend"
    (tmp_path / "model.json").write_text(json.dumps(document))
    loaded = load_model(tmp_path / "model.json")
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X), rtol=1e-12)


@pytest.mark.parametrize(
    "content, message",
    [
        ("not json at all", "not a fastlr model file .not JSON"),
        ('{"weights": [1, 2]}', "not a fastlr model file .no 'fastlr-model' format marker"),
        ('{"format": "fastlr-model", "format_version": 99}', "format version 99"),
        ('{"format": "fastlr-model", "format_version": 1, "params": {}}', "damaged fastlr model file"),
    ],
    ids=["not-json", "no-marker", "future-version", "damaged"],
)
def test_files_that_are_not_models_are_rejected(content, message, tmp_path):
    path = tmp_path / "model.json"
    path.write_text(content)
    with pytest.raises(ModelFormatError, match=message):
        load_model(path)


def test_unfitted_or_unportable_models_are_not_saved(iris, tmp_path):
    with pytest.raises(NotFittedError):
        save_model(LogisticRegression(), tmp_path / "model.json")
    X, y = iris
    model = LogisticRegression(backend="numpy", random_state=np.random.RandomState(0)).fit(X, y)
    with pytest.raises(ValueError, match="random_state"):
        save_model(model, tmp_path / "model.json")
