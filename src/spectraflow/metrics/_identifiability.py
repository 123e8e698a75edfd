"""Whether a set of abundances makes the unmixing identifiable: the sufficiently scattered condition (SSC).

A factorisation ``X = E·A`` with non-negative ``A`` (``r`` endmembers) is unique up to permutation and scale when
the abundances are *sufficiently scattered* [1]_: the cone they span contains the second-order cone
``C = {x ≥ 0 : 1ᵀx ≥ √(r − 1)·‖x‖₂}`` (SSC1), and touches its boundary only where the non-negative orthant
does (SSC2). Seen on the probability simplex (each pixel's abundances scaled to sum to one), ``C`` is the ball
inscribed in the simplex — centre ``1/r``, radius ``R = 1/√(r(r − 1))`` — so SSC1 says that the convex hull of
the pixels contains that ball, and SSC2 that the hull's boundary meets the ball only at the points where the
ball touches the simplex's faces.

Checking the condition is NP-hard in general; [1]_ solves a non-convex quadratic programme. For the handful of
endmembers of an unmixing the hull is small: up to :data:`MAX_HULL_ENDMEMBERS` it is computed exactly (qhull, in
the ``r − 1`` dimensions of the simplex), and each of its facets that does not lie in a face of the simplex is
compared with the ball. The **margin** is ``min(distance from the centre to such a facet) / R − 1``: positive
when the condition holds, the larger the more room (``r − 2`` when every pure pixel is present, the separable
case, whose hull is the whole simplex), negative when the ball sticks out of the hull, ``−1`` or less when the
centre does.

Beyond that the hull's facets multiply as ``pixels^((r − 1)/2)`` (1024 random pixels: 5 000 facets and 0.07 s at
``r = 6``, 196 000 and 7 s at 8; a scene's HySime bound of 30 ran for minutes), so a larger ``r`` gets the
separable case (every pure pixel present: holds, margin ``r − 2``) or a necessary condition: the ball touches
face ``k`` of the simplex at ``(1 − e_k)/(r − 1)``, and each of these ``r`` points must lie in the hull (a
linear programme each). One outside: the condition fails (``holds`` False); all inside: undecided (``holds``
None). Either way the margin is None; ``check`` names which test gave the verdict.

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
#: the largest endmember count whose hull is computed (see the module docstring for the cost beyond)
MAX_HULL_ENDMEMBERS = 6


@dataclass(frozen=True)
class Scattering:
    """The outcome of :func:`sufficiently_scattered`: whether the condition holds (None: undecided), its margin
    (None beyond the hull check), how many pixels and hull facets the check saw, and which check it was
    (``hull``, ``separable`` or ``tangent points``)."""

    holds: bool | None
    margin: float | None
    pixels: int
    facets: int
    check: str = "hull"

    def as_dict(self) -> dict[str, Any]:
        return {"holds": self.holds, "margin": None if self.margin is None else round(self.margin, 6),
                "pixels": self.pixels, "facets": self.facets, "check": self.check}


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
    if r > MAX_HULL_ENDMEMBERS:
        return _beyond_the_hull(simplex)
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


def _beyond_the_hull(simplex: np.ndarray) -> Scattering:
    """The separable case or the tangent points' necessary condition (module docstring), for pixels ``simplex``
    ``(pixel, r)`` on the probability simplex."""
    from scipy.optimize import linprog

    n, r = simplex.shape
    on_faces = np.where(simplex <= FACE_TOLERANCE, 0.0, simplex)
    on_faces /= on_faces.sum(1, keepdims=True)
    if np.all(on_faces.max(0) >= 1.0 - FACE_TOLERANCE):  # every pure pixel: the hull is the simplex
        return Scattering(holds=True, margin=float(r - 2), pixels=n, facets=0, check="separable")
    for k in range(r):
        tangent = (1.0 - np.eye(r)[k]) / (r - 1)
        # a convex combination of the pixels equal to the tangent point (the weights' sum is implied: rows sum to 1)
        found = linprog(np.zeros(n), A_eq=on_faces.T, b_eq=tangent, bounds=(0, None), method="highs")
        if found.status == 2:  # infeasible: the point lies outside the hull
            return Scattering(holds=False, margin=None, pixels=n, facets=0, check="tangent points")
    return Scattering(holds=None, margin=None, pixels=n, facets=0, check="tangent points")
