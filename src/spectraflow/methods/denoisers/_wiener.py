"""Empirical Wiener filtering of images of unit noise in sliding-window DCTs, guided by a first estimate.

The second step of BM3D [1]_ without its block matching: every ``patch`` × ``patch`` window of the noisy image (at a
stride of ``step`` pixels, the last row and column of windows flush with the edge) goes to the orthonormal 2-D DCT,
each coefficient is scaled by ``p² / (p² + σ²)`` where ``p`` is the same coefficient of the first estimate's window
(the pilot) and σ the noise's standard deviation (1 for eigen-images), and the windows, transformed back, are
averaged with BM3D-like weights ``1 / (σ² + Σ gain²)``: a window whose pilot holds little (whose gains are small) is
trusted more. A pilot that smooths away texture but keeps where it is tells the filter which coefficients to keep,
and the filter keeps them from the noisy image instead of the pilot.

.. [1] K. Dabov, A. Foi, V. Katkovnik and K. Egiazarian, "Image denoising by sparse 3-D transform-domain
   collaborative filtering," IEEE TIP 16(8), 2080-2095, 2007.
"""

from __future__ import annotations

import numpy as np

__all__ = ["dct_wiener"]


def _corners(size: int, patch: int, step: int) -> np.ndarray:
    """Window starts along an axis of ``size``: every ``step``-th, and one flush with the far edge."""
    return np.unique(np.r_[np.arange(0, size - patch + 1, step), size - patch])


def dct_wiener(noisy: np.ndarray, pilot: np.ndarray, patch: int = 8, step: int = 2, sigma: float = 1.0) -> np.ndarray:
    """Wiener-filter ``noisy`` ``(..., y, x)`` (noise of standard deviation ``sigma``) with gains from ``pilot`` (same
    shape), window by window in the DCT (module docstring). An image smaller than ``patch`` is returned as the
    pilot."""
    from numpy.lib.stride_tricks import sliding_window_view
    from scipy.fft import dctn, idctn

    noisy = np.asarray(noisy, dtype=np.float64)
    pilot = np.asarray(pilot, dtype=np.float64)
    if noisy.shape != pilot.shape:
        raise ValueError(f"dct_wiener: noisy {noisy.shape} and pilot {pilot.shape}; expected the same shape")
    height, width = noisy.shape[-2:]
    if min(height, width) < patch:
        return pilot.copy()
    ys, xs = _corners(height, patch, step), _corners(width, patch, step)

    def windows(image: np.ndarray) -> np.ndarray:  # (..., len(ys), len(xs), patch, patch) DCTs
        view = sliding_window_view(image, (patch, patch), axis=(-2, -1))
        return dctn(view[..., ys[:, None], xs[None, :], :, :], axes=(-2, -1), norm="ortho")

    power = windows(pilot) ** 2
    gain = power / (power + sigma**2)
    estimate = idctn(windows(noisy) * gain, axes=(-2, -1), norm="ortho")
    weight = 1.0 / (sigma**2 + np.sum(gain**2, axis=(-2, -1)))
    total = np.zeros_like(noisy)
    norm = np.zeros_like(noisy)
    rows, cols = ys[:, None], xs[None, :]
    for i in range(patch):  # window starts are distinct, so no pixel repeats within one offset's assignment
        for j in range(patch):
            total[..., rows + i, cols + j] += weight * estimate[..., i, j]
            norm[..., rows + i, cols + j] += weight
    return total / norm
