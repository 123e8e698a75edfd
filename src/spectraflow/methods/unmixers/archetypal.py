"""Blind unmixing by archetypal analysis with entropic (mirror) descent, of the EDAA class.

Endmembers are convex combinations of pixels, ``E = B Y``, and pixels convex combinations of endmembers,
``Ŷ = A E``, with the rows of ``A`` (abundances) and ``B`` on the simplex. Both are found by alternating
entropic mirror-descent steps, which keep them on the simplex without projections [1]_. The search starts
from a geometric extractor (VCA by default, seeded) and FCLS abundances; ``restarts`` runs with different
seeds and keeps the lowest loss. ``loss: l21`` replaces the squared error by the sum over bands of the
residual's ℓ2 norm over pixels, so a few corrupted bands cannot dominate the fit [2]_.

References
----------
.. [1] A. Zouaoui, G. Muhawenayo, B. Rasti, J. Chanussot and J. Mairal, "Entropic descent archetypal
   analysis for blind hyperspectral unmixing," IEEE TIP 32, 4649-4663, 2023.
.. [2] "Effective spectral unmixing via robust representation and learning-based sparsity"
   (robust ℓ2,1 reconstruction over bands).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from .. import get, register
from ._base import BlindUnmixer, endmember_array, pixels
from ._solvers import exact_least_squares


@register("unmix", "archetypal")
@dataclass(frozen=True)
class ArchetypalAnalysis(BlindUnmixer):
    name = "archetypal"
    seed: int = 0
    init: str = "vca"
    loss: str = "l2"
    iterations: int = 500
    inner_a: int = 5
    inner_b: int = 5
    step: float = 0.3
    restarts: int = 3
    max_pixels: int = 50_000
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.init not in ("vca", "nfindr", "atgp"):
            self._fail("init", self.init, "vca, nfindr or atgp")
        if self.loss not in ("l2", "l21"):
            self._fail("loss", self.loss, "'l2' (squared error) or 'l21' (robust over bands)")
        if self.iterations < 1 or self.restarts < 1:
            self._fail("iterations/restarts", (self.iterations, self.restarts), "positive integers")

    def _loss(self, residual: Any) -> Any:
        if self.loss == "l2":
            return 0.5 * (residual**2).sum()
        return (residual**2).sum(dim=0).add(1e-12).sqrt().sum()

    def _run(self, y: Any, n: int, seed: int) -> tuple[float, Any, Any]:
        import torch

        extractor = get("unmix", self.init)(seed=seed)
        index = extractor.extract(y.cpu().numpy(), n)
        n_pixels = y.shape[0]
        b = torch.full((n, n_pixels), 1e-3 / n_pixels, dtype=y.dtype, device=y.device)
        b[torch.arange(n), torch.as_tensor(index, device=y.device)] += 1.0
        b = b / b.sum(dim=1, keepdim=True)
        a = exact_least_squares(y, b @ y, sum_to_one=True).clamp_min(1e-6)
        a = a / a.sum(dim=1, keepdim=True)
        scale = float((y**2).sum()) if self.loss == "l2" else float((y**2).sum(dim=0).sqrt().sum())

        def loss_of(a_: Any, b_: Any) -> Any:
            return self._loss(y - a_ @ (b_ @ y)) / scale

        # gradients in closed form: ∇A = W Eᵀ and ∇B = Aᵀ W Yᵀ with W = d loss / d residual

        def mirror_step(x: Any, grad: Any) -> Any:
            eta = self.step / (grad.abs().amax(dim=1, keepdim=True) + 1e-12)
            x = x * torch.exp(-eta * grad)
            return x / x.sum(dim=1, keepdim=True)

        def residual_weight(residual: Any) -> Any:
            """d loss / d residual: the residual itself (ℓ2), or per band scaled by 1/‖band residual‖ (ℓ2,1)."""
            if self.loss == "l2":
                return residual
            return residual / (residual**2).sum(dim=0, keepdim=True).add(1e-12).sqrt()

        for _ in range(self.iterations):
            e = b @ y
            for _ in range(self.inner_a):
                a = mirror_step(a, residual_weight(a @ e - y) @ e.T)
            for _ in range(self.inner_b):
                b = mirror_step(b, a.T @ residual_weight(a @ (b @ y) - y) @ y.T)
        with torch.no_grad():
            final = float(loss_of(a, b))
        return final, a.detach(), (b @ y).detach()

    def unmix(self, cube: xr.DataArray, n: int) -> tuple[xr.DataArray, xr.DataArray]:
        import torch

        from ...train import select_device

        device = select_device(self.device)
        y_all = pixels(cube)
        rng = np.random.default_rng(self.seed)
        fit_index = (np.sort(rng.choice(len(y_all), self.max_pixels, replace=False))
                     if len(y_all) > self.max_pixels else np.arange(len(y_all)))
        y = torch.as_tensor(y_all[fit_index], dtype=torch.float64, device=device)
        runs = [self._run(y, n, self.seed * 1000 + r) for r in range(self.restarts)]
        _, _, endmembers = min(runs, key=lambda run: run[0])
        e = endmembers.cpu().numpy()
        em = endmember_array(e, cube)
        abundances = get("unmix", "fcls")(device=self.device).abundances(cube, em)
        return em, abundances
