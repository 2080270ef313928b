"""The ``fastlr`` command line: the installed script end to end, then each command in-process.

The round trip runs the console script that ``pip install`` wrote next to the
interpreter, so it also checks the entry point in pyproject.toml. Predictions
and printed metrics are compared with an estimator fitted here and with
sklearn.metrics, not with stored outputs.
"""

import csv
import json
import os
import re
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
    assert output.read_text().splitlines()[0] == "P(spam)"
    np.testing.assert_allclose(np.loadtxt(output, skiprows=1), reference.predict_proba(X)[:, 1], rtol=1e-10)


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
        header, *rows = out.splitlines()
        assert header == "P(0),P(1),P(2)"
        np.testing.assert_allclose(np.loadtxt(rows, delimiter=","), reference.predict_proba(X), atol=1e-6)


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
                                      "--solver", "newton", "--penalty", "l1"], "does not support --penalty l1"),
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


# -- choosing columns, labels in array files, the multiclass scheme -----------------------------
def test_drop_and_features_choose_the_columns_of_a_fit(data, tmp_path, capsys):
    X, y = data
    path = tmp_path / "with_id.csv"
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["id", "f0", "f1", "f2", "f3", "label"])
        writer.writerows([[1000 + i, *map(repr, row.tolist()), label] for i, (row, label) in enumerate(zip(X, y))])
    reference = LogisticRegression(backend="numpy").fit(X, y)
    for option in (["--drop", "id"], ["--features", "f0", "f1", "f2", "f3"]):
        model_path = tmp_path / "model.json"
        status, out, err = run(["fit", path, "--target", "label", "--backend", "numpy", "-o", model_path, *option],
                               capsys)
        assert status == 0, err
        assert "200 rows x 4 features" in out
        loaded = cli.load_model(model_path)
        assert list(loaded.feature_names_in_) == ["f0", "f1", "f2", "f3"]
        np.testing.assert_allclose(loaded.coef_, reference.coef_, rtol=1e-10)
    status, out, _ = run(["fit", path, "--target", "label", "--backend", "numpy", "-o", tmp_path / "m.json"], capsys)
    assert "200 rows x 5 features" in out  # without --drop, the id is a feature: the reason for the option
    status, _, err = run(["fit", path, "--target", "label", "-o", tmp_path / "m.json", "--drop", "id",
                          "--features", "f0"], capsys)
    assert status == 2 and "not allowed with argument" in err


def test_predict_leaves_out_the_label_column_of_the_npy_it_was_fitted_on(tmp_path, capsys):
    X, y = make_classification(n_samples=120, n_features=3, n_informative=3, n_redundant=0, random_state=2)
    np.save(tmp_path / "data.npy", np.column_stack([X, y]))
    np.savez(tmp_path / "data.npz", X=X, labels=y)
    model = tmp_path / "model.json"
    assert run(["fit", tmp_path / "data.npy", "--target", "-1", "--backend", "numpy", "-o", model], capsys)[0] == 0
    expected = [str(label) for label in LogisticRegression(backend="numpy").fit(X, y).predict(X)]
    status, out, err = run(["predict", model, tmp_path / "data.npy", "--target", "-1"], capsys)
    assert status == 0, err
    assert out.splitlines() == expected
    status, out, err = run(["predict", model, tmp_path / "data.npz", "--target", "labels"], capsys)
    assert status == 0 and out.splitlines() == expected, err
    status, _, err = run(["predict", model, tmp_path / "data.npy"], capsys)
    assert status == 1 and "name it with --target (-1: the last column)" in err and err.count("\n") == 1


def test_multi_class_option(tmp_path, capsys):
    X, y = make_classification(n_samples=150, n_features=3, n_informative=3, n_redundant=0, n_classes=3,
                               n_clusters_per_class=1, random_state=1)
    np.savez(tmp_path / "data.npz", X=X, y=y)
    status, _, err = run(["fit", tmp_path / "data.npz", "--solver", "newton-cd", "-o", tmp_path / "m.json"], capsys)
    assert status == 1 and "use --multi-class ovr" in err  # binary-only newton-cd: the advice names the option that exists
    for scheme, solver in (("ovr", "newton"), ("multinomial", "lbfgs")):
        path = tmp_path / f"{scheme}.json"
        status, out, err = run(["fit", tmp_path / "data.npz", "--backend", "numpy", "--multi-class", scheme,
                                "--solver", solver, "-o", path], capsys)
        assert status == 0, err
        reference = LogisticRegression(backend="numpy", multi_class=scheme, solver=solver).fit(X, y)
        loaded = cli.load_model(path)
        assert loaded.multi_class == scheme
        np.testing.assert_allclose(loaded.predict_proba(X), reference.predict_proba(X), rtol=1e-9)
    assert "(one per class)" in run(["fit", tmp_path / "data.npz", "--backend", "numpy", "--multi-class", "ovr",
                                     "-o", tmp_path / "o.json"], capsys)[1]


def test_probabilities_are_labelled_by_class(tmp_path, capsys):
    X = np.random.default_rng(0).standard_normal((90, 2))
    y = np.array(["setosa", "versicolor", "virginica"])[np.argmax(X @ [[1, -1, 0], [0, 1, -1]], axis=1)]
    np.savez(tmp_path / "data.npz", X=X, y=y)
    assert run(["fit", tmp_path / "data.npz", "--backend", "numpy", "-o", tmp_path / "m.json"], capsys)[0] == 0
    status, out, _ = run(["predict", tmp_path / "m.json", tmp_path / "data.npz", "--proba"], capsys)
    header, *rows = out.splitlines()
    assert status == 0 and header == "P(setosa),P(versicolor),P(virginica)"
    reference = LogisticRegression(backend="numpy").fit(X, y).predict_proba(X)
    np.testing.assert_allclose(np.loadtxt(rows, delimiter=","), reference, rtol=1e-10)


def test_bytes_labels_fit_through_the_command_line(tmp_path, capsys):
    X = np.random.default_rng(0).standard_normal((60, 2))
    np.savez(tmp_path / "data.npz", X=X, y=np.where(X[:, 0] > 0, b"spam", b"ham"))
    status, out, err = run(["fit", tmp_path / "data.npz", "--backend", "numpy", "-o", tmp_path / "m.json"], capsys)
    assert status == 0 and "positive class spam" in out, err


# -- help, program names -------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["fit", "predict"])
def test_every_option_has_help_with_its_default(command, capsys):
    _, subparsers = cli.build_parser()
    parser = subparsers[command]
    text = " ".join(parser.format_help().split())
    for action in parser._actions:
        if isinstance(action, cli.argparse._HelpAction):
            continue
        assert action.help, f"{command} {action.dest} has no help"
        if action.option_strings and not action.required:
            shown = " ".join(cli.HelpWithDefaults(parser.prog)._get_help_string(action).split()) % vars(action)
            assert "default" in shown, f"{command} {action.option_strings[0]} does not say its default"
            assert shown in text
    if command == "fit":
        for option, default in (("--max-iter", 1000), ("--tol", 0.0001), ("--backend", "auto"), ("--solver", "auto")):
            assert f"(default: {default})" in text, option


@pytest.mark.parametrize("command", ["fit", "predict", "demo", "bench"])
def test_help_names_the_program(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main([command, "--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    assert out.startswith(f"usage: fastlr {command} "), out[:80]


# -- outputs: checked before the work, never over an input, written atomically ------------------
def _no_fit(monkeypatch):
    monkeypatch.setattr(LogisticRegression, "fit", lambda *a, **k: pytest.fail("fitted before checking the outputs"))


@pytest.mark.parametrize(
    "argv, message",
    [
        (lambda d, p: ["fit", d, "--target", "label", "-o", d], "is the training data: fastlr will not write over"),
        (lambda d, p: ["fit", d, "--target", "label", "-o", p / "m.json", "--plot", d], "--plot .* is the training data"),
        (lambda d, p: ["fit", d, "--target", "label", "-o", p / "m.json", "--plot", p / "m.json"],
         "--output and --plot are the same file"),
        (lambda d, p: ["fit", d, "--target", "label", "-o", p / "missing" / "m.json"], "does not exist"),
        (lambda d, p: ["fit", d, "--target", "label", "-o", p], "is a directory"),
    ],
    ids=["over-data", "plot-over-data", "plot-over-model", "no-directory", "a-directory"],
)
def test_fit_outputs_are_checked_before_fitting(argv, message, data_csv, tmp_path, capsys, monkeypatch):
    before = data_csv.read_bytes()
    _no_fit(monkeypatch)
    status, out, err = run(argv(data_csv, tmp_path), capsys)
    assert status == 1 and err.count("\n") == 1 and re.search(message, err), err
    assert data_csv.read_bytes() == before


def test_an_unwritable_directory_is_found_before_fitting(data_csv, tmp_path, capsys, monkeypatch):
    from fastlr import outputs

    if os.geteuid() == 0:  # root may write anywhere: make the directory look locked to the check
        monkeypatch.setattr(outputs.os, "access", lambda path, mode: False)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    _no_fit(monkeypatch)
    try:
        status, _, err = run(["fit", data_csv, "--target", "label", "-o", locked / "m.json"], capsys)
    finally:
        locked.chmod(0o700)
    assert status == 1 and "is not writable" in err


def test_predict_never_writes_over_its_model_or_data(data_csv, model_path, capsys):
    model_before, data_before = model_path.read_bytes(), data_csv.read_bytes()
    for target in (model_path, data_csv):
        status, _, err = run(["predict", model_path, data_csv, "-o", target], capsys)
        assert status == 1 and "fastlr will not write over its input" in err
    assert model_path.read_bytes() == model_before and data_csv.read_bytes() == data_before


def test_a_failed_write_leaves_the_previous_output(data_csv, model_path, tmp_path, capsys, monkeypatch):
    from fastlr import outputs

    output = tmp_path / "labels.txt"
    output.write_text("the previous predictions\n")
    monkeypatch.setattr(outputs.os, "fsync", lambda descriptor: (_ for _ in ()).throw(OSError(28, "No space left")))
    status, _, err = run(["predict", model_path, data_csv, "-o", output], capsys)
    assert status == 1 and "No space left" in err and err.count("\n") == 1
    assert output.read_text() == "the previous predictions\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["data.csv", "model.json", "labels.txt"])


@pytest.mark.parametrize("damage", ["coef-too-long", "truncated"])
def test_a_damaged_model_is_one_line(damage, data_csv, model_path, capsys):
    text = model_path.read_text()
    if damage == "truncated":
        model_path.write_text(text[: len(text) // 2])
    else:
        document = json.loads(text)
        document["fitted"]["coef"]["values"][0] += [1.0] * 100_000
        model_path.write_text(json.dumps(document))
    status, out, err = run(["predict", model_path, data_csv], capsys)
    assert status == 1 and out == "" and err.count("\n") == 1 and "fastlr model file" in err


# -- sparse files: svmlight / libsvm and scipy.sparse.save_npz ------------------------------------
@pytest.fixture
def sparse_problem():
    from scipy import sparse

    rng = np.random.default_rng(3)
    X = sparse.random(300, 40, density=0.05, format="csr", random_state=4)
    X[:, 39] = 0.0  # the last column empty: svmlight files leave it out
    X.eliminate_zeros()
    w = rng.standard_normal(40)
    y = (X @ w + 0.1 * rng.standard_normal(300) > 0).astype(int)
    return X, y


def test_fit_and_predict_from_svmlight_keep_x_sparse(tmp_path, capsys, sparse_problem):
    from scipy import sparse
    from sklearn.datasets import dump_svmlight_file

    X, y = sparse_problem
    data = tmp_path / "train.svm"
    dump_svmlight_file(X, y, str(data))
    status, out, err = run(["fit", data, "--backend", "numpy", "-o", tmp_path / "m.json"], capsys)
    assert status == 0, err
    assert "300 rows x 39 features" in out  # the file's own width: its last column is empty
    reference = LogisticRegression(backend="numpy").fit(X[:, :39], y)
    model = cli.load_model(tmp_path / "m.json")
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-9, atol=1e-12)

    wide = LogisticRegression(backend="numpy").fit(X, y)  # a 40-feature model
    cli.save_model(wide, tmp_path / "wide.json")
    rows = tmp_path / "rows.svm"
    dump_svmlight_file(X[:20], np.zeros(20), str(rows))  # 39 columns in the file: widened to the model's 40
    status, out, err = run(["predict", tmp_path / "wide.json", rows, "--proba"], capsys)
    assert status == 0, err
    probabilities = np.array([line.split(",") for line in out.splitlines()[1:]], dtype=float)
    np.testing.assert_allclose(probabilities[:, 0], wide.predict_proba(X[:20])[:, 1], rtol=1e-12)  # P(1)

    sparse.save_npz(tmp_path / "rows.npz", X[:20])
    status, out, err = run(["predict", tmp_path / "wide.json", tmp_path / "rows.npz"], capsys)
    assert status == 0, err
    assert out.split() == [str(label) for label in wide.predict(X[:20])]


def test_sparse_files_that_cannot_be_used_name_the_problem(tmp_path, capsys, sparse_problem):
    from scipy import sparse

    X, y = sparse_problem
    sparse.save_npz(tmp_path / "X.npz", X)
    status, _, err = run(["fit", tmp_path / "X.npz", "-o", tmp_path / "m.json"], capsys)
    assert status == 1 and "holds no labels" in err and "dump_svmlight_file" in err
    (tmp_path / "bad.svm").write_text("1 3:0.5 x:1\n0 1:2\n")
    status, _, err = run(["fit", tmp_path / "bad.svm", "-o", tmp_path / "m.json"], capsys)
    assert status == 1 and "is not an svmlight/libsvm file" in err
    (tmp_path / "inf.svm").write_text("1 1:inf 2:1\n0 1:2\n")
    status, _, err = run(["fit", tmp_path / "inf.svm", "-o", tmp_path / "m.json"], capsys)
    assert status == 1 and "missing or infinite" in err
    assert not (tmp_path / "m.json").exists()
