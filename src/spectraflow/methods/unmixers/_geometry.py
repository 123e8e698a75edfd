"""Projections shared by the geometric extractors."""

from __future__ import annotations

import numpy as np


def principal_subspace(y: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and the ``(band, d)`` basis of the top-``d`` principal components of ``y`` ``(pixel, band)``."""
    mean = y.mean(axis=0)
    centred = y - mean
    _, vectors = np.linalg.eigh(centred.T @ centred / y.shape[0])
    return mean, vectors[:, ::-1][:, :d]
