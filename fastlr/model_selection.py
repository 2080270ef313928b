"""``LogisticRegressionCV``: C (and the L1 share) chosen by cross-validation along a warm-started path.

For each fold and each ``l1_ratio`` the models for ``Cs`` are fitted in order,
each starting from the previous one's coefficients (the path), exactly as
scikit-learn's ``LogisticRegressionCV`` does. What differs is where the data
is: X is validated and placed on the backend once, and no C copies anything.
A fold is either the same X with weights that are zero on the held-out rows
(the sample weights times 0/1: no copy at all; on a GPU, and for large X), or,
when X is in host memory and the fold's training rows take at most
``config.CV_GATHER_FOLD_MAX_BYTES``, those rows gathered once for the whole
path (each pass then reads 1/k fewer rows). The held-out rows are gathered
once per fold, for scoring, on the host (scikit-learn's scorers are host code),
and validated there once: the scorers' predictions skip the finite check.

The fitted attributes, their layouts (``use_legacy_attributes``), the choice of
the best C, the refit and the metadata routing follow scikit-learn 1.9 to the
letter, so the class drops in where scikit-learn's is used.
"""

import inspect
import numbers
from dataclasses import replace
from numbers import Integral

import numpy as np
from sklearn import config_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import get_scorer, get_scorer_names, make_scorer
from sklearn.model_selection import check_cv
from sklearn.utils import Bunch, metadata_routing
from sklearn.utils._param_validation import Hidden, Interval, StrOptions
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _raise_for_params,
    _routing_enabled,
    process_routing,
)
from sklearn.utils.validation import _check_method_params, _check_sample_weight

from fastlr import config, inputs, training
from fastlr import penalty as penalties
from fastlr.estimator import LogisticRegression, parameter_defaults
from fastlr.messages import warn_at_caller
from fastlr.solvers.aliases import check_dual
from fastlr.threads import blas_threads_limited

#: The warnings scikit-learn 1.9 gives for its defaults that are about to change, word for word.
DEFAULT_WARNINGS = {
    "l1_ratios": (
        "The default value for l1_ratios will change from None to (0.0,) in version 1.10. From version 1.10 "
        "onwards, only array-like with values in [0, 1] will be allowed, None will be forbidden. To avoid this "
        "warning, explicitly set a value, e.g. l1_ratios=(0,)."
    ),
    "l1_ratios=None": (
        "'l1_ratios=None' was deprecated in version 1.8 and will trigger an error in 1.10. Use an array-like "
        "with valuesin [0, 1] instead."
    ),
    "scoring": (
        "The default value of the parameter 'scoring' will change from None, i.e. accuracy, to 'neg_log_loss' "
        "in version 1.11. To silence this warning, explicitly set the scoring parameter: scoring='neg_log_loss' "
        "for the new, scoring='accuracy' or scoring=None for the old default."
    ),
    "use_legacy_attributes": (
        "The fitted attributes of {name} will be simplified in scikit-learn 1.10 to remove redundancy. "
        "Set`use_legacy_attributes=False` to enable the new behavior now, or set it to `True` to silence this "
        "warning during the transition period while keeping the deprecated behavior for the time being. The "
        "default value of use_legacy_attributes will change from True to False in scikit-learn 1.10. See the "
        "docstring of {name} for more details."
    ),
}

#: The parameters of a single fit that the path shares with the estimator.
FIT_PARAMETERS = ("backend", "solver", "fit_intercept", "tol", "max_iter", "multi_class", "random_state",
                  "verbose", "intercept_scaling", "dual")


class LogisticRegressionCV(LogisticRegression):
    """Logistic regression with C (and ``l1_ratio``) chosen by cross-validation.

    scikit-learn 1.9's ``LogisticRegressionCV`` with fastlr's backends and
    solvers: same parameters, same fitted attributes, same selected C; the
    path over ``Cs`` is warm-started and every fold reuses X in place (see the
    module docstring).

    Parameters
    ----------
    Cs : int or array-like of shape (n_cs,), default=10
        The grid of C; an int n means ``np.logspace(-4, 4, n)``. Fitted in this order.
    l1_ratios : array-like of shape (n_l1_ratios,), default=None (with a FutureWarning, as scikit-learn)
        The grid of ρ, the L1 share (0: L2, 1: L1); None is L2.
    fit_intercept : bool, default=True
    cv : int, cross-validation generator or iterable of (train, test) index pairs, default=None
        None is 5-fold ``StratifiedKFold``.
    dual : bool, default=False
        Only False (fastlr solves the primal problem).
    penalty : {"auto", "l2", "l1", "elasticnet"}, default="auto"
        ``"auto"`` takes each penalty from its ``l1_ratio`` (the older named spelling still works).
    scoring : str, callable or None, default=None (with a FutureWarning, as scikit-learn)
        A scikit-learn scorer; None is accuracy.
    solver : str, default="auto"
        As in :class:`fastlr.LogisticRegression`, scikit-learn's names included;
        ``"auto"`` picks per ``l1_ratio``.
    tol : float, default=1e-4
    max_iter : int, default=1000
    class_weight : dict, "balanced" or None, default=None
        ``"balanced"`` is computed once on all of y, as scikit-learn does.
    n_jobs : int or None, default=None
        No effect: folds run one after another, each pass over X on every core.
    verbose : int, default=0
    refit : bool, default=True
        Refit on all rows at the best (C, l1_ratio), starting from the folds'
        mean coefficients there; else average the folds' best coefficients.
    intercept_scaling : float, default=1.0
        No effect (fastlr never penalizes the intercept).
    random_state : int, RandomState or None, default=None
        Seeds the stochastic solvers only, not the folds.
    use_legacy_attributes : bool, default=True (with a FutureWarning, as scikit-learn)
        scikit-learn 1.9's two layouts of the fitted attributes (see Attributes).
    backend : str, default="auto"
        As in :class:`fastlr.LogisticRegression`.
    multi_class : {"auto", "ovr", "multinomial"}, default="auto"

    Attributes
    ----------
    Cs_ : ndarray of shape (n_cs,)
    l1_ratios_ : ndarray of shape (n_l1_ratios,)
    C_, l1_ratio_ : float, or ndarray of shape (n_classes,) (legacy: one per class, all equal)
    coefs_paths_ : ndarray of shape (n_folds, n_l1_ratios, n_cs, n_classes or 1, n_features + fit_intercept)
        Legacy: a dict class → (n_folds, n_cs[, n_l1_ratios], n_dof).
    scores_ : ndarray of shape (n_folds, n_l1_ratios, n_cs)
        Legacy: a dict class → (n_folds, n_cs[, n_l1_ratios]), the same for every class.
    n_iter_ : ndarray of shape (n_folds, n_l1_ratios, n_cs)
        Legacy: (1, n_folds, n_cs[, n_l1_ratios]).
    coef_, intercept_, classes_, n_features_in_, feature_names_in_, backend_, solver_
        As in :class:`fastlr.LogisticRegression` (``solver_`` of the refit, or of the
        path's last problem when ``refit=False``).
    """

    # score's sample_weight is metadata for the scorer, not consumed by score itself (as scikit-learn's)
    __metadata_request__score = {"sample_weight": metadata_routing.UNUSED}

    _parameter_constraints: dict = {
        **{name: rule for name, rule in LogisticRegression._parameter_constraints.items() if name in FIT_PARAMETERS},
        "class_weight": LogisticRegression._parameter_constraints["class_weight"],
        "n_jobs": LogisticRegression._parameter_constraints["n_jobs"],
        "Cs": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "l1_ratios": ["array-like", None, Hidden(StrOptions({"warn"}))],
        "cv": ["cv_object"],
        "scoring": [StrOptions(set(get_scorer_names())), callable, None, Hidden(StrOptions({"warn"}))],
        "refit": ["boolean"],
        "penalty": [
            StrOptions({penalties.FROM_L1_RATIO, "l1", "l2", "elasticnet"}),
            Hidden(StrOptions({penalties.SKLEARN_DEFAULT})),
        ],
        "use_legacy_attributes": ["boolean", Hidden(StrOptions({"warn"}))],
    }

    def __init__(
        self,
        *,
        Cs=10,
        l1_ratios="warn",
        fit_intercept=True,
        cv=None,
        dual=False,
        penalty="auto",
        scoring="warn",
        solver="auto",
        tol=1e-4,
        max_iter=1000,
        class_weight=None,
        n_jobs=None,
        verbose=0,
        refit=True,
        intercept_scaling=1.0,
        random_state=None,
        use_legacy_attributes="warn",
        backend="auto",
        multi_class="auto",
    ):
        self.Cs = Cs
        self.l1_ratios = l1_ratios
        self.fit_intercept = fit_intercept
        self.cv = cv
        self.dual = dual
        self.penalty = penalty
        self.scoring = scoring
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.class_weight = class_weight
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.refit = refit
        self.intercept_scaling = intercept_scaling
        self.random_state = random_state
        self.use_legacy_attributes = use_legacy_attributes
        self.backend = backend
        self.multi_class = multi_class

    # -- the parameters, with scikit-learn 1.9's default warnings ------------------------
    def _grid(self):
        """(l1_ratios as given or None, the Penalty of each ratio, Cs_)."""
        l1_ratios = self.l1_ratios
        if isinstance(l1_ratios, str) and l1_ratios == "warn":
            warn_at_caller(DEFAULT_WARNINGS["l1_ratios"], FutureWarning)
            l1_ratios = None
        elif l1_ratios is None:
            warn_at_caller(DEFAULT_WARNINGS["l1_ratios=None"], FutureWarning)
        if l1_ratios is not None:
            l1_ratios = list(l1_ratios)
            if not l1_ratios or any(
                not isinstance(rho, numbers.Number) or isinstance(rho, bool) or not 0 <= rho <= 1 for rho in l1_ratios
            ):
                raise ValueError(f"l1_ratios must be an array-like of numbers between 0 and 1; got (l1_ratios={l1_ratios!r})")
        grid = penalties.for_l1_ratios(self.penalty, l1_ratios)
        Cs = np.logspace(-4, 4, self.Cs) if isinstance(self.Cs, numbers.Integral) else np.asarray(self.Cs, dtype=float)
        if Cs.ndim != 1 or not np.all(Cs > 0):
            raise ValueError(f"Cs must be a positive int or a 1-D array-like of positive floats, got {self.Cs!r}")
        return l1_ratios, grid, Cs

    def _legacy_layout(self):
        if isinstance(self.use_legacy_attributes, str) and self.use_legacy_attributes == "warn":
            warn_at_caller(DEFAULT_WARNINGS["use_legacy_attributes"].format(name=type(self).__name__), FutureWarning)
            return True
        return self.use_legacy_attributes

    def _get_scorer(self):
        """The scorer of ``scoring``; accuracy for None (scikit-learn's current default)."""
        if isinstance(self.scoring, str) and self.scoring == "warn":
            return get_scorer("accuracy")
        return get_scorer(self.scoring or "accuracy")

    def _fit_params(self, penalty, C, data):
        """Parameters of one fit on the path, as :func:`fastlr.training.make_plan` takes them.

        ``solver="auto"`` prefers Newton for binary L2 paths of at most
        ``config.CV_AUTO_NEWTON_MAX_FEATURES`` features (see there); otherwise the
        estimator's rule (newton-cd for L1 and elastic net, L-BFGS for the softmax).
        """
        params = LogisticRegression(**{name: getattr(self, name) for name in FIT_PARAMETERS}).get_params()
        params = {**params, "C": C, "penalty": penalty.name, "l1_ratio": penalty.l1_ratio}
        binary = self.multi_class == "ovr" or (len(data.classes) == 2 and self.multi_class != "multinomial")
        if self.solver == "auto" and penalty.smooth and binary and data.n_features <= config.CV_AUTO_NEWTON_MAX_FEATURES:
            params["solver"] = "newton"
        return params

    # -- fitting ---------------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None, **params):
        """Fit the path on every fold, choose (C, l1_ratio), refit.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
        **params : dict
            Routed to the splitter and the scorer (scikit-learn's metadata routing).

        Returns
        -------
        self
        """
        _raise_for_params(params, self, "fit")
        self._validate_params()
        l1_ratios, grid, Cs = self._grid()
        if isinstance(self.scoring, str) and self.scoring == "warn":
            warn_at_caller(DEFAULT_WARNINGS["scoring"], FutureWarning)
        legacy = self._legacy_layout()
        check_dual(self.solver, self.dual)

        data = inputs.prepare_training_data(
            X, y, sample_weight, backend=self.backend, class_weight=self.class_weight,
            estimator_name=type(self).__name__,
        )
        if not data.random_rows:
            raise ValueError(
                f"{type(self).__name__} needs random access to the rows of X for its folds, which chunked (dask) "
                "arrays do not give cheaply; compute X into memory, or search C with GridSearchCV"
            )
        labels = data.classes[np.asarray(data.backend.to_host(data.y_index))]
        weights = None if sample_weight is None else _check_sample_weight(sample_weight, np.empty((len(labels), 0)))
        routed = self._route(weights, params)
        folds = list(check_cv(self.cv, labels, classifier=True).split(np.empty((len(labels), 0)), labels,
                                                                       **routed.splitter.split))
        with blas_threads_limited(data.backend.blas_threads):
            paths = [self._fold_paths(data, labels, train, test, grid, Cs, routed, weights) for train, test in folds]
        coefs = np.array([[[point.coef for point in path] for path in fold] for fold in paths])
        scores = np.array([[[point.score for point in path] for path in fold] for fold in paths])
        n_iter = np.array([[[point.n_iter for point in path] for path in fold] for fold in paths], dtype=np.int32)
        self._warn_unconverged(paths)

        if self.refit:
            coef, intercept, solver, C_, l1_ratio_ = self._refit(data, grid, Cs, l1_ratios, coefs, scores)
        else:
            coef, intercept, C_, l1_ratio_ = self._average_best(data, grid, Cs, l1_ratios, coefs, scores)
            solver = paths[-1][-1][-1].solver  # what the path ran
        self._set_cv_fitted(data, coef, intercept, solver, Cs, C_, l1_ratio_, l1_ratios, coefs, scores, n_iter, legacy)
        return self

    def _refit(self, data, grid, Cs, l1_ratios, coefs, scores):
        """The best (C, l1_ratio) by the scores summed over folds, refitted on all rows from the
        folds' mean coefficients there (scikit-learn's ``refit=True``)."""
        totals = scores.sum(axis=0)  # (n_l1_ratios, n_cs)
        best_ratio, best_C = np.unravel_index(np.argmax(totals), totals.shape)
        C_, l1_ratio_ = Cs[best_C], (l1_ratios or [None])[best_ratio]
        start = coefs[:, best_ratio, best_C].mean(axis=0)  # (K, n_dof)
        plan = training.make_plan(self._fit_params(grid[best_ratio], C_, data), data, parameter_defaults())
        with blas_threads_limited(data.backend.blas_threads):
            trained = training.train(data, plan, warm=(start[:, : data.n_features], self._intercepts(start)))
        message = training.convergence_message(plan, trained)
        if message is not None:
            warn_at_caller(message, ConvergenceWarning)
        return trained.coef, trained.intercept, plan.solver.name, C_, l1_ratio_

    def _average_best(self, data, grid, Cs, l1_ratios, coefs, scores):
        """Each fold's best point, averaged: coefficients, C and (for a mix of penalties) the
        L1 share (scikit-learn's ``refit=False``)."""
        n_ratios, n_cs = scores.shape[1:]
        best = [np.unravel_index(np.argmax(fold), (n_ratios, n_cs)) for fold in scores]
        w = np.mean([coefs[i, r, c] for i, (r, c) in enumerate(best)], axis=0)
        C_ = float(np.mean([Cs[c] for _, c in best]))
        mixed = len(grid) > 1 or grid[0].name == "elasticnet"
        l1_ratio_ = float(np.mean([l1_ratios[r] for r, _ in best])) if mixed else 0.0
        return w[:, : data.n_features], self._intercepts(w), C_, l1_ratio_

    def _intercepts(self, w):
        return w[:, -1] if self.fit_intercept else np.zeros(w.shape[0])

    def _route(self, sample_weight, params):
        """Metadata for the splitter and the scorer: routed when routing is enabled, else
        ``sample_weight`` (and ``params``) to the scorer, as scikit-learn does."""
        if _routing_enabled():
            return process_routing(self, "fit", sample_weight=sample_weight, **params)
        score = dict(params)
        if sample_weight is not None:
            score["sample_weight"] = sample_weight
        return Bunch(splitter=Bunch(split={}), scorer=Bunch(score=score))

    @staticmethod
    def fold_data(data, train):
        """The training data of a fold: its rows gathered once (host X, at most
        ``config.CV_GATHER_FOLD_MAX_BYTES``), else X in place with weights 0 on the other rows."""
        backend = data.backend
        if backend.xp is np and len(train) * data.X.shape[1] * data.dtype.itemsize <= config.CV_GATHER_FOLD_MAX_BYTES:
            rows = np.asarray(train)
            weights = None if data.sample_weight is None else data.sample_weight[rows]
            return replace(data, X=data.X[rows], y_index=data.y_index[rows], sample_weight=weights)
        kept = np.zeros(data.X.shape[0], dtype=data.dtype)
        kept[train] = 1
        weights = backend.to_device(kept)
        if data.sample_weight is not None:
            weights = data.sample_weight * weights
        return replace(data, sample_weight=backend.xp.asarray(weights, dtype=data.dtype))

    def _fold_paths(self, data, labels, train, test, grid, Cs, routed, sample_weight):
        """The path of every l1_ratio on one fold: a list (per ratio) of lists (per C) of points."""
        fold = self.fold_data(data, train)
        held_out = data.X[data.backend.to_device(np.asarray(test))]
        if not data.sparse:  # a CSR row slice is scored as it is
            held_out = np.asarray(data.backend.to_host(held_out))
        score = self._fold_scorer(data, held_out, labels[test], test, routed, sample_weight)
        paths = []
        for penalty in grid:
            warm, path = None, []
            fold = replace(fold, memo={})  # each C's first evaluation is the last one of the C before
            for C in Cs:
                plan = training.make_plan(self._fit_params(penalty, C, fold), fold, parameter_defaults())
                trained = training.train(fold, plan, warm=warm)
                warm = (trained.coef, trained.intercept)
                path.append(PathPoint(trained, plan, score(trained), self.fit_intercept))
            paths.append(path)
        return paths

    def _fold_scorer(self, data, X_test, y_test, test, routed, sample_weight):
        """score(trained) on the held-out rows, with scikit-learn's scorer rules: without a
        ``scoring``, accuracy weighted by ``sample_weight``; with one, the routed metadata and
        the labels of every class for scorers that take them (a fold may miss a class)."""
        model = LogisticRegression(multi_class=self.multi_class)
        model.classes_, model.n_features_in_, model.backend_ = data.classes, data.n_features, "auto"
        if data.feature_names is not None:
            model.feature_names_in_ = data.feature_names
        if self.scoring is None or (isinstance(self.scoring, str) and self.scoring == "warn"):
            test_weights = None if sample_weight is None else sample_weight[test]

            def calc(fitted):
                return fitted.score(X_test, y_test, sample_weight=test_weights)
        else:
            scorer = self._labelled_scorer(data.classes)
            score_params = _check_method_params(X=np.empty((len(data.y_index), 0)), params=routed.scorer.score,
                                                indices=test)

            def calc(fitted):
                return scorer(fitted, X_test, y_test, **score_params)

        def score(trained):
            model.coef_, model.intercept_ = trained.coef.astype(data.dtype), trained.intercept.astype(data.dtype)
            with config_context(assume_finite=True):  # X_test: rows of the X validated at fit
                return calc(model)

        return score

    def _labelled_scorer(self, classes):
        scorer = get_scorer(self.scoring)
        signature = inspect.signature(scorer._score_func).parameters if hasattr(scorer, "_score_func") else {}
        if "labels" not in signature:
            return scorer
        positive = {"pos_label": classes[-1]} if len(classes) <= 2 and "pos_label" in signature else {}
        return make_scorer(
            scorer._score_func, greater_is_better=scorer._sign == 1, response_method=scorer._response_method,
            labels=classes, **positive, **getattr(scorer, "_kwargs", {}),
        )

    def _warn_unconverged(self, paths):
        points = [point for fold in paths for path in fold for point in path]
        failed = [point for point in points if not point.converged]
        if failed:
            worst = max(failed, key=lambda point: point.optimality)
            warn_at_caller(
                f"{len(failed)} of the {len(points)} fits of the path did not converge; the worst: C={worst.C:g}, "
                f"{worst.message}",
                ConvergenceWarning,
            )

    def _set_cv_fitted(self, data, coef, intercept, solver, Cs, C_, l1_ratio_, l1_ratios, coefs, scores, n_iter,
                       legacy):
        """Every fitted attribute at once, in scikit-learn 1.9's layouts."""
        n_rows = coefs.shape[3]
        keys = data.classes[1:] if len(data.classes) == 2 else data.classes
        fitted = {
            "classes_": data.classes,
            "coef_": np.asarray(coef).astype(data.dtype),
            "intercept_": np.asarray(intercept).astype(data.dtype),
            "Cs_": Cs,
            "l1_ratios_": np.asarray(l1_ratios if l1_ratios is not None else [None]),
            "backend_": data.backend_name,
            "solver_": solver,
            "n_features_in_": data.n_features,
        }
        if legacy:
            drop = (lambda a: a[..., 0]) if l1_ratios is None else (lambda a: a)
            # (n_folds, n_l1, n_cs, ...) → (n_folds, n_cs, n_l1, ...), one entry per class
            by_class = np.swapaxes(coefs, 1, 2)
            fitted["coefs_paths_"] = {
                key: (by_class[:, :, 0, row] if l1_ratios is None else by_class[:, :, :, row])
                for key, row in zip(keys, range(n_rows))
            }
            fitted["scores_"] = {key: drop(np.swapaxes(scores, 1, 2)) for key in keys}
            fitted["n_iter_"] = drop(np.swapaxes(n_iter, 1, 2)[None])
            fitted["C_"] = np.full(len(keys), C_)
            fitted["l1_ratio_"] = np.asarray([l1_ratio_] * len(keys))
        else:
            fitted["coefs_paths_"] = coefs
            fitted["scores_"] = scores
            fitted["n_iter_"] = n_iter
            fitted["C_"] = float(C_)
            if l1_ratios is None:
                fitted["l1_ratio_"] = 1.0 if self.penalty == "l1" else 0.0
            else:
                fitted["l1_ratio_"] = float(l1_ratio_)
        self.__dict__.update(fitted)
        if data.feature_names is not None:
            self.feature_names_in_ = data.feature_names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self.__dict__.pop("cost_history_", None)

    # -- scoring and routing, as scikit-learn's ----------------------------------------------
    def score(self, X, y, sample_weight=None, **score_params):
        """``scoring`` (accuracy for None) of the fitted model on (X, y)."""
        _raise_for_params(score_params, self, "score")
        if sample_weight is not None:
            score_params["sample_weight"] = sample_weight
        scorer = self._get_scorer()
        if _routing_enabled():
            routed = process_routing(self, "score", **score_params).scorer.score
        else:
            routed = {} if score_params.get("sample_weight") is None else {"sample_weight": score_params["sample_weight"]}
        return scorer(self, X, y, **routed)

    def get_metadata_routing(self):
        """The metadata routing of this object: the splitter's ``split`` and the scorer's ``score``."""
        return (
            MetadataRouter(owner=self)
            .add_self_request(self)
            .add(splitter=self.cv, method_mapping=MethodMapping().add(caller="fit", callee="split"))
            .add(
                scorer=self._get_scorer(),
                method_mapping=MethodMapping().add(caller="score", callee="score").add(caller="fit", callee="score"),
            )
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.array_api_support = False
        return tags


class PathPoint:
    """One fit of the path: coefficients in scikit-learn's (K, n_features + fit_intercept) layout,
    the held-out score, and how the solver ended."""

    def __init__(self, trained, plan, score, fit_intercept):
        parts = [trained.coef] + ([trained.intercept[:, None]] if fit_intercept else [])
        self.coef = np.hstack(parts)
        self.score = score
        self.n_iter = int(trained.n_iter.max())
        self.converged = trained.converged
        self.optimality = max(result.optimality for result in trained.results)
        self.C = plan.C
        self.solver = plan.solver.name
        self.message = training.convergence_message(plan, trained) or ""
