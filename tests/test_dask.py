"""The dask path: the same model as the in-memory fit, lazy prediction, bounded memory out of core.

References are independent of fastlr.distributed: the in-memory fastlr fit of the
same estimator and scikit-learn's LogisticRegression.
"""

import json
import subprocess
import sys
import textwrap
import threading
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
pytest.importorskip("distributed")

import fastlr  # noqa: E402
from fastlr import distributed as dask_path  # noqa: E402
from fastlr import config  # noqa: E402
from tests.conftest import ALL_BACKENDS  # noqa: E402

ROWS_PER_CHUNK = 500  # the data below has 5 chunks, the last one shorter


@pytest.fixture(scope="module")
def binary():
    X, y = make_classification(n_samples=2300, n_features=6, n_informative=4, random_state=0)
    return X, y


@pytest.fixture(scope="module")
def three_classes():
    X, y = make_classification(
        n_samples=2300, n_features=6, n_informative=4, n_classes=3, random_state=1
    )
    return X, np.array(["ant", "bee", "cat"])[y]


def chunked(X):
    return da.from_array(X, chunks=(ROWS_PER_CHUNK, X.shape[1]))


def relative_difference(a, b):
    return float(np.abs(np.asarray(a) - np.asarray(b)).max() / np.abs(np.asarray(b)).max())


def fit_both(X, y, sample_weight=None, **params):
    """(dask fit, in-memory fit) of the same estimator; ConvergenceWarnings silenced
    for the fixed-iteration comparisons."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        on_dask = fastlr.LogisticRegression(**params).fit(
            chunked(X), y, None if sample_weight is None else da.from_array(sample_weight, chunks=300)
        )
        in_memory = fastlr.LogisticRegression(**params).fit(X, y, sample_weight)
    return on_dask, in_memory


def assert_same_model(on_dask, in_memory, rtol=1e-6):
    assert relative_difference(on_dask.coef_, in_memory.coef_) < rtol
    np.testing.assert_allclose(on_dask.intercept_, in_memory.intercept_, rtol=rtol, atol=rtol)
    np.testing.assert_array_equal(on_dask.classes_, in_memory.classes_)
    assert on_dask.coef_.dtype == in_memory.coef_.dtype
    assert on_dask.n_iter_.shape == in_memory.n_iter_.shape
    assert on_dask.backend_ == in_memory.backend_ and on_dask.solver_ == in_memory.solver_
    assert on_dask.n_features_in_ == in_memory.n_features_in_


# -- the same model as in memory ----------------------------------------------------------
CASES = {
    # Converged fits: equal to ~1e-6 whatever the summation order.
    "lbfgs": dict(solver="lbfgs", tol=1e-9),
    "newton": dict(solver="newton", tol=1e-10),
    "newton-no-intercept": dict(solver="newton", tol=1e-10, fit_intercept=False, C=0.1),
    "lbfgs-unpenalized": dict(solver="lbfgs", tol=1e-9, penalty=None),
    "newton-cg": dict(solver="newton-cg", tol=1e-10),
    "newton-cg-no-intercept": dict(solver="newton-cg", tol=1e-10, fit_intercept=False, C=0.1),
    # Fixed iteration counts: the same iterates step by step (and the Lipschitz
    # estimate behind gd's automatic step size).
    "gd": dict(solver="gd", tol=0.0, max_iter=40),
    "fista-elasticnet": dict(solver="fista", penalty="elasticnet", l1_ratio=0.5, C=0.05, tol=0.0, max_iter=40),
}


@pytest.mark.parametrize("params", list(CASES.values()), ids=list(CASES))
def test_binary_fit_equals_in_memory_fit(binary, params):
    X, y = binary
    on_dask, in_memory = fit_both(X, y, **params)
    assert_same_model(on_dask, in_memory)
    np.testing.assert_allclose(on_dask.cost_history_, in_memory.cost_history_, rtol=1e-8)


@pytest.mark.parametrize(
    "params",
    [
        dict(solver="lbfgs", multi_class="multinomial", tol=1e-9),
        dict(solver="newton", multi_class="ovr", tol=1e-10),
        dict(solver="newton-cg", multi_class="multinomial", tol=1e-10),
    ],
    ids=["multinomial-lbfgs", "ovr-newton", "multinomial-newton-cg"],
)
def test_multiclass_fit_equals_in_memory_fit(three_classes, params):
    X, y = three_classes
    on_dask, in_memory = fit_both(X, y, **params)
    assert_same_model(on_dask, in_memory)
    assert list(on_dask.classes_) == ["ant", "bee", "cat"]


def test_sample_and_class_weights_as_in_memory_and_in_sklearn(three_classes):
    X, y = three_classes
    sample_weight = np.random.default_rng(2).uniform(0.0, 2.0, len(y))
    params = dict(solver="newton", multi_class="ovr", class_weight="balanced", tol=1e-10)
    on_dask, in_memory = fit_both(X, y, sample_weight, **params)
    assert_same_model(on_dask, in_memory)

    binary_y = y == "cat"  # scikit-learn fits the same one-vs-rest problem for one class
    reference = SklearnLogisticRegression(class_weight={False: 0.4, True: 2.5}, tol=1e-12, max_iter=10_000)
    reference.fit(X, binary_y, sample_weight=sample_weight)
    model = fastlr.LogisticRegression(solver="newton", class_weight={False: 0.4, True: 2.5}, tol=1e-10)
    model.fit(chunked(X), binary_y, sample_weight=sample_weight)
    assert relative_difference(model.coef_, reference.coef_) < 1e-5
    np.testing.assert_allclose(model.intercept_, reference.intercept_, rtol=1e-5)


def test_fastlr_fit_matches_sklearn(binary):
    X, y = binary
    reference = SklearnLogisticRegression(C=0.5, tol=1e-12, max_iter=10_000).fit(X, y)
    model = fastlr.fit(chunked(X), da.from_array(y, chunks=700), C=0.5, solver="lbfgs", tol=1e-9)
    assert relative_difference(model.coef_, reference.coef_) < 1e-5
    np.testing.assert_allclose(model.intercept_, reference.intercept_, rtol=1e-5)


def test_float32_column_chunks_and_integers(binary):
    X, y = binary
    reference = fastlr.fit(X, y, solver="newton", tol=1e-10)
    # Columns split over two blocks and rows in uneven chunks: rechunked, same model.
    split = da.from_array(X, chunks=(333, 4))
    assert relative_difference(fastlr.fit(split, y, solver="newton", tol=1e-10).coef_, reference.coef_) < 1e-6
    single = fastlr.fit(chunked(X.astype(np.float32)), y, solver="newton", tol=1e-4)
    assert single.coef_.dtype == np.float32
    assert relative_difference(single.coef_, reference.coef_) < 1e-3
    integers = np.round(4 * X).astype(np.int64)
    as_float = fastlr.fit(integers.astype(np.float64), y, solver="newton", tol=1e-10)
    on_dask = fastlr.fit(chunked(integers), y, solver="newton", tol=1e-10)
    assert on_dask.coef_.dtype == np.float64
    assert relative_difference(on_dask.coef_, as_float.coef_) < 1e-6


@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_every_backend_runs_on_chunks(binary, backend):
    X, y = binary
    X, y = X[:1200], y[:1200]  # the python backend is slow on purpose
    on_dask, in_memory = fit_both(X, y, backend=backend, solver="newton", tol=1e-10)
    assert_same_model(on_dask, in_memory)


def test_from_npy_reads_row_chunks_without_loading_the_file(tmp_path, binary):
    X = binary[0].astype(np.float32)
    np.save(tmp_path / "X.npy", X)
    on_disk = dask_path.from_npy(tmp_path / "X.npy", chunk_rows=700)
    assert on_disk.chunks == ((700, 700, 700, 200), (X.shape[1],)) and on_disk.dtype == np.float32
    np.testing.assert_array_equal(on_disk.compute(), X)
    np.testing.assert_array_equal(on_disk[650:1500:3, 2:5].compute(), X[650:1500:3, 2:5])
    np.save(tmp_path / "F.npy", np.asfortranarray(X))
    with pytest.raises(ValueError, match="C-ordered 2-D"):
        dask_path.from_npy(tmp_path / "F.npy", chunk_rows=700)


def counting_source(X):
    """``chunked(X)`` behind a task that counts how often a chunk is produced."""
    lock, calls = threading.Lock(), [0]

    def produce(block):
        with lock:
            calls[0] += 1
        return block

    # meta given, so that dask does not call produce on an empty array to infer it
    return chunked(X).map_blocks(produce, dtype=X.dtype, meta=np.empty((0, 0))), calls


def test_persisted_X_is_read_from_its_source_once(binary):
    X, y = binary
    source, calls = counting_source(X)
    model = dask_path.fit(fastlr.LogisticRegression(solver="lbfgs"), source, y, persist=True)
    assert model.n_iter_[0] > 3
    assert calls[0] == source.numblocks[0]  # the validation pass that also persists

    streamed, calls = counting_source(X)
    model = dask_path.fit(fastlr.LogisticRegression(solver="lbfgs"), streamed, y, persist=False)
    assert calls[0] > model.n_iter_[0] * streamed.numblocks[0]  # one read per evaluation


# -- prediction ---------------------------------------------------------------------------
def refuse_to_compute(*args, **kwargs):
    raise AssertionError("a lazy prediction computed something")


@pytest.mark.parametrize(
    "data, multi_class", [("binary", "auto"), ("three_classes", "ovr"), ("three_classes", "multinomial")]
)
def test_prediction_is_lazy_and_equals_in_memory_prediction(data, multi_class, request):
    X, y = request.getfixturevalue(data)
    model = fastlr.LogisticRegression(multi_class=multi_class).fit(chunked(X), y)
    methods = ["decision_function", "predict_proba", "predict_log_proba", "predict"]
    with dask.config.set(scheduler=refuse_to_compute):
        lazy = {name: getattr(model, name)(chunked(X)) for name in methods}
    for name in methods:
        assert isinstance(lazy[name], da.Array), name
        expected = getattr(model, name)(X)
        assert lazy[name].shape == expected.shape and lazy[name].dtype == expected.dtype, name
        computed = lazy[name].compute()
        if name == "predict":
            np.testing.assert_array_equal(computed, expected)
        else:
            np.testing.assert_allclose(computed, expected, rtol=1e-12, atol=1e-14)


def test_lazy_prediction_uses_the_coefficients_of_its_call(binary):
    X, y = binary
    model = fastlr.LogisticRegression().fit(chunked(X), y)
    expected = model.predict_proba(X)
    lazy = model.predict_proba(chunked(X))
    model.fit(chunked(X), 1 - y)  # refitted before the lazy result is computed
    np.testing.assert_allclose(lazy.compute(), expected, rtol=1e-12)


# -- a cluster of worker processes ----------------------------------------------------------
@pytest.fixture(scope="module")
def cluster_client():
    from distributed import Client, LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, memory_limit="1GiB"
    ) as cluster, Client(cluster) as client:
        yield client


@pytest.mark.parametrize("solver", ["lbfgs", "newton"])
def test_local_cluster_fit_equals_in_memory_fit(cluster_client, binary, solver):
    X, y = binary
    on_dask, in_memory = fit_both(X, y, solver=solver, tol=1e-9)
    assert_same_model(on_dask, in_memory)
    probabilities = on_dask.predict_proba(chunked(X))
    assert isinstance(probabilities, da.Array)
    np.testing.assert_allclose(probabilities.compute(), in_memory.predict_proba(X), rtol=1e-6, atol=1e-12)


def test_local_cluster_multinomial(cluster_client, three_classes):
    X, y = three_classes
    on_dask, in_memory = fit_both(X, y, solver="lbfgs", multi_class="multinomial", tol=1e-8)
    assert_same_model(on_dask, in_memory)


def test_auto_persist_follows_the_memory_of_the_cluster(cluster_client, monkeypatch):
    assert dask_path._memory_of_scheduler() == 2 * 2**30  # two workers of 1 GiB
    X = da.zeros((1000, 10), chunks=(100, 10))  # 80 kB
    assert dask_path._keeps_in_memory(X, "auto")
    monkeypatch.setattr(config, "DASK_PERSIST_MEMORY_FRACTION", 1e-6)  # 2 kB of the cluster's memory
    assert not dask_path._keeps_in_memory(X, "auto")


# -- bad input ------------------------------------------------------------------------------
def _unknown_chunks(X):
    dask_X = chunked(X)
    return dask_X[dask_X[:, 0] > 0]


BAD_INPUT = {
    "1-D X": (lambda X, y: (chunked(X)[:, 0], y, None, {}), "2-D"),
    "3-D X": (lambda X, y: (chunked(X)[:, :, None], y, None, {}), "2-D"),
    "unknown chunks": (lambda X, y: (_unknown_chunks(X), y[X[:, 0] > 0], None, {}), "compute_chunk_sizes"),
    "short y": (lambda X, y: (chunked(X), y[:-1], None, {}), "one entry per row"),
    "NaN in X": (lambda X, y: (chunked(np.where(X > 2.5, np.nan, X)), y, None, {}), "NaN or infinity"),
    "text X": (lambda X, y: (chunked(X.astype(str)), y, None, {}), "real numbers"),
    "one class": (lambda X, y: (chunked(X), np.zeros_like(y), None, {}), "at least 2 classes"),
    "continuous y": (lambda X, y: (chunked(X), X[:, 0], None, {}), "Unknown label type"),
    "negative weight": (lambda X, y: (chunked(X), y, -np.ones(len(y)), {}), "Negative values"),
    "zero weights": (lambda X, y: (chunked(X), y, np.zeros(len(y)), {}), "sums to zero"),
    "mini-batch": (lambda X, y: (chunked(X), y, None, dict(solver="gd", batch_size=32)), "batch_size"),
    "unknown backend": (lambda X, y: (chunked(X), y, None, dict(backend="fortran")), "unknown backend"),
}


@pytest.mark.parametrize("make, message", list(BAD_INPUT.values()), ids=list(BAD_INPUT))
def test_bad_input_is_rejected(binary, make, message):
    X, y, sample_weight, params = make(*binary)
    with pytest.raises(ValueError, match=message):
        fastlr.LogisticRegression(**params).fit(X, y, sample_weight)


def test_bad_persist_and_feature_count(binary):
    X, y = binary
    with pytest.raises(ValueError, match="persist must be"):
        dask_path.fit(fastlr.LogisticRegression(), chunked(X), y, persist="sometimes")
    model = fastlr.fit(chunked(X), y)
    with pytest.raises(ValueError, match="5 features, but the model was fitted with 6"):
        model.predict(chunked(X[:, :5]))


# -- out of core ------------------------------------------------------------------------------
# Run in a fresh interpreter so that the baseline holds nothing from other tests.
MEMORY_PROBE = textwrap.dedent(
    """
    import json, sys, threading, time, warnings
    import numpy as np, psutil, dask.array as da
    import fastlr
    from fastlr import distributed as dask_path

    warnings.simplefilter("ignore")
    path, persist = sys.argv[1], sys.argv[2] == "persist"
    process = psutil.Process()
    # Warm up imports, compiled kernels and dask's thread pool outside the measurement.
    small = np.random.default_rng(0).standard_normal((4000, 8))
    dask_path.fit(fastlr.LogisticRegression(max_iter=2), da.from_array(small, chunks=(1000, 8)),
                  small[:, 0] > 0, persist=False)
    X = dask_path.from_npy(path + "/X.npy", chunk_rows=8000)
    y = np.load(path + "/y.npy")
    peak, done = [0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], process.memory_info().rss)
            time.sleep(0.002)

    baseline = process.memory_info().rss
    sampler = threading.Thread(target=sample)
    sampler.start()
    model = dask_path.fit(fastlr.LogisticRegression(solver="lbfgs", max_iter=5, tol=0.0), X, y, persist=persist)
    done.set()
    sampler.join()
    print(json.dumps({"growth": peak[0] - baseline, "nbytes": X.nbytes, "chunk": X.blocks[0].nbytes,
                      "n_iter": int(model.n_iter_[0])}))
    """
)


@pytest.fixture(scope="module")
def npy_on_disk(tmp_path_factory):
    """A 256 MB .npy (250,000 × 128 float64) written block by block, and its labels."""
    pytest.importorskip("psutil")
    if sys.platform != "linux":
        pytest.skip("the RSS measurement is checked on Linux only")
    path = tmp_path_factory.mktemp("out_of_core")
    m, n, block = 250_000, 128, 25_000
    rng = np.random.default_rng(0)
    X = np.lib.format.open_memmap(path / "X.npy", mode="w+", dtype=np.float64, shape=(m, n))
    y = np.empty(m)
    w = rng.standard_normal(n) / np.sqrt(n)
    for start in range(0, m, block):
        rows = rng.standard_normal((block, n))
        X[start : start + block] = rows
        y[start : start + block] = rows @ w + rng.logistic(size=block) > 0
    X.flush()
    del X
    np.save(path / "y.npy", y)
    return path


def peak_growth(path, mode):
    result = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, str(path), mode],
        capture_output=True, text=True, timeout=300, check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_streamed_fit_memory_stays_bounded(npy_on_disk):
    streamed = peak_growth(npy_on_disk, "stream")
    assert streamed["n_iter"] == 5
    # A few chunks per thread (and the n_samples-long label vectors), not the array.
    assert streamed["growth"] < 0.25 * streamed["nbytes"], streamed
    # The control: persisting the same array is seen by the same measurement.
    persisted = peak_growth(npy_on_disk, "persist")
    assert persisted["growth"] > 0.8 * persisted["nbytes"], persisted
