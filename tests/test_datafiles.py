"""fastlr.datafiles: CSV (with and without pandas), .npz and .npy into arrays."""

import sys

import numpy as np
import pytest

from fastlr.datafiles import DataError, read_table

CSV = "a,b,label\n1.5,2,spam\n-3,4e-1,ham\n5,6,spam\n"


@pytest.fixture(params=["pandas", "stdlib"])
def csv_reader(request, monkeypatch):
    """Run each test with pandas and with the csv-module fallback."""
    if request.param == "stdlib":
        monkeypatch.setitem(sys.modules, "pandas", None)  # `import pandas` now raises ImportError
    return request.param


def test_csv_reads_features_labels_and_names(csv_reader, tmp_path):
    path = tmp_path / "data.csv"
    path.write_text(CSV)
    table = read_table(path, target="label")
    np.testing.assert_array_equal(table.X, [[1.5, 2.0], [-3.0, 0.4], [5.0, 6.0]])
    assert table.X.dtype == np.float64
    assert list(table.y) == ["spam", "ham", "spam"]
    assert table.feature_names == ["a", "b"]


def test_csv_columns_are_chosen_by_name(csv_reader, tmp_path):
    path = tmp_path / "data.csv"
    path.write_text(CSV)
    table = read_table(path, feature_names=["b", "a"])
    np.testing.assert_array_equal(table.X[:, 0], [2.0, 0.4, 6.0])
    assert table.y is None
    with pytest.raises(DataError, match="lacks the feature columns c"):
        read_table(path, feature_names=["a", "c"])


def test_integral_float_labels_become_integers(csv_reader, tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("a,label\n1,1.0\n2,0.0\n")
    table = read_table(path, target="label")
    assert table.y.dtype.kind == "i" and list(table.y) == [1, 0]


@pytest.mark.parametrize(
    "content, target, message",
    [
        ("a,b,label\n1,,x\n2,3,y\n", "label", r"column 'b' has 1 missing or infinite values \(first in data row 1\)"),
        ("a,b,label\n1,2,x\n2,oops,y\n", "label", r"column 'b' is not numeric \(data row 2: 'oops'\)"),
        ("a,b,label\n1,2,x\n2,3,\n", "label", r"target column 'label' has 1 missing labels \(first in data row 2\)"),
        ("a,b,label\n1,2,x\n", "nope", "has no column 'nope'; its columns are a, b, label"),
        ("a,b,label\n", "label", "no data rows"),
        ("label\nx\ny\n", "label", "no feature columns"),
    ],
    ids=["nan", "non-numeric", "missing-label", "no-target", "no-rows", "no-features"],
)
def test_csv_problems_name_column_and_row(csv_reader, content, target, message, tmp_path):
    path = tmp_path / "data.csv"
    path.write_text(content)
    with pytest.raises(DataError, match=message):
        read_table(path, target=target)


def test_labels_are_required_for_fitting(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text(CSV)
    with pytest.raises(DataError, match="--target"):
        read_table(path, labelled=True)


def test_npy_target_is_a_column_index(tmp_path):
    array = np.array([[1.0, 2.0, 0.0], [3.0, 4.0, 1.0], [5.0, 6.0, 1.0]])
    np.save(tmp_path / "data.npy", array)
    table = read_table(tmp_path / "data.npy", target="-1")
    np.testing.assert_array_equal(table.X, array[:, :2])
    np.testing.assert_array_equal(table.y, [0, 1, 1])
    assert table.feature_names is None
    table = read_table(tmp_path / "data.npy", target="0")
    np.testing.assert_array_equal(table.X, array[:, 1:])
    with pytest.raises(DataError, match="column index, got 'label'"):
        read_table(tmp_path / "data.npy", target="label")


def test_npz_labels_default_to_y_or_a_named_array(tmp_path):
    X = np.arange(6.0).reshape(3, 2)
    np.savez(tmp_path / "data.npz", X=X, y=np.array([0, 1, 0]), names=np.array(["a", "b", "a"]))
    np.testing.assert_array_equal(read_table(tmp_path / "data.npz", labelled=True).y, [0, 1, 0])
    assert list(read_table(tmp_path / "data.npz", target="names").y) == ["a", "b", "a"]
    assert read_table(tmp_path / "data.npz").y is None
    with pytest.raises(DataError, match="has no array z; its arrays are X, y, names"):
        read_table(tmp_path / "data.npz", target="z")


def test_numpy_files_with_nan_or_objects_are_rejected(tmp_path):
    np.save(tmp_path / "nan.npy", np.array([[1.0, np.nan, 0.0], [1.0, 2.0, 1.0]]))
    with pytest.raises(DataError, match="column 1 has 1 missing or infinite values"):
        read_table(tmp_path / "nan.npy", target="-1")
    np.save(tmp_path / "objects.npy", np.array([[1, "a"]], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="not a NumPy file of numbers or strings"):
        read_table(tmp_path / "objects.npy", target="0")


def test_unknown_file_types_are_named(tmp_path):
    with pytest.raises(DataError, match="unknown file type '.txt'; fastlr reads .csv, .npz, .npy"):
        read_table(tmp_path / "data.txt")
