"""The ``fastlr`` command line: fit, predict, backends, demo, bench, warmup.

Each subcommand is an entry of :data:`COMMANDS`: a help line, a function that
adds its arguments and a function that runs it and returns the exit status.
A problem the user can fix (a missing file, a bad column, an unusable backend,
a file that is not a model) ends as one line on stderr, ``fastlr: error: ...``,
with exit status 1; a usage mistake ends as one line too, with status 2.
"""

import argparse
import csv
import importlib
import importlib.util
import io
import os
import re
import sys
import time
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np

from fastlr import __version__
from fastlr.datafiles import read_table
from fastlr.dispatch import BACKENDS, BackendUnavailableError, backend_report, resolve_backend_name
from fastlr.estimator import MULTI_CLASS, PENALTIES, LogisticRegression
from fastlr.model_io import load_model, save_model
from fastlr.outputs import atomic_write, check_output_paths
from fastlr.solvers import SOLVERS


class CommandError(Exception):
    """A problem the command line reports as one line, without a traceback."""


#: What ends a command with one line on stderr instead of a traceback.
#: ArithmeticError covers DivergenceError and a non-finite Hessian or objective.
#: MemoryError: a fit refused before it starts (Newton's Hessian), or an allocation that failed.
USER_ERRORS = (CommandError, ValueError, OSError, ImportError, BackendUnavailableError, ArithmeticError, MemoryError)


class OneLineParser(argparse.ArgumentParser):
    """argparse, with usage errors on one line (the full usage is one ``--help`` away)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _one_line(exc):
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        return f"{exc.filename}: {exc.strerror}"
    return " ".join(str(exc).split()) or type(exc).__name__


# -- fit --------------------------------------------------------------------------
#: The estimator's penalties as command-line words (None is "none").
PENALTY_WORDS = {"none" if penalty is None else penalty: penalty for penalty in PENALTIES}

#: Estimator parameters that ``fastlr fit`` sets, by option: so that an error
#: naming ``multi_class='ovr'`` can name ``--multi-class ovr`` instead.
FIT_PARAMETERS = {
    "backend": "--backend", "solver": "--solver", "C": "--C", "penalty": "--penalty", "l1_ratio": "--l1-ratio",
    "max_iter": "--max-iter", "tol": "--tol", "multi_class": "--multi-class",
}


class HelpWithDefaults(argparse.HelpFormatter):
    """Help that ends every option with its default; options whose default is
    None or False (flags) say in words what happens without them."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "%(default)" in text or not action.option_strings or action.default in (None, False, argparse.SUPPRESS):
            return text
        return f"{text} (default: %(default)s)"


def configure_fit(parser):
    defaults = LogisticRegression().get_params()
    parser.add_argument("data", metavar="DATA", help="training data: .csv with a header, .npz (X and y), .npy, or svmlight/libsvm "
                        "(.svm, .svmlight, .libsvm: sparse X, labels first)")
    parser.add_argument(
        "--target",
        help="the labels: a CSV column name (required for CSV), an .npz array name (default for .npz: y), "
        "or a .npy column index (-1: the last column; required for .npy)",
    )
    columns = parser.add_mutually_exclusive_group()
    columns.add_argument(
        "--features", nargs="+", metavar="COL",
        help="CSV only: fit on exactly these columns (default: every column but the target and --drop)",
    )
    columns.add_argument(
        "--drop", nargs="+", metavar="COL", help="CSV only: columns that are not features, such as an id (default: none)"
    )
    parser.add_argument("--output", "-o", required=True, metavar="MODEL", help="where to write the model (JSON)")
    parser.add_argument(
        "--backend", default=defaults["backend"], choices=["auto", *BACKENDS],
        help="kernel backend ('fastlr backends' lists those usable here; auto picks from the data and the machine)",
    )
    parser.add_argument(
        "--solver", default=defaults["solver"], choices=["auto", *SOLVERS],
        help="auto: newton for few features, lbfgs for many or for the softmax, fista for l1 and elasticnet",
    )
    parser.add_argument("--C", type=float, default=defaults["C"], help="inverse regularization strength, C = 1/lambda")
    parser.add_argument("--penalty", default="none" if defaults["penalty"] is None else defaults["penalty"],
                        choices=PENALTY_WORDS, help="regularization")
    parser.add_argument(
        "--l1-ratio", type=float, default=defaults["l1_ratio"],
        help="share of L1 in the elasticnet penalty, in [0, 1] (default: none; required with --penalty elasticnet)",
    )
    parser.add_argument("--max-iter", type=int, default=defaults["max_iter"], help="iterations at most")
    parser.add_argument(
        "--tol", type=float, default=defaults["tol"],
        help="converged when the max-norm of the gradient of the mean objective is at most this",
    )
    parser.add_argument(
        "--multi-class", default=defaults["multi_class"], choices=MULTI_CLASS,
        help="more than two classes: auto is multinomial (softmax); ovr fits one binary model per class",
    )
    parser.add_argument(
        "--plot", metavar="PATH.png", help="also save the cost per iteration as a picture (default: no picture)"
    )


def training_metrics(model, X, y):
    """Name to value of the classification metrics of ``model`` on (X, y).

    Binary models score the positive class ``classes_[1]``; multiclass models
    report macro averages of precision, recall and F1 (every class counts the
    same) and the one-vs-rest macro ROC AUC.
    """
    from sklearn import metrics

    predicted = model.predict(X)
    probability = np.asarray(model.predict_proba(X))
    if len(model.classes_) == 2:
        averaging = {"average": "binary", "pos_label": model.classes_[1]}
        scores = probability[:, 1]
    else:
        averaging = {"average": "macro"}
        scores = probability
    return {
        "accuracy": metrics.accuracy_score(y, predicted),
        "precision": metrics.precision_score(y, predicted, zero_division=0, **averaging),
        "recall": metrics.recall_score(y, predicted, zero_division=0, **averaging),
        "F1": metrics.f1_score(y, predicted, zero_division=0, **averaging),
        "ROC AUC": metrics.roc_auc_score(y, scores, multi_class="ovr", labels=model.classes_),
        "log loss": metrics.log_loss(y, probability, labels=model.classes_),
    }


def _as_options(message):
    """An estimator's message with ``name='value'`` written as the command line's ``--option value``."""
    for name, option in FIT_PARAMETERS.items():
        message = re.sub(rf"\b{name}=(['\"]?)([\w.+-]+)\1", rf"{option} \2", message)
    return message


def _fit_quietly(model, X, y):
    """Fit, turning warnings (no convergence) into ``fastlr: warning:`` lines."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        start = time.perf_counter()
        try:
            model.fit(X, y)
        except ValueError as exc:
            raise CommandError(_as_options(_one_line(exc))) from None
        seconds = time.perf_counter() - start
    for warning in caught:
        print(f"fastlr: warning: {_as_options(_one_line(warning.message))}", file=sys.stderr)
    return seconds


def _save_cost_plot(model, path):
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global state

    from fastlr import plotting

    figure = Figure(figsize=(6.4, 4.0), layout="constrained")
    plotting.plot_cost_history(model, ax=figure.subplots())
    with atomic_write(path, "wb") as file:
        figure.savefig(file, format="png", dpi=120)


def run_fit(args):
    if args.plot:
        from fastlr.plotting import require_matplotlib

        require_matplotlib()  # now, not after a long fit
    # Before anything is read or fitted: an output that cannot be written ends the command now.
    check_output_paths({"--output": args.output, "--plot": args.plot}, {"training data": args.data})
    table = read_table(args.data, target=args.target, labelled=True, feature_names=args.features, drop=args.drop)
    model = LogisticRegression(
        backend=args.backend, solver=args.solver, C=args.C, penalty=PENALTY_WORDS[args.penalty],
        l1_ratio=args.l1_ratio, max_iter=args.max_iter, tol=args.tol, multi_class=args.multi_class,
        verbose=sys.stderr.isatty(),
    )
    seconds = _fit_quietly(model, table.X, table.y)
    save_model(model, args.output, feature_names=table.feature_names)
    n_samples, n_features = table.X.shape
    classes = model.classes_
    iterations = ", ".join(str(n) for n in model.n_iter_)
    per_class = " (one per class)" if len(model.n_iter_) > 1 else ""
    print(f"fastlr {__version__} fit: {args.data}, {n_samples} rows x {n_features} features, {len(classes)} classes")
    print(f"  backend    {model.backend_}")
    print(f"  solver     {model.solver_}, {iterations} iterations{per_class}")
    print(f"  fit time   {seconds:.4f} s")
    scope = f"positive class {classes[1]}" if len(classes) == 2 else f"macro average over {len(classes)} classes"
    print(f"training metrics ({scope}):")
    for name, value in training_metrics(model, table.X, table.y).items():
        print(f"  {name:<10} {value:.4f}")
    print(f"model written to {args.output}")
    if args.plot:
        _save_cost_plot(model, args.plot)
        print(f"cost history plotted to {args.plot}")
    return 0


# -- predict ----------------------------------------------------------------------
def configure_predict(parser):
    parser.add_argument("model", metavar="MODEL", help="a model written by 'fastlr fit'")
    parser.add_argument("data", metavar="DATA", help="rows to predict: .csv with a header, .npz (X, or a scipy.sparse.save_npz matrix), .npy, "
                        "or svmlight/libsvm (.svm, .svmlight, .libsvm)")
    parser.add_argument(
        "--target",
        help="the label column to leave out of X: a .npy column index (-1: the last), an .npz array name; "
        "CSV columns are chosen by the model's feature names, so a CSV label column is ignored anyway "
        "(default: the file holds features only)",
    )
    what = parser.add_mutually_exclusive_group()
    what.add_argument(
        "--proba", action="store_true",
        help="print probabilities under a header naming the classes: P(positive class) for binary models, "
        "else one column per class (default: print labels)",
    )
    what.add_argument(
        "--threshold", type=float, metavar="T",
        help="binary models: predict the positive class when its probability is at least T (default: 0.5)",
    )
    parser.add_argument("--output", "-o", metavar="PATH", help="write here instead of stdout (default: stdout)")


def _csv_line(cells):
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    return buffer.getvalue()


def _predictions(model, X, args):
    """The output text: one line per row of X (after a header for --proba)."""
    binary = len(model.classes_) == 2
    if args.threshold is not None:
        if not binary:
            raise CommandError(f"--threshold needs a binary model; this one has {len(model.classes_)} classes")
        if not 0 <= args.threshold <= 1:
            raise CommandError(f"--threshold must be a probability in [0, 1], got {args.threshold}")
    if args.proba:
        probability = np.asarray(model.predict_proba(X), dtype=np.float64)
        classes = model.classes_[1:] if binary else model.classes_
        if binary:
            probability = probability[:, 1:]
        header = _csv_line([f"P({label})" for label in classes])
        return header + "".join(",".join(repr(float(p)) for p in row) + "\n" for row in probability)
    if args.threshold is not None:
        positive = np.asarray(model.predict_proba(X))[:, 1] >= args.threshold
        labels = np.where(positive, model.classes_[1], model.classes_[0])
    else:
        labels = model.predict(X)
    return "".join(f"{label}\n" for label in labels)


def run_predict(args):
    check_output_paths({"--output": args.output}, {"model": args.model, "data": args.data})
    model = load_model(args.model)
    names = getattr(model, "feature_names_in_", None)
    table = read_table(args.data, target=args.target, feature_names=None if names is None else list(names),
                       n_features=model.n_features_in_)
    if table.X.shape[1] == model.n_features_in_ + 1 and args.target is None:
        raise CommandError(
            f"{args.data} has {table.X.shape[1]} columns, the model {model.n_features_in_} features: "
            "if one column holds the labels, name it with --target (-1: the last column)"
        )
    with warnings.catch_warnings():
        # The columns were matched by name just above; the array has no names left to check.
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        text = _predictions(model, table.X, args)
    if args.output is None:
        sys.stdout.write(text)
    else:
        with atomic_write(args.output) as file:
            file.write(text)
    return 0


# -- backends ---------------------------------------------------------------------
def _version(module_name):
    # Called after backend_report(): its probes have imported what can be imported.
    module = sys.modules.get(module_name)
    if module is not None:
        return module.__version__
    return "not installed" if importlib.util.find_spec(module_name) is None else "installed, fails to import"


def run_backends(args):
    rows = backend_report()
    print(f"{'backend':<16}{'usable':<8}details")
    for name, usable, detail in rows:
        print(f"{name:<16}{'yes' if usable else 'no':<8}{detail}")
    print(f"backend='auto' picks {resolve_backend_name('auto')} for NumPy data here")
    print(", ".join(f"{name} {_version(name)}" for name in ("numpy", "numba", "cupy")))
    return 0


# -- demo and bench: their modules parse their own arguments ---------------------
def run_demo(args):
    from fastlr import demo

    return demo.main(args.passed_on, prog="fastlr demo")


def run_warmup(args):
    from fastlr import warmup

    return warmup.main(args.passed_on, prog="fastlr warmup")


def run_bench(args):
    # Imported only when asked for: fastlr.bench may need the [bench] extra.
    try:
        bench = importlib.import_module("fastlr.bench")
    except ImportError as exc:
        if exc.name in ("fastlr.bench", "fastlr.bench.command"):
            raise CommandError(
                "'fastlr bench' is not available: this installation has no fastlr.bench module"
            ) from None
        raise CommandError(f"'fastlr bench' cannot start: {_one_line(exc)}") from None
    parser = OneLineParser(prog="fastlr bench", description=COMMANDS["bench"].help)
    bench.configure_parser(parser)
    return bench.main(parser.parse_args(args.passed_on))


# -- the registry -----------------------------------------------------------------
def _no_arguments(parser):
    """Nothing to add: the subcommand has no options, or passes them all on."""


@dataclass(frozen=True)
class Command:
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    #: True when every argument, --help included, goes to the module's own parser
    #: (as ``args.passed_on``): fastlr.demo, fastlr.bench and fastlr.warmup parse their own.
    passes_arguments_on: bool = False


COMMANDS = {
    "fit": Command("fit a model on a data file and save it", configure_fit, run_fit),
    "predict": Command("predict with a saved model, one line per row", configure_predict, run_predict),
    "backends": Command("list the kernel backends and whether they run here", _no_arguments, run_backends),
    "demo": Command("time every usable backend on generated data", _no_arguments, run_demo, True),
    "bench": Command("benchmarks (fastlr.bench; see fastlr bench --help)", _no_arguments, run_bench, True),
    "warmup": Command("compile the kernels ahead of the first fit (cached on disk)", _no_arguments, run_warmup, True),
}


def build_parser():
    """The top-level parser and, by name, the parser of each subcommand."""
    parser = OneLineParser(prog="fastlr", description="Logistic regression with interchangeable kernel backends.")
    parser.add_argument("--version", action="version", version=f"fastlr {__version__}")
    subcommands = parser.add_subparsers(title="commands", dest="command", required=True, metavar="COMMAND")
    subparsers = {}
    for name, command in COMMANDS.items():
        subparser = subcommands.add_parser(
            name, help=command.help, description=command.help, add_help=not command.passes_arguments_on,
            formatter_class=HelpWithDefaults,
        )
        command.configure(subparser)
        subparsers[name] = subparser
    return parser, subparsers


def parse_arguments(argv=None):
    """argv to a Namespace; arguments for demo and bench are kept in ``passed_on``."""
    parser, subparsers = build_parser()
    args, rest = parser.parse_known_args(argv)
    if rest and not COMMANDS[args.command].passes_arguments_on:
        subparsers[args.command].error(f"unrecognized arguments: {' '.join(rest)}")
    args.passed_on = rest
    return args


def main(argv=None):
    """Run the command line on ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    args = parse_arguments(argv)
    try:
        return COMMANDS[args.command].run(args)
    except USER_ERRORS as exc:
        if isinstance(exc, BrokenPipeError):  # `fastlr predict ... | head`: the reader left, nothing to report
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
        print(f"fastlr: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("fastlr: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
