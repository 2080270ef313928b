"""Save a fitted model as JSON and load it back, without pickle.

A pickle runs code when it is loaded and breaks across library versions; a
model file here is plain JSON that any language can read: the fitted
coefficients, intercepts and classes (with their dtypes, so that predictions
after loading are bit-for-bit those before), the feature names, the
estimator's parameters, the cost history, the fastlr version, and a format
marker that :func:`load_model` checks before trusting anything else.
"""

import json
import numbers

import numpy as np
from sklearn.utils.validation import check_is_fitted

from fastlr import __version__
from fastlr.dispatch import BACKENDS, resolve_backend_name
from fastlr.estimator import LogisticRegression

FORMAT = "fastlr-model"
FORMAT_VERSION = 1


class ModelFormatError(ValueError):
    """The file is not a fastlr model file this version can read."""


def _json_param(name, value):
    """An estimator parameter in a form JSON keeps exactly."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, numbers.Integral, numbers.Real, str)):
        return value
    if isinstance(value, dict):  # class_weight: JSON would turn integer labels into strings
        return {"pairs": [[_label(label), float(weight)] for label, weight in value.items()]}
    raise ValueError(
        f"cannot store parameter {name}={value!r} in a portable model file; use a plain value "
        f"(an int seed for random_state, a dict or 'balanced' for class_weight)"
    )


def _param_from_json(value):
    return {label: weight for label, weight in value["pairs"]} if isinstance(value, dict) else value


def _label(label):
    return label.item() if isinstance(label, np.generic) else label


def _array(array):
    """Values and dtype of an array, so :func:`_from_array` restores it exactly."""
    array = np.asarray(array)
    # Python floats print with repr, the shortest string that reads back to the
    # same double: float64 and float32 values survive the JSON round trip.
    return {"dtype": array.dtype.str, "values": array.tolist()}


def _from_array(record):
    return np.asarray(record["values"], dtype=np.dtype(record["dtype"]))


def _histories(model):
    history = model.cost_history_
    histories = [history] if isinstance(history, np.ndarray) else history
    return [np.asarray(h, dtype=np.float64).tolist() for h in histories]


def save_model(model, path, feature_names=None):
    """Write a fitted :class:`~fastlr.LogisticRegression` to ``path`` as JSON.

    Parameters
    ----------
    model : LogisticRegression
        Fitted.
    path : str or path-like
    feature_names : sequence of str of length n_features_in_, default=None
        Names of the columns of X, for a model fitted on a plain array whose
        columns had names (the command line does this). Default: the model's
        ``feature_names_in_`` when it was fitted on a DataFrame.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        ``model`` is not fitted.
    ValueError
        ``feature_names`` has the wrong length or contradicts ``feature_names_in_``,
        or a parameter has no portable form (a ``RandomState`` instance).
    """
    check_is_fitted(model)
    fitted_names = getattr(model, "feature_names_in_", None)
    if feature_names is None:
        feature_names = fitted_names
    elif fitted_names is not None and list(feature_names) != list(fitted_names):
        raise ValueError(f"feature_names {list(feature_names)} differ from the model's {list(fitted_names)}")
    if feature_names is not None and len(feature_names) != model.n_features_in_:
        raise ValueError(f"{len(feature_names)} feature names for a model with {model.n_features_in_} features")
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "fastlr_version": __version__,
        "estimator": type(model).__name__,
        "params": {name: _json_param(name, value) for name, value in model.get_params().items()},
        "fitted": {
            "classes": _array(model.classes_),
            "coef": _array(model.coef_),
            "intercept": _array(model.intercept_),
            "n_iter": _array(model.n_iter_),
            "n_features_in": int(model.n_features_in_),
            "feature_names": None if feature_names is None else [str(name) for name in feature_names],
            "backend": model.backend_,
            "solver": model.solver_,
            "cost_history": _histories(model),
        },
    }
    with open(path, "w", encoding="utf-8") as file:
        json.dump(document, file)
        file.write("\n")


def _read_document(path):
    with open(path, encoding="utf-8") as file:
        try:
            document = json.load(file)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ModelFormatError(f"{path} is not a fastlr model file (not JSON: {exc})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ModelFormatError(f"{path} is not a fastlr model file (no {FORMAT!r} format marker)")
    if document.get("format_version") != FORMAT_VERSION:
        raise ModelFormatError(
            f"{path} is a fastlr model file of format version {document.get('format_version')!r}; "
            f"this fastlr reads version {FORMAT_VERSION}"
        )
    return document


def _usable_backend(name):
    """The recorded backend when it runs here, else the one ``"auto"`` picks:
    every backend predicts the same to rounding, so a model fitted on a GPU
    still predicts on a machine without one."""
    if name in BACKENDS and BACKENDS[name].unavailable_reason() is None:
        return name
    return resolve_backend_name("auto")


def load_model(path):
    """Read a file written by :func:`save_model`; return a fitted estimator.

    The estimator predicts exactly as the saved one did (same coefficients,
    same dtype). Feature names, when the file has them, become
    ``feature_names_in_``, so DataFrame columns are checked as after ``fit``.

    Raises
    ------
    OSError
        The file cannot be read.
    ModelFormatError
        The file is not a fastlr model file of a version this fastlr reads.
    """
    document = _read_document(path)
    try:
        params = {name: _param_from_json(value) for name, value in document["params"].items()}
        fitted = document["fitted"]
        model = LogisticRegression(**params)
        model.classes_ = _from_array(fitted["classes"])
        model.coef_ = _from_array(fitted["coef"])
        model.intercept_ = _from_array(fitted["intercept"])
        model.n_iter_ = _from_array(fitted["n_iter"])
        model.n_features_in_ = int(fitted["n_features_in"])
        if fitted["feature_names"] is not None:
            model.feature_names_in_ = np.asarray(fitted["feature_names"], dtype=object)
        model.backend_ = _usable_backend(fitted["backend"])
        model.solver_ = fitted["solver"]
        histories = [np.asarray(h, dtype=np.float64) for h in fitted["cost_history"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFormatError(f"{path} is a damaged fastlr model file ({type(exc).__name__}: {exc})") from None
    model.cost_history_ = histories[0] if len(histories) == 1 else histories
    return model
