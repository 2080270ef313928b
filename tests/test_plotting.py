"""fastlr.plotting, drawn headless (Agg) to PNG files; the drawn data is checked
against the models and against sklearn.metrics, not just that something appeared."""

import pytest

matplotlib = pytest.importorskip("matplotlib", reason="the [plot] extra is not installed")
matplotlib.use("Agg")  # before pyplot: no display in tests

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import make_blobs, make_classification  # noqa: E402
from sklearn.metrics import f1_score, precision_score, recall_score  # noqa: E402

from fastlr import LogisticRegression, plotting  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def binary():
    return make_classification(n_samples=200, n_features=2, n_informative=2, n_redundant=0, random_state=0)


def _saved_png(ax, path):
    ax.figure.savefig(path)
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and len(data) > 1000
    return path


def test_cost_history_compares_optimizers(binary, tmp_path):
    X, y = binary
    models = [
        LogisticRegression(backend="numpy", solver="gd", max_iter=500, tol=1e-6).fit(X, y),
        LogisticRegression(backend="numpy", solver="lbfgs", tol=1e-8).fit(X, y),
        LogisticRegression(backend="numpy", solver="newton", tol=1e-8).fit(X, y),
    ]
    ax = plotting.plot_cost_history(models, labels=["gd", "L-BFGS", "Newton"])
    _saved_png(ax, tmp_path / "costs.png")

    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["gd", "L-BFGS", "Newton"]
    assert ax.get_yscale() == "log"
    best = min(model.cost_history_.min() for model in models)
    for line, model in zip(lines, models):
        gap = model.cost_history_ - best
        np.testing.assert_array_equal(line.get_xdata(), np.arange(1, len(gap) + 1))
        np.testing.assert_allclose(line.get_ydata(), np.where(gap > 0, gap, np.nan))
    # The point where the best model reaches F* has gap 0: left out of the log scale.
    lowest = int(np.argmin([model.cost_history_.min() for model in models]))
    assert np.isnan(lines[lowest].get_ydata()[np.argmin(models[lowest].cost_history_)])


def test_cost_history_of_one_model_and_one_vs_rest_classes():
    X, y = make_blobs(n_samples=150, centers=3, random_state=0)
    model = LogisticRegression(backend="numpy", multi_class="ovr").fit(X, y)
    ax = plotting.plot_cost_history(model, log_gap=False)
    assert ax.get_yscale() == "linear" and ax.get_ylabel() == "cost"
    assert [line.get_label() for line in ax.get_lines()] == [f"{model.solver_} (numpy), class {k}" for k in range(3)]
    for line, history in zip(ax.get_lines(), model.cost_history_):
        np.testing.assert_array_equal(line.get_ydata(), history)
    with pytest.raises(ValueError, match="2 labels for 1 models"):
        plotting.plot_cost_history(model, labels=["a", "b"])


def test_decision_boundary_follows_the_model(binary, tmp_path):
    X, y = binary
    model = LogisticRegression(backend="numpy").fit(X, np.array(["no", "yes"])[y])
    fig, ax = plt.subplots()
    assert plotting.plot_decision_boundary(model, X, model.classes_[y], ax=ax) is ax
    _saved_png(ax, tmp_path / "boundary.png")

    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["no", "yes"]
    colour_bar = [axis for axis in fig.axes if axis is not ax]
    assert len(colour_bar) == 1 and colour_bar[0].get_ylabel() == "P(yes)"
    assert colour_bar[0].get_ylim() == pytest.approx((0.0, 1.0))
    scattered = sum(len(collection.get_offsets()) for collection in ax.collections if collection.get_offsets().size)
    assert scattered >= len(X)
    # The drawn line is P = 0.5, i.e. w·x + b = 0, up to the grid's resolution.
    boundary = [c for c in ax.collections if hasattr(c, "levels") and list(c.levels) == [0.5]]
    vertices = np.concatenate([path.vertices for path in boundary[0].get_paths()])
    assert len(vertices) > 10
    margins = model.decision_function(vertices)
    step = np.ptp(X, axis=0).max() / 200
    assert np.abs(margins).max() < np.abs(model.coef_).sum() * step


def test_decision_boundary_multiclass_and_bad_shapes():
    X, y = make_blobs(n_samples=90, centers=3, random_state=1)
    model = LogisticRegression(backend="numpy").fit(X, y)
    ax = plotting.plot_decision_boundary(model, X, y)
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["0", "1", "2"]
    with pytest.raises(ValueError, match=r"shape \(n_samples, 2\)"):
        plotting.plot_decision_boundary(model, np.hstack([X, X]), y)


def test_threshold_metrics_match_sklearn(binary, tmp_path):
    X, y = binary
    model = LogisticRegression(backend="numpy").fit(X, y)
    ax = plotting.plot_threshold_metrics(model, X, y)
    _saved_png(ax, tmp_path / "thresholds.png")

    lines = {line.get_label(): line for line in ax.get_lines()}
    assert {"precision", "recall", "F1"} <= set(lines)
    scores = model.predict_proba(X)[:, 1]
    thresholds = lines["F1"].get_xdata()
    for index in np.linspace(0, len(thresholds) - 1, 7).astype(int):
        predicted = (scores >= thresholds[index]).astype(int)
        assert lines["precision"].get_ydata()[index] == pytest.approx(precision_score(y, predicted))
        assert lines["recall"].get_ydata()[index] == pytest.approx(recall_score(y, predicted))
        assert lines["F1"].get_ydata()[index] == pytest.approx(f1_score(y, predicted))
    best_label = next(label for label in lines if label.startswith("best F1"))
    assert float(best_label.split()[2]) == pytest.approx(np.max(lines["F1"].get_ydata()), abs=5e-4)


def test_threshold_metrics_need_a_binary_model():
    X, y = make_blobs(n_samples=60, centers=3, random_state=0)
    with pytest.raises(ValueError, match="needs a binary model"):
        plotting.plot_threshold_metrics(LogisticRegression(backend="numpy").fit(X, y), X, y)


def test_missing_matplotlib_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install 'fastlr\[plot\]'"):
        plotting.require_matplotlib()
