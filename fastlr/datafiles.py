"""Read the data files of the command line: CSV with a header, .npz, .npy and svmlight.

svmlight / libsvm text files (``label index:value ...``, the format of
LIBLINEAR and the classic text benchmarks) and ``.npz`` files written by
``scipy.sparse.save_npz`` are read into a sparse CSR X, never densified.

CSV is read with pandas when it is installed (its C parser is fast) and with
the standard library's ``csv`` module otherwise: pandas is only in the
``[dev]`` extra, and ``fastlr fit data.csv`` must work without it. Both
readers type the cells by the same rules (pandas' own): integers, then
floats, ``True``/``False`` as booleans, pandas' missing-value words (``NA``,
``null``, an empty cell, ...) as missing, a UTF-8 byte-order mark ignored,
integers beyond int64 read as floats; so everything after reading is shared
and both give the same table.

Both read a CSV in blocks of :data:`CSV_BLOCK_ROWS` rows and keep only the
chosen columns of each block as float64, so the peak memory of reading is
about twice the final X (the blocks, then X), not several copies of the file.
A ``.npz`` member is refused before it is decompressed when it would expand
beyond the memory available (:data:`MAX_EXPANDED_BYTES`).

Every problem with a file (a missing column, a cell that is not a number, a
missing value, a damaged or truncated file) raises :class:`DataError` with a
message naming the file, the column and the row: the command line prints it
as one line.
"""

import csv
import itertools
import os
import zipfile
import zlib
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
from scipy import sparse

from fastlr import memory

#: Rows per block when reading a CSV file.
CSV_BLOCK_ROWS = 65_536
#: pandas' default missing-value words (``pandas._libs.parsers.STR_NA_VALUES``),
#: used by the standard-library reader too.
NA_STRINGS = frozenset({
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>",
    "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
})
#: pandas' default words for booleans.
BOOLEAN_WORDS = {"True": True, "TRUE": True, "true": True, "False": False, "FALSE": False, "false": False}
#: The most bytes one .npz member may expand to; None: the memory available now.
MAX_EXPANDED_BYTES = None


class DataError(ValueError):
    """A data file that cannot be used as it is; the message says where and why."""


@dataclass
class Table:
    """What a data file holds, ready for the estimator.

    X : ndarray or scipy.sparse CSR matrix of shape (n_samples, n_features), float64, finite
    y : ndarray of shape (n_samples,) or None
        Labels (numbers, booleans or strings), None when no target was asked for.
    feature_names : list of str or None
        Names of the columns of X; None for unnamed arrays (.npy, .npz).
    """

    X: np.ndarray
    y: Optional[np.ndarray]
    feature_names: Optional[list]


def read_table(path, target=None, feature_names=None, labelled=False, drop=None, n_features=None):
    """Read ``path`` into a :class:`Table`.

    Parameters
    ----------
    path : str or path-like
        ``.csv`` (with a header row), ``.npz`` (arrays ``X`` and ``y``, or ``X``
        and the array named by ``target``; or a ``scipy.sparse.save_npz`` matrix,
        without labels), ``.npy`` (a 2-D numeric array) or svmlight/libsvm
        (``.svm``, ``.svmlight``, ``.libsvm``; labels in the first column).
    target : str or None
        The label column: a column name for CSV, an array name for .npz, a
        column index for .npy (``-1`` is the last). None: no labels (``y`` is
        None), unless ``labelled``.
    feature_names : sequence of str or None
        For CSV: take exactly these columns, in this order, as X (the columns a
        model was fitted on, or ``fastlr fit --features``); others are ignored.
        None: every column but the target and ``drop``.
    labelled : bool
        Labels are required: without ``target``, the reader's default (``y``
        for .npz) or a :class:`DataError`.
    drop : sequence of str or None
        For CSV: columns that are not features (an id column, say).
    n_features : int or None
        For sparse files: the width X must have (a model's ``n_features_in_``);
        svmlight files, which omit trailing zero columns, are widened to it.

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
    if labelled and target is None and not reader.labels_inside:
        target = reader.default_target
        if target is None:
            raise DataError(f"{path}: name the column that holds the labels (fastlr fit --target COLUMN)")
    if (feature_names is not None or drop) and not reader.named_columns:
        raise DataError(f"{path}: columns are chosen by name only in CSV files; {suffix} columns have no names")
    table = reader.read(path, target, feature_names, list(drop or ()))
    if n_features is not None and sparse.issparse(table.X) and table.X.shape[1] < n_features:
        # svmlight leaves out trailing all-zero columns: the model's width, as zeros.
        table.X.resize((table.X.shape[0], n_features))
    return table


# -- CSV ----------------------------------------------------------------------
def _plain(cell):
    """Python reads '1_000' and non-ASCII digits as numbers; pandas (and most tools) do not."""
    if "_" in cell or not cell.isascii():
        raise ValueError(cell)
    return cell


def _integers(cells):
    values = [int(_plain(cell)) for cell in cells]
    try:
        return np.array(values, dtype=np.int64)
    except OverflowError:  # beyond int64: pandas reads these as numbers too, so float64
        return np.array(values, dtype=np.float64)


def _floats(cells):
    return np.array([np.nan if cell.strip() in NA_STRINGS else float(_plain(cell)) for cell in cells])


def _booleans(cells):
    return np.array([BOOLEAN_WORDS[cell] for cell in cells], dtype=bool)


def _parse_cells(cells):
    """A column of CSV strings typed as pandas types it: int64, float64 (missing
    cells NaN), bool, or, when no rule fits every cell, an object array of the
    strings (missing cells NaN)."""
    for parse in (_integers, _floats, _booleans):
        try:
            return parse(cells)
        except (ValueError, KeyError):
            pass
    return np.array([np.nan if cell.strip() in NA_STRINGS else cell for cell in cells], dtype=object)


def _header(path):
    """The column names of a CSV file, read with the csv module (a byte-order mark dropped)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as file:
            header = next((row for row in csv.reader(file) if row), None)
    except UnicodeDecodeError as exc:
        raise DataError(f"{path} is not a UTF-8 CSV file: {exc}") from None
    except csv.Error as exc:
        raise DataError(f"{path} is not a CSV file with a header: {exc}") from None
    if header is None:
        raise DataError(f"{path} is empty; a header row with column names is needed")
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise DataError(f"{path}: the header repeats column names: {', '.join(repeated)}")
    return header


def _csv_blocks_stdlib(path, header):
    """Blocks of rows as {column name: 1-D array}, typed by :func:`_parse_cells`."""
    with open(path, newline="", encoding="utf-8-sig") as file:
        rows = (row for row in csv.reader(file) if row)  # pandas skips blank lines too
        next(rows)
        number = 0
        while True:
            block = list(itertools.islice(rows, CSV_BLOCK_ROWS))
            if not block:
                return
            for row in block:
                number += 1
                if len(row) != len(header):
                    raise DataError(f"{path}: data row {number} has {len(row)} fields, the header has {len(header)}")
            yield {name: _parse_cells([row[j] for row in block]) for j, name in enumerate(header)}


def _csv_blocks_pandas(pandas, path, header):
    try:
        for frame in pandas.read_csv(path, chunksize=CSV_BLOCK_ROWS, names=header, header=0):
            yield {name: frame[name].to_numpy() for name in header}
    except (pandas.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} is not a CSV file with a header: {' '.join(str(exc).split())}") from None


def _csv_blocks(path, header):
    try:
        import pandas
    except ImportError:
        return _csv_blocks_stdlib(path, header)
    return _csv_blocks_pandas(pandas, path, header)


def _read_csv(path, target, feature_names, drop):
    header = _header(path)
    unknown = [name for name in ([] if target is None else [target]) + drop if name not in header]
    if unknown:
        raise DataError(f"{path} has no column {', '.join(map(repr, unknown))}; its columns are {', '.join(header)}")
    if feature_names is not None:
        names = list(feature_names)
        missing = [name for name in names if name not in header]
        if missing:
            raise DataError(f"{path} lacks the feature columns {', '.join(missing)}")
        if target in names:
            raise DataError(f"{path}: the target column {target!r} cannot also be a feature")
    else:
        names = [name for name in header if name != target and name not in drop]
    if not names:
        raise DataError(f"{path} has no feature columns besides the target {target!r} and those dropped")
    X_blocks, y_blocks, first_row = [], [], 1
    for block in _csv_blocks(path, header):
        rows = len(block[header[0]])
        if rows == 0:
            continue
        X_blocks.append(np.column_stack([_numeric(path, f"column {name!r}", block[name], first_row) for name in names]))
        if target is not None:
            y_blocks.append(block[target])
        first_row += rows
    if not X_blocks:
        raise DataError(f"{path} has a header but no data rows")
    X = np.concatenate(X_blocks)
    del X_blocks
    y = None if target is None else _labels(path, f"target column {target!r}", _joined(y_blocks))
    return Table(X, y, names)


def _joined(blocks):
    """Blocks of labels as one array; blocks typed differently (numbers in one,
    words in another) become an object array, as pandas reads such a column."""
    if len({block.dtype.kind for block in blocks}) > 1 and any(block.dtype.kind == "O" for block in blocks):
        return np.concatenate([block.astype(object) for block in blocks])
    return np.concatenate(blocks)


# -- NumPy files --------------------------------------------------------------
#: What a damaged or truncated NumPy file raises while it is read.
_DAMAGED_FILE = (ValueError, EOFError, zipfile.BadZipFile, zlib.error)


def _load_array_file(path):
    try:
        return np.load(path, allow_pickle=False)  # a pickle inside could run code
    except _DAMAGED_FILE as exc:
        raise DataError(f"{path} is not a NumPy file of numbers or strings (damaged or truncated?): {exc}") from None


def _member(path, arrays, name):
    """Array ``name`` of an open .npz, after checking what it expands to against the memory limit."""
    limit = MAX_EXPANDED_BYTES if MAX_EXPANDED_BYTES is not None else memory.available_bytes()
    try:
        expanded = arrays.zip.getinfo(f"{name}.npy").file_size
    except KeyError:
        expanded = 0
    if limit is not None and expanded > limit:
        raise DataError(
            f"{path}: array {name!r} expands to {memory.describe(expanded)}, more than the {memory.describe(limit)} "
            "of memory available; save X uncompressed (.npy) and fit it in chunks (fastlr.distributed.from_npy)"
        )
    try:
        return arrays[name]
    except _DAMAGED_FILE as exc:
        raise DataError(f"{path}: array {name!r} cannot be read (damaged or truncated?): {exc}") from None


def _matrix(path, what, array):
    if array.ndim != 2 or 0 in array.shape:
        raise DataError(f"{path}: {what} must be a non-empty 2-D array, got shape {array.shape}")
    if array.dtype.kind not in "biuf":
        raise DataError(f"{path}: {what} must hold numbers, got dtype {array.dtype}")
    return np.column_stack([_numeric(path, f"{what} column {j}", array[:, j]) for j in range(array.shape[1])])


def _read_npy(path, target, feature_names, drop):
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


#: The members of an .npz written by ``scipy.sparse.save_npz`` (CSR, CSC or COO).
SPARSE_NPZ_MEMBERS = frozenset({"format", "shape", "data"})


def _read_sparse_npz(path, arrays, target):
    """A ``scipy.sparse.save_npz`` file: X as CSR; it holds no labels."""
    if target is not None:
        raise DataError(
            f"{path} is a scipy.sparse matrix (scipy.sparse.save_npz) and holds no labels ({target!r}): to fit from "
            "the command line, write X and y to an svmlight file (sklearn.datasets.dump_svmlight_file)"
        )
    for name in arrays.files:
        _member(path, arrays, name)  # each member's expanded size checked before it is loaded
    try:
        X = sparse.load_npz(path).tocsr()
    except (*_DAMAGED_FILE, KeyError, TypeError) as exc:
        raise DataError(f"{path}: not a readable scipy.sparse matrix (damaged or truncated?): {exc}") from None
    return Table(_sparse_matrix(path, X), None, None)


def _sparse_matrix(path, X):
    if 0 in X.shape:
        raise DataError(f"{path}: X must be non-empty, got shape {X.shape}")
    X = X.astype(np.float64)
    bad = ~np.isfinite(X.data)
    if bad.any():
        raise DataError(f"{path}: X has {int(bad.sum())} missing or infinite stored values; fill or drop them first")
    return X


def _read_svmlight(path, target, feature_names, drop):
    """An svmlight / libsvm file: labels in its first column, X as CSR (int64 indices where needed)."""
    from sklearn.datasets import load_svmlight_file

    if target is not None:
        raise DataError(f"{path}: an svmlight file keeps its labels in its first column; do not name a --target")
    try:
        X, y = load_svmlight_file(path)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} is not an svmlight/libsvm file (label index:value ...): {exc}") from None
    return Table(_sparse_matrix(path, X), _labels(path, "the labels", y), None)


def _read_npz(path, target, feature_names, drop):
    arrays = _load_array_file(path)
    if not isinstance(arrays, np.lib.npyio.NpzFile):
        raise DataError(f"{path} holds a single array, not an .npz archive of named arrays")
    if SPARSE_NPZ_MEMBERS <= set(arrays.files) and "X" not in arrays.files:
        with arrays:
            return _read_sparse_npz(path, arrays, target)
    with arrays:
        wanted = ["X"] if target is None else ["X", target]
        missing = [key for key in wanted if key not in arrays.files]
        if missing:
            raise DataError(f"{path} has no array {', '.join(missing)}; its arrays are {', '.join(arrays.files)}")
        X = _matrix(path, "X", _member(path, arrays, "X"))
        y = None if target is None else _labels(path, f"array {target!r}", _member(path, arrays, target))
    if y is not None and y.shape != (X.shape[0],):
        raise DataError(f"{path}: {target!r} has shape {y.shape}, expected ({X.shape[0]},), one label per row of X")
    return Table(X, y, None)


@dataclass(frozen=True)
class Reader:
    read: Callable  # (path, target, feature_names, drop) -> Table
    default_target: Optional[str]  # the labels when none are named, for fitting
    named_columns: bool  # columns can be chosen by name (--features, --drop)
    labels_inside: bool = False  # the format has its own label column (svmlight)


READERS = {
    ".csv": Reader(_read_csv, None, True),
    ".npz": Reader(_read_npz, "y", False),
    ".npy": Reader(_read_npy, None, False),
    **{suffix: Reader(_read_svmlight, None, False, labels_inside=True) for suffix in (".svm", ".svmlight", ".libsvm")},
}


# -- shared checks --------------------------------------------------------------
def _numeric(path, what, values, first_row=1):
    """``values`` as finite float64, or a :class:`DataError` naming the first bad row
    (``first_row`` is the data row number of ``values[0]``)."""
    if values.dtype.kind not in "biuf":
        numbers = np.empty(len(values))
        for row, value in enumerate(values.tolist()):
            try:
                numbers[row] = float(_plain(value) if isinstance(value, str) else value)
            except (TypeError, ValueError):
                raise DataError(f"{path}: {what} is not numeric (data row {row + first_row}: {value!r})") from None
        values = numbers
    values = values.astype(np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        raise DataError(
            f"{path}: {what} has {int(bad.sum())} missing or infinite values (first in data row "
            f"{int(bad.argmax()) + first_row}); fill or drop them first"
        )
    return values


def _labels(path, what, values):
    """Class labels; labels stored as floats with integral values (0.0, 1.0, as
    in any .npy matrix) become integers, so predictions print as ``1``, not ``1.0``;
    bytes (a NumPy ``S`` array) become text."""
    if values.ndim != 1:
        raise DataError(f"{path}: {what} must be 1-D, got shape {values.shape}")
    if values.dtype.kind == "S":
        try:
            values = np.char.decode(values, "utf-8")
        except UnicodeDecodeError:
            raise DataError(f"{path}: {what} holds bytes that are not UTF-8 text") from None
    if values.dtype.kind not in "biufUO":
        raise DataError(f"{path}: {what} must hold numbers, booleans or text, got dtype {values.dtype}")
    if values.dtype.kind == "f":
        missing = np.isnan(values)
    elif values.dtype.kind == "O":
        missing = np.array([isinstance(v, float) and np.isnan(v) for v in values.tolist()], dtype=bool)
    else:
        missing = np.zeros(len(values), dtype=bool)
    if missing.any():
        raise DataError(
            f"{path}: {what} has {int(missing.sum())} missing labels (first in data row {int(missing.argmax()) + 1})"
        )
    if values.dtype.kind == "f" and np.all(values == np.round(values)):
        return values.astype(np.int64)
    if values.dtype.kind == "O" and len({type(v) for v in values.tolist()}) > 1:
        # Numbers and words in one column: as text, so that the classes can be sorted.
        return values.astype(str)
    return values
