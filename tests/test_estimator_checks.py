"""scikit-learn's own estimator checks, run on fastlr.LogisticRegression.

``parametrize_with_checks`` yields every check scikit-learn applies to its
classifiers (fit/predict contracts, input validation, pickling, sample and
class weights, feature names, read-only memmaps, ...); a failure here means
the estimator breaks a promise that Pipeline, GridSearchCV or clone rely on.
No check is marked as an expected failure.

The estimator code is the same for every CPU backend, so two backends suffice:
``numpy`` and ``numba`` (compiled kernels, other dtype handling). The kernels of
every backend are compared with the reference in test_kernels.py. The L1
solver (``newton-cd``, chosen by ``l1_ratio=1``) and ``LogisticRegressionCV``
(scikit-learn's own check settings: 3 folds, the new attribute layout) are
checked too, at settings whose margins stay below ~15: ``check_classifiers_train``
compares ``predict_log_proba`` with ``log(predict_proba)`` to 1e-9 in float32, where
σ(z) rounds to exactly 1 beyond z ≈ 17 while fastlr's log-probability, computed
from the margin, stays exact (−softplus(−z) ≈ −4e-8 there).
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from fastlr import LogisticRegression, LogisticRegressionCV
from fastlr.dispatch import BACKENDS

CHECKED_BACKENDS = [name for name in ("numpy", "numba") if BACKENDS[name].unavailable_reason() is None]

ESTIMATORS = [
    *(LogisticRegression(backend=name) for name in CHECKED_BACKENDS),
    LogisticRegression(backend="numpy", l1_ratio=1, C=1.0),
    # tol=1e-10: the sample-weight equivalence checks compare fits to 1e-7 (atol 1e-9), which
    # tol=1e-4 does not promise (Newton-CG's truncated inner solves differ in their last steps
    # between repeated and weighted rows; the sparse check failed at 1.5e-7, the dense one at
    # tol=1e-6, and the sparse one again at tol=1e-8 on a Zen 3 VM: 4.6e-7 on a decision value
    # of 0.08, its BLAS rounding otherwise). Newton converges quadratically: 1e-10 costs a step.
    LogisticRegressionCV(backend="numpy", Cs=[0.1, 1.0], cv=3, l1_ratios=(0.0,), scoring="neg_log_loss",
                         use_legacy_attributes=False, tol=1e-10),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
