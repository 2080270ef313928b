"""The GPU peers of the time-to-optimum race, written as their users would write them.

Each fits scikit-learn's objective C·Σℓ + ½‖W‖² (binary or softmax, the
intercept unpenalized) on arrays that stay where they are, and returns the
coefficients as NumPy arrays with its iteration and evaluation counts. Both
run on any torch device, so the code is checked on the CPU too.

- :func:`torch_lbfgs`: ``torch.optim.LBFGS`` with its strong Wolfe line search
  on the mean-form objective (mean loss + ‖W‖²/(2Cm), the same minimiser),
  stopped at ‖∇‖∞ ≤ tol as fastlr is; parameters in the data's dtype.
- :func:`sklearn_array_api`: scikit-learn's own LogisticRegression (lbfgs)
  under ``config_context(array_api_dispatch=True)``, on torch tensors or CuPy
  arrays; SciPy must have been imported with ``SCIPY_ARRAY_API=1`` in the
  environment.
"""

import os

import numpy as np


def torch_lbfgs(X, y, n_classes, C=1.0, tol=1e-6, max_iter=1000):
    """Fit with ``torch.optim.LBFGS``. X: tensor (m, n); y: tensor (m,) of class indices 0..K−1.

    Returns (coef (1 or K, n), intercept (1 or K,), iterations, evaluations).
    """
    import torch

    m, n = X.shape
    rows = 1 if n_classes == 2 else n_classes
    theta = torch.zeros(rows * (n + 1), dtype=X.dtype, device=X.device, requires_grad=True)
    targets = y.to(X.dtype) if rows == 1 else y.long()
    optimizer = torch.optim.LBFGS(
        [theta], lr=1, max_iter=max_iter, history_size=10, tolerance_grad=tol, tolerance_change=1e-12,
        line_search_fn="strong_wolfe",
    )

    def closure():
        optimizer.zero_grad()
        W, b = theta[: rows * n].view(rows, n), theta[rows * n:]
        Z = X @ W.T + b
        if rows == 1:
            loss = torch.nn.functional.binary_cross_entropy_with_logits(Z[:, 0], targets)
        else:
            loss = torch.nn.functional.cross_entropy(Z, targets)
        loss = loss + (W * W).sum() / (2 * C * m)
        loss.backward()
        return loss

    optimizer.step(closure)
    state = optimizer.state[theta]
    values = theta.detach().to("cpu", torch.float64).numpy()
    return values[: rows * n].reshape(rows, n), values[rows * n:], int(state["n_iter"]), int(state["func_evals"])


def array_api_unavailable_reason():
    """None when scikit-learn's array-API path can run here, else why not."""
    if os.environ.get("SCIPY_ARRAY_API") != "1":
        return "SCIPY_ARRAY_API=1 must be set before SciPy is imported (scikit-learn's array-API path needs it)"
    return None


def sklearn_array_api(X, y, C=1.0, tol=1e-6, max_iter=1000):
    """scikit-learn's LogisticRegression(lbfgs) on X, y of any array-API namespace (torch, CuPy).

    Returns (coef, intercept, iterations, None): scikit-learn does not report evaluations.
    """
    from sklearn import config_context
    from sklearn.linear_model import LogisticRegression

    with config_context(array_api_dispatch=True):
        model = LogisticRegression(C=C, tol=tol, max_iter=max_iter).fit(X, y)
    return _to_numpy(model.coef_), _to_numpy(model.intercept_), int(np.max(_to_numpy(model.n_iter_))), None


def _to_numpy(array):
    if hasattr(array, "get"):  # CuPy
        return np.asarray(array.get(), dtype=np.float64)
    if hasattr(array, "detach"):  # torch
        return array.detach().to("cpu").double().numpy()
    return np.asarray(array, dtype=np.float64)
