"""Operator models: the spectral layer against a dense DFT reference, the contract at any resolution, metrics
against their definitions, and training that learns a known linear operator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from spectraflow import methods
from spectraflow.errors import ConfigError
from spectraflow.methods.operators import evaluate_operator, load_operator, train_operator
from spectraflow.metrics import relative_h1, relative_l2
from spectraflow.nn import SpectralConv, mode_matmul
from spectraflow.train import TrainConfig


def test_spectral_conv_matches_a_dense_fourier_reference() -> None:
    torch.manual_seed(0)
    layer = SpectralConv(2, 3, modes=3, dim=2)
    x = torch.randn(2, 2, 8, 10)
    w = torch.view_as_complex(layer.weight.detach()).numpy()  # (block, in, out, 3, 3)
    spectrum = np.fft.rfft2(x.numpy(), norm="forward")
    out = np.zeros((2, 3, 8, 6), dtype=complex)
    for block, rows in enumerate((range(0, 3), range(5, 8))):  # lowest 3 non-negative and negative frequencies
        for r, row in enumerate(rows):
            for c in range(3):
                out[:, :, row, c] = spectrum[:, :, row, c] @ w[block, :, :, r, c]
    reference = np.fft.irfft2(out, s=(8, 10), norm="forward")
    np.testing.assert_allclose(layer(x).detach().numpy(), reference, atol=1e-5)
    one_d = SpectralConv(1, 1, modes=2, dim=1)
    assert one_d(torch.randn(3, 1, 12)).shape == (3, 1, 12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.complex64])
@pytest.mark.parametrize("modes", [(5,), (4, 3)])
def test_mode_matmul_is_a_matrix_product_per_mode(dtype: torch.dtype, modes: tuple[int, ...]) -> None:
    generator = torch.Generator().manual_seed(len(modes))
    x = torch.randn(3, 4, *modes, dtype=dtype, generator=generator)
    w = torch.randn(4, 2, *modes, dtype=dtype, generator=generator)
    reference = np.zeros((3, 2, *modes), dtype=np.complex128)
    for index in np.ndindex(*modes):  # one (batch, in) @ (in, out) product per mode, in NumPy
        reference[(slice(None), slice(None), *index)] = x.numpy()[(..., *index)] @ w.numpy()[(..., *index)]
    np.testing.assert_allclose(mode_matmul([x], [w])[0].numpy(), reference, atol=1e-5)
    # several blocks in one call: each is its own product
    halves = mode_matmul([x[:, :, :2], x[:, :, 2:]], [w[:, :, :2], w[:, :, 2:]])
    np.testing.assert_allclose(torch.cat(halves, dim=2).numpy(), reference, atol=1e-5)


def test_transform_once_couples_distant_modes_only_through_its_dense_mixing() -> None:
    """One layer (no GELU: the model is affine in the spectrum): a single input frequency reaches a far output
    frequency through the dense mode mixing, and only through it (zeroed, the 3×3 neighbour convolution and the
    per-mode mixing keep the response within one mode of the input's)."""
    torch.manual_seed(0)
    model = methods.get("operator", "transform_once")(modes=4, width=8, layers=1).eval()
    grid = torch.arange(16) / 16
    wave = torch.cos(2 * torch.pi * grid)[None, :].expand(16, 16)  # frequency (0, 1) only
    x = torch.stack([torch.zeros(16, 16), wave])[:, None]

    def response() -> torch.Tensor:
        with torch.no_grad():
            out = model(x)
        return torch.fft.rfft2(out[1, 0] - out[0, 0], norm="forward").abs()  # the wave's effect, per mode

    coupled = response()
    assert coupled[3, 3] > 1e-4 * coupled.max()  # two modes or more from (0, ±1) in both directions
    with torch.no_grad():
        model.couple_all[0].zero_()
    local = response()
    assert local[3, 3] < 1e-6 * local.max()


SIZES = {"fno": {"modes": 4}, "transform_once": {"modes": 4}, "deeponet": {"sensors": 8}, "finite_volume": {},
         "nsm": {"modes": 4}, "lsm": {"width": 8, "heads": 2, "levels": 2}}
ELLIPTIC_2D = {"finite_volume", "nsm"}  # models of a 2-D elliptic problem (one output field)
TWO_D = ELLIPTIC_2D | {"lsm"}


@pytest.mark.parametrize("name, dim", [(name, dim) for name in methods.names("operator") for dim in (1, 2)
                                       if dim == 2 or name not in TWO_D])
def test_contract_any_resolution(name: str, dim: int) -> None:
    out_channels = 1 if name in ELLIPTIC_2D else 3
    model = methods.get("operator", name)(in_channels=2, out_channels=out_channels, dim=dim, **SIZES[name])
    for n in (16, 32):
        x = torch.randn(4, 2, *(n,) * dim)
        y = model(x)
        assert y.shape == (4, out_channels, *(n,) * dim) and torch.isfinite(y).all()
    with pytest.raises(ConfigError, match="input of shape"):
        model(torch.randn(4, 5, *(16,) * dim))
    with pytest.raises(ConfigError, match="width"):
        methods.get("operator", name)(width=0)


def test_relative_errors_follow_their_definitions() -> None:
    rng = np.random.default_rng(1)
    target, prediction = rng.normal(size=(5, 1, 20, 20)), rng.normal(size=(5, 1, 20, 20))
    expected = np.linalg.norm((prediction - target).reshape(5, -1), axis=1) / np.linalg.norm(target.reshape(5, -1),
                                                                                              axis=1)
    assert float(relative_l2(prediction, target)) == pytest.approx(expected.mean())
    h = 1 / 19

    def h1(u: np.ndarray) -> np.ndarray:
        gy, gx = np.gradient(u[:, 0], h, axis=(1, 2))
        return np.sqrt((u[:, 0] ** 2).sum((1, 2)) + (gy**2).sum((1, 2)) + (gx**2).sum((1, 2)))

    assert float(relative_h1(prediction, target)) == pytest.approx((h1(prediction - target) / h1(target)).mean())
    # the same smooth function at two resolutions: the same relative H1 error
    errors = []
    for n in (64, 128):
        g = np.linspace(0, 1, n)
        u = np.sin(np.pi * g)[None, None, :, None] * np.sin(2 * np.pi * g)[None, None, None, :]
        errors.append(float(relative_h1(1.1 * u, u)))
    assert errors[0] == pytest.approx(errors[1], rel=1e-3) and errors[0] == pytest.approx(0.1, rel=1e-2)


def test_training_learns_a_linear_operator_and_checkpoints_it(tmp_path: Path) -> None:
    """u = smoothing of a (a fixed Fourier multiplier): in the FNO's function class, so it must be learnt."""
    rng = np.random.default_rng(0)
    a = rng.normal(size=(160, 1, 32)).astype(np.float32)
    multiplier = 1.0 / (1.0 + np.arange(17) ** 2 / 4.0)
    u = np.fft.irfft(np.fft.rfft(a, axis=-1) * multiplier, n=32, axis=-1).astype(np.float32)
    model, history = train_operator({"fno": {"dim": 1, "modes": 8, "width": 8, "layers": 2}}, (a[:128], u[:128]),
                                    (a[128:], u[128:]), tmp_path / "fno", train=TrainConfig(epochs=30, lr=0.01),
                                    batch_size=16, loss="l2", progress=False)
    scores = evaluate_operator(model, a[128:], u[128:])
    assert scores["rel_l2"] < 0.1 < history.rows[0]["val_rel_l2"]
    again = load_operator(tmp_path / "fno")
    np.testing.assert_allclose(evaluate_operator(again, a[128:], u[128:])["prediction"], scores["prediction"],
                               atol=1e-6)
    with pytest.raises(ConfigError, match="loss"):
        train_operator("fno", (a, u), (a, u), loss="l1")


def test_symmetry_augmentation_moves_input_and_output_together() -> None:
    from spectraflow.methods.operators._training import _augment

    x = torch.arange(2 * 5 * 5, dtype=torch.float32).view(2, 1, 5, 5)
    seen = set()
    for seed in range(64):
        a, u = _augment(x, x * 2, ("transpose", "flip_x", "flip_y"), np.random.default_rng(seed))
        torch.testing.assert_close(u, a * 2)  # the same transformation on both
        assert sorted(a.flatten().tolist()) == sorted(x.flatten().tolist())
        seen.add(tuple(a[0, 0, 0].tolist()))
    assert len(seen) == 8  # all eight symmetries of the square appear
    with pytest.raises(ConfigError, match="symmetries"):
        train_operator("fno", (x.numpy(), x.numpy()), (x.numpy(), x.numpy()), symmetries=["rotate"])


def test_symmetries_that_do_not_map_the_grid_onto_itself_are_refused() -> None:
    square, tall = np.zeros((4, 1, 18, 18), np.float32), np.zeros((4, 1, 16, 12), np.float32)
    with pytest.raises(ConfigError, match="multiple of 4"):
        train_operator("fno", (square, square), (square, square), symmetries=["ns_half_turn"])
    with pytest.raises(ConfigError, match="square grid"):
        train_operator("fno", (tall, tall), (tall, tall), symmetries=["transpose"])


@pytest.mark.parametrize("name", ["fno", "transform_once", "deeponet", "lsm"])
def test_a_residual_model_adds_its_input_to_what_the_same_weights_predict(name: str, tmp_path: Path) -> None:
    """``residual``: output = input + the plain model's output (same weights, statistics of the change); a
    trajectory that starts at its input gets its first step exactly; the option survives a checkpoint."""
    rng = np.random.default_rng(1)
    dim = 2 if name == "lsm" else 1
    grid = (16, 16) if dim == 2 else (16,)
    a = rng.normal(size=(40, 1, *grid)).astype(np.float32)
    u = np.concatenate([a, 0.5 * a + rng.normal(size=(40, 2, *grid)).astype(np.float32)], axis=1)
    config = {"dim": dim, "out_channels": 3, **({"width": 8} if name != "deeponet" else {"sensors": 4})}
    model, _ = train_operator({name: {**config, "residual": True}}, (a[:32], u[:32]), (a[32:], u[32:]),
                              tmp_path / name, train=TrainConfig(epochs=2), progress=False)
    plain = methods.get("operator", name)(**config)
    plain.load_state_dict(model.state_dict())
    model, plain, x = model.eval(), plain.eval(), torch.from_numpy(a[32:])
    with torch.no_grad():
        torch.testing.assert_close(model(x), x + plain(x))
        torch.testing.assert_close(model(x)[:, 0], x[:, 0], rtol=0, atol=1e-5)  # the change there is zero
        assert plain.output_std[0] < 1e-6 < plain.output_std[1]
    again = load_operator(tmp_path / name)
    assert again.config["residual"] is True and "residual" not in plain.config
    np.testing.assert_allclose(evaluate_operator(again, a[32:], u[32:])["prediction"], model(x).detach().numpy(),
                               atol=1e-6)
    for bad in ({"residual": "yes"}, {"in_channels": 2, "residual": True}):
        with pytest.raises(ConfigError, match="residual"):
            methods.get("operator", name)(**{**config, **bad})


@pytest.mark.parametrize("name", ["fno", "nsm"])
def test_spectral_weights_are_drawn_as_init_says(name: str) -> None:
    """``init``: ``product`` gives each real number of a spectral weight variance 1/(in·out) (fno's weights are
    complex: two such numbers); ``glorot`` gives each weight Glorot's variance 2/(in + out). The choice is kept in
    the config, ``product`` by default; anything else is refused."""
    width, parts = 24, (2 if name == "fno" else 1)
    expected = {"product": parts / width**2, "glorot": 2 / (2 * width)}  # E|w|² per weight
    for init, mean_square in expected.items():
        torch.manual_seed(0)
        model = methods.get("operator", name)(width=width, modes=8, init=init)
        for layer in model.spectral:
            weight = layer.weight.detach()
            magnitude = torch.view_as_complex(weight).abs() if name == "fno" else weight.abs()
            assert abs(float((magnitude**2).mean()) / mean_square - 1) < 0.05, (init, float((magnitude**2).mean()))
        assert methods.get("operator", name)(**model.config).config["init"] == init
    assert methods.get("operator", name)().config["init"] == "product"
    with pytest.raises(ConfigError, match="init"):
        methods.get("operator", name)(init="kaiming")
