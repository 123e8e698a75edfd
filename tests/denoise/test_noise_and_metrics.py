"""The noise protocol's statistics, and the image metrics against scikit-image and their definitions."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from spectraflow.errors import ConfigError
from spectraflow.metrics import denoising_scores, ergas, mpsnr, mssim, sam
from spectraflow.synth import NOISE_CASES, add_noise


def _clean(seed: int = 0, shape: tuple[int, int, int] = (64, 60, 30)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = np.cumsum(rng.normal(size=shape), axis=2)
    return (base - base.min()) / np.ptp(base) * 0.8 + 0.1


@pytest.mark.parametrize("case", NOISE_CASES)
def test_noise_is_seeded_and_shaped(case: str) -> None:
    clean = _clean()
    a, b, c = add_noise(clean, case, 1), add_noise(clean, case, 1), add_noise(clean, case, 2)
    assert a.shape == clean.shape and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("case", NOISE_CASES)
def test_noise_of_a_lazy_cube_is_the_noise_of_the_cube_in_memory(case: str) -> None:
    """Block by block (blocks cut across rows, columns and bands) the noise is the same, bit for bit."""
    import dask.array as da

    clean = _clean(3, shape=(37, 41, 12))
    lazy = add_noise(da.from_array(clean, chunks=(10, 17, 5)), case, 7)
    assert isinstance(lazy, da.Array) and lazy.dtype == np.float32
    np.testing.assert_array_equal(lazy.compute(), add_noise(clean, case, 7))


def test_gaussian_sigma_and_noniid_band_sigmas() -> None:
    clean = _clean(shape=(128, 128, 20))
    residual = add_noise(clean, "gaussian", 0, sigma=50) - clean
    assert residual.std() == pytest.approx(50 / 255, rel=0.01)
    per_band = (add_noise(clean, "noniid", 3) - clean).std(axis=(0, 1)) * 255
    nearest = np.array([10, 30, 50, 70])[np.abs(per_band[:, None] - [10, 30, 50, 70]).argmin(axis=1)]
    np.testing.assert_allclose(per_band, nearest, rtol=0.03)  # every band one of the four levels


def test_structured_noise_on_a_third_of_the_bands() -> None:
    clean = _clean(shape=(80, 100, 30))
    gaussian_only = add_noise(clean, "noniid", 4)
    for case in ("stripe", "deadline", "impulse"):
        noisy = add_noise(clean, case, 4)
        changed = np.flatnonzero(np.abs(noisy - gaussian_only).max(axis=(0, 1)) > 1e-6)
        assert changed.size == 10, case  # a third of 30 bands
        for b in changed:
            diff = noisy[..., b] - gaussian_only[..., b]
            if case == "stripe":
                columns = np.flatnonzero(np.abs(diff).max(axis=0) > 1e-6)
                assert 5 <= columns.size <= 15  # 5-15 % of 100 columns
                assert np.allclose(diff[:, columns], diff[0, columns], atol=1e-6)  # whole columns shifted alike
                assert np.abs(diff).max() <= 0.25 + 1e-6
            elif case == "deadline":
                dead = np.flatnonzero((noisy[..., b] == 0).all(axis=0))
                assert 5 <= dead.size <= 15
            else:
                ratio = np.isin(noisy[..., b], (0.0, 1.0)).mean()
                assert min(abs(ratio - r) for r in (0.1, 0.3, 0.5, 0.7)) < 0.03
    mixture = add_noise(clean, "mixture", 5)
    changed = np.flatnonzero(np.abs(mixture - add_noise(clean, "noniid", 5)).max(axis=(0, 1)) > 1e-6)
    assert changed.size == 30  # three disjoint thirds


def test_poisson_noise_variance_follows_the_signal() -> None:
    clean = np.full((200, 200, 2), 0.5)
    clean[..., 1] = 0.1
    noisy = add_noise(clean, "poisson", 0, peak=50)
    np.testing.assert_allclose(noisy.var(axis=(0, 1)), [0.5 / 50, 0.1 / 50], rtol=0.05)


def test_bad_noise_arguments() -> None:
    with pytest.raises(ConfigError, match="noise case"):
        add_noise(_clean(), "pink")
    with pytest.raises(ConfigError, match="sigma"):
        add_noise(_clean(), "gaussian", sigma=0)


def test_mpsnr_and_mssim_match_scikit_image() -> None:
    clean = _clean(1)
    noisy = add_noise(clean, "noniid", 0)
    psnr_ref = np.mean([peak_signal_noise_ratio(clean[..., b], noisy[..., b].astype(np.float64), data_range=1.0)
                        for b in range(clean.shape[2])])
    assert mpsnr(noisy, clean) == pytest.approx(psnr_ref, rel=1e-10)
    ssim_ref = np.mean([structural_similarity(clean[..., b], noisy[..., b].astype(np.float64), data_range=1.0,
                                              gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
                        for b in range(clean.shape[2])])
    assert mssim(noisy, clean) == pytest.approx(ssim_ref, rel=1e-6)
    assert mssim(clean, clean) == pytest.approx(1.0)


def test_sam_and_ergas_from_their_definitions() -> None:
    clean = _clean(2, shape=(10, 12, 8))
    estimate = clean * np.random.default_rng(0).uniform(0.9, 1.1, clean.shape)
    angles = [np.degrees(np.arccos(np.dot(e, c) / np.linalg.norm(e) / np.linalg.norm(c)))
              for e, c in zip(estimate.reshape(-1, 8), clean.reshape(-1, 8), strict=True)]
    assert sam(estimate, clean) == pytest.approx(np.mean(angles), rel=1e-10)
    assert sam(clean * 3.0, clean) == pytest.approx(0.0, abs=1e-5)  # scale-invariant
    bands = [np.sqrt(np.mean((estimate[..., b] - clean[..., b]) ** 2)) / clean[..., b].mean() for b in range(8)]
    assert ergas(estimate, clean) == pytest.approx(100 * np.sqrt(np.mean(np.square(bands))), rel=1e-10)


def test_scores_of_lazy_cubes_strip_by_strip_equal_the_scores_in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    import dask.array as da

    from spectraflow.metrics import _image

    clean = _clean(4, shape=(45, 33, 40))
    noisy = add_noise(clean, "mixture", 1).astype(np.float64)
    whole = denoising_scores(noisy, clean)
    monkeypatch.setattr(_image, "STRIP_BYTES", 7 * 33 * 40 * 4)  # strips of 7 rows: SSIM's halo crosses them
    lazy = denoising_scores(da.from_array(noisy, chunks=(10, 20, 15)), da.from_array(clean, chunks=(9, 33, 40)))
    assert lazy == pytest.approx(whole, rel=1e-10)


def test_invalid_pixels_do_not_count_whatever_they_hold() -> None:
    clean = _clean(5, shape=(40, 40, 10))
    noisy = add_noise(clean, "noniid", 2).astype(np.float64)
    valid = np.ones((40, 40), bool)
    valid[10:20, 5:30] = False
    scores = denoising_scores(noisy, clean, valid)
    for fill in (np.nan, 1e6, 0.0):
        garbage = noisy.copy()
        garbage[~valid] = fill
        assert denoising_scores(garbage, clean, valid) == pytest.approx(scores, rel=1e-12)
    # SSIM's windows see only valid pixels: a cube equal to the reference on them scores 1 exactly
    other = np.where(valid[..., None], clean, 0.5)
    assert mssim(other, clean, valid=valid) == pytest.approx(1.0, abs=1e-12)
    assert mssim(other, clean) < 0.99  # (without the mask the windows see the difference)
