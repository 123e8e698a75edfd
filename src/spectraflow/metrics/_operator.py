"""Operator-learning errors: relative L2 and relative H1 per sample, averaged over samples.

Fields are ``(sample, channel, *grid)`` on the unit interval/square (grid spacing ``1/(n − 1)``). The H1
seminorm uses second-order central differences inside and one-sided ones at the edges (``torch.gradient``),
so both errors are resolution-consistent: the same function sampled finer gives the same number. They accept
NumPy arrays or torch tensors (gradients flow, so they double as training losses).

:func:`relative_sobolev` is the spectral H^s error: each cosine mode ``k`` of the field (the Fourier modes of
its even extension, so a field that is not periodic has no jump at the edges) weighted by ``(1 + (πk)²)^s``
— the loss of spectral refinement [1]_, which with ``s > 1`` weighs the fine scales more than H1 does.

References
----------
.. [1] S. Cao, F. Brarda, R. Li and Y. Xi, "Spectral-Refiner: accurate fine-tuning of spatiotemporal Fourier
   neural operator for turbulent flows," ICLR 2025.
"""

from __future__ import annotations

from typing import Any

__all__ = ["relative_l2", "relative_h1", "relative_sobolev"]


def _tensor(a: Any) -> Any:
    import torch

    return a if isinstance(a, torch.Tensor) else torch.as_tensor(a, dtype=torch.float64)


def _squared(field: Any, gradient: bool) -> Any:
    import torch

    dims = tuple(range(2, field.ndim))
    total = (field**2).flatten(1).sum(1)
    if gradient:
        spacing = [1.0 / max(field.shape[d] - 1, 1) for d in dims]
        for derivative in torch.gradient(field, spacing=spacing, dim=dims):
            total = total + (derivative**2).flatten(1).sum(1)
    return total


def _relative(prediction: Any, target: Any, squared: Any, reduce: bool) -> Any:
    """``√(squared(prediction − target) / squared(target))`` per sample; their mean when ``reduce``."""
    prediction, target = _tensor(prediction), _tensor(target)
    if prediction.shape != target.shape or prediction.ndim < 3:
        raise ValueError(f"operator error: prediction {tuple(prediction.shape)} vs target {tuple(target.shape)}; "
                         "expected equal (sample, channel, *grid) shapes")
    error = (squared(prediction - target) / squared(target).clamp_min(1e-30)).sqrt()
    return error.mean() if reduce else error


def relative_l2(prediction: Any, target: Any, reduce: bool = True) -> Any:
    """‖prediction − target‖₂ / ‖target‖₂ per sample; their mean when ``reduce`` (a 0-d tensor)."""
    return _relative(prediction, target, lambda field: _squared(field, gradient=False), reduce)


def relative_h1(prediction: Any, target: Any, reduce: bool = True) -> Any:
    """Relative error in the H1 norm (values and first derivatives) per sample; their mean when ``reduce``."""
    return _relative(prediction, target, lambda field: _squared(field, gradient=True), reduce)


def _cosine_power(field: Any, order: float) -> Any:
    """Σ over cosine modes of ``(1 + (πk)²)^order · |coefficient|²`` per sample (Parseval on the even
    extension; the same scale at every resolution)."""
    import math

    import torch

    dims = tuple(range(2, field.ndim))
    extended = field
    for d in dims:  # period 2(n − 1): the mirror without repeating the end points
        n = field.shape[d]
        extended = torch.cat([extended, extended.flip(d).narrow(d, 1, max(n - 2, 0))], dim=d)
    spectrum = torch.fft.rfftn(extended, dim=dims, norm="forward")
    weight = torch.ones((), dtype=field.dtype, device=field.device)  # 1 + (πk)², built axis by axis
    for d in dims:
        n = extended.shape[d]
        frequency = torch.fft.rfftfreq if d == dims[-1] else torch.fft.fftfreq
        k = frequency(n, d=1.0 / n, device=field.device, dtype=field.dtype)  # integers: period 2 in x
        weight = weight.unsqueeze(-1) + (math.pi * k) ** 2
    half = extended.shape[dims[-1]]  # the real FFT keeps k ≥ 0 of the last axis: each 0 < k < Nyquist stands
    twice = torch.full((half // 2 + 1,), 2.0, dtype=field.dtype, device=field.device)  # for ±k, so counts twice
    twice[0] = 1.0
    if half % 2 == 0:
        twice[-1] = 1.0
    power = weight**order * twice * spectrum.abs() ** 2
    return power.flatten(1).sum(1)


def relative_sobolev(prediction: Any, target: Any, order: float = 2.0, reduce: bool = True) -> Any:
    """Relative spectral H^order error per sample (see the module docstring); their mean when ``reduce``."""
    return _relative(prediction, target, lambda field: _cosine_power(field, order), reduce)
