"""``fastlr bench`` (tiny sizes), the shared workloads, and the two benchmark suites run once, tiny.

No timing is asserted anywhere: times on a shared machine say nothing. The
tests check that what is written is complete and consistent with itself.
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fastlr
from fastlr import bench
from fastlr.bench import report as bench_report
from fastlr.bench import workloads
from fastlr.kernels.base import Backend

ROOT = Path(__file__).resolve().parents[1]


def parse(*argv):
    parser = argparse.ArgumentParser()
    bench.configure_parser(parser)
    return parser.parse_args(argv)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """One tiny run: both dtypes, two sizes, every operation, fastlr backends and peers."""
    output = tmp_path_factory.mktemp("bench")
    args = parse(
        "--quick", "--m", "300", "700", "--n", "4", "--dtype", "float32", "float64", "--output", str(output),
        "--backends", "python", "numpy", "numba", "numpy-two-pass", "sklearn",
    )
    assert bench.main(args) == 0
    return output, json.loads((output / "bench.json").read_text())


def test_json_has_every_case(report):
    _, document = report
    rows = document["rows"]
    cases = {(r["operation"], r["backend"], r["m"], r["dtype"]) for r in rows}
    for dtype in ("float32", "float64"):
        for m in (300, 700):
            for operation, backends in [
                ("read", list(workloads.READ_PROBES)),
                ("sigmoid", ["python", "numpy", "numba"]),
                ("gradient", ["python", "numpy", "numba", "numpy-two-pass"]),
                ("fit", ["python", "numpy", "numba", "sklearn"]),
            ]:
                assert {(operation, b, m, dtype) for b in backends} <= cases
    assert len(cases) == len(rows)
    assert document["settings"]["n"] == 4 and all(r["n"] == 4 for r in rows)
    assert {"cpu_count", "numpy", "numba"} <= set(document["machine"])


def test_bandwidth_roof_and_speedup_follow_from_the_times(report):
    rows = report[1]["rows"]
    for row in rows:
        same_size = [r for r in rows if r["m"] == row["m"] and r["dtype"] == row["dtype"]]
        reads = [r["gbps"] for r in same_size if r["operation"] == "read"]
        assert row["roof_gbps"] == pytest.approx(max(reads))
        if row["bytes_read"] is None:
            assert row["gbps"] is None and row["percent_of_roof"] is None
        else:
            assert row["gbps"] == pytest.approx(row["bytes_read"] / row["seconds"] / 1e9)
            assert row["percent_of_roof"] == pytest.approx(100 * row["gbps"] / row["roof_gbps"])
        numpy_row = [r for r in same_size if r["operation"] == row["operation"] and r["backend"] == "numpy"]
        if numpy_row:
            assert row["speedup_vs_numpy"] == pytest.approx(numpy_row[0]["seconds"] / row["seconds"])
        else:
            assert row["speedup_vs_numpy"] is None


def test_bytes_read_are_the_input_of_each_operation(report):
    itemsize = {"float32": 4, "float64": 8}
    for row in report[1]["rows"]:
        expected = {"sigmoid": row["m"], "fit": None}.get(row["operation"], row["m"] * row["n"])
        assert row["bytes_read"] == (None if expected is None else expected * itemsize[row["dtype"]])


def test_table_has_a_line_per_row_and_the_plot_is_written(report):
    output, document = report
    assert (output / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = [bench_report.Row(**r) for r in document["rows"]]
    lines = bench_report.format_table(rows).splitlines()
    assert lines[0].split() == ["operation", "backend", "dtype", "m", "time", "GB/s", "%", "roof", "vs", "numpy"]
    assert len(lines) == len(rows) + 2
    fit_line = next(line for line in lines if line.startswith("fit") and " sklearn " in line)
    assert fit_line.split()[6:8] == ["-", "-"]  # no bandwidth for a fit ("1.2 ms" is two fields)


def test_without_matplotlib_the_run_says_so(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # makes the import fail
    args = parse("--quick", "--m", "100", "--n", "3", "--operations", "sigmoid", "--backends", "numpy",
                 "--output", str(tmp_path))
    assert bench.main(args) == 0
    assert "matplotlib is not installed" in capsys.readouterr().err
    assert (tmp_path / "bench.json").exists() and not (tmp_path / "bench.png").exists()


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--backends", "nope", "unknown backend 'nope'; known: python, numpy"),
        ("--operations", "hessian", "unknown operation 'hessian'; known: sigmoid"),
        ("--m", "0", "--m and --n must be positive"),
    ],
)
def test_bad_selection_is_a_clear_error(tmp_path, capsys, option, value, message):
    assert bench.main(parse(option, value, "--quick", "--output", str(tmp_path))) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "bench.json").exists()


def test_a_capped_case_is_skipped_with_the_reason(tmp_path, capsys):
    args = parse("--quick", "--m", "20000", "--operations", "fit", "--backends", "python", "--output", str(tmp_path))
    assert bench.main(args) == 2
    err = capsys.readouterr().err
    assert "python fit is capped at m=10000" in err and "nothing can run" in err


class StandInGpu(Backend):
    """Registered as "cupy": usable or not, as the test needs."""

    def __init__(self, reason):
        self.reason = reason

    def unavailable_reason(self):
        return self.reason


@pytest.fixture
def gpu_backend():
    """gpu_backend(reason): a stand-in "cupy" backend for the test; the real entry comes back after."""

    def register(reason):
        fastlr.register_backend("cupy", StandInGpu(reason), replace=True)

    yield register
    fastlr.unregister_backend("cupy")


def test_gpu_without_a_device_is_one_line_and_a_failure(tmp_path, capsys, gpu_backend):
    gpu_backend("no CUDA device visible")
    assert bench.main(parse("--gpu", "--output", str(tmp_path))) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no usable GPU: no CUDA device visible" in err


def test_gpu_without_the_experiments_module_is_one_line_and_a_failure(tmp_path, capsys, monkeypatch, gpu_backend):
    gpu_backend(None)
    monkeypatch.setitem(sys.modules, "fastlr.bench.gpu", None)  # makes the import fail
    assert bench.main(parse("--gpu", "--output", str(tmp_path))) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "fastlr.bench.gpu is not part of this installation" in err


def test_gpu_passes_output_quick_and_sizes_on(tmp_path, monkeypatch, gpu_backend):
    gpu_backend(None)
    calls = []
    experiments = type(sys)("fastlr.bench.gpu")
    experiments.main = lambda argv: calls.append(argv) or 0
    monkeypatch.setitem(sys.modules, "fastlr.bench.gpu", experiments)
    assert bench.main(parse("--gpu", "--quick", "--m", "1000", "--output", str(tmp_path))) == 0
    assert calls == [["--output", str(tmp_path), "--quick", "--m", "1000"]]


# -- the shared workloads ----------------------------------------------------------
def test_dataset_is_seeded_and_in_the_asked_dtype():
    first, second = workloads.make_dataset(50, 3, "float32"), workloads.make_dataset(50, 3, "float32")
    for array in ("X", "y", "w", "z"):
        np.testing.assert_array_equal(getattr(first, array), getattr(second, array))
        assert getattr(first, array).dtype == np.float32
    assert set(np.unique(first.y)) <= {0.0, 1.0}
    np.testing.assert_allclose(first.z, first.X @ first.w + first.b, rtol=1e-6)


def test_numpy_two_pass_gradient_is_the_gradient():
    data = workloads.make_dataset(200, 5, "float64")
    dw, db = workloads.OPERATIONS["gradient"].bind("numpy-two-pass", data)()
    expected_dw, expected_db = fastlr.get_backend("python").gradient(data.X, data.y, data.w, data.b)
    np.testing.assert_allclose(dw, expected_dw, rtol=1e-10)
    assert db == pytest.approx(expected_db, rel=1e-10)


def test_check_runnable_says_why():
    gradient = workloads.OPERATIONS["gradient"]
    with pytest.raises(NotImplementedError, match="sklearn does not implement gradient"):
        gradient.check_runnable("sklearn", 10)
    with pytest.raises(workloads.SkipCase, match="python gradient is capped"):
        gradient.check_runnable("python", 10**6)
    gradient.check_runnable("numpy", 10**7)


# -- the suites, once, tiny (CI) -----------------------------------------------------
def _run_quick(*command):
    result = subprocess.run(
        command, cwd=ROOT, env={**os.environ, "FASTLR_BENCH_QUICK": "1"}, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]


@pytest.mark.slow
def test_pytest_benchmark_suite_runs_once_tiny():
    _run_quick(sys.executable, "-m", "pytest", "benchmarks", "--benchmark-disable", "-q", "-p", "no:cacheprovider")


@pytest.mark.slow
def test_asv_suite_passes_asv_check():
    pytest.importorskip("asv")
    _run_quick(sys.executable, "-m", "asv", "check", "--python=same")


def test_cv_path_benchmark_runs_and_the_searches_agree(tmp_path, monkeypatch):
    """benchmarks/cv_path.py at its quick shape: every search runs, each selects the same C."""
    monkeypatch.setenv("FASTLR_BENCH_QUICK", "1")
    from benchmarks import cv_path

    rows = cv_path.main(["--quick", "--repeat", "1", "--output", str(tmp_path / "cv.json")])
    assert [row["search"] for row in rows] == list(workloads.CV_SEARCHES)
    assert len({row["selected_C"] for row in rows}) == 1
    assert json.loads((tmp_path / "cv.json").read_text())["rows"][0]["times_fastlr"] == 1.0
