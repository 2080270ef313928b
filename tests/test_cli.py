"""The ``fastlr`` command line: the installed script end to end, then each command in-process.

The round trip runs the console script that ``pip install`` wrote next to the
interpreter, so it also checks the entry point in pyproject.toml. Predictions
and printed metrics are compared with an estimator fitted here and with
sklearn.metrics, not with stored outputs.
"""

import csv
import os
import shutil
import subprocess
import sys
import types

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.metrics import accuracy_score, roc_auc_score

from fastlr import LogisticRegression, cli
from fastlr.dispatch import BACKENDS


def _installed_script():
    script = shutil.which("fastlr", path=os.path.dirname(sys.executable))
    if script is None:
        pytest.fail(f"no 'fastlr' script next to {sys.executable}: install the package (pip install -e .)")
    return script


def _run_script(*arguments):
    return subprocess.run([_installed_script(), *map(str, arguments)], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=200, n_features=4, n_informative=3, n_redundant=0, random_state=0)
    return X, np.array(["ham", "spam"])[y]


@pytest.fixture
def data_csv(data, tmp_path):
    X, y = data
    path = tmp_path / "data.csv"
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["f0", "f1", "f2", "f3", "label"])
        writer.writerows([[repr(float(v)) for v in row] + [label] for row, label in zip(X, y)])
    return path


def _report_value(stdout, name):
    line = next(line for line in stdout.splitlines() if line.strip().startswith(name + " "))
    return float(line.split()[-1])


def test_fit_then_predict_through_the_installed_script(data, data_csv, tmp_path):
    X, y = data
    model_path = tmp_path / "model.json"
    fitted = _run_script("fit", data_csv, "--target", "label", "--backend", "numpy", "--output", model_path)
    assert fitted.returncode == 0, fitted.stderr
    assert fitted.stderr == ""  # stderr is a pipe: no progress bar, no warnings
    reference = LogisticRegression(backend="numpy").fit(X, y)
    accuracy = accuracy_score(y, reference.predict(X))
    assert _report_value(fitted.stdout, "accuracy") == pytest.approx(accuracy, abs=5e-5)
    auc = roc_auc_score(y, reference.predict_proba(X)[:, 1])
    assert _report_value(fitted.stdout, "ROC AUC") == pytest.approx(auc, abs=5e-5)
    assert "backend    numpy" in fitted.stdout

    predicted = _run_script("predict", model_path, data_csv)
    assert predicted.returncode == 0, predicted.stderr
    assert predicted.stdout.splitlines() == list(reference.predict(X))



def test_errors_of_the_installed_script_are_one_line(tmp_path):
    result = _run_script("fit", tmp_path / "missing.csv", "--target", "y", "--output", tmp_path / "m.json")
    assert result.returncode != 0
    assert result.stderr == f"fastlr: error: {tmp_path / 'missing.csv'}: No such file or directory\n"


def test_a_reader_that_leaves_early_is_not_an_error(data_csv, tmp_path):
    argv = ["fit", data_csv, "--target", "label", "--backend", "numpy", "-o", tmp_path / "m.json"]
    assert cli.main([str(argument) for argument in argv]) == 0
    # `fastlr predict ... | head -1`: the pipe closes before the predictions are written.
    process = subprocess.Popen([_installed_script(), "predict", tmp_path / "m.json", data_csv],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    process.stdout.close()
    assert process.stderr.read() == ""  # no BrokenPipeError traceback
    assert process.wait(timeout=120) == 1


def run(argv, capsys):
    """cli.main in-process: (exit status, stdout, stderr)."""
    try:
        status = cli.main([str(a) for a in argv])
    except SystemExit as exit_:  # argparse's usage errors
        status = exit_.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def model_path(data_csv, tmp_path, capsys):
    path = tmp_path / "model.json"
    assert run(["fit", data_csv, "--target", "label", "--backend", "numpy", "-o", path], capsys)[0] == 0
    return path


def test_probabilities_to_a_file(data, data_csv, model_path, tmp_path, capsys):
    X, y = data
    output = tmp_path / "proba.txt"
    status, out, _ = run(["predict", model_path, data_csv, "--proba", "--output", output], capsys)
    assert status == 0 and out == ""
    reference = LogisticRegression(backend="numpy").fit(X, y)
    np.testing.assert_allclose(np.loadtxt(output), reference.predict_proba(X)[:, 1], rtol=1e-10)


def test_threshold_moves_the_decision(data, data_csv, model_path, capsys):
    X, y = data
    positive = LogisticRegression(backend="numpy").fit(X, y).predict_proba(X)[:, 1]
    for threshold in (0.2, 0.9):
        status, out, _ = run(["predict", model_path, data_csv, "--threshold", threshold], capsys)
        assert status == 0
        assert out.splitlines() == list(np.where(positive >= threshold, "spam", "ham"))


@pytest.mark.parametrize("backend", [name for name in ("numba", "numba-parallel") if name in BACKENDS])
def test_fit_from_npy_and_npz(backend, tmp_path, capsys):
    if BACKENDS[backend].unavailable_reason():
        pytest.skip(BACKENDS[backend].unavailable_reason())
    X, y = make_classification(n_samples=150, n_features=3, n_informative=3, n_redundant=0, n_classes=3,
                               n_clusters_per_class=1, random_state=1)
    np.save(tmp_path / "data.npy", np.column_stack([X, y]))
    np.savez(tmp_path / "data.npz", X=X, y=y)
    reference = LogisticRegression(backend=backend).fit(X, y)
    for data_file, target in (("data.npy", ["--target", "-1"]), ("data.npz", [])):
        model = tmp_path / f"{data_file}.json"
        status, out, err = run(["fit", tmp_path / data_file, *target, "--backend", backend, "-o", model], capsys)
        assert status == 0, err
        assert "macro average over 3 classes" in out
        np.save(tmp_path / "X.npy", X)
        status, out, _ = run(["predict", model, tmp_path / "X.npy", "--proba"], capsys)
        np.testing.assert_allclose(np.loadtxt(out.splitlines(), delimiter=","), reference.predict_proba(X), atol=1e-6)


def test_fit_plots_the_cost_history(data_csv, tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="the [plot] extra is not installed")
    picture = tmp_path / "cost.png"
    status, out, _ = run(["fit", data_csv, "--target", "label", "--backend", "numpy", "-o", tmp_path / "m.json",
                          "--plot", picture], capsys)
    assert status == 0 and f"cost history plotted to {picture}" in out
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_fails_before_fitting(data_csv, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as without the [plot] extra
    status, out, err = run(["fit", data_csv, "--target", "label", "-o", tmp_path / "m.json", "--plot", "c.png"],
                           capsys)
    assert status == 1 and err.count("\n") == 1 and "pip install 'fastlr[plot]'" in err
    assert out == "" and not (tmp_path / "m.json").exists()


def test_progress_bar_on_a_terminal_only(data_csv, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    status, _, err = run(["fit", data_csv, "--target", "label", "--backend", "numpy", "-o", tmp_path / "m.json"],
                         capsys)
    assert status == 0 and "binary:" in err  # the tqdm bar, named after the problem


def _write(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content)
    return path


ERRORS = {
    "missing-file": (lambda p: ["fit", p / "nope.csv", "--target", "y", "-o", p / "m.json"], "No such file"),
    "missing-target": (lambda p: ["fit", _write(p, "d.csv", "a,b\n1,2\n"), "--target", "y", "-o", p / "m.json"],
                       "has no column 'y'"),
    "no-target-given": (lambda p: ["fit", _write(p, "d.csv", "a,b\n1,2\n"), "-o", p / "m.json"], "--target"),
    "non-numeric": (lambda p: ["fit", _write(p, "d.csv", "a,y\nx,1\n"), "--target", "y", "-o", p / "m.json"],
                    "column 'a' is not numeric"),
    "nan": (lambda p: ["fit", _write(p, "d.csv", "a,y\nnan,1\n2,0\n"), "--target", "y", "-o", p / "m.json"],
            "missing or infinite"),
    "one-class": (lambda p: ["fit", _write(p, "d.csv", "a,y\n1,1\n2,1\n"), "--target", "y", "-o", p / "m.json"],
                  "at least 2 classes"),
    "not-a-model": (lambda p: ["predict", _write(p, "m.json", '{"a": 1}'), _write(p, "d.csv", "a\n1\n")],
                    "is not a fastlr model file"),
    "csv-as-model": (lambda p: ["predict", _write(p, "d.csv", "a\n1\n"), p / "d.csv"], "is not a fastlr model file"),
    "bad-solver-penalty": (lambda p: ["fit", _write(p, "d.csv", "a,y\n1,1\n2,0\n"), "--target", "y", "-o", p / "m",
                                      "--solver", "newton", "--penalty", "l1"], "does not support penalty='l1'"),
}


@pytest.mark.parametrize("case", ERRORS)
def test_bad_input_ends_with_one_line(case, tmp_path, capsys):
    argv, message = ERRORS[case]
    status, out, err = run(argv(tmp_path), capsys)
    assert status == 1
    assert err.count("\n") == 1 and err.startswith("fastlr: error: ") and message in err, err
    assert out == ""


@pytest.mark.parametrize(
    "argv, message",
    [
        (["fit", "d.csv", "--target", "y", "-o", "m.json", "--backend", "gpu"], "argument --backend: invalid choice"),
        (["fit", "d.csv", "--target", "y", "-o", "m.json", "--C", "abc"], "argument --C: invalid float value"),
        (["fit", "d.csv"], "the following arguments are required: --output"),
        (["predict", "m.json", "d.csv", "--proba", "--threshold", "0.3"], "not allowed with argument --proba"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
    ids=["unknown-backend", "bad-number", "missing-option", "exclusive", "unknown-command"],
)
def test_usage_errors_end_with_one_line(argv, message, capsys):
    status, _, err = run(argv, capsys)
    assert status == 2
    assert err.count("\n") == 1 and ": error: " in err and message in err, err


def test_unusable_backend_is_one_line(data_csv, tmp_path, capsys):
    unusable = [name for name, spec in BACKENDS.items() if spec.unavailable_reason() is not None]
    if not unusable:
        pytest.skip("every backend runs here")
    status, _, err = run(["fit", data_csv, "--target", "label", "--backend", unusable[0], "-o", tmp_path / "m"],
                         capsys)
    assert status == 1 and err.startswith(f"fastlr: error: {unusable[0]}: ") and err.count("\n") == 1


def test_threshold_needs_a_binary_model(tmp_path, capsys):
    np.savez(tmp_path / "d.npz", X=np.arange(12.0).reshape(6, 2), y=np.array([0, 1, 2, 0, 1, 2]))
    assert run(["fit", tmp_path / "d.npz", "--backend", "numpy", "-o", tmp_path / "m.json"], capsys)[0] == 0
    status, _, err = run(["predict", tmp_path / "m.json", tmp_path / "d.npz", "--threshold", "0.5"], capsys)
    assert status == 1 and "needs a binary model" in err


def test_backends_lists_the_registry(capsys):
    status, out, _ = run(["backends"], capsys)
    assert status == 0
    for name, spec in BACKENDS.items():
        usable = "yes" if spec.unavailable_reason() is None else "no"
        assert any(line.split()[:2] == [name, usable] for line in out.splitlines()), name
    assert f"numpy {np.__version__}" in out


def test_demo_passes_its_arguments_on(capsys):
    status, out, _ = run(["demo", "--samples", "300", "--features", "4"], capsys)
    assert status == 0 and "make_classification(300, 4)" in out


def test_bench_without_its_module_is_one_line(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "fastlr.bench", None)  # as if fastlr/bench.py did not exist
    status, _, err = run(["bench", "--quick"], capsys)
    assert status == 1 and err.count("\n") == 1
    assert err == "fastlr: error: 'fastlr bench' is not available: this installation has no fastlr.bench module\n"


def test_bench_delegates_to_its_module(monkeypatch, capsys):
    received = {}
    fake = types.ModuleType("fastlr.bench")
    fake.configure_parser = lambda parser: parser.add_argument("--quick", action="store_true")
    fake.main = lambda args: received.setdefault("args", args) and 7
    monkeypatch.setitem(sys.modules, "fastlr.bench", fake)
    status, _, _ = run(["bench", "--quick"], capsys)
    assert status == 7 and received["args"].quick is True
