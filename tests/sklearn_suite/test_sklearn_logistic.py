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
#: scikit-learn's classes → fastlr's, in the module's names and in parametrizations
#: (``@pytest.mark.parametrize("LR", [LogisticRegression, LogisticRegressionCV])``
#: captured scikit-learn's classes when the module was imported).
SUBSTITUTES = {
    upstream.LogisticRegression: fastlr.LogisticRegression,
    upstream.LogisticRegressionCV: fastlr.LogisticRegressionCV,
}


def _substituted(value):
    if isinstance(value, (tuple, list)):
        return type(value)(_substituted(item) for item in value)
    if hasattr(value, "values") and hasattr(value, "marks") and hasattr(value, "id"):  # pytest.param(...)
        return pytest.param(*_substituted(value.values), marks=value.marks, id=value.id)
    try:
        return SUBSTITUTES.get(value, value)
    except TypeError:  # unhashable parameter values
        return value


def _with_substitutes(function):
    marks = []
    for mark in getattr(function, "pytestmark", []):
        if mark.name == "parametrize":
            names, values = mark.args[0], mark.args[1]
            mark = pytest.mark.parametrize(names, [_substituted(value) for value in values], *mark.args[2:],
                                           **mark.kwargs).mark
        marks.append(mark)
    function.pytestmark = marks
    return function


for _name, _class in (("LogisticRegression", fastlr.LogisticRegression),
                      ("LogisticRegressionCV", fastlr.LogisticRegressionCV)):
    setattr(upstream, _name, _class)

pytestmark = upstream.pytestmark
globals().update(
    {name: _with_substitutes(value) for name, value in vars(upstream).items() if name.startswith("test_")}
)
