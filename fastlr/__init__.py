"""fastlr: logistic regression with interchangeable kernel backends.

Layers, bottom up: ``fastlr.kernels`` (one backend object per module, one
contract: :class:`fastlr.kernels.base.Backend`) → :mod:`fastlr.dispatch`
(names to backends) → :mod:`fastlr.objective` (adds the penalties) →
:mod:`fastlr.solvers` (written once, one iteration record) →
:mod:`fastlr.inputs` and :mod:`fastlr.training` (prepare, plan, run) →
:class:`fastlr.LogisticRegression` (the scikit-learn estimator) and
:class:`fastlr.LogisticRegressionCV` (C chosen along a warm-started path).
"""

from fastlr.dispatch import (
    BackendUnavailableError,
    available_backends,
    backend_report,
    get_backend,
    register_backend,
    resolve_backend_name,
    unregister_backend,
    use_backend,
)
from fastlr.estimator import LogisticRegression, fit
from fastlr.model_selection import LogisticRegressionCV
from fastlr.solvers import DivergenceError

__version__ = "0.1.0"

__all__ = [
    "BackendUnavailableError",
    "DivergenceError",
    "LogisticRegression",
    "LogisticRegressionCV",
    "available_backends",
    "backend_report",
    "fit",
    "get_backend",
    "register_backend",
    "resolve_backend_name",
    "unregister_backend",
    "use_backend",
]
