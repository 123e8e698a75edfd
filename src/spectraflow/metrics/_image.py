"""Image-quality metrics of a restored cube against the clean one, band-wise where the field is.

All take ``(y, x, band)`` arrays with values in [0, ``data_range``] and an optional ``(y, x)`` mask ``valid``:
scores then count the valid pixels only (SSIM: its map averaged over them).

``band_psnr`` ``10 log10(range² / MSE_band)`` of each band; ``mpsnr`` its mean over bands.
``mssim``  mean over bands of SSIM (Wang et al., IEEE TIP 13(4), 2004): Gaussian window σ = 1.5 truncated at
           3.5σ, K1 = 0.01, K2 = 0.03, population statistics — the settings of the denoising benchmarks.
``sam``    mean spectral angle over pixels, degrees.
``ergas``  ``(100 / ratio) · sqrt(mean_band (RMSE_band / mean_band)²)`` (Wald, 2000); ``ratio`` is the
           resolution ratio of a fusion (1: denoising).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["band_psnr", "mpsnr", "mssim", "sam", "ergas", "denoising_scores"]


def _pair(estimate: Any, reference: Any, valid: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """The two cubes as float64; with ``valid``, their valid pixels as a ``(pixel, 1, band)`` image."""
    est = np.asarray(getattr(estimate, "values", estimate), dtype=np.float64)
    ref = np.asarray(getattr(reference, "values", reference), dtype=np.float64)
    if est.shape != ref.shape or est.ndim != 3:
        raise ValueError(f"expected two (y, x, band) arrays of one shape; got {est.shape} and {ref.shape}")
    if valid is not None:
        mask = np.asarray(getattr(valid, "values", valid), dtype=bool)
        return est[mask][:, None, :], ref[mask][:, None, :]
    return est, ref


def band_psnr(estimate: Any, reference: Any, data_range: float = 1.0, valid: Any = None) -> np.ndarray:
    est, ref = _pair(estimate, reference, valid)
    mse = ((est - ref) ** 2).mean(axis=(0, 1))
    return np.asarray(10 * np.log10(data_range**2 / np.maximum(mse, 1e-30)))


def mpsnr(estimate: Any, reference: Any, data_range: float = 1.0, valid: Any = None) -> float:
    return float(np.mean(band_psnr(estimate, reference, data_range, valid)))


def mssim(estimate: Any, reference: Any, data_range: float = 1.0, sigma: float = 1.5, valid: Any = None) -> float:
    from scipy.ndimage import gaussian_filter

    est, ref = _pair(estimate, reference)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2

    def blur(image: np.ndarray) -> np.ndarray:
        return gaussian_filter(image, sigma=(sigma, sigma, 0), truncate=3.5, mode="reflect")

    mu_x, mu_y = blur(est), blur(ref)
    var_x = blur(est * est) - mu_x**2
    var_y = blur(ref * ref) - mu_y**2
    cov = blur(est * ref) - mu_x * mu_y
    ssim = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    pad = int(3.5 * sigma + 0.5)  # the border the window does not cover, left out as in the reference
    inner = ssim[pad:-pad or None, pad:-pad or None]
    if valid is not None:
        mask = np.asarray(getattr(valid, "values", valid), dtype=bool)[pad:-pad or None, pad:-pad or None]
        return float(inner[mask].mean(axis=0).mean())
    return float(inner.mean(axis=(0, 1)).mean())


def sam(estimate: Any, reference: Any, valid: Any = None) -> float:
    est, ref = _pair(estimate, reference, valid)
    dot = (est * ref).sum(axis=-1)
    norms = np.linalg.norm(est, axis=-1) * np.linalg.norm(ref, axis=-1)
    cos = np.clip(dot / np.maximum(norms, 1e-30), -1.0, 1.0)
    return float(np.degrees(np.arccos(cos)).mean())


def ergas(estimate: Any, reference: Any, valid: Any = None, ratio: float = 1.0) -> float:
    est, ref = _pair(estimate, reference, valid)
    rmse = np.sqrt(((est - ref) ** 2).mean(axis=(0, 1)))
    mean = np.abs(ref.mean(axis=(0, 1)))
    return float(100 / ratio * np.sqrt(np.mean((rmse / np.maximum(mean, 1e-30)) ** 2)))


def denoising_scores(estimate: Any, reference: Any, valid: Any = None) -> dict[str, float]:
    """MPSNR (dB), MSSIM, SAM (degrees) and ERGAS of ``estimate`` against ``reference`` (on ``valid`` pixels)."""
    return {"mpsnr": mpsnr(estimate, reference, valid=valid), "mssim": mssim(estimate, reference, valid=valid),
            "sam": sam(estimate, reference, valid=valid), "ergas": ergas(estimate, reference, valid=valid)}
