"""LogisticRegressionCV against its peers: 10 Cs x 5 folds on make_classification(200 000, 100).

    python benchmarks/cv_path.py [--repeat 3] [--quick] [--output out/cv_path.json]

The searches of ``fastlr.bench.workloads.CV_SEARCHES`` run after a warm-up
round on a small slice (JIT compilation), fastlr's between every two peers'
(F P₁ F P₂ F P₁ F ...), so that each peer's run has a fastlr run just before
and just after it: on a machine shared with other work the load changes by
the minute, and the ratio of a peer's time to the mean of its two neighbours
is what stays comparable. The report is each search's median time, the median
of its ratios, and the C each selected, which must agree. ``--quick`` runs the
small shape, to check the script, not to measure.
"""

import argparse
import os
import statistics
import time

from fastlr.bench import workloads
from fastlr.outputs import write_json


def race(repeat: int) -> list:
    """One row per search: median seconds, every run's seconds, the median ratio to the
    neighbouring fastlr runs (1 for fastlr itself), the selected C."""
    X, y = workloads.make_cv_problem()
    warm = min(len(y), 2000)
    for search in workloads.CV_SEARCHES.values():
        search(X[:warm], y[:warm])
    names = list(workloads.CV_SEARCHES)
    ours, peers = names[0], names[1:]
    seconds = {name: [] for name in names}
    ratios = {name: [] for name in peers}
    selected = {}

    def run(name):
        start = time.perf_counter()
        _, C = workloads.CV_SEARCHES[name](X, y)
        seconds[name].append(time.perf_counter() - start)
        selected.setdefault(name, C)
        return seconds[name][-1]

    before = run(ours)
    for _ in range(repeat):
        for peer in peers:
            peer_seconds = run(peer)
            after = run(ours)
            ratios[peer].append(peer_seconds / ((before + after) / 2))
            before = after
    return [
        {"search": name, "median_seconds": statistics.median(seconds[name]), "seconds": seconds[name],
         "ratios": ratios.get(name, []), "times_fastlr": statistics.median(ratios[name]) if name in ratios else 1.0,
         "selected_C": selected[name]}
        for name in names
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
          f"scoring={workloads.CV_SCORING!r}, {args.repeat} runs of each peer between fastlr runs")
    print("| search | median [s] | median of (time / neighbouring fastlr runs) | selected C |\n|---|---:|---:|---:|")
    for row in rows:
        print(f"| {row['search']} | {row['median_seconds']:.2f} | {row['times_fastlr']:.2f} | {row['selected_C']:.4g} |")
    write_json(args.output, {"shape": shape, "repeat": args.repeat, "rows": rows}, indent=2)
    return rows


if __name__ == "__main__":
    main()
