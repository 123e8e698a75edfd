"""The sufficiently scattered condition: the hull check against a brute-force solution of its dual quadratic
programme, the separable case, and cases built to hold and to fail."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

from spectraflow.metrics import sufficiently_scattered


def _dual_maximum(abundances: np.ndarray) -> float:
    """max ‖x‖² over the vertices x of {x : Aᵀx ≥ 0, 1ᵀx = 1} other than the unit vectors (each vertex fixed by
    r − 1 active constraints; enumerated, so small cases only). The unit vectors are always vertices with
    ‖x‖² = 1; the SSC holds iff every other vertex is shorter (Gillis & Luce: the programme's optimum is 1 and
    attained only at the unit vectors)."""
    n, r = abundances.shape
    best = -np.inf
    for active in combinations(range(n), r - 1):
        system = np.vstack([abundances[list(active)], np.ones(r)])
        if abs(np.linalg.det(system)) < 1e-12:
            continue
        x = np.linalg.solve(system, np.eye(r)[-1])
        if np.all(abundances @ x >= -1e-10) and np.abs(x - np.eye(r)).sum(1).min() > 1e-8:
            best = max(best, float(x @ x))
    return best


@pytest.mark.parametrize("r", [3, 4])
def test_the_hull_check_agrees_with_the_dual_programme_on_random_abundances(r: int) -> None:
    rng = np.random.default_rng(r)
    agreed = {True: 0, False: 0}
    for trial in range(30):
        concentration = rng.choice([0.3, 1.0, 3.0])
        a = rng.dirichlet(np.full(r, concentration), size=40 if r == 3 else 26)
        a[a < rng.choice([0.0, 0.1, 0.2])] = 0.0  # sparse abundances, as FCLS gives: pixels on the faces
        a = a[a.sum(1) > 0]
        a *= rng.uniform(0.5, 2.0, size=(len(a), 1))  # a per-pixel scale changes nothing
        value = _dual_maximum(a / a.sum(1, keepdims=True))
        if abs(value - 1.0) < 1e-6:
            continue  # on the boundary: no verdict to compare
        result = sufficiently_scattered(a)
        assert result.holds == (value < 1.0), (trial, value, result)
        agreed[result.holds] += 1
    assert agreed[True] >= 3 and agreed[False] >= 3  # both verdicts were exercised


@pytest.mark.parametrize("r", [2, 3, 5])
def test_pure_pixels_make_it_hold_with_the_largest_margin(r: int) -> None:
    rng = np.random.default_rng(0)
    a = np.vstack([np.eye(r) * 3.0, rng.dirichlet(np.ones(r), size=200)])
    result = sufficiently_scattered(a)
    assert result.holds and result.margin == pytest.approx(r - 2) and result.pixels == r + 200
    assert not sufficiently_scattered(a[r:] * 0.5 + 0.5 / r).holds  # mixed pixels only, shrunk to the centre


def test_margin_of_a_ring_of_pixels_around_the_centre() -> None:
    """r = 3: pixels on a circle of radius ρ·R about the centre (and inside the simplex) — the hull is a polygon
    whose facets are at distance ρ·R·cos(π/m) for m points: the margin is ρ·cos(π/m) − 1."""
    r, m = 3, 90
    radius = 1.0 / np.sqrt(r * (r - 1))
    basis = np.linalg.qr(np.eye(r) - 1.0 / r)[0][:, :2]
    angles = 2 * np.pi * np.arange(m) / m
    for rho in (0.9, 0.99):
        ring = 1.0 / r + rho * radius * np.stack([np.cos(angles), np.sin(angles)], axis=1) @ basis.T
        result = sufficiently_scattered(ring)
        assert result.margin == pytest.approx(rho * np.cos(np.pi / m) - 1.0, abs=1e-9) and not result.holds
    # wider than the inscribed ball: the ring leaves the simplex; clipped onto the faces, the hull holds the ball
    ring = 1.0 / r + 1.2 * radius * np.stack([np.cos(angles), np.sin(angles)], axis=1) @ basis.T
    clipped = np.clip(ring, 0.0, None)
    assert sufficiently_scattered(clipped).holds
    assert not sufficiently_scattered(ring[np.all(ring > 0, axis=1)]).holds  # dropped instead: gaps at the faces


def test_degenerate_and_bad_input() -> None:
    line = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.5, 0.5, 0.0], [0.2, 0.8, 0.0]])  # one face only
    assert not sufficiently_scattered(line).holds
    with_nan = np.vstack([np.eye(3), [[np.nan, 0.5, 0.5]], np.zeros((1, 3))])
    assert sufficiently_scattered(with_nan).pixels == 3
    with pytest.raises(ValueError, match="non-negative"):
        sufficiently_scattered(-np.eye(3))


@pytest.mark.parametrize("r", [4, 5])
def test_the_tangent_points_check_never_contradicts_the_hull(r: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Beyond MAX_HULL_ENDMEMBERS the check is a necessary condition: forced on small r, its False verdicts are
    the hull's, and where the hull says the condition holds it never says False."""
    from spectraflow.metrics import _identifiability

    rng = np.random.default_rng(10 + r)
    verdicts = []
    for _ in range(25):
        a = rng.dirichlet(np.full(r, rng.choice([0.3, 1.0, 3.0])), size=60)
        a[a < rng.choice([0.0, 0.1, 0.2, 0.3])] = 0.0
        a = a[a.sum(1) > 0]
        exact = sufficiently_scattered(a)
        with monkeypatch.context() as patched:
            patched.setattr(_identifiability, "MAX_HULL_ENDMEMBERS", 2)
            necessary = sufficiently_scattered(a)
        assert exact.check == "hull" and necessary.check in ("tangent points", "separable")
        if necessary.holds is False:
            assert exact.holds is False
        if exact.holds:
            assert necessary.holds is not False
        verdicts.append(necessary.holds)
    assert False in verdicts and any(v is not False for v in verdicts)  # both kinds of outcome were exercised


@pytest.mark.parametrize("r", [12, 30])
def test_many_endmembers_get_a_verdict_without_the_hull(r: int) -> None:
    """A HySime bound of 30 on a 32 x 32 tile ran the exact hull for minutes; now: separable, failing, undecided."""
    rng = np.random.default_rng(r)
    mixed = rng.dirichlet(np.full(r, 0.5), size=1024)
    separable = sufficiently_scattered(np.vstack([np.eye(r), mixed]))
    assert separable.holds and separable.margin == r - 2 and separable.check == "separable"
    shrunk = sufficiently_scattered(mixed * 0.5 + 0.5 / r)  # no pixel on any face: no tangent point in the hull
    assert shrunk.holds is False and shrunk.margin is None and shrunk.check == "tangent points"
    # every tangent point is a pixel (with the centre): the necessary condition holds, no verdict
    tangents = (1.0 - np.eye(r)) / (r - 1)
    undecided = sufficiently_scattered(np.vstack([tangents, np.full((1, r), 1.0 / r)]))
    assert undecided.holds is None and undecided.as_dict()["margin"] is None
