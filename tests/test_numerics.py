"""Numerics of every backend at the edges: confident rows, float32 residuals, labels, intercepts.

References are independent of the kernels: losses and residuals computed with
Python's :mod:`decimal` at 400 digits (enough for ln(1 + 1e-304)) from the very margins the kernels see
(X holds the margins, W is the identity, b is 0, so X w + b is exact).
"""

import warnings
from decimal import Decimal, localcontext

import numpy as np
import pytest

from fastlr import get_backend
from fastlr.bench import report as bench_report
from fastlr.kernels.base import KernelInputError
from fastlr.kernels.gemm_softmax import numpy_epilogue
from tests.conftest import ALL_BACKENDS

DIGITS = 400
#: Relative error allowed against the reference: a few roundings of the dtype.
RELATIVE = {np.float64: 1e-13, np.float32: 1e-6}
HESSIAN_FREE = ("cost_gradient", "cost_gradient_curvature", "cost_gradient_hessian")


def host(kernels, value):
    return np.asarray(kernels.to_host(value))


def on_device(kernels, *arrays):
    return [kernels.to_device(a) for a in arrays]


def exact_softmax_loss(z, label):
    """lse(z) − z_label at 400 digits, for the float margins z (exact as given)."""
    with localcontext() as context:
        context.prec = DIGITS
        values = [Decimal(float(v)) for v in z]
        top = max(values)
        return float(top + sum((v - top).exp() for v in values).ln() - values[label])


def exact_residual(z, label):
    """σ(z) − y at 400 digits."""
    with localcontext() as context:
        context.prec = DIGITS
        return float(1 / (1 + (-Decimal(float(z))).exp()) - Decimal(float(label)))


# -- 1. the softmax loss of a confident row keeps its digits -----------------------------------
#: Rows of margins (the label's first): the label dominates by 5 … 700, so the loss
#: Σ_{k≠y} e^{z_k − z_y} runs from 1e-2 down to 1e-304; then rows where it does not.
CONFIDENT_ROWS = [
    ([0.0, -5.0, -6.0], 0),
    ([3.0, -17.0, -20.0], 0),
    ([0.0, -40.0, -45.0], 0),
    ([10.0, -50.0, -60.0], 0),
    ([0.0, -700.0, -710.0], 0),
    ([-30.0, 10.0, -70.0], 2),  # the label far below the top: loss ≈ 80
    ([1.0, 1.0, -50.0], 1),  # a tie for the top
]


def _softmax_rows(rows, dtype):
    Z = np.array([z for z, _ in rows], dtype=dtype)
    labels = np.array([label for _, label in rows], dtype=np.int64)
    return Z, labels


@pytest.mark.parametrize("backend", ALL_BACKENDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("row", range(len(CONFIDENT_ROWS)))
def test_softmax_loss_of_a_confident_row_is_exact(backend, dtype, row):
    """lse − z_y was a difference of two nearly equal numbers: 0 (or 1e-16 off) where the
    true loss is 4e-18; log1p of the sum of the other classes' exponentials is exact."""
    kernels = get_backend(backend)
    Z, labels = _softmax_rows([CONFIDENT_ROWS[row]], dtype)
    eye, zeros = np.eye(3, dtype=dtype), np.zeros(3, dtype=dtype)
    reference = exact_softmax_loss(Z[0], labels[0])
    if dtype == np.float32 and reference < np.finfo(np.float32).tiny:
        pytest.skip("below float32's normal range")
    for function in ("softmax_cost", "softmax_cost_gradient", "softmax_cost_gradient_probabilities"):
        result = getattr(kernels, function)(*on_device(kernels, Z, labels, eye, zeros))
        cost = float(host(kernels, result[0] if isinstance(result, tuple) else result))
        assert cost == pytest.approx(reference, rel=RELATIVE[dtype], abs=0), function


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_gemm_epilogue_loss_of_a_confident_row_is_exact(dtype):
    """The epilogue the CuPy GEMM path shares with NumPy (:func:`residual_rows`)."""
    Z, labels = _softmax_rows(CONFIDENT_ROWS, dtype)
    losses = numpy_epilogue(Z.copy(), labels, np.zeros(3, dtype=dtype), None)
    for (z, label), loss in zip(CONFIDENT_ROWS, losses):
        reference = exact_softmax_loss(np.asarray(z, dtype=dtype), label)
        assert loss == pytest.approx(reference, rel=1e-13, abs=0), z


# -- 2. the binary residual of a confident row keeps its digits --------------------------------
MARGINS = [0.5, 5.0, 17.0, 25.0, 30.0]


@pytest.mark.parametrize("backend", ALL_BACKENDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("z", MARGINS)
def test_binary_residual_of_a_confident_row_is_exact(backend, dtype, z):
    """σ(z) − 1 for y = 1 at z ≫ 0 (and σ(−z) − 0 for y = 0) is −σ(−z) ≈ −e^{−z}: formed as
    σ(z) − 1 it was 0 in float32 from z ≈ 17 and 1e-3 off in float64 at z = 30.
    With one row, ∂J/∂b is that row's residual."""
    kernels = get_backend(backend)
    X = np.ones((1, 1), dtype=dtype)
    for label, margin in ((1.0, z), (0.0, -z), (1.0, -z), (0.0, z)):
        y = np.array([label], dtype=dtype)
        w = np.array([margin], dtype=dtype)
        reference = exact_residual(dtype(margin), label)
        for function in HESSIAN_FREE:
            db = float(host(kernels, getattr(kernels, function)(*on_device(kernels, X, y, w), dtype(0))[2]))
            assert db == pytest.approx(reference, rel=RELATIVE[dtype], abs=0), (function, label, margin)


@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_binary_residual_with_a_fractional_label_is_the_plain_difference(backend):
    kernels = get_backend(backend)
    X = np.ones((1, 1))
    for label, margin in ((0.25, 3.0), (0.75, -2.0), (0.5, 30.0)):
        y, w = np.array([label]), np.array([margin])
        db = float(host(kernels, kernels.cost_gradient(*on_device(kernels, X, y, w), 0.0)[2]))
        assert db == pytest.approx(exact_residual(margin, label), rel=1e-14), (label, margin)


# -- 3. labels outside the classes, or not whole numbers ---------------------------------------
BAD_LABELS = {
    "above": (np.array([0, 1, 5]), "class indices y must lie in 0..2"),
    "negative": (np.array([0, -1, 1]), "class indices y must lie in 0..2"),
    "fractional": (np.array([0.0, 0.5, 2.0]), "class indices y must be whole numbers"),
    "nan": (np.array([0.0, np.nan, 2.0]), "class indices y must lie in 0..2"),
}
SOFTMAX_FUNCTIONS = ("softmax_cost", "softmax_cost_gradient", "softmax_cost_gradient_probabilities")


@pytest.mark.parametrize("backend", ALL_BACKENDS)
@pytest.mark.parametrize("case", BAD_LABELS, ids=list(BAD_LABELS))
def test_softmax_labels_outside_the_classes_are_a_clear_error(backend, case):
    """−1 used to wrap to the last class on numpy, 5 raised a bare IndexError, 0.5 was class 0.
    On the device nothing is read back to check: the cost is NaN there (documented)."""
    kernels = get_backend(backend)
    labels, message = BAD_LABELS[case]
    rng = np.random.default_rng(0)
    X, W, b = rng.standard_normal((3, 2)), rng.standard_normal((3, 2)), np.zeros(3)
    for function in SOFTMAX_FUNCTIONS:
        if backend == "cupy":
            result = getattr(kernels, function)(*on_device(kernels, X, labels, W, b))
            assert np.isnan(float(host(kernels, result[0] if isinstance(result, tuple) else result))), function
            continue
        with pytest.raises(KernelInputError, match=message):
            getattr(kernels, function)(*on_device(kernels, X, labels, W, b))


@pytest.mark.parametrize("backend", [p for p in ALL_BACKENDS if p.id != "cupy"])
@pytest.mark.parametrize("case", BAD_LABELS, ids=list(BAD_LABELS))
def test_softmax_hooks_give_a_nan_loss_for_a_bad_label(backend, case):
    """The contract below the public check: such a row's loss is NaN, and it is never an index."""
    kernels = get_backend(backend)
    labels, _ = BAD_LABELS[case]
    X, W, b = np.ones((3, 2)), np.zeros((3, 2)), np.zeros(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cost = kernels._softmax_cost_gradient(X, labels, W, b, None)[0]
    assert np.isnan(cost)


@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_whole_float_labels_are_class_indices(backend):
    kernels = get_backend(backend)
    rng = np.random.default_rng(1)
    X, W, b = rng.standard_normal((5, 2)), rng.standard_normal((3, 2)), rng.standard_normal(3)
    labels = np.array([0, 2, 1, 1, 0])
    as_int = kernels.softmax_cost_gradient(*on_device(kernels, X, labels, W, b))
    as_float = kernels.softmax_cost_gradient(*on_device(kernels, X, labels.astype(np.float64), W, b))
    for got, want in zip(as_float, as_int):
        np.testing.assert_array_equal(host(kernels, got), host(kernels, want))


# -- 4. a binary intercept as a float, a 0-d array or a 1-element array ------------------------
@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_intercept_forms_give_identical_results(backend):
    kernels = get_backend(backend)
    rng = np.random.default_rng(2)
    X, w = rng.standard_normal((20, 3)), rng.standard_normal(3)
    y = (rng.random(20) < 0.5).astype(np.float64)
    Xd, yd, wd = on_device(kernels, X, y, w)
    forms = (0.3, np.array(0.3), np.array([0.3]))
    for function in ("cost", "cost_gradient", "cost_gradient_hessian", "cost_gradient_curvature"):
        results = [getattr(kernels, function)(Xd, yd, wd, b) for b in forms]
        results = [r if isinstance(r, tuple) else (r,) for r in results]
        for other in results[1:]:
            for got, want in zip(other, results[0]):
                np.testing.assert_array_equal(host(kernels, got), host(kernels, want), err_msg=function)
    margins = [host(kernels, kernels.decision_function(Xd, wd, b)) for b in forms]
    for other in margins[1:]:
        np.testing.assert_array_equal(other, margins[0])


# -- 5. no RuntimeWarning on finite inputs -----------------------------------------------------
@pytest.mark.parametrize("backend", ALL_BACKENDS)
@pytest.mark.parametrize("dtype, scale", [(np.float64, 1e4), (np.float32, 1e2)], ids=["float64-1e4", "float32-1e2"])
def test_extreme_finite_margins_warn_nothing(backend, dtype, scale):
    kernels = get_backend(backend)
    X = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]], dtype=dtype)
    y = np.array([1.0, 1.0, 0.0, 1.0], dtype=dtype)
    w = np.array([scale, scale], dtype=dtype)
    W = np.array([[scale, 0.0], [0.0, scale], [-scale, -scale]], dtype=dtype)
    b = np.zeros(3, dtype=dtype)
    labels = np.array([0, 2, 1, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        binary = [getattr(kernels, f)(*on_device(kernels, X, y, w), dtype(0)) for f in ("cost", *HESSIAN_FREE)]
        softmax = [getattr(kernels, f)(*on_device(kernels, X, labels, W, b)) for f in SOFTMAX_FUNCTIONS]
        probabilities = host(kernels, kernels.softmax(kernels.to_device((X @ W.T).astype(dtype))))
        sigma = host(kernels, kernels.sigmoid(kernels.to_device(np.array([-scale, scale], dtype=dtype))))
    for result in binary + softmax:
        for part in result if isinstance(result, tuple) else (result,):
            assert np.all(np.isfinite(host(kernels, part)))
    assert np.all(np.isfinite(probabilities)) and np.all(np.isfinite(sigma))
    # rows: z = s, y = 1 → ~0; z = −s, y = 1 → s; z = s, y = 0 → s; z = −s, y = 1 → s
    assert float(host(kernels, binary[0])) == pytest.approx(3 * scale / 4, rel=1e-6)


# -- 6. the bench table stays aligned whatever the operation's name ----------------------------
def test_bench_table_columns_line_up_for_long_names():
    def row(operation, backend, m, seconds, speedup):
        return bench_report.Row(
            operation, backend, m, 10, "float32", seconds, 8 * m, 1.5, 10.0, 15.0, speedup, False,
        )

    rows = [
        row("softmax_cost_gradient", "numba-parallel", 1_000_000, 0.25, 1.5),
        row("cost", "numpy", 300, 2e-6, None),
        row("cost_gradient_hessian", "sklearn-intelex", 40_000, 3.0, 12.25),
    ]
    header, rule, *lines = bench_report.format_table(rows).splitlines()
    assert rule == "-" * len(header)
    for line, r in zip(lines, rows):
        for name, value in (("backend", r.backend), ("dtype", r.dtype)):  # left-aligned under the header
            start = header.index(name)
            assert line[start:].startswith(value) and line[start - 1] == " ", (name, line)
        for name, value in (("m", str(r.m)), ("time", bench_report._format_seconds(r.seconds))):  # right-aligned
            end = header.index(f" {name} ") + 1 + len(name) if name == "m" else header.index(name) + len(name)
            assert line[:end].endswith(value) and line[end] == " ", (name, line)
        assert len(line) == len(header) and line.endswith("-" if r.speedup_vs_numpy is None else f"{r.speedup_vs_numpy:.2f}x")
