"""scikit-learn 1.9's callback API (``set_callbacks``, :mod:`sklearn.callback`) on fastlr's iterations.

Every fastlr solver iterates in Python and reports each iteration to its
:class:`~fastlr.solvers.record.IterationRecord`, so callbacks work with every
solver, not only L-BFGS as in scikit-learn 1.9. The tasks are scikit-learn's:
the fit is the root task; its subtasks are the iterations (``"<solver>-iter"``),
each begun at the point it starts from and ended at the point it reached, plus
one last empty task begun after the final iteration, as scikit-learn's L-BFGS
bridge has. With several problems (one-vs-rest) each problem is a subtask of
the fit and the iterations are its subtasks. ``fitted_estimator`` in a hook is
a copy of the estimator that predicts with the coefficients of that moment
(built only when a hook asks for it). A hook's ``on_fit_task_end`` returning
True stops the solver there (stop reason ``"callback"``), which scikit-learn
1.9 does not do yet.

Without scikit-learn's callback module (scikit-learn < 1.9), ``set_callbacks``
raises ``NotImplementedError``.
"""

import contextlib

try:
    from sklearn.callback import CallbackSupportMixin
    from sklearn.callback._callback_support import callback_management_context
except ImportError:  # scikit-learn < 1.9
    CallbackSupportMixin = None
    callback_management_context = None

#: The base classes that give an estimator ``set_callbacks`` (none before scikit-learn 1.9).
CALLBACK_BASES = () if CallbackSupportMixin is None else (CallbackSupportMixin,)


class CallbacksUnavailable:
    """``set_callbacks`` where scikit-learn has no callback API: a clear refusal."""

    def set_callbacks(self, *callbacks):
        raise NotImplementedError(
            "set_callbacks needs scikit-learn's callback API (sklearn.callback, scikit-learn >= 1.9); "
            "this scikit-learn has none. fastlr's own per-iteration record is cost_history_ (and verbose=True)"
        )


def managed(estimator):
    """The context that tears the callbacks down after fit, whatever happens (scikit-learn's)."""
    if callback_management_context is None:
        return contextlib.nullcontext()
    return callback_management_context(estimator)


def wanted(estimator) -> bool:
    """True when the fit has callbacks of its own or sits inside a meta-estimator's task tree."""
    return CallbackSupportMixin is not None and (
        hasattr(estimator, "_skl_callbacks") or hasattr(estimator, "_parent_callback_ctx")
    )


class FitCallbacks:
    """The callback tasks of one fit: the root task, and an observer per problem.

    Parameters
    ----------
    estimator : the estimator being fitted (a ``CallbackSupportMixin``)
    X, y, sample_weight : what ``fit`` was given (passed to the hooks)
    n_problems : int
        1 for a binary or softmax fit, K for one-vs-rest.
    max_iter : int
    """

    def __init__(self, estimator, X, y, sample_weight, n_problems, max_iter):
        self.estimator, self.X, self.y = estimator, X, y
        self.metadata = None if sample_weight is None else {"sample_weight": sample_weight}
        self.n_problems = n_problems
        self.max_iter = max_iter
        # An iteration task per iteration, the first even when max_iter is 0, and the empty last one.
        self.root = estimator._init_callback_context(
            max_subtasks=max(max_iter, 1) + 1 if n_problems == 1 else n_problems
        )
        self.root.call_on_fit_task_begin(estimator=estimator, X=X, y=y, metadata=self.metadata)

    def observer(self, task_name, to_attributes):
        """The :class:`IterationObserver` of the next problem."""
        if self.n_problems == 1:
            return IterationObserver(self.root, task_name, self, to_attributes)
        problem = self.root.subcontext(task_name="problem", max_subtasks=max(self.max_iter, 1) + 1)
        problem.call_on_fit_task_begin(estimator=self.estimator, X=self.X, y=self.y, metadata=self.metadata)
        return IterationObserver(problem, task_name, self, to_attributes, owns_parent=True)

    def finish(self):
        self.root.call_on_fit_task_end(
            estimator=self.estimator, X=self.X, y=self.y, metadata=self.metadata, reconstruction_attributes={}
        )


class IterationObserver:
    """What an :class:`~fastlr.solvers.record.IterationRecord` tells the callbacks of one problem.

    ``to_attributes(theta)`` gives the fitted attributes (``coef_``, ``intercept_``, ...)
    of the estimator at θ; it runs only when a hook asks for ``fitted_estimator``.
    """

    def __init__(self, parent, task_name, fit, to_attributes, owns_parent=False):
        self.parent, self.task_name, self.fit = parent, task_name, fit
        self.to_attributes = to_attributes
        self.owns_parent = owns_parent
        self.current = None

    def _attributes(self, theta):
        if theta is None:
            return None
        return lambda: self.to_attributes(theta)

    def begin(self, theta):
        self.current = self.parent.subcontext(task_name=self.task_name)
        fit = self.fit
        self.current.call_on_fit_task_begin(
            estimator=fit.estimator, X=fit.X, y=fit.y, metadata=fit.metadata,
            reconstruction_attributes=self._attributes(theta),
        )

    def end(self, theta) -> bool:
        """Ends the current iteration's task; True when a callback asks to stop."""
        fit = self.fit
        return self.current.call_on_fit_task_end(
            estimator=fit.estimator, X=fit.X, y=fit.y, metadata=fit.metadata,
            reconstruction_attributes=self._attributes(theta),
        )

    def close(self):
        """Ends the task begun after the last iteration, which never ran (an empty task)."""
        if self.current is not None:
            self.current.call_on_fit_task_end(estimator=self.fit.estimator)
            self.current = None
        if self.owns_parent:
            fit = self.fit
            self.parent.call_on_fit_task_end(estimator=fit.estimator, X=fit.X, y=fit.y, metadata=fit.metadata)
