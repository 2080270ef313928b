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
from fastlr.bench import timing, workloads
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
    flagged = any(row.above_roof for row in rows)
    assert len(lines) == len(rows) + 2 + flagged
    assert (lines[-1] == bench_report.ABOVE_ROOF_NOTE) == flagged
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


@pytest.mark.parametrize("operation", ["softmax_cost_gradient", "softmax_hessian_product", "softmax_decision_function"])
def test_softmax_operations_compute_the_same_on_every_backend(operation):
    """The softmax workloads of ``fastlr bench`` (K = 10: gradient, Newton-CG's Hessian product,
    prediction's margins) give the python backend's values on numba-parallel and numpy, and
    the Hessian product is not the gradient (its inputs are set up as the workload says)."""
    pytest.importorskip("numba")
    data = workloads.make_dataset(300, 6, "float64")
    want = workloads.OPERATIONS[operation].bind("python", data)()
    for backend in ("numpy", "numba-parallel"):
        got = workloads.OPERATIONS[operation].bind(backend, data)()
        for value, expected in zip(got if isinstance(got, tuple) else (got,), want if isinstance(want, tuple) else (want,)):
            np.testing.assert_allclose(value, expected, rtol=1e-9, atol=1e-12)
    if operation == "softmax_hessian_product":
        gradient = workloads.OPERATIONS["softmax_cost_gradient"].bind("python", data)()[1]
        assert want[0].shape == (workloads.SOFTMAX_CLASSES, 6) and not np.allclose(want[0], gradient)


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
def test_pytest_benchmark_suite_runs_as_the_readme_says_tiny(tmp_path):
    """The README's command (its output folder does not exist yet), at tiny sizes and one round per case."""
    output = tmp_path / "out" / "bench.json"
    _run_quick(sys.executable, "-m", "pytest", "benchmarks", "--benchmark-only", "--benchmark-group-by=group",
               f"--benchmark-json={output}", "--benchmark-min-rounds=1", "--benchmark-max-time=0.001",
               "--benchmark-warmup=off", "-q", "-p", "no:cacheprovider")
    benchmarks = json.loads(output.read_text())["benchmarks"]
    groups = {entry["group"] for entry in benchmarks}
    assert {"cost_gradient m=1000 float64", "fit m=10000 float32", "read X m=1000 float64"} <= groups


@pytest.mark.slow
def test_asv_suite_passes_asv_check():
    pytest.importorskip("asv")
    _run_quick(sys.executable, "-m", "asv", "check", "--python=same")


# -- the roof: measured robustly, never exceeded without a flag ---------------------------------
def test_a_share_above_the_roof_is_always_flagged(report):
    _, document = report
    rows = [bench_report.Row(**r) for r in document["rows"]]
    table = bench_report.format_table(rows).splitlines()[2:]
    for row, line in zip(rows, table):
        if row.percent_of_roof is None:
            assert row.above_roof is None
            continue
        assert row.above_roof == (row.percent_of_roof > 100)
        share = line.split()[-2]
        assert share.endswith("!") == row.above_roof, line


def test_the_read_that_sets_the_roof_is_not_flagged_above_it():
    """The fastest probe is the roof: its share is 100 exactly, not 100.00000000000001
    (which (100 · g) / g gives at this time) and a flag."""
    data = workloads.make_dataset(500, n=3)
    seconds = 0.0008218693910759422
    roof = data.X.nbytes / seconds / 1e9
    row = bench_report.make_row("read", "X.sum()", data, seconds, data.X.nbytes, roof)
    assert row.percent_of_roof == 100 and row.above_roof is False


def test_the_roof_is_the_best_read_before_and_after_the_cases(monkeypatch):
    from fastlr.bench import command

    data = workloads.make_dataset(500, n=3)
    reads = iter([{"X @ w": 2e-3, "X.sum()": 4e-3}, {"X @ w": 3e-3, "X.sum()": 1e-3}])  # busy, then quiet
    monkeypatch.setattr(command, "measure_roof", lambda data, policy, probes: next(reads))
    monkeypatch.setattr(command, "measure", lambda thunk, policy: 0.5e-3)
    cases = [(workloads.OPERATIONS["cost"], "numpy")]

    class Progress:
        def update(self, n=1): pass
        def set_postfix_str(self, text): pass

    rows = command._measure_size(data, cases, timing.timing_policy(True), Progress())
    roof = data.X.nbytes / 1e-3 / 1e9
    assert all(row.roof_gbps == pytest.approx(roof) for row in rows)
    assert {row.backend: row.seconds for row in rows if row.operation == "read"} == {"X @ w": 2e-3, "X.sum()": 1e-3}
    cost = next(row for row in rows if row.operation == "cost")
    assert cost.percent_of_roof == pytest.approx(200) and cost.above_roof
    table = bench_report.format_table(rows)
    assert "200!" in table and table.endswith(bench_report.ABOVE_ROOF_NOTE)


def test_measure_roof_keeps_the_best_sample(monkeypatch):
    data = workloads.make_dataset(400, n=3)
    monkeypatch.setattr(timing, "samples", lambda thunk, policy: [3.0, 1.0, 2.0])
    assert set(timing.measure_roof(data, timing.timing_policy(True)).values()) == {1.0}
    assert timing.measure(lambda: None, timing.timing_policy(True)) == 2.0  # kernels: the median


# -- the picture -------------------------------------------------------------------------------
def _rows(sizes, backends=("numpy", "numba")):
    rows = []
    for m in sizes:
        data = workloads.make_dataset(m, n=2)
        for backend in backends:
            rows.append(bench_report.make_row("cost", backend, data, 1e-6 * m, data.X.nbytes, 10.0))
        rows.append(bench_report.make_row("fit", "numpy", data, 1e-5 * m, None, 10.0))
    return rows


def test_one_size_is_drawn_as_bars_with_the_roof_across_them():
    pytest.importorskip("matplotlib")
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle

    figure = bench_report.draw(_rows([1000]))
    cost, fit = figure.axes
    bars = [patch for patch in cost.patches if isinstance(patch, Rectangle)]
    assert [bar.get_height() for bar in bars] == pytest.approx([1e-3, 1e-3])
    assert [label.get_text() for label in cost.get_xticklabels()] == ["numpy", "numba"]
    roof = [line for line in cost.get_lines() if line.get_linestyle() == "--"]
    assert len(roof) == 1 and roof[0].get_ydata()[0] == pytest.approx(1000 * 2 * 8 / 10e9)
    assert not [line for line in fit.get_lines() if line.get_linestyle() == "--"]  # a fit reads no fixed bytes
    labels = [text.get_text() for text in figure.legends[0].get_texts()]
    assert labels == ["numpy", "numba", bench_report.ROOF_LABEL]


def test_several_sizes_are_drawn_as_lines_and_every_legend_entry_is_drawn():
    pytest.importorskip("matplotlib")
    figure = bench_report.draw(_rows([1000, 4000]))
    cost = figure.axes[0]
    assert cost.get_xscale() == "log" and not cost.patches
    drawn = [line for line in cost.get_lines() if len(line.get_xdata()) == 2]
    assert len(drawn) == 3  # numpy, numba and the roof, each through both sizes
    handles = figure.legends[0].legend_handles
    assert len(handles) == 3 and all(handle.get_visible() for handle in handles)


# -- the scripts behind the README's figures ----------------------------------------------------
def test_readme_figures_runs_only_the_part_asked_for(tmp_path, monkeypatch, capsys):
    from benchmarks import readme_figures

    monkeypatch.setattr(readme_figures.command, "main", lambda args: pytest.fail("the roofline grid ran"))
    monkeypatch.setattr(readme_figures, "race_to_optimum", lambda quick: [
        {"solver": "fastlr-lbfgs", "dtype": "float64", "seconds": 0.5, "relative_gap": 1e-11, "iterations": 11,
         "speedup_vs_fastest_sklearn": 2.0}])
    output = tmp_path / "new" / "figures"
    assert readme_figures.main(["time-to-optimum", "--output", str(output)]) == 0
    assert json.loads((output / "time_to_optimum.json").read_text())[0]["solver"] == "fastlr-lbfgs"
    assert "| fastlr-lbfgs | float64 | 0.500 | 11 | 1.0e-11 | 2.00 |" in capsys.readouterr().out

    ran = []
    monkeypatch.setattr(readme_figures.command, "main", lambda args: ran.append(args.output) or 0)
    monkeypatch.setattr(readme_figures, "race_to_optimum", lambda quick: pytest.fail("the race ran"))
    assert readme_figures.main(["roofline", "--output", str(output)]) == 0
    assert ran == [output]
    with pytest.raises(SystemExit):
        readme_figures.main(["bogus"])


def test_dask_out_of_core_leaves_no_files_behind(tmp_path, monkeypatch, capsys):
    pytest.importorskip("dask")
    pytest.importorskip("psutil")
    from benchmarks import dask_out_of_core

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(dask_out_of_core.tempfile, "tempdir", None)  # re-read TMPDIR
    arguments = ["--gigabytes", "0.002", "--features", "10", "--chunk-megabytes", "0.4", "--iterations", "2",
                 "--implementations", "fastlr-lbfgs"]
    row = {"implementation": "fastlr-lbfgs", "gigabytes": 0.002, "chunk_megabytes": 0.4, "peak_rss_megabytes": 300,
           "growth_megabytes": 5, "n_iter": 2, "passes": 4, "seconds": 0.1, "seconds_per_iteration": 0.05,
           "seconds_per_pass": 0.025}

    def child(command, **kwargs):  # the fit process, which test_dask covers; here only its files matter
        assert any(tmp_path.rglob("X.npy")) and command[command.index("--child") + 1] == "fastlr-lbfgs"
        return subprocess.CompletedProcess(command, returncode=0, stdout=json.dumps(row) + "\n", stderr="")

    monkeypatch.setattr(dask_out_of_core.subprocess, "run", child)
    dask_out_of_core.main(arguments)
    assert "| fastlr-lbfgs | 0.00 |" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []  # the data was written, and is gone

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(dask_out_of_core.subprocess, "run", interrupted)
    with pytest.raises(KeyboardInterrupt):
        dask_out_of_core.main(arguments)
    assert list(tmp_path.iterdir()) == []  # and removed although the run was interrupted

    kept = tmp_path / "kept"
    failed_fit = subprocess.CompletedProcess([], returncode=1, stdout="", stderr="no fit in this test")
    monkeypatch.setattr(dask_out_of_core.subprocess, "run", lambda *a, **k: failed_fit)
    dask_out_of_core.main([*arguments, "--directory", str(kept)])
    assert any(kept.rglob("X.npy"))  # a directory of your own keeps its files


def test_an_output_folder_that_cannot_be_written_ends_the_run_before_it_starts(tmp_path, capsys, monkeypatch):
    from fastlr.bench import command

    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setattr(command, "run", lambda *args: pytest.fail("measured before checking the output"))
    args = parse("--quick", "--m", "100", "--n", "3", "--operations", "cost", "--backends", "numpy",
                 "--output", str(blocked / "bench"))
    assert bench.main(args) == 2
    assert "fastlr bench: " in capsys.readouterr().err
# -- time to optimum and its peers -------------------------------------------------------
def test_time_to_optimum_race_writes_every_solver_with_its_gap(tmp_path, monkeypatch, capsys):
    """A tiny race (quick shape, one round): every solver that can run gets a row per dtype with
    a gap to scikit-learn's best near zero; scikit-learn-intelex missing is a skip with the reason."""
    monkeypatch.setenv("FASTLR_BENCH_QUICK", "1")
    monkeypatch.setitem(sys.modules, "sklearnex.linear_model", None)  # as if not installed
    solvers = ["fastlr-auto", "fastlr-newton-cg", "sklearn-lbfgs", "sklearnex-lbfgs"]
    args = parse("--time-to-optimum", "--quick", "--rounds", "1", "--dtype", "float64", "float32",
                 "--solvers", *solvers, "--output", str(tmp_path))
    assert bench.main(args) == 0
    rows = json.loads((tmp_path / "time_to_optimum.json").read_text())
    assert {(r["solver"], r["dtype"]) for r in rows} == {
        (s, d) for s in solvers[:3] for d in ("float64", "float32")
    }
    for row in rows:
        assert abs(row["relative_gap"]) < 1e-6 and row["iterations"] > 0 and row["seconds"] > 0
        assert row["speedup_vs_fastest_sklearn"] > 0
    assert "sklearnex-lbfgs: scikit-learn-intelex is not installed" in capsys.readouterr().err


def test_time_to_optimum_race_of_the_softmax(tmp_path, monkeypatch):
    """--classes 5: a 5-class problem, and every solver lands on scikit-learn's softmax
    optimum, its gap measured by the softmax objective."""
    monkeypatch.setenv("FASTLR_BENCH_QUICK", "1")
    solvers = ["fastlr-auto", "fastlr-lbfgs", "sklearn-lbfgs"]
    args = parse("--time-to-optimum", "--quick", "--rounds", "1", "--classes", "5",
                 "--solvers", *solvers, "--output", str(tmp_path))
    assert bench.main(args) == 0
    rows = json.loads((tmp_path / "time_to_optimum.json").read_text())
    assert [r["solver"] for r in rows] == solvers and all(r["classes"] == 5 for r in rows)
    assert all(abs(r["relative_gap"]) < 1e-6 and r["seconds"] > 0 for r in rows)
    X, y = bench.workloads.make_optimum_problem("float64", 5)
    assert len(np.unique(y)) == 5


def test_time_to_optimum_rejects_one_class(tmp_path, capsys):
    assert bench.main(parse("--time-to-optimum", "--classes", "1", "--output", str(tmp_path))) == 2
    assert "--classes must be at least 2" in capsys.readouterr().err


def test_time_to_optimum_rejects_unknown_solvers(tmp_path, capsys):
    assert bench.main(parse("--time-to-optimum", "--solvers", "sag", "--output", str(tmp_path))) == 2
    assert "unknown solver 'sag'" in capsys.readouterr().err


@pytest.mark.parametrize("problem", ["binary", "softmax"])
def test_torch_lbfgs_peer_fits_scikit_learns_objective(problem, breast_cancer):
    """The GPU race's torch.optim.LBFGS peer, run on CPU tensors: scikit-learn's optimum."""
    torch = pytest.importorskip("torch")
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression
    from sklearn.preprocessing import StandardScaler

    from fastlr.bench import peers
    from fastlr.bench.reference import relative_gap, sklearn_objective

    if problem == "binary":
        X, y = breast_cancer
    else:
        X, y = load_digits(return_X_y=True)
        X = StandardScaler().fit_transform(X)
    reference = SklearnLogisticRegression(tol=1e-12, max_iter=10_000).fit(X, y)
    best = sklearn_objective(X, y, reference.coef_, reference.intercept_)
    coef, intercept, iterations, evaluations = peers.torch_lbfgs(
        torch.as_tensor(X), torch.as_tensor(y), len(np.unique(y)), tol=1e-8
    )
    assert abs(relative_gap(sklearn_objective(X, y, coef, intercept), best)) < 1e-7
    assert 0 < iterations <= evaluations
def test_cv_path_benchmark_runs_and_the_searches_agree(tmp_path, monkeypatch):
    """benchmarks/cv_path.py at its quick shape: every search runs, each selects the same C."""
    monkeypatch.setenv("FASTLR_BENCH_QUICK", "1")
    from benchmarks import cv_path

    rows = cv_path.main(["--quick", "--repeat", "1", "--output", str(tmp_path / "cv.json")])
    assert [row["search"] for row in rows] == list(workloads.CV_SEARCHES)
    assert len({row["selected_C"] for row in rows}) == 1
    assert json.loads((tmp_path / "cv.json").read_text())["rows"][0]["times_fastlr"] == 1.0


def test_small_data_race_runs_every_implementation_to_the_optimum(tmp_path, monkeypatch, capsys):
    """benchmarks/small_data.py on breast cancer, one round: a row per implementation that
    installs (scikit-learn-intelex skipped with the reason when it does not), fastlr at the optimum."""
    from benchmarks import small_data

    monkeypatch.setattr(small_data, "DATASETS", {"breast_cancer": small_data.DATASETS["breast_cancer"]})
    rows = small_data.main(["--rounds", "1", "--output", str(tmp_path / "small.json")])
    names = {row["implementation"] for row in rows}
    assert {"fastlr-default", "sklearn-lbfgs", "sklearn-newton-cholesky", "sklearn-liblinear"} <= names
    fastlr_row = next(row for row in rows if row["implementation"] == "fastlr-default")
    assert abs(fastlr_row["relative_gap"]) < 1e-6 and fastlr_row["milliseconds"] > 0
    assert json.loads((tmp_path / "small.json").read_text())["rows"] == rows
    if "sklearnex-lbfgs" not in names:
        assert "sklearnex-lbfgs: scikit-learn-intelex is not installed" in capsys.readouterr().err


def test_solver_crossover_races_each_solver_and_names_autos_pick(tmp_path):
    """benchmarks/solver_crossover.py on two tiny shapes, one round: every solver and the peer
    timed, each at scikit-learn's optimum, auto's pick and the ratios from those times."""
    from benchmarks import solver_crossover

    rows = solver_crossover.main(["--rounds", "1", "--rows", "300", "--features", "5", "40",
                                  "--dtype", "float64", "--output", str(tmp_path / "crossover.json")])
    record = json.loads((tmp_path / "crossover.json").read_text())
    peers, skipped = solver_crossover.installed_peers()
    assert "sklearn-newton-cholesky" in peers and set(peers) | {n.split(":")[0] for n in skipped} == set(
        solver_crossover.PEERS)  # a peer that does not install is skipped with the reason
    assert "scikit-learn" in record["peers"] and record["skipped"] == skipped
    assert [(row["m"], row["n"]) for row in rows] == [(300, 5), (300, 40)]
    assert [row["auto"] for row in rows] == ["newton", "newton-cg"]  # 5 features: dense; 40: beyond
    for row in rows:
        assert set(row["milliseconds"]) == {*solver_crossover.SOLVERS, *peers}
        assert all(abs(gap) < 1e-6 for gap in row["relative_gap"].values()), row["relative_gap"]
        fastest = row["milliseconds"][row["fastest_fastlr"]]
        assert fastest == min(row["milliseconds"][name] for name in solver_crossover.SOLVERS)
        assert row["auto_over_fastest"] == pytest.approx(row["milliseconds"][row["auto"]] / fastest)
        fastest_peer = min(row["milliseconds"][name] for name in peers)
        assert row["fastest_peer_over_auto"] == pytest.approx(fastest_peer / row["milliseconds"][row["auto"]])
    assert record["rows"] == rows


def test_small_gemm_shapes_benchmark_times_every_shape_and_blas(tmp_path):
    """benchmarks/small_gemm_shapes.py at a tiny size: the scores for each register
    block shape and for BLAS, each timed, the record written."""
    pytest.importorskip("numba")
    from benchmarks import small_gemm_shapes
    from fastlr.kernels import numba_small_gemm

    records = small_gemm_shapes.main(["--rows", "2000", "--block", "16", "--repeats", "1",
                                      "--output", str(tmp_path / "shapes.json")])
    assert len(records) == len(numba_small_gemm.SCORE_BLOCKS) + 1 + 2  # scores per register file, the tiles, BLAS twice
    assert {record["product"] for record in records} == {"scores", "products"}
    assert sum("[host]" in record["shape"] for record in records) == 2
    assert all(record["seconds"] > 0 for record in records)
    assert json.loads((tmp_path / "shapes.json").read_text())["records"] == records


def test_cpu_kernel_roofs_benchmark_reports_every_case_against_both_roofs(tmp_path):
    """benchmarks/cpu_kernel_roofs.py at a small m: the roofs and the five passes, each
    against one X @ w of its dtype and one float64 read, and the CPU it ran on."""
    pytest.importorskip("numba")
    from benchmarks import cpu_kernel_roofs

    output = tmp_path / "roofs.json"
    assert cpu_kernel_roofs.main(["--m", "20000", "--repeats", "1", "--output", str(output)]) == 0
    record = json.loads(output.read_text())
    cases = {row["case"]: row for row in record["results"]}
    assert len(cases) == 7 and cases["float64 X @ w"]["vs_one_X_at_w"] == 1.0
    float64_roofs = [cases["float64 X @ w"], cases["float64 X.sum() threaded"]]
    assert min(row["vs_one_float64_read"] for row in float64_roofs) == 1.0  # the faster of the two
    assert all(row["seconds"] > 0 for row in cases.values()) and record["machine"]["cpu"]
    # The softmax passes also against the arithmetic roof: their flops over the GEMM's rate.
    assert set(record["gemm_gflops"]) == {"float64", "float32"} and min(record["gemm_gflops"].values()) > 0
    softmax = [row for name, row in cases.items() if "softmax" in name]
    assert len(softmax) == 2 and all(0 < row["share_of_gemm_rate"] for row in softmax)
    assert not any("share_of_gemm_rate" in row for name, row in cases.items() if "softmax" not in name)


def test_cpu_kernel_roofs_benchmark_draws_a_record_again(tmp_path):
    """--replot draws a record already written (the committed one), without measuring."""
    pytest.importorskip("matplotlib")
    from benchmarks import cpu_kernel_roofs

    record = Path(cpu_kernel_roofs.__file__).parent / "results" / "cpu_kernel_roofs_2core_zen3.json"
    png = tmp_path / "roofs.png"
    assert cpu_kernel_roofs.main(["--replot", str(record), "--plot", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(SystemExit):
        cpu_kernel_roofs.main(["--replot", str(record)])  # no --plot: an error that says so
