"""scikit-learn's own test_logistic.py, run against fastlr's classes.

The module shipped with scikit-learn (``sklearn/linear_model/tests/test_logistic.py``)
is imported as it is and its names ``LogisticRegression`` and
``LogisticRegressionCV`` are pointed at fastlr's classes; nothing else in it
changes (scikit-learn's solver names are fastlr aliases, so not even those need
translating). Every ``test_*`` function of that module is collected here with
its own parametrization and marks. Which tests are outside what fastlr claims,
and why, is listed in ``conftest.py``.
"""

import pytest

import fastlr

upstream = pytest.importorskip(
    "sklearn.linear_model.tests.test_logistic", reason="this scikit-learn install ships without its tests"
)
upstream.LogisticRegression = fastlr.LogisticRegression
upstream.LogisticRegressionCV = getattr(fastlr, "LogisticRegressionCV", None)

pytestmark = upstream.pytestmark
globals().update({name: value for name, value in vars(upstream).items() if name.startswith("test_")})
