"""exp, log1p and log over blocks of float64 values, written so that LLVM vectorizes them.

The llvmlite wheels carry no vector math library (Intel's SVML), so a loop that
calls ``np.exp`` calls libm once per element and stays scalar: the per-row
exp and log1p were what kept the fused float32 pass at twice the time of one
``X @ w``, and K exponentials per row what kept the softmax pass at six. The
functions here use only arithmetic, ``floor``, integer shifts and bit casts,
which LLVM turns into SIMD code over a block of rows. They never convert
between float64 and int64 either: AVX2 has no SIMD instruction for that
(only AVX-512 does), and one such conversion per element left the softmax
pass's exponentials scalar on a Zen 3, at 4 ns an element. Integers pass
between the two through the bits of 1.5·2⁵², whose last place is 1.

Accuracy is that of libm to within a few units in the last place of float64:

* ``exp(x)`` for x ≤ 0: x = k ln 2 + r with |r| ≤ ln(2)/2 (Cody and Waite's
  split of ln 2, so k ln 2 is exact), e^r by its Taylor polynomial to degree 13
  (truncation below 5·10⁻¹⁸), and 2^k as two exact powers of two so that
  results below 2^−1022 underflow gradually, as libm's do.
* ``log(x)`` for x ≥ 1: x = 2^k f with f in (1/√2, √2] from the bits of x,
  log f = 2 atanh((f − 1)/(f + 1)) by the same odd series; ``log1p(x)`` for
  x ≥ 0 from it, with the rounding of 1 + x corrected.
* ``log1p(e)`` for 0 ≤ e ≤ 1: 2 atanh(s) with s = e / (2 + e) ≤ 1/3, the odd
  series to s³¹ (truncation below 10⁻¹⁶), with the rounding of 1 + e/2
  corrected: exact to the last digits for tiny e, where log1p(e) ≈ e, down
  to the subnormals.

The polynomials are evaluated by Estrin's scheme (pairs of terms, then pairs
of pairs), four or five operations deep instead of Horner's thirteen to
fifteen: a SIMD loop of exponentials is bound by that chain's latency, not by
the number of multiply-adds (the softmax block's exponentials took 0.68x
the time after the change, on a Zen 3), and the 1 of e^r is added last, so that
the error stays within one unit in the last place (measured: 0.997 ulp, as
Horner's 0.994).

The block functions are compiled without ``reassoc``: reassociation would fold
the two halves of ln 2 together and undo the corrections.
"""

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core.extending import intrinsic

from fastlr.kernels import numba_build

#: No ``reassoc`` (see the module docstring); ``contract`` lets LLVM use FMA,
#: which only makes the range reductions more exact. ``error_model="numpy"``:
#: a float division must not test for zero, or the loop would not vectorize.
#: ``nogil``: :func:`sigmoid_block` is a row pass of its own.
_exact = dict(cache=numba_build.CACHE, fastmath={"contract"}, error_model="numpy", nogil=True)

LOG2_E = 1.4426950408889634
#: ln 2 split as in fdlibm: the high part has 32 trailing zero bits, so k·LN2_HI is exact for |k| < 2²⁰.
LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
#: Below this, e^x rounds to zero in float64 (e^−745.13 is the smallest subnormal).
EXP_ARGUMENT_MIN = -746.0
EXPONENT_BIAS = 1023
MANTISSA_BITS = 52
MANTISSA_MASK = (1 << MANTISSA_BITS) - 1
ONE_BITS = EXPONENT_BIAS << MANTISSA_BITS
SQRT_2 = 1.4142135623730951
#: 1.5·2⁵²: for a whole float64 v with |v| < 2⁵¹, v + ROUNDING_SHIFTER is exact and
#: its bits are ROUNDING_SHIFTER's plus v, whose low 12 bits are v's (mod 4096).
ROUNDING_SHIFTER = 6755399441055744.0
#: 2⁵²: the float64 whose bits OR'ed with an integer below 2⁵² read 2⁵² + that integer.
TWO_TO_52 = 4503599627370496.0
TWO_TO_52_BITS = 0x4330000000000000


@intrinsic
def _float64_from_bits(typingctx, bits):
    """The float64 whose IEEE bit pattern is the int64 ``bits`` (a register move)."""
    if bits != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@intrinsic
def _exponent_field(typingctx, value):
    """The 11 exponent bits of the float64 ``value`` ≥ 0, as an int64 (a logical shift,
    which AVX2 has for 64-bit lanes; Numba's ``>>`` on an int64 is arithmetic, which it has not)."""
    if value != types.float64:
        return None

    def codegen(context, builder, signature, args):
        bits = builder.bitcast(args[0], ir.IntType(64))
        return builder.lshr(bits, ir.Constant(ir.IntType(64), MANTISSA_BITS))

    return types.int64(types.float64), codegen


@intrinsic
def _float64_bits(typingctx, value):
    """The IEEE bit pattern of the float64 ``value`` as an int64 (a register move)."""
    if value != types.float64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@njit(inline="always", **_exact)
def _power_of_two(k):
    """2^k for a whole float64 k with −1022 ≤ k ≤ 1023, its exponent bits built from the
    low bits of k + ROUNDING_SHIFTER (no float-to-integer conversion)."""
    return _float64_from_bits((_float64_bits(k + ROUNDING_SHIFTER) + EXPONENT_BIAS) << MANTISSA_BITS)


@njit(inline="always", **_exact)
def _float64_of_count(count):
    """The float64 of an integer 0 ≤ count < 2⁵², through the bits of 2⁵² + count."""
    return _float64_from_bits(TWO_TO_52_BITS | count) - TWO_TO_52


@njit(inline="always", **_exact)
def _taylor_exp(r):
    """Σ_{i ≤ 13} r^i / i! by Estrin's scheme: pairs c_i + c_{i+1} r, then pairs of those
    with r², r⁴, r⁸. Five operations deep instead of Horner's thirteen: a SIMD loop of
    exponentials waits on that chain (the softmax block's exponentials took 0.68x the
    time with this, in one process on a Zen 3)."""
    r2 = r * r
    r4 = r2 * r2
    r8 = r4 * r4
    a1 = 1.0 / 2.0 + r * (1.0 / 6.0)
    a2 = 1.0 / 24.0 + r * (1.0 / 120.0)
    a3 = 1.0 / 720.0 + r * (1.0 / 5040.0)
    a4 = 1.0 / 40320.0 + r * (1.0 / 362880.0)
    a5 = 1.0 / 3628800.0 + r * (1.0 / 39916800.0)
    a6 = 1.0 / 479001600.0 + r * (1.0 / 6227020800.0)
    b0 = r + r2 * a1
    b1 = a2 + r2 * a3
    b2 = a4 + r2 * a5
    # The 1 added last: the roundings before it are of terms below 0.42, so that
    # e^r keeps libm's accuracy (within one unit in the last place, as Horner's).
    return 1.0 + ((b0 + r4 * b1) + r8 * (b2 + r4 * a6))


@njit(inline="always", **_exact)
def exp_nonpositive(x):
    """e^x for x ≤ 0 (or NaN, which it returns), branch-free."""
    x = x if not (x < EXP_ARGUMENT_MIN) else EXP_ARGUMENT_MIN  # NaN passes through
    k = np.floor(x * LOG2_E + 0.5)
    k = k if k == k else 0.0  # a NaN x keeps r NaN; k must stay an integer
    r = (x - k * LN2_HI) - k * LN2_LO
    p = _taylor_exp(r)
    # 2^k = 2^half · 2^(k − half): both factors are normal down to k = −1076,
    # and the last product rounds once, into the subnormals if it must.
    half = np.floor(0.5 * k)
    return (p * _power_of_two(half)) * _power_of_two(k - half)


@njit(inline="always", **_exact)
def _log_of_ratio(u):
    """log((1 + s)/(1 − s)) = 2 atanh(s) for u = 2s, |s| ≤ 1/3: 2 (s + s³/3 + s⁵/5 + …) to
    s³¹ (truncation below 10⁻¹⁶), computed from u so that a subnormal u stays exact."""
    s = 0.5 * u
    t = s * s
    # q = Σ_{i ≤ 14} t^i / (2i + 3) by Estrin's scheme (four levels deep, as _taylor_exp).
    t2 = t * t
    t4 = t2 * t2
    t8 = t4 * t4
    b0 = (1.0 / 3.0 + t * (1.0 / 5.0)) + t2 * (1.0 / 7.0 + t * (1.0 / 9.0))
    b1 = (1.0 / 11.0 + t * (1.0 / 13.0)) + t2 * (1.0 / 15.0 + t * (1.0 / 17.0))
    b2 = (1.0 / 19.0 + t * (1.0 / 21.0)) + t2 * (1.0 / 23.0 + t * (1.0 / 25.0))
    b3 = (1.0 / 27.0 + t * (1.0 / 29.0)) + t2 * (1.0 / 31.0)
    q = (b0 + t4 * b1) + t8 * (b2 + t4 * b3)
    return u + u * (t * q)


@njit(inline="always", **_exact)
def log1p_unit(e):
    """log(1 + e) for 0 ≤ e ≤ 1."""
    # u = 2e / (2 + e) = 2s, so that u = e exactly when e is subnormal.
    d = 1.0 + 0.5 * e
    u = e / d
    # 1 + e/2 was rounded: d + ((1 − d) + e/2) is exact (Fast2Sum, 1 ≥ e/2), and
    # e / (d + δ) = u (1 − δ/d) to first order.
    u = u - u * (((1.0 - d) + 0.5 * e) / d)
    return _log_of_ratio(u)


@njit(inline="always", **_exact)
def log_at_least_one(x):
    """log(x) for finite x ≥ 1 (a sum of exponentials whose largest is 1)."""
    bits = _float64_bits(x)
    k = _float64_of_count(_exponent_field(x)) - EXPONENT_BIAS
    f = _float64_from_bits((bits & MANTISSA_MASK) | ONE_BITS)  # x = 2^k f, 1 ≤ f < 2
    upper = f > SQRT_2
    f = 0.5 * f if upper else f  # now 1/√2 < f ≤ √2
    k = k + 1.0 if upper else k
    # log f = 2 atanh(s), s = (f − 1)/(f + 1), |s| ≤ 0.172; f − 1 is exact and
    # f − (d − 1) is the rounding error of d = f + 1 (both by Sterbenz's lemma).
    d = f + 1.0
    s = (f - 1.0) / d
    s = s - s * ((f - (d - 1.0)) / d)
    return k * LN2_HI + (k * LN2_LO + _log_of_ratio(s + s))


@njit(inline="always", **_exact)
def exact_residual(z, y, small):
    """σ(z) − y from small = σ(−|z|) (exact: e/(1 + e) with e = e^{−|z|}): (1 − y) − small
    for z > 0, small − y otherwise. For y = 1 at z ≫ 0 that is −σ(−z) to the last digit,
    where σ(z) − 1 would cancel (0 in float32 from z ≈ 17); for y = 0 at z ≪ 0, σ(z) itself;
    for a fractional label, the plain difference. A select, so SIMD loops stay SIMD."""
    return ((1.0 - y) - small) if z > 0.0 else (small - y)


@njit(inline="always", **_exact)
def logistic_row(z, label):
    """One row's (ℓ, r, c) at margin z and label y, unweighted, branch-free:
    ℓ = (max(z, 0) − y z) + log1p(e^{−|z|}), r = σ(z) − y from σ(−|z|) = e/(1 + e)
    (:func:`exact_residual`), c = σ(z)(1 − σ(z)) = e/(1 + e)²."""
    e = exp_nonpositive(-abs(z))
    inverse = 1.0 / (1.0 + e)
    small = e * inverse  # σ(−|z|), exact
    # max(z, 0) − y z is exact for y in {0, 1}; log1p(e) added last keeps its digits.
    loss = (max(z, 0.0) - label * z) + log1p_unit(e)
    return loss, exact_residual(z, label, small), e * inverse * inverse


@njit(**_exact)
def logistic_block(margins, y, weights, start, count, losses, residual, curvature):
    """Losses, residuals and curvatures of ``count`` rows from their margins, vectorized.

    margins : float64 (≥ count,), z of rows start..start+count
    weights : float64 (≥ count,), s_i of those rows (block-relative: ones for unit weights)
    losses : float64 out, s_i ℓ_i with ℓ_i = (max(z, 0) − y z) + log1p(e^{−|z|})
    residual : out, in X's dtype, s_i (σ(z_i) − y_i), formed from σ(−|z|) = e/(1 + e)
        (e = e^{−|z|} ≤ 1: nothing overflows) as (1 − y) − σ(−|z|) for z > 0 and
        σ(−|z|) − y otherwise, so that a confident row's residual keeps its digits
    curvature : float64 out, s_i σ(z_i)(1 − σ(z_i)) = s_i e/(1 + e)²

    One loop without a branch, every output always written: with the weight read
    (from ``sample_weight``, empty for unit weights) and the curvature stored under
    conditions inside the loop, LLVM left it scalar on AVX2, exp and log1p included,
    and the float32 binary pass took 1.5x one ``X @ w``; one loop per case instead
    quadrupled the compile time.
    """
    for r in range(count):
        s = weights[r]
        loss, res, curv = logistic_row(margins[r], np.float64(y[start + r]))
        losses[r] = s * loss
        residual[r] = s * res
        curvature[r] = s * curv


@njit(inline="always", **_exact)
def block_weights(sample_weight, start, count, weights):
    """weights[:count] = s_i of rows start..start+count in float64, when ``sample_weight`` is
    not empty; unit weights leave ``weights`` as its caller filled it (ones)."""
    if sample_weight.shape[0] > 0:
        for r in range(count):
            weights[r] = sample_weight[start + r]


@njit(**_exact)
def sigmoid_block(z, lo, hi, out):
    """out[i] = σ(z[i]) for i in [lo, hi), exp only ever seeing −|z|."""
    for i in range(lo, hi):
        v = np.float64(z[i])
        e = exp_nonpositive(-abs(v))
        inverse = 1.0 / (1.0 + e)
        out[i] = inverse if v >= 0.0 else e * inverse


@njit(**_exact)
def exp_block(x, count):
    """x[:count] = e^{x[:count]} in place, for x ≤ 0 (shifted margins)."""
    for r in range(count):
        x[r] = exp_nonpositive(x[r])


@njit(inline="always", **_exact)
def log1p_nonnegative(x):
    """log(1 + x) for finite x ≥ 0: log(u) of u = fl(1 + x), plus the rounding
    x − (u − 1) of 1 + x divided by u (Goldberg's correction, exact to first order;
    u − 1 is exact by Sterbenz's lemma). x when 1 + x rounds to 1, down to the subnormals."""
    u = 1.0 + x
    return log_at_least_one(u) + (x - (u - 1.0)) / u


@njit(**_exact)
def exp_shifted_block(E, top, total, others):
    """E[k, r] = e^{E[k, r] − top[r]} in place, for E (K, rows) and top[r] = max_k E[k, r]:
    the exponentials of a block's shifted margins, SIMD over rows. Writes

    * total[r] = Σ_k E[k, r] (≥ 1: the largest term is e⁰ = 1), and
    * others[r] = Σ_k E[k, r] − 1 without forming that difference: the exponentials
      below the top plus (number of classes at the top − 1), so that log1p(others) is
      the log-sum-exp of a confident row to its last digit (the loss 1e-20 of a row
      whose label dominates, which log(total) − 0 rounds to 0). A NaN margin makes both NaN.
    """
    n_classes, count = E.shape
    for r in range(count):
        total[r] = 0.0  # the number of classes at the top, then the total
        others[r] = 0.0
    for k in range(n_classes):
        for r in range(count):
            shifted = E[k, r] - top[r]
            e = exp_nonpositive(shifted)
            E[k, r] = e
            below = shifted < 0.0
            others[r] += e if below else e - 1.0  # e⁰ − 1 = 0 exactly; NaN stays NaN
            total[r] += 0.0 if below else 1.0
    for r in range(count):
        ties = total[r]
        total[r] = others[r] + ties
        others[r] += ties - 1.0


@njit(**_exact)
def log1p_block(x, count, out):
    """out[:count] = log(1 + x[:count]) for finite x ≥ 0 (the ``others`` of :func:`exp_shifted_block`)."""
    for r in range(count):
        out[r] = log1p_nonnegative(x[r])
