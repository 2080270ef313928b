"""Pictures of a fit: cost per iteration, the decision boundary, threshold metrics.

matplotlib is optional (``pip install 'fastlr[plot]'``) and imported only when
a function here draws. Each function draws on ``ax`` (a new figure's when
None) and returns that Axes, so that pictures compose and tests can inspect them.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted


def require_matplotlib():
    """Import matplotlib, or raise an ImportError that says how to install it."""
    try:
        import matplotlib
    except ImportError as exc:
        raise ImportError(f"fastlr.plotting needs matplotlib: pip install 'fastlr[plot]' ({exc})") from None
    return matplotlib


def _axes(ax):
    if ax is not None:
        return ax
    require_matplotlib()
    import matplotlib.pyplot as plt

    return plt.subplots()[1]


def _histories(model):
    """One cost curve per sub-problem (one, or one per class for one-vs-rest)."""
    check_is_fitted(model)
    history = model.cost_history_
    return [np.asarray(history)] if isinstance(history, np.ndarray) else [np.asarray(h) for h in history]


def _default_label(model):
    solver = model.solver_
    if solver == "gd":  # descent is known by its optimizer and batch size
        batch = "full batch" if model.batch_size is None else f"batch {model.batch_size}"
        solver = f"gd/{model.optimizer}, {batch}"
    return f"{solver} ({model.backend_})"


def plot_cost_history(model_or_models, ax=None, labels=None, log_gap=None):
    """Cost against iteration for one model or several (to compare optimizers).

    Parameters
    ----------
    model_or_models : LogisticRegression or sequence of them
        Fitted; several models should have been fitted on the same problem.
    ax : matplotlib Axes, default=None
    labels : sequence of str, default=None
        One per model; default ``"solver (backend)"``.
    log_gap : bool, default=None
        Plot F(θ_k) − F* on a log scale, F* the lowest cost any model reached on
        that (sub-)problem: linear convergence then shows as a straight line
        and the curves stay apart where plain costs overlap. The points where
        a curve reaches F* itself are not drawn (log 0). None: do so when
        every curve has at least two points and one of them lies above F*.
        False: the plain cost on a linear scale.

    Returns
    -------
    matplotlib.axes.Axes
    """
    models = [model_or_models] if hasattr(model_or_models, "get_params") else list(model_or_models)
    if labels is None:
        labels = [_default_label(model) for model in models]
    if len(labels) != len(models):
        raise ValueError(f"{len(labels)} labels for {len(models)} models")
    curves = [_histories(model) for model in models]
    # F* per sub-problem: class k of one model is compared with class k of another.
    n_problems = max(len(histories) for histories in curves)
    best = [min(h[k].min() for h in curves if k < len(h)) for k in range(n_problems)]
    if log_gap is None:
        log_gap = all(len(c) >= 2 for h in curves for c in h) and any(
            (c > best[k]).any() for h in curves for k, c in enumerate(h)
        )
    ax = _axes(ax)
    for label, histories in zip(labels, curves):
        for k, cost in enumerate(histories):
            name = label if len(histories) == 1 else f"{label}, class {k}"
            iterations = np.arange(1, len(cost) + 1)
            if log_gap:
                gap = cost - best[k]
                ax.plot(iterations, np.where(gap > 0, gap, np.nan), label=name)
            else:
                ax.plot(iterations, cost, label=name)
    if log_gap:
        ax.set_yscale("log")
        ax.set_ylabel("cost − lowest cost reached")
    else:
        ax.set_ylabel("cost")
    ax.set_xlabel("iteration")
    ax.set_title("cost history")
    ax.legend()
    return ax


def _grid_like(grid, X):
    """The grid as a DataFrame with X's columns when X is one, so that a model
    fitted with feature names gets them."""
    return type(X)(grid, columns=X.columns) if hasattr(X, "columns") else grid


def plot_decision_boundary(model, X, y, ax=None, resolution=200):
    """Data and the model's decision regions, for two features.

    Binary models shade P(class 1), with a colour bar giving its scale, and
    draw the boundary P = 0.5 (the line w·x + b = 0); multiclass models shade
    the predicted class (the legend names the classes).

    Parameters
    ----------
    model : LogisticRegression
        Fitted on two features.
    X : array-like of shape (n_samples, 2)
    y : array-like of shape (n_samples,)
        Labels from ``model.classes_``.
    ax : matplotlib Axes, default=None
    resolution : int, default=200
        Grid points per axis.

    Returns
    -------
    matplotlib.axes.Axes
    """
    check_is_fitted(model)
    points = np.asarray(X, dtype=np.float64)
    labels = np.asarray(y)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"plot_decision_boundary needs X of shape (n_samples, 2), got {points.shape}")
    ax = _axes(ax)
    padding = 0.05 * (points.max(axis=0) - points.min(axis=0)) + 1e-9
    low, high = points.min(axis=0) - padding, points.max(axis=0) + padding
    u, v = np.meshgrid(np.linspace(low[0], high[0], resolution), np.linspace(low[1], high[1], resolution))
    grid = _grid_like(np.column_stack([u.ravel(), v.ravel()]), X)
    if len(model.classes_) == 2:
        probability = np.asarray(model.predict_proba(grid))[:, 1].reshape(u.shape)
        shading = ax.contourf(u, v, probability, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.4)
        ax.contour(u, v, probability, levels=[0.5], colors="k", linewidths=1.5)
        ax.figure.colorbar(shading, ax=ax, label=f"P({model.classes_[1]})", ticks=np.linspace(0, 1, 6))
    else:
        predicted = np.searchsorted(model.classes_, np.asarray(model.predict(grid))).reshape(u.shape)
        ax.contourf(u, v, predicted, levels=np.arange(len(model.classes_) + 1) - 0.5, cmap="tab10", alpha=0.3)
    for label in model.classes_:
        chosen = labels == label
        ax.scatter(points[chosen, 0], points[chosen, 1], s=12, edgecolors="k", linewidths=0.3, label=str(label))
    names = getattr(model, "feature_names_in_", ["feature 0", "feature 1"])
    ax.set_xlabel(str(names[0]))
    ax.set_ylabel(str(names[1]))
    ax.set_title("decision boundary")
    ax.legend(title="class")
    return ax


def plot_threshold_metrics(model, X, y, ax=None):
    """Precision, recall and F1 of a binary model against the decision threshold.

    A row is predicted as ``classes_[1]`` when P(classes_[1] | x) ≥ threshold;
    the curves come from :func:`sklearn.metrics.precision_recall_curve`, and a
    vertical line marks the threshold of the best F1.

    Returns
    -------
    matplotlib.axes.Axes
    """
    from sklearn.metrics import precision_recall_curve

    check_is_fitted(model)
    if len(model.classes_) != 2:
        raise ValueError(f"plot_threshold_metrics needs a binary model, this one has {len(model.classes_)} classes")
    positive = model.classes_[1]
    scores = np.asarray(model.predict_proba(X))[:, 1]
    precision, recall, thresholds = precision_recall_curve(y, scores, pos_label=positive)
    # The last (precision, recall) pair is the (1, 0) end point with no threshold.
    precision, recall = precision[:-1], recall[:-1]
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros_like(total), where=total > 0)
    best = int(np.argmax(f1))
    ax = _axes(ax)
    ax.plot(thresholds, precision, label="precision")
    ax.plot(thresholds, recall, label="recall")
    ax.plot(thresholds, f1, label="F1")
    ax.axvline(thresholds[best], color="gray", linestyle="--",
               label=f"best F1 {f1[best]:.3f} at {thresholds[best]:.3f}")
    ax.set_xlabel(f"threshold on P({positive!s})")
    ax.set_ylabel("score")
    ax.set_xlim(0, 1)
    ax.set_title("metrics against the threshold")
    ax.legend()
    return ax
