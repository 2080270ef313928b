"""GPU experiments: how close does each way of computing the logistic
cost and gradient come to the device's memory bandwidth?

Sweeps m from 10⁴ up to what fits in device memory, for n = 100 and n = 1000,
float32 and float64, and times with CUDA events after warm-up
(``cupyx.profiler.benchmark``, median of the repeats):

- ``fused``: fastlr's one-pass kernel (``cupy`` backend ``cost_gradient``);
- ``cublas-two-pass``: cuBLAS ``X @ w``, an elementwise kernel, cuBLAS ``Xᵀ r``;
- ``cupy-naive``: the NumPy code run on CuPy arrays (``logaddexp``, ``exp``, two products);
- ``torch``: the same two-pass computation in PyTorch, where it is installed;
- ``fit-lbfgs``: a whole L-BFGS fit (tol 1e-6) on the device, per m.

The roof is the device-to-device copy bandwidth measured in the same run
(bytes read + bytes written per second). Each kernel's effective bandwidth is
the bytes of X it must read (m·n·itemsize) over its time. Results go to JSON
and a PNG under ``--output`` (default ``benchmarks/results``).

Run: ``python -m fastlr.bench.gpu`` or ``fastlr bench --gpu``.

``--race`` runs the time-to-optimum race on the device instead (float32,
C = 1, tol = 1e-6): binary 10⁷ × 100 and softmax K = 10, 2·10⁶ × 100, fastlr's
solvers on ``cupy`` against ``torch.optim.LBFGS`` and scikit-learn's
array-API LogisticRegression on the same memory (torch tensors through
DLPack, and CuPy arrays), then a 4 GB NumPy X fitted with ``backend="cupy"``
end to end; ``benchmarks/gpu_session.sh`` runs it with the GPU tests.
"""

import argparse
import json
import pathlib
import platform
import time

import numpy as np

import fastlr
from fastlr.bench import peers
from fastlr.dispatch import get_backend, unavailable_reason

DEFAULT_SIZES = (10**4, 10**5, 10**6, 10**7, 3 * 10**7, 10**8)
QUICK_SIZES = (10**4, 10**5, 10**6)
DEFAULT_FEATURES = (100, 1000)
DEFAULT_DTYPES = ("float32", "float64")
# Leave room for the temporaries of the two-pass variants and the fit.
MEMORY_SHARE_FOR_X = 0.4


def median_gpu_seconds(function, repeats, warmup=3):
    from cupyx.profiler import benchmark

    result = benchmark(function, (), n_repeat=repeats, n_warmup=warmup)
    return float(np.median(result.gpu_times[0]))


def copy_bandwidth(cp, n_bytes=4 * 2**30, repeats=20):
    """Device-to-device copy of ``n_bytes``: (read + write bytes) / median time, in B/s."""
    source = cp.ones(n_bytes // 4, dtype=cp.float32)
    target = cp.empty_like(source)
    seconds = median_gpu_seconds(lambda: cp.copyto(target, source), repeats)
    del source, target
    return 2 * n_bytes / seconds


def make_problem(cp, m, n, dtype, seed=0):
    """Random X (m, n) on the device and labels drawn from a logistic model."""
    rng = cp.random.default_rng(seed)
    X = rng.standard_normal((m, n), dtype=cp.float32).astype(dtype, copy=False)
    w_true = (rng.standard_normal(n, dtype=cp.float32) / np.sqrt(n)).astype(dtype)
    y = (rng.random(m, dtype=cp.float32) < 1 / (1 + cp.exp(-(X @ w_true)))).astype(dtype)
    w = (0.1 * rng.standard_normal(n, dtype=cp.float32)).astype(dtype)
    return X, y, w


def _variants(cp, kernels):
    def naive(X, y, w, b):
        z = X @ w + b
        losses = cp.logaddexp(0, z) - y * z
        residual = 1 / (1 + cp.exp(-z)) - y
        return losses.mean(), X.T @ residual / len(y), residual.mean()

    variants = {
        "fused": kernels.cost_gradient,
        "cublas-two-pass": kernels.cost_gradient_two_pass,
        "cupy-naive": naive,
    }
    try:
        import torch
    except ImportError:
        return variants

    def torch_two_pass(X, y, w, b):
        Xt, yt, wt = (torch.as_tensor(a, device="cuda") for a in (X, y, w))
        z = Xt @ wt + b
        losses = torch.nn.functional.softplus(z) - yt * z
        residual = torch.sigmoid(z) - yt
        return losses.mean(), Xt.T @ residual / len(yt), residual.mean()

    variants["torch"] = torch_two_pass
    return variants


def _fits(m, n, itemsize, free_bytes):
    return m * n * itemsize <= MEMORY_SHARE_FOR_X * free_bytes


def run(sizes, features, dtypes, repeats, fit_sizes, progress=print):
    import cupy as cp

    kernels = get_backend("cupy")
    device = cp.cuda.Device()
    properties = cp.cuda.runtime.getDeviceProperties(device.id)
    record = {
        "device": properties["name"].decode() if isinstance(properties["name"], bytes) else properties["name"],
        "driver": cp.cuda.runtime.driverGetVersion(),
        "runtime": cp.cuda.runtime.runtimeGetVersion(),
        "versions": {"cupy": cp.__version__, "numpy": np.__version__, "fastlr": fastlr.__version__,
                     "python": platform.python_version()},
        "method": "cupyx.profiler.benchmark (CUDA events), median of repeats after 3 warm-ups",
        "results": [],
        "fits": [],
    }
    roof = copy_bandwidth(cp)
    record["copy_bandwidth_GBps"] = roof / 1e9
    progress(f"device {record['device']}: copy bandwidth {roof / 1e9:.0f} GB/s (read + write)")
    variants = _variants(cp, kernels)
    for dtype in dtypes:
        for n in features:
            for m in sizes:
                itemsize = np.dtype(dtype).itemsize
                if not _fits(m, n, itemsize, device.mem_info[0]):
                    continue
                X, y, w = make_problem(cp, m, n, dtype)
                x_bytes = m * n * itemsize
                for name, function in variants.items():
                    seconds = median_gpu_seconds(lambda: function(X, y, w, 0.1), repeats)
                    row = {"variant": name, "dtype": dtype, "m": m, "n": n, "seconds": seconds,
                           "x_bytes": x_bytes, "GBps": x_bytes / seconds / 1e9,
                           "percent_of_roof": 100 * x_bytes / seconds / roof}
                    record["results"].append(row)
                    progress(f"{dtype} n={n:5d} m={m:>10,d} {name:16s} {seconds * 1e3:9.3f} ms "
                             f"{row['GBps']:7.0f} GB/s {row['percent_of_roof']:5.1f}% of roof")
                if m in fit_sizes and n == features[0]:
                    record["fits"].append(_time_fit(cp, X, y, dtype, progress))
                del X, y, w
                cp.get_default_memory_pool().free_all_blocks()
    return record


def _time_fit(cp, X, y, dtype, progress, repeats=3):
    """Median wall time of whole L-BFGS fits on device data (the first fit,
    which compiles the kernels, is not timed)."""
    m, n = X.shape
    fastlr.fit(X[:10_000], y[:10_000], backend="cupy", solver="lbfgs", tol=1e-6)
    times = []
    for _ in range(repeats):
        cp.cuda.Device().synchronize()
        start = time.perf_counter()
        model = fastlr.fit(X, y, backend="cupy", solver="lbfgs", tol=1e-6)
        cp.cuda.Device().synchronize()
        times.append(time.perf_counter() - start)
    seconds = float(np.median(times))
    progress(f"{dtype} n={n} m={m:,d} L-BFGS fit: {seconds:.3f} s (median of {repeats}: "
             f"{', '.join(f'{t:.3f}' for t in times)}), {int(model.n_iter_[0])} iterations")
    return {"solver": "lbfgs", "dtype": dtype, "m": m, "n": n, "seconds": seconds, "all_seconds": times,
            "n_iter": int(model.n_iter_[0]), "tol": 1e-6}


# -- time to optimum on the device, against torch and scikit-learn's array-API path ------------
#: (name, m, n, classes) of the race: the issue's binary and softmax shapes, float32 on the device.
RACE_CASES = (("binary", 10**7, 100, 2), ("softmax", 2 * 10**6, 100, 10))
QUICK_RACE_CASES = (("binary", 10**5, 100, 2), ("softmax", 10**5, 100, 10))
#: The host-to-device case: a NumPy X of this many rows × 100 float32 (4 GB) fitted with backend="cupy".
HOST_ROWS, QUICK_HOST_ROWS = 10**7, 10**5
RACE_TOL = 1e-6


def make_race_problem(cp, m, n, classes, seed=0):
    """Device X (m, n) float32 ~ N(0, 1) and labels 0..K−1 drawn from a softmax (logistic) model."""
    rng = cp.random.default_rng(seed)
    X = rng.standard_normal((m, n), dtype=cp.float32)
    W = rng.standard_normal((classes, n), dtype=cp.float32) / np.sqrt(n)
    if classes == 2:
        y = (rng.random(m, dtype=cp.float32) < 1 / (1 + cp.exp(-(X @ W[0])))).astype(cp.int64)
    else:
        Z = X @ W.T
        gumbel = -cp.log(-cp.log(rng.random(Z.shape, dtype=cp.float32) * 0.999998 + 1e-6))
        y = (Z + gumbel).argmax(axis=1).astype(cp.int64)  # a draw from softmax(Z) per row
    return X, y


def device_objective(cp, X, y, coef, intercept, C=1.0, block_rows=10**6):
    """scikit-learn's C·Σℓ + ½‖W‖² in float64 on the device, by row blocks (no float64 copy of X)."""
    W = cp.asarray(np.atleast_2d(coef), dtype=cp.float64)
    b = cp.asarray(np.ravel(intercept), dtype=cp.float64)
    total = 0.0
    for start in range(0, X.shape[0], block_rows):
        Xb, yb = X[start : start + block_rows].astype(cp.float64), y[start : start + block_rows]
        Z = Xb @ W.T + b
        if W.shape[0] == 1:
            z = Z[:, 0]
            losses = cp.logaddexp(0, z) - yb * z
        else:
            top = Z.max(axis=1, keepdims=True)
            losses = (top[:, 0] + cp.log(cp.exp(Z - top).sum(axis=1))) - Z[cp.arange(len(yb)), yb]
        total += float(losses.sum())
    return C * total + 0.5 * float((W * W).sum())


def _race_competitors(cp, X, y, classes):
    """name → fit(): each returns (coef, intercept, iterations, evaluations or None), synchronized."""

    def fastlr_fit(solver):
        def run():
            model = fastlr.fit(X, y, backend="cupy", solver=solver, tol=RACE_TOL, max_iter=1000)
            return model.coef_, model.intercept_, int(model.n_iter_.max()), None
        return run

    competitors = {name: fastlr_fit(solver) for name, solver in
                   (("fastlr-auto", "auto"), ("fastlr-newton-cg", "newton-cg"), ("fastlr-lbfgs", "lbfgs"))}
    notes = []
    try:
        import torch
    except ImportError as error:
        notes.append(f"torch: not installed ({error})")
    else:
        X_torch, y_torch = torch.from_dlpack(X), torch.from_dlpack(y)  # the same memory, no copy
        competitors["torch-lbfgs"] = lambda: peers.torch_lbfgs(X_torch, y_torch, classes, tol=RACE_TOL)
        reason = peers.array_api_unavailable_reason()
        if reason is None:
            competitors["sklearn-array-api-torch"] = lambda: peers.sklearn_array_api(X_torch, y_torch, tol=RACE_TOL)
        else:
            notes.append(f"sklearn-array-api-torch: {reason}")
    reason = peers.array_api_unavailable_reason()
    if reason is None:
        competitors["sklearn-array-api-cupy"] = lambda: peers.sklearn_array_api(X, y, tol=RACE_TOL)
    else:
        notes.append(f"sklearn-array-api-cupy: {reason}")
    return competitors, notes


def _timed(cp, function):
    cp.cuda.Device().synchronize()
    start = time.perf_counter()
    result = function()
    cp.cuda.Device().synchronize()
    return time.perf_counter() - start, result


def race(cases, host_rows, repeats, progress=print):
    """The device race: per case, every competitor warm (one untimed fit), then ``repeats`` rounds
    of one fit each, interleaved; median wall time, iterations and the objective gap to the best
    objective any competitor reached. Then a NumPy X of ``host_rows`` × 100 with backend="cupy"."""
    import cupy as cp

    rows, notes = [], []
    for name, m, n, classes in cases:
        X, y = make_race_problem(cp, m, n, classes)
        competitors, skipped = _race_competitors(cp, X, y, classes)
        notes += skipped
        results = {}
        for competitor, fit_once in competitors.items():
            fit_once()  # compilation, cuBLAS handles, autotuning: not timed
        seconds = {competitor: [] for competitor in competitors}
        for _ in range(repeats):
            for competitor, fit_once in competitors.items():
                elapsed, results[competitor] = _timed(cp, fit_once)
                seconds[competitor].append(elapsed)
        labels = y.astype(cp.float64) if classes == 2 else y
        objectives = {c: device_objective(cp, X, labels, *results[c][:2]) for c in competitors}
        best = min(objectives.values())
        for competitor in competitors:
            coef, intercept, iterations, evaluations = results[competitor]
            row = {"case": name, "m": m, "n": n, "classes": classes, "solver": competitor,
                   "seconds": float(np.median(seconds[competitor])), "all_seconds": seconds[competitor],
                   "iterations": iterations, "evaluations": evaluations,
                   "relative_gap_to_best": (objectives[competitor] - best) / abs(best)}
            rows.append(row)
            progress(f"{name} {m:,} x {n}: {competitor:24s} {row['seconds'] * 1e3:8.1f} ms, {iterations} iterations, "
                     f"gap {row['relative_gap_to_best']:.1e}")
        del X, y, labels
        cp.get_default_memory_pool().free_all_blocks()
    rows.append(_host_input_fit(cp, host_rows, repeats, progress))
    return rows, list(dict.fromkeys(notes))


def _host_input_fit(cp, m, repeats, progress):
    """A NumPy X (m × 100 float32) and labels fitted with backend="cupy": validation, the pinned
    transfer, label encoding on the device and the fit, end to end; and the transfer alone."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((m, 100), dtype=np.float32)
    y = (X[:, 0] + 0.5 * rng.standard_normal(m, dtype=np.float32) > 0).astype(np.int64)
    kernels = get_backend("cupy")
    fastlr.fit(X[:10_000], y[:10_000], backend="cupy", tol=RACE_TOL)
    transfer = [_timed(cp, lambda: kernels.to_device(X))[0] for _ in range(repeats)]
    fits = [_timed(cp, lambda: fastlr.fit(X, y, backend="cupy", tol=RACE_TOL))[0] for _ in range(repeats)]
    row = {"case": "numpy-input", "m": m, "n": 100, "classes": 2, "solver": "fastlr-auto", "x_bytes": X.nbytes,
           "seconds": float(np.median(fits)), "all_seconds": fits, "transfer_seconds": float(np.median(transfer))}
    progress(f"NumPy X of {X.nbytes / 1e9:.1f} GB, backend='cupy': fit end to end {row['seconds']:.3f} s, "
             f"of which the transfer alone {row['transfer_seconds']:.3f} s ({X.nbytes / row['transfer_seconds'] / 1e9:.0f} GB/s)")
    return row


def race_summary(rows):
    """Each fastlr solver against each peer, per case: the ratios the issue's goals are stated in."""
    lines = []
    for case in dict.fromkeys(r["case"] for r in rows if r["case"] != "numpy-input"):
        here = {r["solver"]: r for r in rows if r["case"] == case}
        fastest = min((r for s, r in here.items() if s.startswith("fastlr")), key=lambda r: r["seconds"])
        for peer in (s for s in here if not s.startswith("fastlr")):
            lines.append(f"{case}: {fastest['solver']} {fastest['seconds'] * 1e3:.1f} ms is "
                         f"{here[peer]['seconds'] / fastest['seconds']:.2f}x {peer} ({here[peer]['seconds'] * 1e3:.1f} ms)")
    for r in rows:
        if r["case"] == "numpy-input":
            lines.append(f"NumPy input {r['x_bytes'] / 1e9:.1f} GB with backend='cupy': {r['seconds']:.3f} s end to end")
    return lines


def summarize(record):
    """The figures the issue asks about: fused at ≥1 GB vs the roof and vs cuBLAS."""
    lines = []
    rows = record["results"]
    for row in rows:
        if row["variant"] != "fused" or row["x_bytes"] < 2**30:
            continue
        twin = next(r for r in rows if r["variant"] == "cublas-two-pass" and
                    (r["m"], r["n"], r["dtype"]) == (row["m"], row["n"], row["dtype"]))
        lines.append(
            f"{row['dtype']} m={row['m']:,} n={row['n']}: fused {row['percent_of_roof']:.0f}% of copy bandwidth, "
            f"{twin['seconds'] / row['seconds']:.2f}x faster than cuBLAS two-pass"
        )
    for fit in record["fits"]:
        lines.append(f"L-BFGS fit {fit['dtype']} m={fit['m']:,} n={fit['n']}: {fit['seconds']:.3f} s "
                     f"({fit['n_iter']} iterations)")
    return lines


def plot(record, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = sorted({(r["dtype"], r["n"]) for r in record["results"]})
    figure, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), squeeze=False)
    roof = record["copy_bandwidth_GBps"] * 1e9
    for ax, (dtype, n) in zip(axes[0], panels):
        rows = [r for r in record["results"] if (r["dtype"], r["n"]) == (dtype, n)]
        for variant in dict.fromkeys(r["variant"] for r in rows):
            points = sorted((r["m"], r["seconds"]) for r in rows if r["variant"] == variant)
            ax.loglog(*zip(*points), marker="o", label=variant)
        ms = sorted({r["m"] for r in rows})
        itemsize = np.dtype(dtype).itemsize
        ax.loglog(ms, [m * n * itemsize / roof for m in ms], "k--", label="roof (read X once)")
        ax.set(title=f"{dtype}, n = {n}", xlabel="m (rows)", ylabel="time per cost+gradient [s]")
        ax.legend(fontsize=8)
    figure.suptitle(f"{record['device']}: logistic cost and gradient")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m fastlr.bench.gpu", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only (seconds)")
    parser.add_argument("--m", type=int, nargs="+", help="row counts to sweep")
    parser.add_argument("--n", type=int, nargs="+", default=list(DEFAULT_FEATURES))
    parser.add_argument("--dtype", nargs="+", default=list(DEFAULT_DTYPES), choices=DEFAULT_DTYPES)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--fit-m", type=int, nargs="*", default=[10**7], help="row counts with a full fit")
    parser.add_argument("--output", type=pathlib.Path, default=pathlib.Path("benchmarks/results"))
    parser.add_argument("--race", action="store_true",
                        help="time to optimum on the device against torch.optim.LBFGS and scikit-learn's array-API "
                             "LogisticRegression (set SCIPY_ARRAY_API=1 for the latter), and a NumPy X with backend='cupy'")
    args = parser.parse_args(argv)
    reason = unavailable_reason("cupy")
    if reason is not None:
        parser.exit(1, f"fastlr gpu experiments: the cupy backend cannot run here: {reason}\n")
    if args.race:
        return _main_race(args)
    sizes = args.m or (QUICK_SIZES if args.quick else DEFAULT_SIZES)
    record = run(sizes, args.n, args.dtype, args.repeats, set(args.fit_m))
    args.output.mkdir(parents=True, exist_ok=True)
    stem = args.output / f"gpu_{record['device'].replace(' ', '_')}"
    stem.with_suffix(".json").write_text(json.dumps(record, indent=2))
    try:
        plot(record, stem.with_suffix(".png"))
    except ImportError:
        print("matplotlib is not installed: no plot (pip install 'fastlr[plot]')")
    print("\n".join(["", *summarize(record)]))
    print(f"\nwrote {stem.with_suffix('.json')} and {stem.with_suffix('.png')}")
    return 0


def _main_race(args):
    import cupy as cp

    cases = QUICK_RACE_CASES if args.quick else RACE_CASES
    rows, notes = race(cases, QUICK_HOST_ROWS if args.quick else HOST_ROWS, repeats=3 if args.quick else 7)
    properties = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)
    name = properties["name"].decode() if isinstance(properties["name"], bytes) else properties["name"]
    record = {"device": name, "tol": RACE_TOL, "C": 1.0, "dtype": "float32", "skipped": notes, "rows": rows,
              "method": "wall time around each fit with device synchronization, warm, median of interleaved rounds",
              "versions": {"cupy": cp.__version__, "numpy": np.__version__, "fastlr": fastlr.__version__,
                           "python": platform.python_version()}}
    args.output.mkdir(parents=True, exist_ok=True)
    path = args.output / f"gpu_race_{name.replace(' ', '_')}.json"
    path.write_text(json.dumps(record, indent=2))
    print("\n".join(["", *(f"skipped: {note}" for note in notes), *race_summary(rows), f"wrote {path}"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
