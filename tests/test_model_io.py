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


# -- a model file is untrusted input ---------------------------------------------------------
@pytest.fixture
def saved(iris, tmp_path):
    """(path, document, model): a three-class model fitted on four features, saved."""
    X, y = iris
    model = LogisticRegression(backend="numpy").fit(X.to_numpy(), y)
    path = tmp_path / "model.json"
    save_model(model, path)
    return path, json.loads(path.read_text()), model


def _edit(document, change):
    document = json.loads(json.dumps(document))
    change(document["fitted"], document)
    return document


DAMAGE = {
    # (the edit, what the message must name)
    "coef-row-too-short": (lambda f, d: f["coef"]["values"][0].pop(), "coef"),
    "coef-row-too-long": (lambda f, d: f["coef"]["values"][0].extend([0.5] * 10_000), "coef"),
    "coef-rows-missing": (lambda f, d: f["coef"]["values"].pop(), "coef: shape"),
    "n-features-changed": (lambda f, d: f.update(n_features_in=7), "coef: shape"),
    "n-features-not-an-int": (lambda f, d: f.update(n_features_in="4"), "n_features_in"),
    "coef-nan": (lambda f, d: f["coef"]["values"][1].__setitem__(2, float("nan")), "coef: values must be finite"),
    "coef-strings": (lambda f, d: f["coef"]["values"][1].__setitem__(2, "x"), "coef: the values are not a regular"),
    "coef-object-dtype": (lambda f, d: f["coef"].update(dtype="|O"), "coef: dtype object"),
    "labels-not-scalars": (lambda f, d: f["classes"].update(dtype="|O", values=[[1], [2], [3]]), "classes"),
    "coef-integer-dtype": (lambda f, d: f["coef"].update(dtype="<i8"), "coef: dtype int64 is not allowed"),
    "coef-float16": (lambda f, d: f["coef"].update(dtype="<f2"), "not float32 or float64"),
    "intercept-too-long": (lambda f, d: f["intercept"]["values"].append(1.0), "intercept: shape"),
    "intercept-other-dtype": (lambda f, d: f["intercept"].update(dtype="<f4"), "intercept: dtype float32 differs"),
    "huge-label-dtype": (lambda f, d: f["classes"].update(dtype="<U500000000"), "classes: dtype"),
    "label-dtype-too-short": (lambda f, d: f["classes"].update(dtype="<U2"), "too short for its labels"),
    "classes-repeated": (lambda f, d: f["classes"]["values"].__setitem__(1, f["classes"]["values"][0]), "classes"),
    "classes-unsorted": (lambda f, d: f["classes"]["values"].reverse(), "sorted order"),
    "one-class": (lambda f, d: f["classes"].update(values=["setosa"]), "at least 2"),
    "n-iter-negative": (lambda f, d: f["n_iter"].update(values=[-3]), "n_iter"),
    "n-iter-overflow": (lambda f, d: f["n_iter"].update(values=[2**70]), "n_iter: the values are not a regular"),
    "feature-names-count": (lambda f, d: f.update(feature_names=["a", "b"]), "feature_names"),
    "cost-history-count": (lambda f, d: f.update(cost_history=[[1.0], [2.0]]), "cost_history"),
    "unknown-solver": (lambda f, d: f.update(solver="magic"), "solver"),
    "missing-field": (lambda f, d: f.pop("intercept"), "no field 'intercept'"),
    "unknown-param": (lambda f, d: d["params"].update(alpha=1.0), r"params: unknown parameters \['alpha'\]"),
    "invalid-param": (lambda f, d: d["params"].update(C=-1.0), "'C' parameter"),
    "bad-class-weight": (lambda f, d: d["params"].update(class_weight={"pairs": 3}), "class_weight"),
    "array-not-a-record": (lambda f, d: f.update(coef=[[1.0]]), "coef: expected"),
}


@pytest.mark.parametrize("case", DAMAGE)
def test_damaged_model_files_are_refused_naming_the_field(case, saved):
    path, document, _ = saved
    change, message = DAMAGE[case]
    path.write_text(json.dumps(_edit(document, change)))
    with pytest.raises(ModelFormatError, match=f"damaged fastlr model file .*{message}"):
        load_model(path)


@pytest.mark.parametrize("content", ["[" * 100_000 + "]" * 100_000, '{"format": "fastlr-model", "format_v'],
                         ids=["nested-too-deep", "truncated"])
def test_files_json_cannot_read_are_refused(content, tmp_path):
    path = tmp_path / "model.json"
    path.write_text(content)
    with pytest.raises(ModelFormatError, match="not a fastlr model file"):
        load_model(path)


def test_a_file_above_the_size_limit_is_refused_before_it_is_read(saved, monkeypatch):
    from fastlr import model_io

    path, _, _ = saved
    monkeypatch.setattr(model_io, "MAX_FILE_BYTES", path.stat().st_size - 1)
    monkeypatch.setattr(model_io.json, "load", lambda file: pytest.fail("the file was parsed"))
    with pytest.raises(ModelFormatError, match="bytes, above the"):
        load_model(path)


def test_an_array_above_the_memory_limit_is_refused_before_it_is_allocated(iris, tmp_path, monkeypatch):
    from fastlr import model_io

    X, y = iris
    model = LogisticRegression(backend="numpy").fit(X.to_numpy(), np.unique(y, return_inverse=True)[1])
    path = tmp_path / "model.json"
    save_model(model, path)
    limit = model.coef_.nbytes - 1
    assert model.classes_.nbytes <= limit
    monkeypatch.setattr(model_io, "MAX_ARRAY_BYTES", limit)
    with pytest.raises(ModelFormatError, match=f"coef: 3 x 4 values of float64 exceed {limit} bytes"):
        load_model(path)


def test_a_failed_save_leaves_the_previous_file(saved, monkeypatch):
    from fastlr import outputs

    path, _, model = saved
    before = path.read_bytes()
    unserializable = LogisticRegression(backend="numpy").fit(np.eye(4), [0, 1, 0, 1])
    unserializable.classes_ = np.array([{0}, {1}], dtype=object)  # labels JSON has no form for
    with pytest.raises(TypeError, match="set is not JSON serializable"):
        save_model(unserializable, path)
    assert path.read_bytes() == before

    def disk_full(descriptor):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(outputs.os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        save_model(model, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.json"]  # no temporary file left


def test_an_interrupted_save_leaves_the_previous_file(saved, monkeypatch):
    from fastlr import outputs

    path, _, model = saved
    before = path.read_bytes()

    def interrupted(source, destination):
        raise KeyboardInterrupt

    monkeypatch.setattr(outputs.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_model(model, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.json"]


def test_a_replaced_model_file_keeps_its_permissions(saved):
    path, _, model = saved
    path.chmod(0o640)
    save_model(model, path)
    assert path.stat().st_mode & 0o777 == 0o640
