"""Burgers against Cole–Hopf (fourth order in time), Navier–Stokes against Taylor–Green decay (second order)."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import pytest
import torch

from spectraflow.errors import ConfigError
from spectraflow.synth._burgers import burgers_dataset, periodic_random_field, solve_burgers
from spectraflow.synth._navier_stokes import default_forcing, navier_stokes_dataset, solve_navier_stokes


def _cole_hopf(x: np.ndarray, t: float, nu: float) -> np.ndarray:
    """u = −2ν φ_x / φ with φ = 2 + e^{−4π²νt} cos 2πx, a heat-equation solution: exact viscous Burgers."""
    decay = np.exp(-4 * np.pi**2 * nu * t)
    return 4 * np.pi * nu * decay * np.sin(2 * np.pi * x) / (2 + decay * np.cos(2 * np.pi * x))


def test_burgers_matches_cole_hopf_at_fourth_order() -> None:
    nu, x = 0.05, np.arange(64) / 64
    errors = [np.abs(solve_burgers(_cole_hopf(x, 0, nu), nu, [0.5], dt)[0] - _cole_hopf(x, 0.5, nu)).max()
              for dt in (0.1, 0.05, 0.025)]
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert errors[-1] < 1e-7 and np.all(orders > 3.5)


def test_burgers_dataset_shapes_and_seed() -> None:
    u0, trajectory = burgers_dataset(3, 32, seed=1, steps=4, dt=0.01)
    assert u0.shape == (3, 32) and trajectory.shape == (3, 5, 32)
    np.testing.assert_allclose(trajectory[:, 0], u0, atol=1e-6)
    assert np.abs(trajectory[:, -1]).max() < np.abs(u0).max()  # viscous: the field decays
    np.testing.assert_array_equal(u0, periodic_random_field(np.random.default_rng(1), 3, 32).astype(np.float32))
    with pytest.raises(ConfigError, match="viscosity"):
        solve_burgers(u0, 0.0, [1.0], 0.1)


DEVICES = [None, "cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(),
                                                                    reason="no CUDA device"))]


@pytest.mark.parametrize("device", DEVICES)  # None: NumPy; else the same steps in torch on that device
def test_navier_stokes_taylor_green_decays_at_second_order(device: str | None) -> None:
    nu, n = 0.01, 32
    g = np.arange(n) / n
    y, x = np.meshgrid(g, g, indexing="ij")
    w0 = np.cos(2 * np.pi * x) * np.cos(2 * np.pi * y)
    exact = w0 * np.exp(-8 * np.pi**2 * nu * 0.5)
    errors = [np.abs(solve_navier_stokes(w0, nu, [0.5], dt, device=device)[0] - exact).max()
              for dt in (0.05, 0.025, 0.0125)]
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all(orders > 1.9) and np.all(orders < 2.1) and errors[-1] < 1e-4


def test_navier_stokes_initial_vorticity_has_the_papers_variance_at_every_resolution() -> None:
    def variance(size: int) -> float:  # the paper generator's: amplitudes √2·7^{3/2}·(4π²|k|² + 49)^{−1.25}
        k = np.fft.fftfreq(size, d=1.0 / size)
        eigen = 4 * np.pi**2 * (k[:, None] ** 2 + k[None, :] ** 2) + 49
        terms = 2 * 7**3 * eigen**-2.5
        terms[0, 0] = 0.0
        return float(terms.sum())

    for size in (32, 64):
        w0, _ = navier_stokes_dataset(128, size, seed=2, time=0.01, steps=1, dt=0.01)
        assert abs(w0.var() / variance(size) - 1) < 0.15, size  # sampling spread ~0.05
    assert abs(variance(64) / variance(32) - 1) < 0.01  # resolved: the variance is the field's, not the grid's


def test_navier_stokes_dataset_is_forced_and_seeded() -> None:
    w0, trajectory = navier_stokes_dataset(2, 32, seed=0, time=1.0, steps=2, dt=0.01)
    again, _ = navier_stokes_dataset(2, 32, seed=0, time=1.0, steps=2, dt=0.01)
    np.testing.assert_array_equal(w0, again)
    assert trajectory.shape == (2, 2, 32, 32) and np.isfinite(trajectory).all()
    assert abs(trajectory.mean()) < 1e-6  # vorticity on the torus has zero mean; forcing too
    assert default_forcing(32).shape == (32, 32)
    w0_single, single = navier_stokes_dataset(3, 32, seed=1, time=1.0, steps=2, dt=0.01)
    w0_shared, shared = navier_stokes_dataset(3, 32, seed=1, time=1.0, steps=2, dt=0.01, workers=2)
    np.testing.assert_array_equal(w0_shared, w0_single)  # the same draws, solved in two processes
    np.testing.assert_allclose(shared, single, rtol=0, atol=1e-6)
    assert not np.allclose(shared[2], shared[1])
    _, batched = navier_stokes_dataset(3, 32, seed=1, time=1.0, steps=2, dt=0.01, device="cpu")
    np.testing.assert_allclose(batched, single, rtol=0, atol=1e-6)  # torch's steps are NumPy's


def _commutes(solve: Any, field: np.ndarray, symmetry: str, shift: tuple[int, ...]) -> tuple[float, float]:
    """How far ``solve`` of the transformed field is from the transformed solution, and the solution's size."""
    from spectraflow.methods.operators._training import _symmetry

    field_ = torch.from_numpy(field)[:, None]  # (batch, channel, *grid), as training transforms them
    solved = torch.from_numpy(solve(field))[:, None]
    moved = torch.from_numpy(solve(_symmetry(field_, symmetry, shift)[:, 0].numpy()))[:, None]
    assert not torch.allclose(_symmetry(field_, symmetry, shift), field_)  # it moves the field
    return float((moved - _symmetry(solved, symmetry, shift)).abs().max()), float(solved.abs().max())


def test_the_augmentations_are_symmetries_of_the_solvers_they_are_named_for() -> None:
    """Each symmetry of :data:`SYMMETRIES` commutes with the solver it is named for (transform, then solve = solve,
    then transform); the grid's flips, which the forcing breaks, do not commute with forced Navier–Stokes."""
    rng = np.random.default_rng(3)
    u0 = periodic_random_field(rng, 2, 32)
    burgers = partial(lambda u, nu: solve_burgers(u, nu, [0.5], 1e-3)[0], nu=0.01)
    w0, _ = navier_stokes_dataset(2, 32, seed=3, time=0.1, steps=1, dt=0.02)
    forced = partial(lambda w, f: solve_navier_stokes(w, 1e-3, [1.0], 0.02, forcing=f)[0], f=default_forcing(32))
    unforced = partial(lambda w: solve_navier_stokes(w, 1e-3, [1.0], 0.02)[0])
    for solve, field, symmetry, shift in ((burgers, u0, "shift", (11,)), (burgers, u0, "odd_reflection", (0,)),
                                          (unforced, w0, "shift", (5, 20)), (forced, w0, "ns_shift", (5,)),
                                          (forced, w0, "ns_shift", (17,)), (forced, w0, "ns_half_turn", (0,)),
                                          (forced, w0, "ns_reflection", (0,))):
        error, size = _commutes(solve, field, symmetry, shift)
        assert error < 1e-6 * size, (symmetry, error)
    for symmetry in ("flip_x", "flip_y", "transpose", "shift"):
        error, size = _commutes(forced, w0, symmetry, (3, 0))
        assert error > 0.05 * size, symmetry
