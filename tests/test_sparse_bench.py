"""``fastlr bench --sparse`` (tiny) and the sparse workloads; no timing is asserted."""

import json

import numpy as np
import pytest
import scipy.sparse

from fastlr import bench
from fastlr.bench import sparse_workloads
from tests.test_bench import parse


def test_sparse_bench_writes_every_case_with_the_csr_roof(tmp_path):
    args = parse(
        "--sparse", "--quick", "--m", "400", "--n", "300", "--density", "0.05", "--output", str(tmp_path),
        "--backends", "numpy", "numba", "scipy-two-pass", "sklearn",
    )
    assert bench.main(args) == 0
    document = json.loads((tmp_path / "bench.json").read_text())
    rows = document["rows"]
    cases = {(r["operation"], r["backend"]) for r in rows}
    assert {("read", probe) for probe in sparse_workloads.READ_PROBES} <= cases
    assert {("cost_gradient", "numpy"), ("cost_gradient", "numba"), ("cost_gradient", "scipy-two-pass"),
            ("hessian_product", "numba"), ("fit", "numba"), ("fit", "sklearn")} <= cases
    assert document["settings"]["sparse"] and document["settings"]["density"] == 0.05
    read = [r for r in rows if r["operation"] == "read"]
    roof = read[0]["roof_gbps"]
    assert roof == pytest.approx(max(r["gbps"] for r in read))
    data = sparse_workloads.make_dataset(400, 300, density=0.05)
    for r in rows:
        if r["operation"] in ("cost_gradient", "hessian_product", "read"):
            assert r["bytes_read"] == data.nbytes and r["gbps"] == pytest.approx(data.nbytes / r["seconds"] / 1e9)


def test_tfidf_rows_are_normalized_and_the_words_zipf_distributed():
    X, y = sparse_workloads.make_tfidf(3000, 1000, density=0.02, seed=1)
    assert scipy.sparse.issparse(X) and X.format == "csr" and X.has_canonical_format and X.indices.dtype == np.int32
    norms = np.sqrt(X.power(2).sum(axis=1))
    nonempty = np.diff(X.indptr) > 0
    np.testing.assert_allclose(norms[nonempty], 1.0, rtol=1e-12)
    frequency = np.sort(np.bincount(X.indices, minlength=1000))[::-1]
    assert frequency[0] > 20 * frequency[100] > 0  # a few words in most documents, most words rare
    assert set(np.unique(y)) == {0, 1} and 0.2 < y.mean() < 0.8
    again, _ = sparse_workloads.make_tfidf(3000, 1000, density=0.02, seed=1)
    assert (X != again).nnz == 0


def test_scipy_two_pass_is_the_cost_gradient():
    data = sparse_workloads.make_dataset(500, 200, density=0.05)
    cost, dw, db = sparse_workloads.OPERATIONS["cost_gradient"].bind("scipy-two-pass", data)()
    want = sparse_workloads.OPERATIONS["cost_gradient"].bind("numpy", data)()
    for got, expected in zip((cost, dw, db), want):
        np.testing.assert_allclose(got, expected, rtol=1e-12)
