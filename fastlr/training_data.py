"""What every input adapter (:mod:`fastlr.inputs`) hands to the solvers."""

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from fastlr.kernels.base import Backend
from fastlr.objective import Objective


@dataclass
class TrainingData:
    """Validated training data, where the backend computes on it.

    X : array of shape (n_samples, n_features)
        On the backend's device (or chunked), float32 or float64, C-contiguous;
        or a canonical CSR matrix (sparse input), with ``backend`` its CSR companion.
    y_index : array of shape (n_samples,)
        The class index 0..K-1 of each row, where X lives.
    classes : ndarray of shape (K,)
        The sorted labels, on the host: ``classes_``.
    sample_weight : array of shape (n_samples,) or None
        Class weights folded in, where X lives.
    backend : Backend
        What evaluates the objective on X.
    backend_name : str
        Reported as ``backend_`` (the per-chunk backend for chunked data).
    objective : callable
        Builds the :class:`~fastlr.objective.Objective` of a sub-problem, called like it.
    feature_names : ndarray of shape (n_features,) or None
        String column names of a DataFrame X.
    random_rows : bool
        Whether rows can be drawn at random cheaply (mini-batches, validation splits).
    memo : dict or None
        Given to every objective built on this data (``Objective(memo=...)``): a
        regularization path shares one, so each C starts where the last left off
        without a pass over X.
    """

    X: object
    y_index: object
    classes: np.ndarray
    sample_weight: object
    backend: Backend
    backend_name: str
    objective: Callable = Objective
    feature_names: Optional[np.ndarray] = None
    random_rows: bool = True
    memo: Optional[dict] = None
    sparse: bool = False

    @property
    def n_features(self) -> int:
        return self.X.shape[1]

    @property
    def dtype(self):
        return self.X.dtype
