"""Which penalty the parameters ask for, in scikit-learn 1.9's spelling or the older one.

scikit-learn ≥ 1.8 chooses the penalty from ``l1_ratio`` and ``C`` alone, and so
does fastlr by default (``penalty="auto"``):

=====================  =================================
``l1_ratio``           penalty
=====================  =================================
0 (the default)        L2, ½‖w‖²
1                      L1, ‖w‖₁
ρ strictly between     elastic net, ρ‖w‖₁ + (1 − ρ)½‖w‖²
any, with ``C=np.inf`` none
=====================  =================================

The older spelling names the penalty (``penalty="l2" | "l1" | "elasticnet" |
None``) and still works. Where the two spellings say different things, fastlr
does not pick one silently: ``penalty="l2"`` with an L1 share, ``"l1"`` with a
share strictly below 1 or ``None`` with an L1 share raise a ``ValueError``
saying what to write instead. ``penalty="elasticnet"`` needs ``l1_ratio``; with
0 or 1 it is the plain L2 or L1 penalty, and a warning says so. scikit-learn's
own remaining warnings are kept word for word: ``l1_ratio=None`` is deprecated
there, and ``penalty=None`` ignores ``C``.
"""

from dataclasses import dataclass
from typing import Optional

import numpy as np

from fastlr.messages import warn_at_caller

#: The default of ``penalty``: choose it from ``l1_ratio`` and ``C``.
FROM_L1_RATIO = "auto"
#: scikit-learn's name for the same default (its ``get_params()`` says "deprecated").
SKLEARN_DEFAULT = "deprecated"
NAMED = ("l2", "l1", "elasticnet", None)


@dataclass(frozen=True)
class Penalty:
    """The penalty to fit: ``name`` in {"l2", "l1", "elasticnet", None} and ρ, its L1 share."""

    name: Optional[str]
    l1_ratio: float

    @property
    def smooth(self) -> bool:
        return self.name in ("l2", None)


def _share(l1_ratio):
    return 0.0 if l1_ratio is None else float(l1_ratio)


def from_l1_ratio(l1_ratio, C) -> Penalty:
    """scikit-learn 1.9's rule: ρ = 0 → L2, 1 → L1, between → elastic net; C = inf → none."""
    if np.isinf(C):
        return Penalty(None, 0.0)
    rho = _share(l1_ratio)
    if rho == 0.0:
        return Penalty("l2", 0.0)
    if rho == 1.0:
        return Penalty("l1", 1.0)
    return Penalty("elasticnet", rho)


def resolve(penalty, l1_ratio, C) -> Penalty:
    """The :class:`Penalty` of ``LogisticRegression(penalty=..., l1_ratio=..., C=...)``.

    Raises
    ------
    ValueError
        ``penalty`` and ``l1_ratio`` contradict each other; the message says
        what to write instead.
    """
    if penalty in (FROM_L1_RATIO, SKLEARN_DEFAULT):
        if l1_ratio is None:
            warn_at_caller(
                "'l1_ratio=None' was deprecated in version 1.8 and will trigger an error in 1.10. "
                "Use 0<=l1_ratio<=1 instead.",
                FutureWarning,
            )
        return from_l1_ratio(l1_ratio, C)
    rho = _share(l1_ratio)
    if penalty == "l2":
        if rho != 0.0:
            raise ValueError(
                f"penalty='l2' contradicts l1_ratio={l1_ratio!r} (an L1 share): write l1_ratio={l1_ratio!r} "
                "without penalty for that mix (1 is L1), or leave l1_ratio at 0 for L2"
            )
        return Penalty(None, 0.0) if np.isinf(C) else Penalty("l2", 0.0)
    if penalty == "l1":
        if rho not in (0.0, 1.0):  # 0 is l1_ratio's default, which does not contradict
            raise ValueError(
                f"penalty='l1' contradicts l1_ratio={l1_ratio!r}: write l1_ratio=1 (penalty can be left out) "
                f"for L1, or l1_ratio={l1_ratio!r} without penalty for elastic net"
            )
        return Penalty(None, 0.0) if np.isinf(C) else Penalty("l1", 1.0)
    if penalty == "elasticnet":
        if l1_ratio is None:
            raise ValueError("penalty='elasticnet' needs l1_ratio in [0, 1], got l1_ratio=None")
        if rho in (0.0, 1.0):
            kind = "L2" if rho == 0.0 else "L1"
            warn_at_caller(
                f"penalty='elasticnet' with l1_ratio={l1_ratio!r} is the {kind} penalty; for an elastic net set "
                "l1_ratio strictly between 0 and 1 (penalty can be left out)",
                UserWarning,
            )
        return Penalty(None, 0.0) if np.isinf(C) else from_l1_ratio(rho, C)
    if penalty is None:
        if rho != 0.0:
            raise ValueError(
                f"penalty=None (no penalty) contradicts l1_ratio={l1_ratio!r}: write C=np.inf for no penalty, "
                f"or drop penalty for an L1 share of {l1_ratio!r}"
            )
        if C != 1.0:
            warn_at_caller("Setting penalty=None will ignore the C and l1_ratio parameters", UserWarning)
        return Penalty(None, 0.0)
    raise ValueError(f"penalty must be 'auto', 'l2', 'l1', 'elasticnet' or None, got {penalty!r}")


def for_l1_ratios(penalty, l1_ratios):
    """The penalty of each l1_ratio of a ``LogisticRegressionCV`` grid (C is the path's).

    ``l1_ratios`` None means L2 (scikit-learn's deprecated default). A named
    ``penalty`` applies to every ratio, with :func:`resolve`'s checks.
    """
    if l1_ratios is None:
        return [resolve(penalty if penalty not in (FROM_L1_RATIO, SKLEARN_DEFAULT) else "l2", None, 1.0)]
    return [
        from_l1_ratio(rho, 1.0) if penalty in (FROM_L1_RATIO, SKLEARN_DEFAULT) else resolve(penalty, rho, 1.0)
        for rho in l1_ratios
    ]
