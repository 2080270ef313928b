"""Save a fitted model as JSON and load it back, without pickle.

A pickle runs code when it is loaded and breaks across library versions; a
model file here is plain JSON that any language can read: the fitted
coefficients, intercepts and classes (with their dtypes, so that predictions
after loading are bit-for-bit those before), the feature names, the
estimator's parameters, the cost history, the fastlr version, and a format
marker that :func:`load_model` checks before trusting anything else.

A model file is input like any other, so :func:`load_model` trusts nothing in
it: the file's size is checked before it is read, every array's dtype before
it is allocated, and then every shape against the declared ``n_features_in``
and classes, every value for finiteness, and the parameters against the
estimator's own constraints. Anything else is a :class:`ModelFormatError`
that names the field. :func:`save_model` writes atomically
(:func:`fastlr.outputs.atomic_write`): a save that fails leaves the previous
file as it was.
"""

import json
import numbers
import os

import numpy as np
from sklearn.utils.validation import check_is_fitted

from fastlr import __version__
from fastlr.dispatch import BACKENDS, resolve_backend_name
from fastlr.estimator import LogisticRegression
from fastlr.outputs import atomic_write
from fastlr.solvers import SOLVERS

FORMAT = "fastlr-model"
FORMAT_VERSION = 1

#: The largest file :func:`load_model` reads (bytes). JSON spends about 20
#: bytes per coefficient, so this admits 25 million coefficients, and it
#: bounds what parsing the file can allocate.
MAX_FILE_BYTES = 512 * 2**20
#: The longest class label (characters) a string dtype in a model file may declare.
MAX_LABEL_CHARS = 4096
#: The most memory one array of a model file may take once read (bytes),
#: checked from its declared dtype and length before it is allocated.
MAX_ARRAY_BYTES = 2**30

#: dtype kinds each array may have: coefficients are float32 or float64 (what
#: fits produce), labels numbers, booleans or strings (an object array of
#: strings, as pandas gives them, holds JSON scalars only), iteration counts integers.
COEFFICIENT_DTYPES = frozenset({np.dtype(np.float32), np.dtype(np.float64)})
LABEL_KINDS = frozenset("biufUO")


class ModelFormatError(ValueError):
    """The file is not a fastlr model file this version can read."""


class _Damaged(ValueError):
    """One field of a model file is wrong; :func:`load_model` adds the path."""


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
    if isinstance(value, dict):
        pairs = value.get("pairs")
        if not (isinstance(pairs, list) and all(isinstance(pair, list) and len(pair) == 2 for pair in pairs)):
            raise _Damaged("params: class_weight must be stored as {'pairs': [[label, weight], ...]}")
        return {label: weight for label, weight in pairs}
    return value


def _label(label):
    return label.item() if isinstance(label, np.generic) else label


def _array(array):
    """Values and dtype of an array, so :func:`_from_array` restores it exactly."""
    array = np.asarray(array)
    # Python floats print with repr, the shortest string that reads back to the
    # same double: float64 and float32 values survive the JSON round trip.
    return {"dtype": array.dtype.str, "values": array.tolist()}


def _dtype(record, field, allowed_kinds):
    """The declared dtype of ``record``, refused before anything is allocated with it."""
    try:
        dtype = np.dtype(record["dtype"])
    except TypeError:
        raise _Damaged(f"{field}: {record['dtype']!r} is not a dtype") from None
    if dtype.kind not in allowed_kinds or (dtype.hasobject and dtype.kind != "O"):
        raise _Damaged(f"{field}: dtype {dtype} is not allowed here")
    if dtype.kind == "U" and dtype.itemsize > 4 * MAX_LABEL_CHARS:
        raise _Damaged(f"{field}: dtype {dtype} declares labels longer than {MAX_LABEL_CHARS} characters")
    return dtype


def _from_array(record, field, allowed_kinds, ndim):
    """The array of ``record``, checked: an allowed dtype, ``ndim`` dimensions, values that survive the cast."""
    if not isinstance(record, dict) or set(record) != {"dtype", "values"}:
        raise _Damaged(f"{field}: expected {{'dtype': ..., 'values': [...]}}")
    dtype = _dtype(record, field, allowed_kinds)
    values = record["values"]
    if isinstance(values, list):
        row = values[0] if values and isinstance(values[0], list) else [None]
        if len(values) * len(row) * dtype.itemsize > MAX_ARRAY_BYTES:
            raise _Damaged(f"{field}: {len(values)} x {len(row)} values of {dtype} exceed {MAX_ARRAY_BYTES} bytes")
    try:
        array = np.asarray(values, dtype=dtype)
    except (TypeError, ValueError, OverflowError) as exc:
        raise _Damaged(f"{field}: the values are not a regular array of {dtype}: {_one_line(exc)}") from None
    if array.ndim != ndim:
        raise _Damaged(f"{field}: expected a {ndim}-D array, got shape {array.shape}")
    if dtype.kind == "O" and not all(isinstance(value, (str, int, float)) for value in array.tolist()):
        raise _Damaged(f"{field}: an object array may hold only strings and numbers")
    if dtype.kind == "U" and any(str(value) != str(stored) for value, stored in zip(values, array.tolist())):
        raise _Damaged(f"{field}: dtype {dtype} is too short for its labels")
    if dtype.kind in "iu" and not np.array_equal(array, np.asarray(values, dtype=object)):
        raise _Damaged(f"{field}: values out of the range of dtype {dtype}")
    return array


def _finite(array, field):
    if not np.all(np.isfinite(array)):
        raise _Damaged(f"{field}: values must be finite")
    return array


def _checked_fitted(fitted):
    """The fitted attributes of a model file, every shape against n_features_in and the classes."""
    if not isinstance(fitted, dict):
        raise _Damaged("fitted: expected an object")
    n_features = fitted["n_features_in"]
    if not isinstance(n_features, int) or isinstance(n_features, bool) or n_features < 1:
        raise _Damaged(f"n_features_in: expected a positive integer, got {n_features!r}")
    classes = _from_array(fitted["classes"], "classes", LABEL_KINDS, 1)
    if len(classes) < 2 or len(np.unique(classes)) != len(classes) or not np.array_equal(np.sort(classes), classes):
        raise _Damaged(f"classes: expected at least 2 distinct labels in sorted order, got {classes.tolist()}")
    if classes.dtype.kind == "f":
        _finite(classes, "classes")
    rows = 1 if len(classes) == 2 else len(classes)
    coef = _finite(_from_array(fitted["coef"], "coef", "f", 2), "coef")
    intercept = _finite(_from_array(fitted["intercept"], "intercept", "f", 1), "intercept")
    for field, array, shape in (("coef", coef, (rows, n_features)), ("intercept", intercept, (rows,))):
        if array.dtype not in COEFFICIENT_DTYPES:
            raise _Damaged(f"{field}: dtype {array.dtype} is not float32 or float64")
        if array.shape != shape:
            raise _Damaged(
                f"{field}: shape {array.shape}, but {n_features} features and {len(classes)} classes need {shape}"
            )
    if intercept.dtype != coef.dtype:
        raise _Damaged(f"intercept: dtype {intercept.dtype} differs from coef's {coef.dtype}")
    n_iter = _from_array(fitted["n_iter"], "n_iter", "iu", 1)
    if len(n_iter) not in (1, rows) or np.any(n_iter < 0):
        raise _Damaged(f"n_iter: expected 1 or {rows} non-negative counts, got {n_iter.tolist()}")
    names = fitted["feature_names"]
    if names is not None:
        if not (isinstance(names, list) and all(isinstance(name, str) for name in names)):
            raise _Damaged("feature_names: expected null or a list of strings")
        if len(names) != n_features or len(set(names)) != len(names):
            raise _Damaged(f"feature_names: expected {n_features} distinct names, got {len(names)}")
        names = np.asarray(names, dtype=object)
    histories = fitted["cost_history"]
    if not (isinstance(histories, list) and len(histories) == len(n_iter)):
        raise _Damaged(f"cost_history: expected {len(n_iter)} lists of costs")
    histories = [_finite(np.asarray(h, dtype=np.float64), "cost_history") for h in histories]
    if any(h.ndim != 1 for h in histories):
        raise _Damaged("cost_history: expected lists of numbers")
    for field in ("backend", "solver"):
        if not isinstance(fitted[field], str):
            raise _Damaged(f"{field}: expected a string, got {fitted[field]!r}")
    if fitted["solver"] not in SOLVERS:
        raise _Damaged(f"solver: unknown solver {fitted['solver']!r}")
    return {
        "classes_": classes,
        "coef_": coef,
        "intercept_": intercept,
        "n_iter_": n_iter,
        "n_features_in_": n_features,
        "backend_": _usable_backend(fitted["backend"]),
        "solver_": fitted["solver"],
        "cost_history_": histories[0] if len(histories) == 1 else histories,
        **({} if names is None else {"feature_names_in_": names}),
    }


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

    The file is replaced atomically: if anything fails (a label JSON cannot
    hold, a full disk), a file already at ``path`` is left as it was.

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
    # Serialized whole before the file is touched; then written atomically.
    text = json.dumps(document) + "\n"
    with atomic_write(path) as file:
        file.write(text)


def _read_document(path):
    size = os.stat(path).st_size
    if size > MAX_FILE_BYTES:
        raise ModelFormatError(
            f"{path} is {size} bytes, above the {MAX_FILE_BYTES} bytes this fastlr reads as a model file "
            "(fastlr.model_io.MAX_FILE_BYTES)"
        )
    with open(path, encoding="utf-8") as file:
        try:
            document = json.load(file)
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
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
    Everything in the file is checked first (see the module docstring).

    Raises
    ------
    OSError
        The file cannot be read.
    ModelFormatError
        The file is not a fastlr model file of a version this fastlr reads, or
        it is damaged: the message names the field.
    """
    document = _read_document(path)
    try:
        params = document["params"]
        if not isinstance(params, dict):
            raise _Damaged("params: expected an object")
        unknown = sorted(set(params) - set(LogisticRegression().get_params()))
        if unknown:
            raise _Damaged(f"params: unknown parameters {unknown}")
        model = LogisticRegression(**{name: _param_from_json(value) for name, value in params.items()})
        model._validate_params()  # scikit-learn's constraints, as at fit
        fitted = _checked_fitted(document["fitted"])
    except KeyError as exc:
        raise ModelFormatError(f"{path} is a damaged fastlr model file (no field {exc})") from None
    except (_Damaged, TypeError, ValueError, OverflowError) as exc:
        raise ModelFormatError(f"{path} is a damaged fastlr model file ({_one_line(exc)})") from None
    model.__dict__.update(fitted)
    return model


def _one_line(exc):
    return " ".join(str(exc).split()) or type(exc).__name__
