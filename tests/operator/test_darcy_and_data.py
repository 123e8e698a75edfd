"""Darcy solver against a manufactured solution (second order), the neuraloperator files, field stores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.fft import dctn

from spectraflow import datasets
from spectraflow.errors import ConfigError, FormatError
from spectraflow.io import fields_dataset, open_fields_store, write_fields_store
from spectraflow.methods.operators import read_neuraloperator_pt
from spectraflow.synth._darcy import darcy_dataset, gaussian_random_field, solve_darcy


def _manufactured(s: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """a = 1 + x + 2y², u = sin(πx) sin(πy); f = −∇·(a∇u) worked out by hand."""
    g = np.linspace(0.0, 1.0, s)
    y, x = np.meshgrid(g, g, indexing="ij")
    a = 1 + x + 2 * y**2
    sx, sy, cx, cy = np.sin(np.pi * x), np.sin(np.pi * y), np.cos(np.pi * x), np.cos(np.pi * y)
    u = sx * sy
    f = 2 * np.pi**2 * a * sx * sy - np.pi * cx * sy - 4 * y * np.pi * sx * cy  # −(a_x u_x + a_y u_y) + a·2π²u
    return a, f, u


def test_darcy_solver_converges_at_second_order() -> None:
    errors = []
    for s in (17, 33, 65):
        a, f, u = _manufactured(s)
        errors.append(np.abs(solve_darcy(a, f) - u).max())
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert errors[-1] < 1e-3 and np.all(orders > 1.9) and np.all(orders < 2.1)


def test_darcy_dataset_is_seeded_piecewise_constant_and_positive() -> None:
    a, u = darcy_dataset(4, 24, seed=3)
    b, _ = darcy_dataset(4, 24, seed=3)
    np.testing.assert_array_equal(a, b)
    assert set(np.unique(a)) == {3.0, 12.0} and 0.2 < (a == 12).mean() < 0.8
    assert np.all(u[:, 0] == 0) and np.all(u[:, :, -1] == 0) and np.all(u[:, 1:-1, 1:-1] > 0)  # max principle
    field = gaussian_random_field(np.random.default_rng(0), 200, 32)
    assert abs(field.mean()) < 0.05 * field.std()  # no mean mode
    with pytest.raises(ConfigError, match="positive"):
        solve_darcy(np.zeros((5, 5)))


def test_refined_darcy_keeps_the_coefficient_and_converges_to_the_continuum_solution() -> None:
    a, _ = darcy_dataset(3, 12, seed=5)
    _, reference = darcy_dataset(3, 12, seed=5, refine=32)
    errors = []
    for refine in (1, 4, 16):
        a_refined, u_refined = darcy_dataset(3, 12, seed=5, refine=refine)
        np.testing.assert_array_equal(a_refined, a)  # the same field, seen at the same nodes
        errors.append(np.abs(u_refined - reference).max() / np.abs(reference).max())
    # resolving the interfaces approaches the finest solve (about first order in the spacing)
    assert errors[0] > 0.02 and errors[1] < 0.6 * errors[0] and errors[2] < 0.3 * errors[1]
    fine = gaussian_random_field(np.random.default_rng(1), 2, 10, refine=3)
    np.testing.assert_allclose(fine[:, ::3, ::3], gaussian_random_field(np.random.default_rng(1), 2, 10), atol=1e-12)
    k = np.arange(10)  # on the nodes it is the DCT-I of the scaled draws (scipy as the reference)
    scale = (np.pi**2 * (k[:, None] ** 2 + k[None, :] ** 2) + 9.0) ** -1.0
    scale[0, 0] = 0.0
    draws = np.random.default_rng(1).standard_normal((2, 10, 10))
    # the DCT-I doubles the inner terms and not the end ones; the basis carries √2 on every mode but the mean
    per_axis = np.where(k == 0, 1.0, np.sqrt(2.0)) * np.where((k == 0) | (k == 9), 1.0, 0.5)
    reference = dctn(draws * scale * per_axis[:, None] * per_axis[None, :], type=1, axes=(1, 2))
    np.testing.assert_allclose(fine[:, ::3, ::3], reference, atol=1e-12)
    with pytest.raises(ConfigError, match="refine=0"):
        darcy_dataset(1, 8, refine=0)


def test_darcy_field_parameters_set_interface_density_and_contrast() -> None:
    smooth, u_smooth = darcy_dataset(40, 24, seed=2)
    rough, u_rough = darcy_dataset(40, 24, seed=2, low=1.0, high=18.0, tau=6.0)
    assert set(np.unique(rough)) == {1.0, 18.0}

    def interfaces(a: np.ndarray) -> float:  # share of neighbouring nodes on different sides of an interface
        return float((a[:, :, 1:] != a[:, :, :-1]).mean())

    assert interfaces(rough) > 1.2 * interfaces(smooth)  # a shorter length scale: more interfaces

    def response(a: np.ndarray, u: np.ndarray) -> float:  # mean u in the permeable part over the rest
        return float(u[a == a.max()].mean() / u[a == a.min()].mean())

    assert response(rough, u_rough) < 0.8 * response(smooth, u_smooth) < 0.8  # higher contrast: less u where a is high
    with pytest.raises(ConfigError, match="tau=0"):
        darcy_dataset(1, 8, tau=0)
    with pytest.raises(ConfigError, match="low=-1"):
        darcy_dataset(1, 8, low=-1)


def test_neuraloperator_files_read_safely_and_store(tmp_path: Path) -> None:
    x, y, attrs = read_neuraloperator_pt(datasets.shared_file("operator/darcy/darcy_test_16.pt"))
    assert x.shape == (50, 1, 16, 16) and y.shape == (50, 1, 16, 16) and set(np.unique(x)) == {0.0, 1.0}
    assert -0.2 < y.min() < 0 and 1.8 < y.max() < 2.0  # the MANIFEST's range
    bx, by, battrs = read_neuraloperator_pt(datasets.shared_file("operator/burgers/burgers_train_16.pt"),
                                            target="trajectory")
    assert bx.shape == (800, 1, 16) and by.shape == (800, 17, 16) and battrs["viscosity"] == 0.01
    np.testing.assert_allclose(by[:, 0], bx[:, 0], atol=1e-6)  # y[:, 0] is the initial condition
    store = write_fields_store(fields_dataset(x, y, {**attrs, "equation": "darcy"}), tmp_path / "darcy.zarr")
    opened = open_fields_store(store)
    np.testing.assert_array_equal(opened["output"].values, y)
    assert opened.attrs["equation"] == "darcy" and opened["x"].values[-1] == 1.0
    torch.save({"x": torch.zeros(2, 4), "y": torch.zeros(2, 4), "meta": Path("x")}, tmp_path / "evil.pt")
    with pytest.raises(FormatError, match="weights_only"):
        read_neuraloperator_pt(tmp_path / "evil.pt")
    torch.save({"x": torch.zeros(2, 4)}, tmp_path / "nokey.pt")
    with pytest.raises(FormatError, match="'x' and 'y'"):
        read_neuraloperator_pt(tmp_path / "nokey.pt")
