"""Operator-learning errors: relative L2 and relative H1 per sample, averaged over samples.

Fields are ``(sample, channel, *grid)`` on the unit interval/square (grid spacing ``1/(n − 1)``). The H1
seminorm uses second-order central differences inside and one-sided ones at the edges (``torch.gradient``),
so both errors are resolution-consistent: the same function sampled finer gives the same number. They accept
NumPy arrays or torch tensors (gradients flow, so they double as training losses).
"""

from __future__ import annotations

from typing import Any

__all__ = ["relative_l2", "relative_h1"]


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


def _relative(prediction: Any, target: Any, gradient: bool, reduce: bool) -> Any:
    prediction, target = _tensor(prediction), _tensor(target)
    if prediction.shape != target.shape or prediction.ndim < 3:
        raise ValueError(f"operator error: prediction {tuple(prediction.shape)} vs target {tuple(target.shape)}; "
                         "expected equal (sample, channel, *grid) shapes")
    error = (_squared(prediction - target, gradient) / _squared(target, gradient).clamp_min(1e-30)).sqrt()
    return error.mean() if reduce else error


def relative_l2(prediction: Any, target: Any, reduce: bool = True) -> Any:
    """‖prediction − target‖₂ / ‖target‖₂ per sample; their mean when ``reduce`` (a 0-d tensor)."""
    return _relative(prediction, target, gradient=False, reduce=reduce)


def relative_h1(prediction: Any, target: Any, reduce: bool = True) -> Any:
    """Relative error in the H1 norm (values and first derivatives) per sample; their mean when ``reduce``."""
    return _relative(prediction, target, gradient=True, reduce=reduce)
