"""LogisticRegressionCV against its peers: 10 Cs x 5 folds on make_classification(200 000, 100).

    python benchmarks/cv_path.py [--repeat 3] [--quick] [--output out/cv_path.json]

The three searches of ``fastlr.bench.workloads.CV_SEARCHES`` run in turns, one
after another in every round (so that a machine shared with other work slows
them alike), after a warm-up round on a small slice (JIT compilation). The
report is each one's median wall time, its time over fastlr's, and the C each
selected, which must agree. ``--quick`` runs the small shape, to check the
script, not to measure.
"""

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from fastlr.bench import workloads


def race(repeat: int) -> list:
    """One row per search: the median seconds of ``repeat`` rounds, every round's seconds, the selected C."""
    X, y = workloads.make_cv_problem()
    warm = min(len(y), 2000)
    for search in workloads.CV_SEARCHES.values():
        search(X[:warm], y[:warm])
    seconds = {name: [] for name in workloads.CV_SEARCHES}
    selected = {}
    for _ in range(repeat):
        for name, search in workloads.CV_SEARCHES.items():
            start = time.perf_counter()
            _, C = search(X, y)
            seconds[name].append(time.perf_counter() - start)
            selected.setdefault(name, C)
    fastest = statistics.median(seconds["fastlr LogisticRegressionCV"])
    return [
        {"search": name, "median_seconds": statistics.median(times), "seconds": times,
         "times_fastlr": statistics.median(times) / fastest, "selected_C": selected[name]}
        for name, times in seconds.items()
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="rounds (each search once per round)")
    parser.add_argument("--quick", action="store_true", help="small shape: checks the script, measures nothing")
    parser.add_argument("--output", default="out/cv_path.json")
    args = parser.parse_args(argv)
    if args.quick:
        os.environ["FASTLR_BENCH_QUICK"] = "1"
    rows = race(args.repeat)
    shape = workloads.QUICK_CV_SHAPE if workloads.quick_mode() else workloads.CV_SHAPE
    print(f"{workloads.CV_CS} Cs x {workloads.CV_FOLDS} folds, make_classification{shape}, tol={workloads.CV_TOL}, "
          f"scoring={workloads.CV_SCORING!r}, medians of {args.repeat} interleaved rounds")
    print("| search | median [s] | x fastlr's time | selected C |\n|---|---:|---:|---:|")
    for row in rows:
        print(f"| {row['search']} | {row['median_seconds']:.2f} | {row['times_fastlr']:.2f} | {row['selected_C']:.4g} |")
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps({"shape": shape, "repeat": args.repeat, "rows": rows}, indent=2) + "\n")
    return rows


if __name__ == "__main__":
    main()
