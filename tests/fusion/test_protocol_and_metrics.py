"""The sensor model of Wald's protocol and the fusion metrics, against their definitions on hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest

from spectraflow.errors import ConfigError
from spectraflow.methods.fusion import band_responses, blur, degrade, mtf_sigma, reduced_resolution, upsample
from spectraflow.methods.fusion.subspace import _blur_adjoint, _smoothing
from spectraflow.metrics import ergas, q_avg, q_index, qnr


@pytest.mark.parametrize(("ratio", "gain"), [(3, 0.3), (4, 0.3), (4, 0.5)])
def test_blur_has_the_mtf_gain_at_the_coarse_nyquist(ratio: int, gain: float) -> None:
    # a cosine at the coarse grid's Nyquist frequency keeps `gain` of its amplitude (away from the edges)
    x = np.arange(512)
    wave = np.cos(2 * np.pi * x / (2 * ratio))[None, :].repeat(8, axis=0)
    blurred = blur(wave, ratio, gain)[:, 64:-64]
    assert np.abs(blurred).max() / np.abs(wave[:, 64:-64]).max() == pytest.approx(gain, rel=0.02)
    assert mtf_sigma(ratio, gain) == pytest.approx(ratio * np.sqrt(-2 * np.log(gain)) / np.pi)


def test_degrade_samples_the_centre_and_upsample_puts_it_back() -> None:
    rng = np.random.default_rng(0)
    image = rng.random((24, 30, 2))
    low = degrade(image, 3)
    assert low.shape == (8, 10, 2)
    np.testing.assert_allclose(low, blur(image, 3)[1::3, 1::3])
    # cubic splines reproduce a linear ramp (away from the mirrored edges) and pass through the samples, each
    # coarse pixel on the fine pixel it came from
    yy, xx = np.mgrid[0:30, 0:32].astype(float)
    ramp = (2 * yy + 0.5 * xx)[:, :, None]
    fine = upsample(ramp, 3)
    fy, fx = np.mgrid[0:90, 0:96].astype(float)
    expected = 2 * (fy - 1) / 3 + 0.5 * (fx - 1) / 3
    np.testing.assert_allclose(fine[36:-36, 36:-36, 0], expected[36:-36, 36:-36], atol=1e-6)
    np.testing.assert_allclose(fine[1::3, 1::3], ramp, atol=1e-9)


def test_reduced_resolution_crops_to_the_ratio_and_applies_the_responses() -> None:
    rng = np.random.default_rng(1)
    reference = rng.random((50, 41, 6))
    srf = rng.random((2, 6))
    low, guide, cropped = reduced_resolution(reference, 4, srf)
    assert cropped.shape == (48, 40, 6) and low.shape == (12, 10, 6) and guide.shape == (48, 40, 2)
    np.testing.assert_allclose(guide, reference[:48, :40] @ srf.T)
    _, pan, _ = reduced_resolution(reference, 4, srf[0])
    assert pan.shape == (48, 40)


def test_the_solvers_operators_are_symmetric() -> None:
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((30, 27, 3)), rng.standard_normal((30, 27, 3))
    assert np.sum(blur(x, 4) * y) == pytest.approx(np.sum(x * _blur_adjoint(y, 4, 0.3)), rel=1e-10)
    for shape in [(4, 27, 3), (30, 1, 3), (2, 5, 3)]:  # axes shorter than the blur's 8-pixel reach (a line scan's)
        x, y = rng.standard_normal(shape), rng.standard_normal(shape)
        assert np.sum(blur(x, 4) * y) == pytest.approx(np.sum(x * _blur_adjoint(y, 4, 0.3)), rel=1e-10)
    x, y = rng.standard_normal((30, 27, 3)), rng.standard_normal((30, 27, 3))
    weights = rng.random((30, 27))  # the smoothing term is symmetric and positive semi-definite
    assert np.sum(_smoothing(x, weights) * y) == pytest.approx(np.sum(x * _smoothing(y, weights)), rel=1e-10)
    assert np.sum(_smoothing(x, weights) * x) >= 0


def _q_reference(a: np.ndarray, b: np.ndarray) -> float:
    """Wang and Bovik's index written out for one block."""
    ma, mb = a.mean(), b.mean()
    va, vb = a.var(), b.var()
    cov = ((a - ma) * (b - mb)).mean()
    return 4 * cov * ma * mb / ((va + vb) * (ma**2 + mb**2))


def test_q_index_definition() -> None:
    rng = np.random.default_rng(3)
    a = rng.random((64, 64)) + 1
    assert q_index(a, a) == pytest.approx(1.0)
    k = 1.7  # a scaled copy: Q = 4k² / (1 + k²)²
    assert q_index(a[:32, :32], k * a[:32, :32]) == pytest.approx(4 * k**2 / (1 + k**2) ** 2)
    b = a + rng.normal(0, 0.3, a.shape)
    blocks = [_q_reference(a[i:i + 32, j:j + 32], b[i:i + 32, j:j + 32]) for i in (0, 32) for j in (0, 32)]
    assert q_index(a, b) == pytest.approx(np.mean(blocks))
    cube_a, cube_b = np.stack([a, 2 * a], -1), np.stack([b, a], -1)
    assert q_avg(cube_b, cube_a) == pytest.approx((q_index(b, a) + q_index(a, 2 * a)) / 2)


def test_ergas_takes_the_resolution_ratio() -> None:
    reference = np.ones((4, 4, 2)) * np.array([2.0, 4.0])
    estimate = reference + np.array([0.2, 0.2])  # relative RMSE 0.1 and 0.05
    assert ergas(estimate, reference, ratio=4) == pytest.approx(25 * np.sqrt((0.01 + 0.0025) / 2))


def test_qnr_against_its_definition() -> None:
    rng = np.random.default_rng(4)
    pan = rng.random((48, 48)) + 1
    hs = np.stack([degrade(pan, 3) * w + rng.normal(0, 0.05, (16, 16)) for w in (1.0, 0.5, 2.0)], -1)
    fused = upsample(hs, 3) + rng.normal(0, 0.05, (48, 48, 3))
    result = qnr(fused, hs, pan, 3, block=48)
    pan_low = degrade(pan, 3)
    pairs = [(i, j) for i in range(3) for j in range(3) if i != j]
    d_lambda = np.mean([abs(_q_reference(fused[:, :, i], fused[:, :, j]) - _q_reference(hs[:, :, i], hs[:, :, j]))
                        for i, j in pairs])
    d_s = np.mean([abs(_q_reference(fused[:, :, i], pan) - _q_reference(hs[:, :, i], pan_low)) for i in range(3)])
    assert result["d_lambda"] == pytest.approx(d_lambda)
    assert result["d_s"] == pytest.approx(d_s)
    assert result["qnr"] == pytest.approx((1 - d_lambda) * (1 - d_s))
    # a multispectral guide: Ds over every pair of a fused band and a guide band
    guide = np.stack([pan, rng.random((48, 48)) + 1], -1)
    guide_low = degrade(guide, 3)
    d_s = np.mean([abs(_q_reference(fused[:, :, i], guide[:, :, j]) - _q_reference(hs[:, :, i], guide_low[:, :, j]))
                   for i in range(3) for j in range(2)])
    assert qnr(fused, hs, guide, 3, block=48)["d_s"] == pytest.approx(d_s)


def test_band_responses_from_band_definitions() -> None:
    wavelength = np.arange(400.0, 701.0, 10.0)
    responses = band_responses(wavelength, np.array([460.0, 600.0]), np.array([40.0, 80.0]))
    assert responses.shape == (2, 31)
    np.testing.assert_allclose(responses.sum(axis=1), 1.0)
    assert wavelength[responses.argmax(axis=1)].tolist() == [460.0, 600.0]
    # half the peak at half the width from the centre
    row = responses[0] / responses[0].max()
    assert row[wavelength == 480.0][0] == pytest.approx(0.5)
    for centres, widths, match in (([460.0], [0.0], "positive width"), ([460.0], [40.0, 1.0], "one finite"),
                                   ([2000.0], [40.0], "no hyperspectral band")):
        with pytest.raises(ConfigError, match=match):
            band_responses(wavelength, np.array(centres), np.array(widths))
