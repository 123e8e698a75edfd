"""Blind unmixing by archetypal analysis with entropic (mirror) descent, of the EDAA class.

Endmembers are convex combinations of pixels, ``E = B Y``, and pixels convex combinations of endmembers,
``Ŷ = A E``, with the rows of ``A`` (abundances) and ``B`` on the simplex. Both are found by alternating
entropic mirror-descent steps, which keep them on the simplex without projections [1]_, with step sizes from
the Lipschitz constant of the fit (``step / σ_max(E)²`` for ``A``, scaled by ``sqrt(p / N)`` for ``B`` as in
[1]_). The search starts from a geometric extractor (N-FINDR by default, seeded); ``restarts`` runs with
different seeds and keeps the lowest objective.

Three choices make the fit agree with the published ground truths of real scenes (benchmarks/unmix.py):

* ``normalize`` (default): the fit is made on pixels scaled to unit ℓ2 norm, so a pixel's brightness
  (illumination, topography) does not decide how much it pulls on the endmembers and dark materials such as
  water weigh as much as bright ones. The endmembers returned are the same convex combinations ``B`` of the
  original pixels, so they keep the data's units. Where a dark material sits near the noise level (a
  synthetic water at SNR ~2 per band, tests/unmix), a normalised noisy pixel points anywhere and
  ``normalize: false`` recovers that material better.
* ``sparsity``: an ℓ1/2 penalty ``λ Σ sqrt(A)`` on the abundances (the ℓ1 norm is constant on the simplex),
  as in ℓ1/2-NMF [3]_: mostly-pure pixels pull the endmembers towards where the materials are, instead of
  the simplex swelling to enclose every noisy pixel.
* ``loss: l21`` replaces the squared error by the sum over bands of the residual's ℓ2 norm over pixels, so a
  few corrupted bands cannot dominate the fit [2]_.

The defaults (``sparsity`` 0.01, ``step`` 4, 300 × (10 + 10) steps) were chosen on Samson and Jasper Ridge;
benchmarks/unmix.py prints the sensitivity to ``sparsity`` beside them. The abundances returned are FCLS on
the final endmembers over the whole cube. A scene of more than ``max_pixels`` pixels is fitted on a representative
subset (:func:`spectraflow.blocks.representative_pixels`: evenly spaced rows plus the extremes of 64 directions),
so the fit's cost does not grow with the scene; on 2 500 of Samson's or Jasper Ridge's pixels the SAD stays within
0.07° / 0.15° of the fit on all of them (benchmarks/results/scale_subset.md).

References
----------
.. [1] A. Zouaoui, G. Muhawenayo, B. Rasti, J. Chanussot and J. Mairal, "Entropic descent archetypal
   analysis for blind hyperspectral unmixing," IEEE TIP 32, 4649-4663, 2023.
.. [2] F. Zhu et al., "Effective spectral unmixing via robust representation and learning-based sparsity,"
   arXiv, 2014 (robust ℓ2,1 reconstruction over bands).
.. [3] Y. Qian, S. Jia, J. Zhou and A. Robles-Kelly, "Hyperspectral unmixing via L1/2 sparsity-constrained
   nonnegative matrix factorization," IEEE TGRS 49(11), 4282-4297, 2011.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from .. import get, register
from ._base import BlindUnmixer, endmember_array


@register("unmix", "archetypal")
@dataclass(frozen=True)
class ArchetypalAnalysis(BlindUnmixer):
    name = "archetypal"
    seed: int = 0
    init: str = "nfindr"
    loss: str = "l2"
    normalize: bool = True
    sparsity: float = 0.01
    iterations: int = 300
    inner_a: int = 10
    inner_b: int = 10
    step: float = 4.0
    restarts: int = 1
    max_pixels: int = 10_000
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.init not in ("vca", "nfindr", "atgp"):
            self._fail("init", self.init, "vca, nfindr or atgp")
        if self.loss not in ("l2", "l21"):
            self._fail("loss", self.loss, "'l2' (squared error) or 'l21' (robust over bands)")
        if self.iterations < 1 or self.restarts < 1 or self.inner_a < 1 or self.inner_b < 1:
            self._fail("iterations/restarts/inner_a/inner_b",
                       (self.iterations, self.restarts, self.inner_a, self.inner_b), "positive integers")
        if not self.sparsity >= 0 or not self.step > 0:
            self._fail("sparsity/step", (self.sparsity, self.step), "sparsity ≥ 0 and step > 0")

    def _run(self, y: Any, index: np.ndarray, seed: int) -> tuple[float, Any]:
        """One descent of ``y`` ``(pixel, band)`` from the pixels ``index``: ``(objective, B)``.

        ``B`` starts on those pixels with a seeded random ~0.1 % of its mass spread over all pixels (the
        entropic steps can only move mass that is there), so each seed starts from a different point.
        """
        import torch

        n, n_pixels = len(index), y.shape[0]
        spread = torch.rand((n, n_pixels), generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
        b = (2e-3 / n_pixels * spread).to(dtype=y.dtype, device=y.device)
        b[torch.arange(n), torch.as_tensor(index, device=y.device)] += 1.0
        b = b / b.sum(dim=1, keepdim=True)
        a = torch.full((n_pixels, n), 1.0 / n, dtype=y.dtype, device=y.device)
        # the penalty is per pixel, in units of the mean squared pixel norm (1 for normalised pixels)
        weight = self.sparsity * float((y**2).sum()) / n_pixels
        eta_a = self.step / float(torch.linalg.matrix_norm(b @ y, ord=2)) ** 2
        eta_b = eta_a * (n / n_pixels) ** 0.5

        def residual_weight(residual: Any) -> Any:
            """d loss / d residual: the residual itself (ℓ2), or per band scaled by 1/‖band residual‖ (ℓ2,1)."""
            if self.loss == "l2":
                return residual
            return residual / (residual**2).sum(dim=0, keepdim=True).add(1e-12).sqrt()

        def mirror_step(x: Any, grad: Any, eta: float) -> Any:
            return torch.softmax(x.clamp_min(1e-30).log() - eta * grad, dim=1)

        def gradient_a(e: Any) -> Any:
            """∇A = W Eᵀ, W = d loss / d residual; for ℓ2 A (E Eᵀ) − Y Eᵀ, with no (pixel, band) residual."""
            if self.loss == "l2":
                gram, target = e @ e.T, y @ e.T
                return lambda a: a @ gram - target
            return lambda a: residual_weight(a @ e - y) @ e.T

        def gradient_b(a: Any) -> Any:
            """∇B = Aᵀ W Yᵀ; for ℓ2 ((AᵀA) B Y − Aᵀ Y) Yᵀ: two reads of Y a step, no residual written."""
            if self.loss == "l2":
                gram, target = a.T @ a, a.T @ y
                return lambda b: (gram @ (b @ y) - target) @ y.T
            return lambda b: a.T @ residual_weight(a @ (b @ y) - y) @ y.T

        # gradients in closed form (+ the penalty's ½λ/√A on A's)
        for _ in range(self.iterations):
            along_a = gradient_a(b @ y)
            for _ in range(self.inner_a):
                penalty = 0.5 * weight / a.clamp_min(1e-12).sqrt() if weight > 0 else 0.0
                a = mirror_step(a, along_a(a) + penalty, eta_a)
            along_b = gradient_b(a)
            for _ in range(self.inner_b):
                b = mirror_step(b, along_b(b), eta_b)
        residual = y - a @ (b @ y)
        fit = 0.5 * (residual**2).sum() if self.loss == "l2" else (residual**2).sum(dim=0).sqrt().sum()
        return float(fit + weight * a.sqrt().sum()), b

    def unmix(self, cube: xr.DataArray, n: int) -> tuple[xr.DataArray, xr.DataArray]:
        import torch

        from ...blocks import representative_pixels
        from ...train import select_device

        device = select_device(self.device)
        _, y_fit = representative_pixels(cube, self.max_pixels, seed=self.seed)
        fitted = y_fit
        if self.normalize:
            norms = np.linalg.norm(y_fit, axis=1)
            y_fit = y_fit[norms > 0]  # (NaN and all-zero pixels have no direction)
            fitted = y_fit / norms[norms > 0, None]
        y = torch.as_tensor(fitted, dtype=torch.float32, device=device)
        # the geometric start is found on the pixels as measured (the extremes of the normalised cloud are
        # its noisiest directions, not its materials)
        seeds = [self.seed * 1000 + r for r in range(self.restarts)]
        runs = [self._run(y, np.asarray(get("unmix", self.init)(seed=seed).extract(y_fit, n)), seed) for seed in seeds]
        _, b = min(runs, key=lambda run: run[0])
        # the endmembers are the chosen convex combinations of the original pixels
        e = b.double().cpu().numpy() @ y_fit
        em = endmember_array(e, cube)
        abundances = get("unmix", "fcls")(device=self.device).abundances(cube, em)
        return em, abundances
