"""The kernel contract on CSR matrices: what every sparse companion backend shares.

A dense backend (``kernels/numpy_vectorized.py``, ...) may have a companion
for sparse X, a :class:`CsrBackend` subclass in ``kernels/sparse_*.py``:
the same public methods with the same arguments and results, except that X
is a CSR matrix (``scipy.sparse`` on the host, ``cupyx.scipy.sparse`` on the
GPU) and the kernels visit only its stored entries. The registry
(:func:`fastlr.dispatch.get_sparse_backend`) maps a dense backend's name to
its companion; solvers and the objective call the companion exactly as they
call a dense backend.

What does not touch X (``sigmoid``, ``softmax`` of dense margins, where arrays
live, how often a solver reads back, BLAS threads) is the dense backend's, by
delegation. Inputs are canonical CSR (sorted indices, no duplicates; see
:func:`fastlr.validation.canonical_csr`), int32 or int64 indices, float32 or
float64 values; the kernels would also be right for duplicates or unsorted
rows (a sum does not care), but the adapter guarantees the canonical form once.
"""

import scipy.sparse

from fastlr.kernels.base import Backend, KernelInputError, _shape


class CsrBackend(Backend):
    """The companion of ``dense`` for CSR matrices.

    Parameters
    ----------
    dense : fastlr.kernels.base.Backend
        The dense backend whose placement and elementwise functions this one uses.
    summary : str
        One line saying how the CSR kernels compute.
    """

    #: The sparse-matrix module of the backend's array library.
    sparse_module = scipy.sparse

    def __init__(self, dense, summary):
        self.dense = dense
        self.name = dense.name
        self.summary = summary
        self.blas_threads = dense.blas_threads
        self.auto_priority = dense.auto_priority

    def __repr__(self):
        return f"<fastlr CSR backend {self.name!r}>"

    @property
    def xp(self):
        return self.dense.xp

    @property
    def check_every(self) -> int:
        return self.dense.check_every

    def unavailable_reason(self):
        return self.dense.unavailable_reason()

    # -- placement ------------------------------------------------------------------
    def accepts(self, array) -> bool:
        """Sparse matrices of this backend's kind (``scipy.sparse`` on the host)."""
        return self.sparse_module.issparse(array)

    def to_device(self, array):
        """A CSR matrix as it is (host), a dense array as the dense backend places it."""
        if self.sparse_module.issparse(array):
            return array
        return self.dense.to_device(array)

    def to_host(self, array):
        return self.dense.to_host(array)

    # -- O(1) checks ------------------------------------------------------------------
    def _check_matrix(self, X):
        if not (self.sparse_module.issparse(X) and X.format == "csr"):
            raise KernelInputError(
                f"X must be a {self.sparse_module.__name__} CSR matrix for the {self.name!r} CSR kernels, "
                f"got {type(X).__name__}"
            )
        return super()._check_matrix(X)

    # -- what only the CSR kernels offer ------------------------------------------------
    def hessian_diagonal(self, X, curvature):
        """(diag_w, diag_b): the diagonal of the binary Hessian's data term X̃ᵀ D X̃,
        diag_w_j = Σ_i d_i x_ij² of shape (n,) and diag_b = Σ_i d_i, float64, with d from
        :meth:`cost_gradient_curvature`: one pass over the stored entries, the Jacobi
        preconditioner of Newton-CG (:mod:`fastlr.solvers.newton_cg`). Dense backends have
        no such hook (whether it pays for its pass on dense data was not measured)."""
        m, _ = self._check_matrix(X)
        if _shape(curvature) != (m,):
            raise KernelInputError(f"curvature must have shape ({m},), got {_shape(curvature)}")
        return self._hessian_diagonal(X, curvature)

    # -- elementwise functions of dense arrays: the dense backend's ---------------------
    def _sigmoid(self, z):
        return self.dense.sigmoid(z)

    def _softmax(self, Z):
        return self.dense.softmax(Z)
