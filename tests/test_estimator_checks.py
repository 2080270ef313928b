"""scikit-learn's own estimator checks, run on fastlr.LogisticRegression.

``parametrize_with_checks`` yields every check scikit-learn applies to its
classifiers (fit/predict contracts, input validation, pickling, sample and
class weights, feature names, read-only memmaps, ...); a failure here means
the estimator breaks a promise that Pipeline, GridSearchCV or clone rely on.
No check is marked as an expected failure.

The estimator code is the same for every CPU backend, so two backends suffice:
``numpy`` and ``numba`` (compiled kernels, other dtype handling). The kernels of
every backend are compared with the reference in test_kernels.py.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from fastlr import LogisticRegression
from fastlr.dispatch import BACKENDS

CHECKED_BACKENDS = [name for name in ("numpy", "numba") if BACKENDS[name].unavailable_reason() is None]


@parametrize_with_checks([LogisticRegression(backend=name) for name in CHECKED_BACKENDS])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
