"""Read the data files of the command line: CSV with a header, .npz and .npy.

CSV is read with pandas when it is installed (its C parser is fast) and with
the standard library's ``csv`` module otherwise: pandas is only in the
``[dev]`` extra, and ``fastlr fit data.csv`` must work without it. Both paths
produce the same columns, so everything after reading is shared.

Every problem with a file (a missing column, a cell that is not a number, a
missing value) raises :class:`DataError` with a message naming the file, the
column and the row: the command line prints it as one line.
"""

import csv
import os
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np


class DataError(ValueError):
    """A data file that cannot be used as it is; the message says where and why."""


@dataclass
class Table:
    """What a data file holds, ready for the estimator.

    X : ndarray of shape (n_samples, n_features), float64, finite
    y : ndarray of shape (n_samples,) or None
        Labels (numbers or strings), None when no target was asked for.
    feature_names : list of str or None
        Names of the columns of X; None for unnamed arrays (.npy, .npz).
    """

    X: np.ndarray
    y: Optional[np.ndarray]
    feature_names: Optional[list]


def read_table(path, target=None, feature_names=None, labelled=False):
    """Read ``path`` into a :class:`Table`.

    Parameters
    ----------
    path : str or path-like
        ``.csv`` (with a header row), ``.npz`` (arrays ``X`` and ``y``, or ``X``
        and the array named by ``target``) or ``.npy`` (a 2-D numeric array).
    target : str or None
        The label column: a column name for CSV, an array name for .npz, a
        column index for .npy (``-1`` is the last). None: no labels (``y`` is
        None), unless ``labelled``.
    feature_names : sequence of str or None
        For CSV: take exactly these columns, in this order, as X (the columns a
        model was fitted on; others, such as the target, are ignored). None: every
        column but the target.

    Raises
    ------
    OSError
        The file cannot be opened.
    DataError
        Anything wrong with its content.
    """
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in READERS:
        raise DataError(f"{path}: unknown file type {suffix or '(none)'!r}; fastlr reads {', '.join(READERS)}")
    reader = READERS[suffix]
    if labelled and target is None:
        target = reader.default_target
        if target is None:
            raise DataError(f"{path}: name the column that holds the labels (fastlr fit --target COLUMN)")
    return reader.read(path, target, feature_names)


# -- CSV ----------------------------------------------------------------------
def _parse_cells(cells):
    """A column of CSV strings as pandas would type it: int64, float64 (empty
    cells NaN) or, when any cell is not a number, an object array."""
    try:
        return np.array([int(cell) for cell in cells], dtype=np.int64)
    except ValueError:
        pass
    try:
        return np.array([float(cell) if cell.strip() else np.nan for cell in cells])
    except ValueError:
        return np.array([cell if cell.strip() else np.nan for cell in cells], dtype=object)


def _csv_columns_stdlib(path):
    with open(path, newline="", encoding="utf-8") as file:
        rows = [row for row in csv.reader(file) if row]  # pandas skips blank lines too
    if not rows:
        raise DataError(f"{path} is empty; a header row with column names is needed")
    header, data = rows[0], rows[1:]
    for number, row in enumerate(data, start=1):
        if len(row) != len(header):
            raise DataError(f"{path}: data row {number} has {len(row)} fields, the header has {len(header)}")
    if len(set(header)) != len(header):
        raise DataError(f"{path}: the header repeats column names: {header}")
    return {name: _parse_cells([row[j] for row in data]) for j, name in enumerate(header)}


def _csv_columns(path):
    """Column name to 1-D array, in file order."""
    try:
        import pandas
    except ImportError:
        return _csv_columns_stdlib(path)
    try:
        frame = pandas.read_csv(path)
    except (pandas.errors.ParserError, pandas.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} is not a CSV file with a header: {' '.join(str(exc).split())}") from None
    return {str(name): frame[name].to_numpy() for name in frame.columns}


def _read_csv(path, target, feature_names):
    columns = _csv_columns(path)
    n_rows = len(next(iter(columns.values())))
    if n_rows == 0:
        raise DataError(f"{path} has a header but no data rows")
    y = None
    if target is not None:
        if target not in columns:
            raise DataError(f"{path} has no column {target!r}; its columns are {', '.join(columns)}")
        y = _labels(path, f"target column {target!r}", columns[target])
    names = list(feature_names) if feature_names is not None else [name for name in columns if name != target]
    missing = [name for name in names if name not in columns]
    if missing:
        raise DataError(f"{path} lacks the feature columns {', '.join(missing)} that the model was fitted on")
    if not names:
        raise DataError(f"{path} has no feature columns besides the target {target!r}")
    X = np.column_stack([_numeric(path, f"column {name!r}", columns[name]) for name in names])
    return Table(X, y, names)


# -- NumPy files --------------------------------------------------------------
def _load_array_file(path):
    try:
        return np.load(path, allow_pickle=False)  # a pickle inside could run code
    except ValueError as exc:
        raise DataError(f"{path} is not a NumPy file of numbers or strings: {exc}") from None


def _matrix(path, what, array):
    if array.ndim != 2 or 0 in array.shape:
        raise DataError(f"{path}: {what} must be a non-empty 2-D array, got shape {array.shape}")
    if array.dtype.kind not in "biuf":
        raise DataError(f"{path}: {what} must hold numbers, got dtype {array.dtype}")
    return np.column_stack([_numeric(path, f"{what} column {j}", array[:, j]) for j in range(array.shape[1])])


def _read_npy(path, target, feature_names):
    array = _load_array_file(path)
    y = None
    if target is not None:
        try:
            column = int(target)
        except ValueError:
            raise DataError(f"{path}: for .npy data the target is a column index, got {target!r}") from None
        if array.ndim != 2 or not -array.shape[1] <= column < array.shape[1]:
            raise DataError(f"{path}: no column {column} in an array of shape {array.shape}")
        y = _labels(path, f"target column {column}", array[:, column])
        array = np.delete(array, column, axis=1)
    return Table(_matrix(path, "the array", array), y, None)


def _read_npz(path, target, feature_names):
    with _load_array_file(path) as arrays:
        wanted = ["X"] if target is None else ["X", target]
        missing = [key for key in wanted if key not in arrays.files]
        if missing:
            raise DataError(f"{path} has no array {', '.join(missing)}; its arrays are {', '.join(arrays.files)}")
        X = _matrix(path, "X", arrays["X"])
        y = None if target is None else _labels(path, f"array {target!r}", arrays[target])
    if y is not None and y.shape != (X.shape[0],):
        raise DataError(f"{path}: {target!r} has shape {y.shape}, expected ({X.shape[0]},), one label per row of X")
    return Table(X, y, None)


@dataclass(frozen=True)
class Reader:
    read: Callable  # (path, target, feature_names) -> Table
    default_target: Optional[str]  # the labels when none are named, for fitting


READERS = {
    ".csv": Reader(_read_csv, None),
    ".npz": Reader(_read_npz, "y"),
    ".npy": Reader(_read_npy, None),
}


# -- shared checks --------------------------------------------------------------
def _numeric(path, what, values):
    """``values`` as finite float64, or a :class:`DataError` naming the first bad row."""
    if values.dtype.kind not in "biuf":
        for row, value in enumerate(values, start=1):
            try:
                float(value)
            except (TypeError, ValueError):
                raise DataError(f"{path}: {what} is not numeric (data row {row}: {value!r})") from None
    values = values.astype(np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        raise DataError(
            f"{path}: {what} has {int(bad.sum())} missing or infinite values (first in data row "
            f"{int(bad.argmax()) + 1}); fill or drop them first"
        )
    return values


def _labels(path, what, values):
    """Class labels; labels stored as floats with integral values (0.0, 1.0, as
    in any .npy matrix) become integers, so predictions print as ``1``, not ``1.0``."""
    if values.ndim != 1:
        raise DataError(f"{path}: {what} must be 1-D, got shape {values.shape}")
    missing = np.array([isinstance(v, float) and np.isnan(v) for v in values.tolist()], dtype=bool)
    if missing.any():
        raise DataError(
            f"{path}: {what} has {int(missing.sum())} missing labels (first in data row {int(missing.argmax()) + 1})"
        )
    if values.dtype.kind == "f" and np.all(values == np.round(values)):
        return values.astype(np.int64)
    return values
