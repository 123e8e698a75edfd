"""Unmixing metrics: spectral angles, Hungarian matching, RMSE and SRE."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["spectral_angle", "sad", "match_endmembers", "rmse", "sre", "unmixing_scores"]


def _values(a: Any) -> np.ndarray:
    return np.asarray(getattr(a, "values", a), dtype=np.float64)


def spectral_angle(a: Any, b: Any) -> np.ndarray:
    """Angle (degrees) between spectra ``a`` and ``b`` along the last axis (broadcasting)."""
    a, b = _values(a), _values(b)
    cos = (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def sad(estimated: Any, reference: Any) -> np.ndarray:
    """Spectral angle distance (degrees) between matched rows of ``(endmember, band)`` arrays."""
    return spectral_angle(estimated, reference)


def match_endmembers(estimated: Any, reference: Any) -> np.ndarray:
    """Order of the estimated endmembers that best matches the reference ones (minimum total SAD).

    Returns ``order`` such that ``estimated[order[i]]`` is matched to ``reference[i]`` (Hungarian algorithm,
    H. W. Kuhn, Naval Research Logistics Quarterly 2, 1955).
    """
    from scipy.optimize import linear_sum_assignment

    est, ref = _values(estimated), _values(reference)
    cost = spectral_angle(ref[:, None, :], est[None, :, :])
    rows, cols = linear_sum_assignment(cost)
    return cols[np.argsort(rows)]


def rmse(estimated: Any, reference: Any, axis: Any = None) -> Any:
    """Root-mean-square error (over ``axis``, all elements by default)."""
    diff = _values(estimated) - _values(reference)
    return np.sqrt(np.mean(diff**2, axis=axis))


def sre(estimated: Any, reference: Any) -> float:
    """Signal-to-reconstruction error in dB: ``10 log10(‖ref‖² / ‖ref − est‖²)``."""
    ref, est = _values(reference), _values(estimated)
    return float(10 * np.log10((ref**2).sum() / max(((ref - est) ** 2).sum(), 1e-300)))


def unmixing_scores(endmembers: Any, abundances: Any, true_endmembers: Any, true_abundances: Any,
                    cube: Any | None = None) -> dict[str, Any]:
    """Every unmixing metric after Hungarian matching of the estimate to the ground truth.

    ``endmembers`` ``(endmember, band)``, ``abundances`` ``(y, x, endmember)`` (or ``(pixel, endmember)``);
    with ``cube`` also the reconstruction RMSE. Returns per-endmember SAD and the scalar scores.
    """
    order = match_endmembers(endmembers, true_endmembers)
    em = _values(endmembers)[order]
    ab = _values(abundances)[..., order]
    ref_ab = _values(true_abundances)
    scores: dict[str, Any] = {
        "sad_per_endmember": sad(em, true_endmembers).tolist(),
        "sad_mean": float(sad(em, true_endmembers).mean()),
        "abundance_rmse": float(rmse(ab, ref_ab)),
        "endmember_rmse": float(rmse(em, true_endmembers)),
        "sre_db": sre(ab, ref_ab),
        "order": order.tolist(),
    }
    if cube is not None:
        y = _values(cube).reshape(-1, em.shape[1])
        scores["reconstruction_rmse"] = float(rmse(ab.reshape(-1, em.shape[0]) @ em, y))
    return scores
