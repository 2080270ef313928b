"""Time to first answer: the first default fit + predict on 100k x 10 in a fresh process.

Each run is a new Python process with its own Numba cache directory, so the
three states a user meets are measured as they are met:

- ``empty cache``: nothing compiled yet (a fresh install, or after
  ``python -m fastlr.kernels.numba_build --clear-cache``);
- ``after fastlr warmup``: the cache filled by ``fastlr warmup`` in an earlier process;
- ``warm cache``: the same fit ran in an earlier process.

Reported per run: wall and CPU seconds of ``import fastlr``, and of the fit
plus ``predict`` and ``predict_proba``, with the part Numba spent compiling
(:func:`fastlr.warmup.timed`), and the machine's load average, since on a
shared machine the wall time of a compilation grows with the load while its
CPU time does not. Goal (issue 16): fit + predict ≤ 10 s with an empty cache
(aim ≤ 5 s), ≤ 1 s with a warm one.

    python benchmarks/first_fit.py [--repeats 3] [--output benchmarks/results/first_fit.json]
"""

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile

from fastlr.outputs import write_json

CHILD = r"""
import json, os, time
wall, cpu = time.perf_counter(), time.process_time()
import numpy as np
import fastlr
from fastlr.warmup import timed
imported = {"import_wall": time.perf_counter() - wall, "import_cpu": time.process_time() - cpu}
rng = np.random.default_rng(0)
X = rng.standard_normal((100_000, 10))
y = (X[:, 0] + 0.5 * rng.standard_normal(100_000) > 0).astype(int)
cpu = time.process_time()

def first_answer():
    model = fastlr.fit(X, y)
    return model, model.predict(X), model.predict_proba(X)

(model, _, _), timing = timed(first_answer)
print(json.dumps({**imported, "fit_predict_wall": timing.seconds, "fit_predict_cpu": time.process_time() - cpu,
                  "compile_wall": timing.compile_seconds, "solver": model.solver_, "backend": model.backend_,
                  "load_average": os.getloadavg()[0]}))
"""


def _child(cache, *arguments):
    env = {**os.environ, "NUMBA_CACHE_DIR": cache}
    result = subprocess.run([sys.executable, *arguments], env=env, capture_output=True, text=True, check=True)
    return result.stdout


def measure(state, repeats):
    """``repeats`` fresh processes in cache ``state``: 'empty', 'warmup' or 'warm'."""
    runs = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="fastlr-numba-cache-") as cache:
            if state == "warmup":
                _child(cache, "-m", "fastlr.warmup")
            elif state == "warm":
                _child(cache, "-c", CHILD)
            runs.append(json.loads(_child(cache, "-c", CHILD).splitlines()[-1]))
    return runs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", type=pathlib.Path)
    args = parser.parse_args(argv)
    record = {"python": sys.version.split()[0], "cpus": os.cpu_count(), "states": {}}
    for state, label in [("empty", "empty cache"), ("warmup", "after fastlr warmup"), ("warm", "warm cache")]:
        runs = measure(state, args.repeats)
        record["states"][label] = runs
        median = {key: statistics.median(run[key] for run in runs) for key in runs[0] if key not in ("solver", "backend")}
        print(f"{label:<20} fit+predict {median['fit_predict_wall']:6.2f} s wall, {median['fit_predict_cpu']:6.2f} s CPU "
              f"({median['compile_wall']:5.2f} s compiling); import {median['import_wall']:5.2f} s wall; "
              f"load average {median['load_average']:.1f}  [{runs[0]['backend']}, {runs[0]['solver']}, "
              f"median of {len(runs)}]", flush=True)
    if args.output is not None:
        print(f"wrote {write_json(args.output, record)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
