"""Whether a set of abundances makes the unmixing identifiable: the sufficiently scattered condition (SSC).

A factorisation ``X = E·A`` with non-negative ``A`` (``r`` endmembers) is unique up to permutation and scale when
the abundances are *sufficiently scattered* [1]_: the cone they span contains the second-order cone
``C = {x ≥ 0 : 1ᵀx ≥ √(r − 1)·‖x‖₂}`` (SSC1), and touches its boundary only where the non-negative orthant
does (SSC2). Seen on the probability simplex (each pixel's abundances scaled to sum to one), ``C`` is the ball
inscribed in the simplex — centre ``1/r``, radius ``R = 1/√(r(r − 1))`` — so SSC1 says that the convex hull of
the pixels contains that ball, and SSC2 that the hull's boundary meets the ball only at the points where the
ball touches the simplex's faces.

Checking the condition is NP-hard in general; [1]_ solves a non-convex quadratic programme. For the handful of
endmembers of an unmixing the hull is small: it is computed exactly (qhull, in the ``r − 1`` dimensions of the
simplex), and each of its facets that does not lie in a face of the simplex is compared with the ball. The
**margin** is ``min(distance from the centre to such a facet) / R − 1``: positive when the condition holds,
the larger the more room (``r − 2`` when every pure pixel is present, the separable case, whose hull is the
whole simplex), negative when the ball sticks out of the hull, ``−1`` or less when the centre does.

References
----------
.. [1] N. Gillis and R. Luce, "Checking the sufficiently scattered condition using a global non-convex
   optimization software," IEEE Signal Processing Letters 29, 2022; X. Fu, K. Huang and N. D. Sidiropoulos,
   "On identifiability of nonnegative matrix factorization," IEEE Signal Processing Letters 25, 2018.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Scattering", "sufficiently_scattered"]

FACE_TOLERANCE = 1e-6  # an abundance this small counts as zero: the pixel lies in that face of the simplex


@dataclass(frozen=True)
class Scattering:
    """The outcome of :func:`sufficiently_scattered`: whether the condition holds, its margin, and how many
    pixels and hull facets the check saw."""

    holds: bool
    margin: float
    pixels: int
    facets: int

    def as_dict(self) -> dict[str, Any]:
        return {"holds": self.holds, "margin": round(self.margin, 6), "pixels": self.pixels, "facets": self.facets}


def _simplex_coordinates(r: int) -> np.ndarray:
    """An orthonormal basis ``(r, r − 1)`` of the plane ``1ᵀx = 0`` (the simplex's directions)."""
    return np.linalg.qr(np.eye(r) - 1.0 / r)[0][:, : r - 1]


def sufficiently_scattered(abundances: Any) -> Scattering:
    """Check the SSC for ``abundances`` ``(pixel, endmember)`` (or ``(..., endmember)``; non-negative; pixels
    with a non-finite value or a zero sum are left out). See the module docstring for the margin."""
    from scipy.spatial import ConvexHull, QhullError

    a = np.asarray(abundances, dtype=np.float64)
    r = a.shape[-1]
    a = a.reshape(-1, r)
    a = a[np.all(np.isfinite(a), axis=1)]
    if np.any(a < -FACE_TOLERANCE):
        raise ValueError("sufficiently scattered: abundances must be non-negative")
    a = np.clip(a, 0.0, None)
    a = a[a.sum(1) > 0]
    if r < 2 or len(a) <= r:
        return Scattering(holds=r == 1 and len(a) > 0, margin=0.0 if r == 1 else -1.0, pixels=len(a), facets=0)
    simplex = a / a.sum(1, keepdims=True)
    points = (simplex - 1.0 / r) @ _simplex_coordinates(r)
    radius = 1.0 / np.sqrt(r * (r - 1))
    if r == 2:  # the simplex is a segment and the ball is all of it: only both pure pixels make it hold
        ends = points[:, 0].argmin(), points[:, 0].argmax()
        facets = [(-points[ends[0], 0], simplex[[ends[0]]]), (points[ends[1], 0], simplex[[ends[1]]])]
    else:
        try:
            hull = ConvexHull(points)
        except QhullError:  # the pixels do not span the simplex: not even the centre is inside
            return Scattering(holds=False, margin=-1.0, pixels=len(a), facets=0)
        facets = [(-offset, simplex[vertices]) for offset, vertices in zip(hull.equations[:, -1], hull.simplices,
                                                                           strict=True)]
    inner = [distance for distance, corners in facets
             if not np.any(np.all(corners <= FACE_TOLERANCE, axis=0))]  # not lying in a face x_k = 0
    margin = float(min(inner) / radius - 1.0) if inner else float(r - 2)
    holds = margin > 1e-9 or not inner  # every facet a face: the separable case (margin 0 when r = 2)
    return Scattering(holds=bool(holds), margin=margin, pixels=len(a), facets=len(facets))
