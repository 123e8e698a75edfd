"""The neural spectral method and spectral refinement: the sine basis against scipy's DST, the Darcy residual
against its closed form, the spectral Sobolev error against its definition, training from the equation
alone, and fine-tuning that touches only the spectral layers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.fft import dst

from spectraflow import methods
from spectraflow.errors import ConfigError
from spectraflow.methods.operators import evaluate_operator, refine_operator, train_operator
from spectraflow.methods.operators._sine import coefficients, darcy_residual, synthesis
from spectraflow.metrics import relative_l2, relative_sobolev
from spectraflow.synth._darcy import darcy_dataset
from spectraflow.train import TrainConfig


def test_sine_basis_is_the_type_one_dst_and_vanishes_on_the_boundary() -> None:
    rng = np.random.default_rng(0)
    field = rng.normal(size=(3, 11, 11))
    field[:, [0, -1], :] = field[:, :, [0, -1]] = 0.0
    reference = dst(dst(field[:, 1:-1, 1:-1], type=1, axis=1), type=1, axis=2) / 10**2  # N + 1 = 10
    c = coefficients(torch.from_numpy(field))
    np.testing.assert_allclose(c.numpy(), reference, atol=1e-12)
    np.testing.assert_allclose(synthesis(c, 11).numpy(), field, atol=1e-12)  # inverse on zero-boundary fields
    assert np.all(synthesis(torch.randn(2, 4, 4, dtype=torch.float64), 9).numpy()[:, [0, -1], :] == 0)


def test_darcy_residual_matches_its_closed_form_for_a_constant_coefficient() -> None:
    """a constant: every product is a trigonometric polynomial the trapezoidal rule integrates exactly, so the
    residual's coefficients are a·π²(k² + l²)·c − f with f = 1's own quadrature coefficients."""
    size, a = 13, 2.5
    n = size - 2
    generator = torch.Generator().manual_seed(1)
    c = torch.randn(4, n, n, dtype=torch.float64, generator=generator) * 1e-2
    u = synthesis(c, size)[:, None]
    k = torch.arange(1, n + 1, dtype=torch.float64) * math.pi
    # the quadrature coefficients of f = 1 are the DST of its interior values (sine vanishes on the boundary)
    f = coefficients(torch.ones(size, size, dtype=torch.float64))
    lap = k[:, None] ** 2 + k[None, :] ** 2
    r = a * lap * c - f
    expected = ((r**2 / lap).sum((1, 2)) / (f**2 / lap).sum()).sqrt()
    got = darcy_residual(u, torch.full_like(u, a), reduce=False)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-9)
    # the constant-coefficient Galerkin solution has no residual; nothing (u = 0) has exactly f's
    assert float(darcy_residual(synthesis(f / (a * lap), size)[None, None], torch.full((1, 1, size, size), a))) < 1e-12
    assert float(darcy_residual(torch.zeros(1, 1, size, size), torch.ones(1, 1, size, size))) == pytest.approx(1.0)


def test_solver_solutions_have_a_small_residual_and_perturbed_ones_a_large_one() -> None:
    a, u = darcy_dataset(6, 24, seed=3, coefficient="smooth", modes=8, refine=4)
    a, u = torch.from_numpy(a)[:, None], torch.from_numpy(u)[:, None]
    exact = darcy_residual(u, a, reduce=False)
    bump = torch.sin(math.pi * torch.linspace(0, 1, 24))
    perturbed = darcy_residual(u * 1.1 + 0.01 * bump[:, None] * bump[None, :], a, reduce=False)
    assert exact.max() < 0.03 and torch.all(perturbed > 3 * exact)


def test_smooth_coefficients_and_one_field_at_every_grid() -> None:
    a9, _ = darcy_dataset(3, 9, seed=4, coefficient="smooth", modes=5)
    a17, _ = darcy_dataset(3, 17, seed=4, coefficient="smooth", modes=5)
    np.testing.assert_allclose(a17[:, ::2, ::2], a9, rtol=1e-6)  # the same continuous field, sampled twice as fine
    assert 3.0 < a17.min() and a17.max() < 12.0 and np.abs(np.diff(a17, axis=1)).max() < 4.0
    with pytest.raises(ConfigError, match="coefficient"):
        darcy_dataset(1, 9, coefficient="wavy")
    with pytest.raises(ConfigError, match="modes"):
        darcy_dataset(1, 9, modes=0)


def test_spectral_sobolev_error_follows_its_definition() -> None:
    """A single cosine mode k = 5 in the error: relative H^s = 0.1·((1 + 25π²)/(1 + π²))^(s/2), at any grid."""
    for n in (33, 65):
        x = torch.linspace(0, 1, n, dtype=torch.float64)
        target = torch.cos(math.pi * x)[None, None, :, None].expand(2, 1, n, n)
        prediction = target + 0.1 * torch.cos(5 * math.pi * x)[None, None, :, None]
        for order in (0.0, 1.0, 2.0):
            expected = 0.1 * ((1 + 25 * math.pi**2) / (1 + math.pi**2)) ** (order / 2)
            assert float(relative_sobolev(prediction, target, order)) == pytest.approx(expected, rel=1e-9)
    # order 0 is the L2 norm of the cosine interpolant: the trapezoidal rule at the nodes (end points weigh ½),
    # on fresh random fields with a mean and a Nyquist component, an odd and an even node count, 1-D and 2-D
    rng = np.random.default_rng(2)
    for shape in ((3, 1, 10), (3, 1, 9), (2, 1, 7, 12)):
        p, t = rng.normal(size=shape) + 0.5, rng.normal(size=shape)
        weights = np.ones(shape[2:])
        for axis, n in enumerate(shape[2:]):
            w = np.ones(n)
            w[[0, -1]] = 0.5
            weights = weights * w.reshape([-1 if a == axis else 1 for a in range(len(shape) - 2)])
        ratio = np.sqrt(((p - t) ** 2 * weights).reshape(shape[0], -1).sum(1)
                        / (t**2 * weights).reshape(shape[0], -1).sum(1))
        assert float(relative_sobolev(p, t, 0.0)) == pytest.approx(ratio.mean(), rel=1e-9)
        assert float(relative_sobolev(p, t, 0.0)) != pytest.approx(float(relative_l2(p, t)), rel=1e-3)


def test_nsm_satisfies_the_boundary_condition_and_learns_from_the_equation_alone() -> None:
    model = methods.get("operator", "nsm")(modes=4, width=8)
    for n in (12, 20):
        out = model(torch.rand(2, 1, n, n) + 3)
        assert torch.all(out[..., [0, -1], :] == 0) and torch.all(out[..., :, [0, -1]] == 0)
    a, u = darcy_dataset(160, 12, seed=0, coefficient="smooth", modes=6, refine=4)
    a_val, u_val = darcy_dataset(32, 12, seed=1, coefficient="smooth", modes=6, refine=4)
    trained, history = train_operator({"nsm": {"modes": 6, "width": 16, "layers": 3}}, (a[:128, None], None),
                                      (a_val[:, None], None), train=TrainConfig(epochs=12, lr=5e-3),
                                      loss="darcy_residual", progress=False)
    assert history.rows[-1]["val_loss"] < 0.5 * history.rows[0]["val_loss"]
    assert "val_rel_l2" not in history.rows[0]  # nothing was scored against solutions while training
    untrained = evaluate_operator(methods.get("operator", "nsm")(modes=6, width=16, layers=3), a_val[:, None],
                                  u_val[:, None])
    scores = evaluate_operator(trained, a_val[:, None], u_val[:, None])  # the solver's solutions, never seen
    assert scores["rel_l2"] < 0.1 < untrained["rel_l2"]
    with pytest.raises(ConfigError, match="no.*solution|none"):
        train_operator("fno", (a[:, None], None), (a_val[:, None], None), loss="h1")


def test_refinement_fine_tunes_only_the_spectral_layers() -> None:
    a, u = darcy_dataset(48, 12, seed=5, modes=6)
    fine_a, fine_u = darcy_dataset(48, 23, seed=5, modes=6)
    model, _ = train_operator({"fno": {"modes": 4, "width": 8, "layers": 2}}, (a[:40, None], u[:40, None]),
                              (a[40:, None], u[40:, None]), train=TrainConfig(epochs=2, lr=5e-3), progress=False)
    refined, history = refine_operator(model, (fine_a[:40, None], fine_u[:40, None]),
                                       (fine_a[40:, None], fine_u[40:, None]), train=TrainConfig(epochs=3, lr=1e-3),
                                       sobolev_order=2.0, progress=False)
    before, after = model.state_dict(), refined.state_dict()
    changed = {name for name in before if not torch.equal(before[name], after[name])}
    assert changed and all(name.startswith("spectral.") for name in changed)
    assert all(p.requires_grad for p in refined.parameters()) and len(history.rows) == 3
    deeponet = methods.get("operator", "deeponet")(sensors=4)
    assert len(deeponet.refinable_parameters()) == len(list(deeponet.parameters()))  # no spectral layers: all


def test_latent_spectral_block_matches_its_formulas_in_numpy() -> None:
    from spectraflow.methods.operators.lsm import LatentSpectralBlock

    torch.manual_seed(3)
    block = LatentSpectralBlock(width=6, heads=2, tokens=3, basis=4).double()
    x = torch.randn(2, 6, 5, 7, dtype=torch.float64)
    p = {k: v.detach().numpy() for k, v in block.named_parameters()}

    def softmax(s: np.ndarray) -> np.ndarray:
        e = np.exp(s - s.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)

    def attend(q: np.ndarray, k: np.ndarray, v: np.ndarray) -> np.ndarray:  # per head, (n, d) each
        return softmax(q @ k.T / np.sqrt(q.shape[-1])) @ v

    expected = np.empty(x.shape)
    for b in range(2):
        points = x[b].numpy().reshape(6, -1).T  # (n, c)
        kv = points @ p["keys_values.weight"].T + p["keys_values.bias"]
        keys, values = kv[:, :6], kv[:, 6:]
        latent = np.concatenate([attend(p["queries"][h], keys[:, 3 * h:3 * h + 3], values[:, 3 * h:3 * h + 3])
                                 + p["queries"][h] for h in range(2)], axis=1)  # (tokens, c)
        m = np.pi * np.arange(4)
        expansion = np.concatenate([np.sin(latent[..., None] * m), np.cos(latent[..., None] * m)], axis=-1)
        z = latent + np.einsum("tcm,mco->to", expansion, p["mixing"])
        reads = points @ p["read_queries.weight"].T + p["read_queries.bias"]
        read = np.concatenate([attend(reads[:, 3 * h:3 * h + 3], z[:, 3 * h:3 * h + 3], z[:, 3 * h:3 * h + 3])
                               for h in range(2)], axis=1)
        update = read @ p["out.weight"].T + p["out.bias"]
        expected[b] = x[b].numpy() + update.T.reshape(6, 5, 7)
    np.testing.assert_allclose(block(x).detach().numpy(), expected, atol=1e-10)


@pytest.mark.parametrize("patch", [1, 2])
def test_lsm_takes_any_grid_and_learns_a_smoothing_operator(patch: int) -> None:
    """u = a Fourier multiplier of a, on grids that are not powers of two; ``patch=2`` runs the U-Net on a grid of
    2 × 2 patches (an odd grid padded up, with zeros or periodically) and returns to the grid."""
    model = methods.get("operator", "lsm")(width=8, heads=2, levels=2, patch=patch)
    assert model(torch.randn(2, 1, 21, 13)).shape == (2, 1, 21, 13)
    periodic = methods.get("operator", "lsm")(width=8, heads=2, levels=2, padding="circular", patch=patch)
    assert periodic.config["padding"] == "circular" and periodic.config["patch"] == patch
    assert periodic(torch.randn(2, 1, 21, 13)).shape == (2, 1, 21, 13)
    if patch > 1:  # the odd grid's patches: wrapped around on the torus, zeros beyond a bounded domain's edge
        field = torch.randn(2, 8, 21, 13)
        for lsm, mode in ((periodic, "wrap"), (model, "constant")):
            padded = torch.from_numpy(np.pad(field.numpy(), ((0, 0), (0, 0), (0, 1), (0, 1)), mode=mode))
            torch.testing.assert_close(lsm._embed(field), lsm.embed(padded))
    with pytest.raises(ConfigError, match="padding"):
        methods.get("operator", "lsm")(padding="mirror")
    with pytest.raises(ConfigError, match="patch"):
        methods.get("operator", "lsm")(patch=0)
    rng = np.random.default_rng(0)
    a = rng.normal(size=(96, 1, 20, 20)).astype(np.float32)
    k = np.fft.fftfreq(20) * 20
    multiplier = 1.0 / (1.0 + (k[:, None] ** 2 + k[None, :] ** 2) / 4.0)
    u = np.fft.ifft2(np.fft.fft2(a) * multiplier).real.astype(np.float32)
    trained, history = train_operator({"lsm": {"width": 16, "heads": 2, "levels": 2, "patch": patch}}, (a[:80], u[:80]),
                                      (a[80:], u[80:]), train=TrainConfig(epochs=15, lr=5e-3), loss="l2",
                                      progress=False)
    assert evaluate_operator(trained, a[80:], u[80:])["rel_l2"] < 0.5 * history.rows[0]["val_rel_l2"]


def test_lsm_learns_a_forced_response() -> None:
    """u = a fixed spatial pattern (the forcing's imprint, as in Navier–Stokes) + a smoothing of a: its deep U-Net
    must pass a signal at initialisation and fit the pattern within a few epochs."""
    rng = np.random.default_rng(1)
    g = np.arange(20) / 20
    pattern = np.sin(2 * np.pi * (g[:, None] + g[None, :]))
    a = rng.normal(size=(96, 1, 20, 20)).astype(np.float32)
    k = np.fft.fftfreq(20) * 20
    smooth = np.fft.ifft2(np.fft.fft2(a) / (1.0 + (k[:, None] ** 2 + k[None, :] ** 2))).real
    u = (pattern + 0.3 * smooth).astype(np.float32)
    torch.manual_seed(0)
    model = methods.get("operator", "lsm")(width=16, heads=2, levels=3, padding="circular")
    with torch.no_grad():  # in training mode, as the first steps see it: the signal reaches the output
        assert model.train().core(torch.from_numpy(a[:16])).std() > 1e-2
    trained, _ = train_operator(model, (a[:80], u[:80]), (a[80:], u[80:]), train=TrainConfig(epochs=10, lr=5e-3),
                                loss="l2", progress=False)
    assert evaluate_operator(trained, a[80:], u[80:])["rel_l2"] < 0.3  # 0.08 measured; 0.98 without batch norm
