"""Fusion metrics beyond the image-quality ones: the universal image quality index and the no-reference QNR.

``q_index``  Wang and Bovik's universal image quality index (IEEE SPL 9(3), 2002) of two images,
             ``4 σ_ab μ_a μ_b / ((σ_a² + σ_b²)(μ_a² + μ_b²))``, averaged over non-overlapping ``block`` × ``block``
             blocks (the whole image when it is smaller than a block).
``q_avg``    ``q_index`` of each band against the reference's, averaged over bands.
``qnr``      quality with no reference (Alparone et al., PE&RS 74(2), 2008) of a fused cube, from the
             hyperspectral cube and the panchromatic image it was made from: ``Dλ`` (how the bands' pairwise Q
             moved from the low-resolution cube), ``Ds`` (how each band's Q with the pan moved from the
             low-resolution band's Q with the degraded pan), ``QNR = (1 − Dλ)(1 − Ds)`` (exponents 1). With a
             multispectral guide, ``Ds`` averages over its bands too (each pair of a fused band and a guide band).
``fusion_scores``  PSNR (each band's peak the reference's ``data_range``), SAM, ERGAS with the ratio, Q-avg.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._image import ergas, mpsnr, sam

__all__ = ["q_index", "q_avg", "qnr", "fusion_scores"]


def _blocks(image: np.ndarray, block: int) -> np.ndarray:
    """``(y, x, k)`` cut into non-overlapping blocks: ``(n_blocks, pixels, k)`` (the remainder left out)."""
    by, bx = min(block, image.shape[0]), min(block, image.shape[1])
    ny, nx = image.shape[0] // by, image.shape[1] // bx
    cut = image[:ny * by, :nx * bx].reshape(ny, by, nx, bx, -1)
    return cut.transpose(0, 2, 1, 3, 4).reshape(ny * nx, by * bx, -1)


def _pairwise_q(a: np.ndarray, b: np.ndarray, block: int) -> np.ndarray:
    """Q of every band of ``a`` ``(y, x, k)`` with every band of ``b`` ``(y, x, m)``: ``(k, m)``, block-averaged."""
    pa, pb = _blocks(a, block), _blocks(b, block)
    mean_a, mean_b = pa.mean(axis=1), pb.mean(axis=1)                              # (block, k), (block, m)
    ca, cb = pa - mean_a[:, None], pb - mean_b[:, None]
    covariance = np.einsum("npk,npm->nkm", ca, cb) / pa.shape[1]
    var_a, var_b = (ca**2).mean(axis=1), (cb**2).mean(axis=1)
    numerator = 4 * covariance * mean_a[:, :, None] * mean_b[:, None, :]
    denominator = ((var_a[:, :, None] + var_b[:, None, :])
                   * (mean_a[:, :, None] ** 2 + mean_b[:, None, :] ** 2))
    q = np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1), 1.0)
    return q.mean(axis=0)


def _cube(values: Any) -> np.ndarray:
    array = np.asarray(getattr(values, "values", values), dtype=np.float64)
    return array if array.ndim == 3 else array[:, :, None]


def q_index(a: Any, b: Any, block: int = 32) -> float:
    """Q of two single-band images ``(y, x)``."""
    return float(_pairwise_q(_cube(a), _cube(b), block)[0, 0])


def q_avg(estimate: Any, reference: Any, block: int = 32) -> float:
    est, ref = _cube(estimate), _cube(reference)
    if est.shape != ref.shape:
        raise ValueError(f"expected two (y, x, band) arrays of one shape; got {est.shape} and {ref.shape}")
    return float(np.diag(_pairwise_q(est, ref, block)).mean())


def qnr(fused: Any, hs: Any, pan: Any, ratio: int, block: int = 32,
        mtf_gain: float | None = None) -> dict[str, float]:
    """``{"d_lambda", "d_s", "qnr"}`` of ``fused`` ``(Y, X, band)`` made from ``hs`` ``(y, x, band)`` and
    ``pan`` ``(Y, X)`` (or a multispectral guide ``(Y, X, guide band)``); the guide is brought to the cube's grid
    by the protocol's sensor model."""
    from ..methods.fusion import DEFAULT_MTF_GAIN, degrade

    f, h, p = _cube(fused), _cube(hs), _cube(pan)
    low_block = max(1, block // ratio)
    bands = f.shape[2]
    off_diagonal = ~np.eye(bands, dtype=bool)
    d_lambda = float(np.abs(_pairwise_q(f, f, block) - _pairwise_q(h, h, low_block))[off_diagonal].mean())
    pan_low = degrade(p, ratio, DEFAULT_MTF_GAIN if mtf_gain is None else mtf_gain)
    d_s = float(np.abs(_pairwise_q(f, p, block) - _pairwise_q(h, pan_low, low_block)).mean())
    return {"d_lambda": d_lambda, "d_s": d_s, "qnr": (1 - d_lambda) * (1 - d_s)}


def fusion_scores(estimate: Any, reference: Any, ratio: int, data_range: float = 1.0) -> dict[str, float]:
    """PSNR (dB, mean over bands), SAM (degrees), ERGAS (with the resolution ``ratio``) and Q-avg."""
    return {"psnr": mpsnr(estimate, reference, data_range), "sam": sam(estimate, reference),
            "ergas": ergas(estimate, reference, ratio=ratio), "q_avg": q_avg(estimate, reference)}
