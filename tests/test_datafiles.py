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


# -- both CSV readers read the same table ------------------------------------------------
AGREEMENT = {
    "byte-order-mark": "\ufeffa,b,label\n1,2,x\n3,4,y\n",
    "true-false": "a,flag,label\n1,True,False\n2,false,TRUE\n3,FALSE,True\n",
    "integers-beyond-int64": "a,big,label\n1,18446744073709551617,0\n2,9223372036854775808,1\n",
    "missing-words": "a,b,label\n1,NA,x\n2,3,y\n",
    "blank-lines-and-quotes": 'a,b,label\n\n"1",2,"x y"\n\n3,"4.5",z\n',
    "integral-float-labels": "a,label\n1,1.0\n2,0.0\n3,1.0\n",
    "numbers-and-words-in-labels": "a,label\n1,1\n2,two\n3,1\n",
    "underscores-are-not-digits": "a,label\n1_000,1\n2,0\n",
}


def _read_with(reader, monkeypatch, path, **kwargs):
    with monkeypatch.context() as patch:
        if reader == "stdlib":
            patch.setitem(sys.modules, "pandas", None)
        try:
            return read_table(path, **kwargs)
        except DataError as exc:
            return str(exc)


@pytest.mark.parametrize("case", AGREEMENT)
def test_pandas_and_the_csv_module_read_the_same_table(case, tmp_path, monkeypatch):
    pytest.importorskip("pandas")
    path = tmp_path / "data.csv"
    path.write_text(AGREEMENT[case], encoding="utf-8")
    by_pandas = _read_with("pandas", monkeypatch, path, target="label")
    by_stdlib = _read_with("stdlib", monkeypatch, path, target="label")
    if isinstance(by_pandas, str) or isinstance(by_stdlib, str):
        assert by_pandas == by_stdlib  # the same error, or a table on one side only
        return
    assert by_pandas.feature_names == by_stdlib.feature_names
    np.testing.assert_array_equal(by_pandas.X, by_stdlib.X)
    assert by_pandas.y.dtype.kind == by_stdlib.y.dtype.kind
    np.testing.assert_array_equal(by_pandas.y, by_stdlib.y)


def test_what_both_readers_make_of_the_tricky_cells(tmp_path, csv_reader):
    path = tmp_path / "data.csv"
    path.write_text(AGREEMENT["byte-order-mark"], encoding="utf-8")
    assert read_table(path, target="label").feature_names == ["a", "b"]  # no '\ufeffa'
    path.write_text(AGREEMENT["true-false"])
    table = read_table(path, target="label")
    np.testing.assert_array_equal(table.X[:, 1], [1.0, 0.0, 0.0])
    assert table.y.dtype == bool and list(table.y) == [False, True, True]
    path.write_text(AGREEMENT["integers-beyond-int64"])
    np.testing.assert_array_equal(read_table(path, target="label").X[:, 1], [2.0**64 + 1, 2.0**63])
    path.write_text(AGREEMENT["missing-words"])
    with pytest.raises(DataError, match="column 'b' has 1 missing"):
        read_table(path, target="label")
    path.write_text(AGREEMENT["underscores-are-not-digits"])
    with pytest.raises(DataError, match="column 'a' is not numeric .data row 1: '1_000'"):
        read_table(path, target="label")


def test_a_repeated_header_name_is_an_error_for_both_readers(csv_reader, tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("a,a,label\n1,2,x\n")
    with pytest.raises(DataError, match="repeats column names: a"):
        read_table(path, target="label")


def test_blocks_give_the_file_and_errors_name_the_row_of_the_file(csv_reader, tmp_path, monkeypatch):
    from fastlr import datafiles

    rng = np.random.default_rng(0)
    values = rng.standard_normal((9, 3))
    path = tmp_path / "data.csv"
    path.write_text("a,b,c,label\n" + "".join(",".join(map(repr, r.tolist())) + f",{i % 2}\n" for i, r in enumerate(values)))
    whole = read_table(path, target="label")
    monkeypatch.setattr(datafiles, "CSV_BLOCK_ROWS", 2)
    blocked = read_table(path, target="label")
    np.testing.assert_array_equal(blocked.X, values)
    np.testing.assert_array_equal(blocked.X, whole.X)
    np.testing.assert_array_equal(blocked.y, np.arange(9) % 2)
    lines = path.read_text().splitlines()
    lines[7] = "1,oops,3,0"  # data row 7, in the fourth block
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"column 'b' is not numeric \(data row 7: 'oops'\)"):
        read_table(path, target="label")


def test_reading_a_csv_holds_about_two_copies_of_X(csv_reader, tmp_path):
    import tracemalloc

    rng = np.random.default_rng(1)
    values = rng.standard_normal((40_000, 10))
    path = tmp_path / "data.csv"
    np.savetxt(path, np.column_stack([values, values[:, 0] > 0]), delimiter=",", fmt="%.17g",
               header=",".join([f"f{j}" for j in range(10)] + ["label"]), comments="")
    tracemalloc.start()
    try:
        table = read_table(path, target="label")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_allclose(table.X, values)
    # The whole file as Python strings would be ~30x X; blocks keep it to X, its blocks and one block's cells.
    assert peak < 3.5 * table.X.nbytes + 40e6, peak / table.X.nbytes


def test_columns_chosen_or_dropped_by_name(csv_reader, tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("id,a,b,label\n7,1,2,x\n8,3,4,y\n")
    table = read_table(path, target="label", drop=["id"])
    assert table.feature_names == ["a", "b"]
    np.testing.assert_array_equal(table.X, [[1, 2], [3, 4]])
    assert read_table(path, target="label", feature_names=["b"]).feature_names == ["b"]
    with pytest.raises(DataError, match="has no column 'ID'"):
        read_table(path, target="label", drop=["ID"])
    with pytest.raises(DataError, match="target column 'label' cannot also be a feature"):
        read_table(path, target="label", feature_names=["a", "label"])
    with pytest.raises(DataError, match="no feature columns"):
        read_table(path, target="label", drop=["id", "a", "b"])
    np.save(tmp_path / "data.npy", np.eye(3))
    with pytest.raises(DataError, match="chosen by name only in CSV files"):
        read_table(tmp_path / "data.npy", target="-1", drop=["a"])


# -- damaged and hostile NumPy files ---------------------------------------------------------
def test_truncated_numpy_files_are_data_errors(tmp_path):
    X = np.random.default_rng(0).standard_normal((200, 4))
    np.savez_compressed(tmp_path / "full.npz", X=X, y=X[:, 0] > 0)
    np.save(tmp_path / "full.npy", np.column_stack([X, X[:, 0] > 0]))
    for name in ("full.npz", "full.npy"):
        content = (tmp_path / name).read_bytes()
        for cut in (10, len(content) // 2, len(content) - 5):
            truncated = tmp_path / f"cut{cut}{name[-4:]}"
            truncated.write_bytes(content[:cut])
            with pytest.raises(DataError, match="damaged or truncated"):
                read_table(truncated, labelled=name.endswith(".npz"), target=None if name.endswith(".npz") else "-1")


def test_bytes_labels_are_read_as_text(tmp_path):
    np.savez(tmp_path / "data.npz", X=np.eye(4), y=np.array([b"ham", b"spam", b"ham", b"spam"]))
    table = read_table(tmp_path / "data.npz", labelled=True)
    assert table.y.dtype.kind == "U" and list(table.y) == ["ham", "spam", "ham", "spam"]
    np.savez(tmp_path / "latin.npz", X=np.eye(2), y=np.array([b"\xe9", b"a"]))
    with pytest.raises(DataError, match="not UTF-8 text"):
        read_table(tmp_path / "latin.npz", labelled=True)


def test_an_npz_that_would_expand_beyond_memory_is_refused_before_decompressing(tmp_path, monkeypatch):
    from fastlr import datafiles

    np.savez_compressed(tmp_path / "zeros.npz", X=np.zeros((2000, 500)), y=np.arange(2000) % 2)
    assert (tmp_path / "zeros.npz").stat().st_size < 100_000  # 8 MB of zeros compress to almost nothing
    monkeypatch.setattr(datafiles, "MAX_EXPANDED_BYTES", 4_000_000)
    monkeypatch.setattr(np.lib.npyio.NpzFile, "__getitem__", lambda self, key: pytest.fail("decompressed"))
    with pytest.raises(DataError, match="array 'X' expands to 8 MB, more than the 4 MB"):
        read_table(tmp_path / "zeros.npz", labelled=True)
