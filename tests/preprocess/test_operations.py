"""Each preprocessing operation against an independent NumPy/SciPy reference, on fresh random data."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import xarray as xr
from scipy.signal import savgol_coeffs
from scipy.spatial import ConvexHull

from spectraflow.preprocess import (
    band_statistics,
    continuum_removed,
    estimate_noise,
    fit_mnf,
    fit_normalization,
    fit_pca,
    gaussian_response,
    hysime,
    noise_covariance,
    savgol,
    upper_hull_continuum,
)
from spectraflow.synth import synthetic_scene


def _cube(rng: np.random.Generator, shape: tuple[int, int, int] = (60, 33, 12), nan_pixels: int = 5,
          chunks: tuple[int, int] = (30, 7)) -> tuple[np.ndarray, xr.DataArray]:
    """A correlated random cube with a few all-NaN pixels, as NumPy and as a chunked DataArray."""
    ny, nx, nb = shape
    rotations = [np.linalg.qr(rng.normal(size=(nb, nb)))[0] for _ in range(2)]
    mixing = rotations[0] * rng.uniform(0.3, 3.0, nb) @ rotations[1].T  # correlated bands, condition at most 10
    data = (rng.normal(size=(ny, nx, nb)) @ mixing + rng.normal(5, 2, nb)).astype(np.float64)
    for _ in range(nan_pixels):
        data[rng.integers(ny), rng.integers(nx)] = np.nan
    array = xr.DataArray(da.from_array(data, chunks=(*chunks, nb)), dims=("y", "x", "band"))
    return data, array


def _neighbour_differences(data: np.ndarray) -> np.ndarray:
    """Every finite horizontal neighbour difference of the whole cube (the chunked pass's, its seams included)."""
    d = (data[:, 1:] - data[:, :-1]).reshape(-1, data.shape[2])
    return d[np.isfinite(d).all(axis=1)]


def _valid_pixels(data: np.ndarray) -> np.ndarray:
    flat = data.reshape(-1, data.shape[-1])
    return flat[np.isfinite(flat).all(axis=1)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_band_statistics_match_numpy(seed: int) -> None:
    data, cube = _cube(np.random.default_rng(seed))
    x = _valid_pixels(data)
    stats = band_statistics(cube, gram=True, shift_difference=True, quantiles=True, split_every=3)
    assert stats.count == x.shape[0]
    np.testing.assert_allclose(stats.mean, x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(stats.std, x.std(axis=0, ddof=1), rtol=1e-9)
    np.testing.assert_array_equal(stats.minimum, x.min(axis=0))
    np.testing.assert_array_equal(stats.maximum, x.max(axis=0))
    np.testing.assert_allclose(stats.covariance(), np.cov(x, rowvar=False), rtol=1e-9, atol=1e-9)
    # the quantile sketch: the fraction of values under each estimate is within 1 % of the target rank
    for q in (0.02, 0.25, 0.5, 0.9, 0.98):
        estimate = stats.quantile(q)[:, 0]
        rank = (x < estimate[None, :]).mean(axis=0)
        assert np.abs(rank - q).max() < 0.01
    d = _neighbour_differences(data)
    assert stats.diff_count == d.shape[0]
    np.testing.assert_allclose(stats.diff_gram, d.T @ d, rtol=1e-9)
    # scaling the bands scales every statistic as a second pass over the scaled cube would find them
    factor = np.random.default_rng(seed + 10).uniform(0.1, 10.0, data.shape[-1])
    scaled, direct = stats.scaled(factor), band_statistics(cube * factor, gram=True, shift_difference=True)
    for name in ("total", "total_sq", "minimum", "maximum", "gram", "diff_gram"):
        np.testing.assert_allclose(getattr(scaled, name), getattr(direct, name), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(scaled.quantile(0.5)[:, 0], stats.quantile(0.5)[:, 0] * factor, rtol=1e-12)


def test_band_statistics_of_a_scene_one_pixel_wide_take_its_vertical_neighbours() -> None:
    """A line scan stored as a column: its neighbour pairs are vertical (there were none, and MNF, HySime's
    difference estimators and band SNR refused it); lazy in blocks or whole, as its transpose gives them."""
    data, _ = _cube(np.random.default_rng(), shape=(90, 1, 12), nan_pixels=3)
    d = _neighbour_differences(data.transpose(1, 0, 2))
    for cube in (data, xr.DataArray(da.from_array(data, chunks=(25, 1, 12)), dims=("y", "x", "band"))):
        stats = band_statistics(cube, gram=True, shift_difference=True)
        assert stats.diff_count == d.shape[0]
        np.testing.assert_allclose(stats.diff_gram, d.T @ d, rtol=1e-9)
        np.testing.assert_allclose(stats.covariance(), np.cov(_valid_pixels(data), rowvar=False), rtol=1e-9)


@pytest.mark.parametrize("stride", [2, 4, 7])
def test_band_statistics_take_neighbour_pairs_from_every_nth_row(stride: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``difference_stride``, the difference Gram matrix is that of the cube's rows 0, n, 2n, … (30-row blocks in
    batches of 5 rows, so the rows run across batches and blocks); every other statistic is the full pass's."""
    from spectraflow.preprocess import _stats

    monkeypatch.setattr(_stats, "BATCH_VALUES", 5 * 7 * 12)  # a (30, 7, 12) block in batches of 5 rows
    data, cube = _cube(np.random.default_rng())
    stats = band_statistics(cube, gram=True, shift_difference=True, difference_stride=stride)
    d = _neighbour_differences(data[::stride])
    assert stats.diff_count == d.shape[0]
    np.testing.assert_allclose(stats.diff_gram, d.T @ d, rtol=1e-9)
    full = band_statistics(cube, gram=True, shift_difference=True)
    assert stats.count == full.count
    np.testing.assert_allclose(stats.gram, full.gram, rtol=1e-12)
    with pytest.raises(ValueError, match="difference_stride=0"):
        band_statistics(cube, shift_difference=True, difference_stride=0)


def test_quadratic_forms_are_each_column_s() -> None:
    from spectraflow.preprocess import quadratic_forms

    rng = np.random.default_rng()
    vectors, matrix = rng.standard_normal((40, 7)), rng.standard_normal((40, 40))
    expected = [vectors[:, i] @ matrix @ vectors[:, i] for i in range(7)]
    np.testing.assert_allclose(quadratic_forms(vectors, matrix), expected, rtol=1e-10)


def test_regression_noise_matches_least_squares_per_band() -> None:
    rng = np.random.default_rng(3)
    data, cube = _cube(rng, nan_pixels=0)
    x = _valid_pixels(data)
    residuals = np.empty_like(x)
    for i in range(x.shape[1]):  # independent reference: one least-squares fit per band (uncentred, as HySime)
        others = np.delete(x, i, axis=1)
        beta, *_ = np.linalg.lstsq(others, x[:, i], rcond=None)
        residuals[:, i] = x[:, i] - others @ beta
    expected = residuals.T @ residuals / x.shape[0]
    np.testing.assert_allclose(noise_covariance(band_statistics(cube, gram=True)), expected, rtol=1e-6,
                               atol=1e-8 * np.abs(expected).max())


def test_difference_regression_matches_least_squares_per_band() -> None:
    """Each band's neighbour differences regressed on the other bands' (fresh random cube, chunked across its
    columns): half the residual variance over its degrees of freedom, the pairs less the other bands."""
    data, cube = _cube(np.random.default_rng(), nan_pixels=3)
    d = _neighbour_differences(data)
    expected = np.empty(d.shape[1])
    for i in range(d.shape[1]):  # independent reference: one least-squares fit per band
        others = np.delete(d, i, axis=1)
        beta, *_ = np.linalg.lstsq(others, d[:, i], rcond=None)
        residual = d[:, i] - others @ beta
        expected[i] = residual @ residual / (2 * (d.shape[0] - others.shape[1]))
    stats = band_statistics(cube, gram=True, shift_difference=True)
    noise = noise_covariance(stats, "difference_regression")
    np.testing.assert_allclose(np.diag(noise), expected, rtol=1e-6)
    # the steps that take a noise method gather the differences this one needs
    from spectraflow.preprocess._bands import band_snr

    np.testing.assert_allclose(band_snr(cube, "difference_regression"),
                               np.abs(_valid_pixels(data).mean(axis=0)) / np.sqrt(expected), rtol=1e-6)
    forward = fit_mnf(cube, 3, noise="difference_regression").forward
    np.testing.assert_allclose(forward.T @ noise @ forward, np.eye(3), atol=1e-5)
    few = data[:10, :2]  # at most 10 pairs (fewer where a NaN pixel of the cube falls in it) for 12 bands
    pairs = len(_neighbour_differences(few))
    with pytest.raises(ValueError, match=f"more neighbour pairs than bands; got {pairs} pairs of 12 bands"):
        noise_covariance(band_statistics(few, gram=True, shift_difference=True), "difference_regression")


def _smooth_scene(size: int = 64) -> np.ndarray:
    """Linear mixtures of the synthetic endmembers with abundances varying slowly across the image."""
    scene = synthetic_scene(1, height=32, width=32)
    spectra = scene["endmembers"].isel(band=np.flatnonzero(scene["good_band"].values)).values.astype(np.float64)
    yy, xx = np.mgrid[0:size, 0:size] / 300.0
    fields = np.stack([1 + np.cos(yy + k) * np.sin(xx * (k + 1)) for k in range(spectra.shape[0])], axis=-1)
    return (fields / fields.sum(axis=-1, keepdims=True)) @ spectra


@pytest.mark.parametrize("method", ["regression", "difference_regression", "shift_difference"])
def test_noise_estimate_recovers_known_sigma(method: str) -> None:
    clean = _smooth_scene()
    sigma = np.random.default_rng(4).uniform(0.005, 0.02, clean.shape[2])
    noisy = clean + np.random.default_rng(5).normal(size=clean.shape) * sigma
    cube = xr.DataArray(da.from_array(noisy, chunks=(32, 32, -1)), dims=("y", "x", "band"))
    estimate = estimate_noise(cube, method)
    assert estimate.dims == ("band",)
    assert np.median(np.abs(estimate.values / sigma - 1)) < 0.05
    assert np.abs(estimate.values / sigma - 1).max() < 0.2


def test_hysime_finds_the_number_of_endmembers() -> None:
    for seed, k in ((0, 5), (2, 3)):
        names = ["vegetation", "soil", "water", "asphalt", "kaolinite"][:k]
        scene = synthetic_scene(seed, height=64, width=64, endmembers=names)
        clean = scene["cube"].isel(band=np.flatnonzero(scene["good_band"].values)).values
        noisy = clean + np.random.default_rng(seed).normal(0, 0.005, clean.shape)
        result = hysime(xr.DataArray(da.from_array(noisy, chunks=(32, 32, -1)), dims=("y", "x", "band")))
        assert result.k == k
        assert np.allclose(result.basis.T @ result.basis, np.eye(k), atol=1e-8)


@pytest.mark.parametrize("method,per_band", [("minmax", False), ("minmax", True), ("standard", False),
                                             ("standard", True), ("robust", False), ("robust", True)])
def test_normalization_matches_numpy_and_inverts(method: str, per_band: bool) -> None:
    data, cube = _cube(np.random.default_rng(6))
    x = _valid_pixels(data)
    fitted = fit_normalization(cube, method, per_band=per_band, percentiles=(5, 95))  # type: ignore[arg-type]
    axis = 0 if per_band else None
    if method == "minmax":
        low, high = x.min(axis=axis), x.max(axis=axis)
        np.testing.assert_allclose(fitted.offset, np.atleast_1d(low))
        np.testing.assert_allclose(fitted.scale, np.atleast_1d(high - low))
    elif method == "standard":
        np.testing.assert_allclose(fitted.offset, np.atleast_1d(x.mean(axis=axis)), rtol=1e-10)
        np.testing.assert_allclose(fitted.scale, np.atleast_1d(x.std(axis=axis, ddof=1)), rtol=1e-8)
    else:
        values = x if per_band else x.ravel()
        low = fitted.offset
        high = fitted.offset + fitted.scale
        for estimate, target in ((low, 0.05), (high, 0.95)):
            rank = (values < (estimate if per_band else estimate[0])).mean(axis=0)
            assert np.abs(rank - target).max() < 0.01
    normalised = fitted.forward(x)
    if method == "robust":
        assert normalised.min() == 0.0 and normalised.max() == 1.0
    else:
        np.testing.assert_allclose(fitted.inverse(normalised), x, rtol=1e-12, atol=1e-10)


@pytest.mark.parametrize("window,order,deriv", [(5, 2, 0), (11, 3, 0), (9, 2, 1), (7, 3, 2)])
def test_savgol_matches_local_polynomial_fits(window: int, order: int, deriv: int) -> None:
    rng = np.random.default_rng(window + order)
    spectra = rng.normal(size=(6, 40)).cumsum(axis=1)
    delta = 2.5
    out = savgol(spectra, window, order, deriv, delta)
    half = window // 2
    offsets = np.arange(-half, half + 1) * delta
    for i in range(half, spectra.shape[1] - half):  # interior: an explicit least-squares polynomial per window
        for s in range(spectra.shape[0]):
            poly = np.polynomial.Polynomial.fit(offsets, spectra[s, i - half:i + half + 1], order)
            expected = poly.deriv(deriv)(0.0) if deriv else poly(0.0)
            assert out[s, i] == pytest.approx(expected, rel=1e-8, abs=1e-8)
    assert savgol_coeffs(window, order).size == window  # scipy agrees on the window


def test_continuum_matches_scipy_convex_hull() -> None:
    rng = np.random.default_rng(8)
    wavelength = np.sort(rng.uniform(400, 2500, 60))
    spectra = np.abs(rng.normal(size=(50, 60)).cumsum(axis=1)) + 1.0
    continuum = upper_hull_continuum(spectra, wavelength)
    for spectrum, cont in zip(spectra, continuum, strict=True):
        hull = ConvexHull(np.column_stack([wavelength, spectrum]))
        # upper hull vertices: the hull vertices on or above the chord between the endpoints
        vertices = np.unique(hull.vertices)
        chord = spectrum[0] + (spectrum[-1] - spectrum[0]) * (wavelength - wavelength[0]) / np.ptp(wavelength)
        upper = vertices[spectrum[vertices] >= chord[vertices] - 1e-12]
        upper = np.union1d(upper, [0, wavelength.size - 1])
        np.testing.assert_allclose(cont, np.interp(wavelength, wavelength[upper], spectrum[upper]), rtol=1e-10)
    removed = continuum_removed(spectra, wavelength)
    assert removed.max() <= 1 + 1e-12 and np.isclose(removed[:, 0], 1).all() and np.isclose(removed[:, -1], 1).all()


def test_pca_matches_numpy_svd_and_inverts() -> None:
    data, cube = _cube(np.random.default_rng(9))
    x = _valid_pixels(data)
    centred = x - x.mean(axis=0)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    projection = fit_pca(cube, 4)
    np.testing.assert_allclose(projection.ranking, singular[:4] ** 2 / (x.shape[0] - 1), rtol=1e-8)
    # components agree up to sign
    np.testing.assert_allclose(np.abs(projection.forward.T @ vt[:4].T), np.eye(4), atol=1e-8)
    full = fit_pca(cube, x.shape[1])
    np.testing.assert_allclose(full.reconstruct(full.transform(x)), x, rtol=1e-9, atol=1e-9)


def test_mnf_matches_generalised_eigenproblem_and_inverts() -> None:
    from scipy.linalg import eigh

    data, cube = _cube(np.random.default_rng(10), nan_pixels=0)
    x = _valid_pixels(data)
    diffs = _neighbour_differences(data)
    noise = diffs.T @ diffs / (2 * diffs.shape[0])
    snr = eigh(np.cov(x, rowvar=False), noise, eigvals_only=True)[::-1]
    projection = fit_mnf(cube, 3)
    np.testing.assert_allclose(projection.ranking, snr[:3], rtol=1e-5)
    # components have unit noise variance and are noise-uncorrelated
    np.testing.assert_allclose(projection.forward.T @ noise @ projection.forward, np.eye(3), atol=1e-5)
    full = fit_mnf(cube, x.shape[1])
    np.testing.assert_allclose(full.reconstruct(full.transform(x)), x, rtol=1e-7, atol=1e-7)


def test_gaussian_response_matches_explicit_formula() -> None:
    source = np.linspace(400, 1000, 121)
    target, fwhm = np.array([500.0, 700.0, 1200.0]), np.array([10.0, 25.0, 10.0])
    weights = gaussian_response(source, target, fwhm)
    sigma = fwhm[1] / (2 * np.sqrt(2 * np.log(2)))
    expected = np.exp(-0.5 * ((source - 700.0) / sigma) ** 2)
    np.testing.assert_allclose(weights[1], expected / expected.sum())
    assert np.all(weights[2] == 0)  # 1200 nm lies outside the source range
    # a smooth spectrum resampled to a coarser grid keeps its values at the band centres
    spectrum = np.sin(source / 90.0)
    coarse = weights[:2] @ spectrum
    np.testing.assert_allclose(coarse, np.sin(target[:2] / 90.0), atol=0.01)
