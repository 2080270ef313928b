"""fastlr: logistic regression with interchangeable kernel backends.

Layers, bottom up: ``fastlr.kernels`` (one module per backend, one contract)
→ :mod:`fastlr.dispatch` (names to backends) → :mod:`fastlr.objective` (adds
the penalties) → :mod:`fastlr.solvers` (written once) →
:class:`fastlr.LogisticRegression` (the scikit-learn estimator).
"""

from fastlr.dispatch import (
    BackendUnavailableError,
    available_backends,
    backend_report,
    get_backend,
    resolve_backend_name,
    use_backend,
)
from fastlr.estimator import LogisticRegression, fit
from fastlr.solvers import DivergenceError

__version__ = "0.1.0"

__all__ = [
    "BackendUnavailableError",
    "DivergenceError",
    "LogisticRegression",
    "available_backends",
    "backend_report",
    "fit",
    "get_backend",
    "resolve_backend_name",
    "use_backend",
]
