"""VCA: vertex component analysis.

J. M. P. Nascimento and J. M. Bioucas-Dias, "Vertex component analysis: a fast algorithm to unmix
hyperspectral data," IEEE TGRS 43(4), 898-910, 2005. The data are projected on the signal subspace
(projective projection at high SNR, affine at low SNR as the paper prescribes), then endmembers are the
extreme pixels along directions orthogonal to the endmembers found so far.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import register
from ._base import EndmemberExtractor
from ._geometry import principal_subspace


@register("unmix", "vca")
@dataclass(frozen=True)
class VCA(EndmemberExtractor):
    name = "vca"
    snr: float | None = None  # dB; estimated from the data when None

    def extract(self, y: np.ndarray, n: int) -> np.ndarray:
        rng = np.random.default_rng(self.seed)
        n_pixels, n_bands = y.shape
        mean, basis = principal_subspace(y, n)
        projected = (y - mean) @ basis
        power_y = (y**2).sum() / n_pixels
        power_x = (projected**2).sum() / n_pixels + mean @ mean
        snr = self.snr
        if snr is None:
            with np.errstate(divide="ignore", invalid="ignore"):
                snr = float(10 * np.log10((power_x - n / n_bands * power_y) / (power_y - power_x)))
            if not np.isfinite(snr):
                snr = np.inf
        if snr < 15 + 10 * np.log10(n):
            x = projected[:, : n - 1]
            c = np.sqrt((x**2).sum(axis=1)).max()
            z = np.column_stack([x, np.full(n_pixels, c)])
        else:
            _, vectors = np.linalg.eigh(y.T @ y / n_pixels)
            x = y @ vectors[:, ::-1][:, :n]
            u = x.mean(axis=0)
            z = x / (x @ u)[:, None]
        a = np.zeros((n, n))
        a[-1, 0] = 1.0
        index = np.zeros(n, dtype=np.int64)
        for i in range(n):
            w = rng.normal(size=n)
            f = w - a @ np.linalg.pinv(a) @ w
            f /= np.linalg.norm(f)
            index[i] = int(np.argmax(np.abs(z @ f)))
            a[:, i] = z[index[i]]
        return index
