"""A realistic synthetic hyperspectral scene with exact unmixing ground truth.

Endmember spectra are built from the physical features that make each material recognisable (the
chlorophyll well and red edge of vegetation, the liquid-water bands at 970/1200/1450/1940 nm, iron and clay
features of soil, the kaolinite doublet at 2165/2205 nm, the near-infrared darkness of water), sampled on
the nominal grid of a real sensor. Abundances are spatially smooth Gaussian random fields mapped onto the
simplex with a softmax whose sharpness leaves both mixed regions and pure patches; every endmember gets at
least one pure patch, as geometric extractors (VCA, N-FINDR) assume. The clean cube is the linear mixture,
ready for the noise models.

An acquisition may come with a companion: a finer image of the same ground through a few broad bands (an RGB
camera beside a 31-band one, a panchromatic channel beside a satellite's spectrometer). The scene is then
generated ``ratio`` times finer, seen through the companion's bands, and brought to the hyperspectral grid by
the sensor model of Wald's protocol (:func:`spectraflow.methods.fusion.degrade`); the fine cube is the
reference a fusion method should recover.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from ..cube import make_scene, provenance_attrs
from ..errors import ConfigError
from ..preprocess._bands import WATER_WINDOWS_NM, in_windows

__all__ = ["ENDMEMBER_LIBRARY", "COMPANION_BANDS", "Acquisition", "endmember_spectra", "sensor_grid",
           "synthetic_acquisition", "synthetic_scene", "write_scene_envi"]

#: The DN that marks a missing sample in a written scene (EnMAP's and most L2 products' choice).
NODATA_DN = -32768


def sensor_grid(sensor: str = "aviris") -> tuple[np.ndarray, np.ndarray]:
    """Band centres and FWHM (nm) of a sensor's nominal grid.

    ``aviris``: AVIRIS-classic, 224 channels over 400–2500 nm (~9.4 nm sampling, FWHM ~10 nm);
    ``aviris-ng``: 425 channels over 380–2510 nm at 5 nm; ``hyspex-vnir``: 160 channels over 410–990 nm;
    ``enmap``: EnMAP's two spectrometers, 91 VNIR channels over 420–1000 nm (~6.5 nm) and 133 SWIR channels over
    900–2445 nm (~10 nm; the two overlap around 950 nm); ``camera31``: a 31-band snapshot camera, 400–700 nm
    at 10 nm (the CAVE / ICVL layout).
    """
    grids = {
        "aviris": [(400.0, 2500.0, 224)],
        "aviris-ng": [(380.0, 2510.0, 425)],
        "hyspex-vnir": [(410.0, 990.0, 160)],
        "enmap": [(420.0, 1000.0, 91), (900.0, 2445.0, 133)],
        "camera31": [(400.0, 700.0, 31)],
    }
    if sensor not in grids:
        raise ConfigError(f"sensor {sensor!r}: expected one of {sorted(grids)}")
    centres = np.concatenate([np.linspace(lo, hi, n) for lo, hi, n in grids[sensor]])
    fwhm = np.concatenate([np.full(n, 1.06 * (hi - lo) / (n - 1)) for lo, hi, n in grids[sensor]])
    order = np.argsort(centres, kind="stable")
    return centres[order], fwhm[order]


def _gauss(wl: np.ndarray, centre: float, width: float) -> np.ndarray:
    return np.exp(-0.5 * ((wl - centre) / width) ** 2)


def _sigmoid(wl: np.ndarray, centre: float, width: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(wl - centre) / width))


def _water_bands(wl: np.ndarray, depth: float) -> np.ndarray:
    """Multiplicative liquid-water absorption (leaf or soil moisture)."""
    absorb = (0.08 * _gauss(wl, 970, 25) + 0.15 * _gauss(wl, 1200, 40) + 0.6 * _gauss(wl, 1450, 60)
              + 0.8 * _gauss(wl, 1940, 80) + 0.2 * _gauss(wl, 2500, 120))
    return 1.0 - depth * absorb


def _vegetation(wl: np.ndarray) -> np.ndarray:
    visible = 0.05 + 0.06 * _gauss(wl, 550, 35) - 0.03 * _gauss(wl, 675, 25) - 0.02 * _gauss(wl, 450, 30)
    nir = 0.48 * _sigmoid(wl, 715, 12)
    swir_slope = -0.12 * _sigmoid(wl, 1300, 150)
    return np.clip((visible + nir + swir_slope) * _water_bands(wl, 0.9), 0.01, None)


def _soil(wl: np.ndarray) -> np.ndarray:
    base = 0.08 + 0.30 * _sigmoid(wl, 700, 180) + 0.06 * (wl - 400) / 2100
    features = 1 - 0.06 * _gauss(wl, 900, 60) - 0.08 * _gauss(wl, 2200, 30)
    return base * features * _water_bands(wl, 0.35)


def _water(wl: np.ndarray) -> np.ndarray:
    return 0.005 + 0.07 * np.exp(-(wl - 400) / 160) + 0.015 * _gauss(wl, 560, 40) * (wl < 800)


def _asphalt(wl: np.ndarray) -> np.ndarray:
    return (0.05 + 0.10 * (wl - 400) / 2100) * (1 - 0.05 * _gauss(wl, 1730, 40) - 0.05 * _gauss(wl, 2310, 40))


def _kaolinite(wl: np.ndarray) -> np.ndarray:
    base = 0.45 + 0.25 * _sigmoid(wl, 600, 80) - 0.05 * (wl - 400) / 2100
    doublet = 1 - 0.25 * _gauss(wl, 2165, 15) - 0.35 * _gauss(wl, 2207, 18) - 0.2 * _gauss(wl, 1400, 12)
    return base * doublet * _water_bands(wl, 0.15)


def _dry_vegetation(wl: np.ndarray) -> np.ndarray:
    base = 0.08 + 0.32 * _sigmoid(wl, 750, 200)
    lignin = 1 - 0.18 * _gauss(wl, 2100, 50) - 0.08 * _gauss(wl, 1730, 30) - 0.1 * _gauss(wl, 2300, 40)
    return base * lignin * _water_bands(wl, 0.3)


#: Material name → reflectance model over wavelength in nm.
ENDMEMBER_LIBRARY: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "vegetation": _vegetation,
    "soil": _soil,
    "water": _water,
    "asphalt": _asphalt,
    "kaolinite": _kaolinite,
    "dry_vegetation": _dry_vegetation,
}


def endmember_spectra(names: Sequence[str], wavelength: np.ndarray) -> np.ndarray:
    """``(len(names), bands)`` reflectance spectra in [0, 1]."""
    unknown = [n for n in names if n not in ENDMEMBER_LIBRARY]
    if unknown:
        raise ConfigError(f"endmembers {unknown}: expected names from {sorted(ENDMEMBER_LIBRARY)}")
    return np.stack([np.clip(ENDMEMBER_LIBRARY[n](wavelength), 0.0, 1.0) for n in names])


def _smooth_fields(rng: np.random.Generator, k: int, height: int, width: int, length: float) -> np.ndarray:
    """``k`` zero-mean, unit-variance Gaussian random fields with correlation length ``length`` pixels."""
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.fftfreq(width)[None, :]
    spectrum = np.exp(-2 * (np.pi * length) ** 2 * (fx**2 + fy**2))
    white = rng.standard_normal((k, height, width))
    fields = np.fft.ifft2(np.fft.fft2(white) * spectrum).real
    fields -= fields.mean(axis=(1, 2), keepdims=True)
    fields /= fields.std(axis=(1, 2), keepdims=True) + 1e-12
    return fields


def synthetic_scene(
    seed: int = 0,
    *,
    height: int = 128,
    width: int = 128,
    endmembers: Sequence[str] = ("vegetation", "soil", "water", "asphalt", "kaolinite"),
    sensor: str = "aviris",
    sharpness: float = 3.0,
    length: float = 10.0,
    pure_patch: int = 4,
    nodata_corner: float = 0.0,
) -> xr.Dataset:
    """Generate a clean scene ``(y, x, band)`` in reflectance with ``endmembers``/``abundances`` ground truth.

    Parameters
    ----------
    seed
        Seed of NumPy's PCG64 generator; the same seed gives the same scene on every platform.
    height, width
        Image size in pixels.
    endmembers
        Material names from :data:`ENDMEMBER_LIBRARY`.
    sensor
        Wavelength grid, see :func:`sensor_grid`.
    sharpness
        Softmax gain on the random fields: larger gives purer regions, smaller more mixing.
    length
        Spatial correlation length of the abundance fields, in pixels.
    pure_patch
        Side of the square patch of pure pixels placed for each endmember (0 for none).
    nodata_corner
        Fraction of the tile's width cut off as a wedge of missing pixels in its top-left corner, as a tile of a
        tilted swath has (0 for none): those pixels are NaN in the cube, and the writer stores them as nodata.
        Their abundances stay in the ground truth; scores count valid pixels only.
    """
    if height < 2 or width < 2 or len(endmembers) < 2:
        raise ConfigError("synthetic_scene needs height, width >= 2 and at least two endmembers")
    rng = np.random.default_rng(seed)
    wavelength, _ = sensor_grid(sensor)
    spectra = endmember_spectra(endmembers, wavelength)
    k = len(endmembers)
    logits = sharpness * _smooth_fields(rng, k, height, width, length)
    abundances = np.exp(logits - logits.max(axis=0, keepdims=True))
    abundances /= abundances.sum(axis=0, keepdims=True)
    abundances = abundances.transpose(1, 2, 0)  # (y, x, endmember)
    if pure_patch:
        # one patch per endmember, in distinct cells of a grid of patch-sized cells, so none overwrites another
        side = max(1, min(pure_patch, height // 2, width // 2))
        while side > 1 and (height // side) * (width // side) < k:
            side -= 1  # small scenes get smaller patches
        rows, cols = height // side, width // side
        if rows * cols < k:
            raise ConfigError(f"a {height}x{width} scene has no room for {k} pure pixels")
        for i, cell in enumerate(rng.choice(rows * cols, size=k, replace=False)):
            y0, x0 = (cell // cols) * side, (cell % cols) * side
            abundances[y0 : y0 + side, x0 : x0 + side] = np.eye(k)[i]
    cube = (abundances @ spectra).astype(np.float32)
    if nodata_corner > 0:
        yy, xx = np.mgrid[0:height, 0:width]
        cube[xx / width + yy / height < 2 * nodata_corner] = np.nan
    return _mixed_scene(cube, abundances, spectra, endmembers, sensor, seed)


def _mixed_scene(cube: np.ndarray, abundances: np.ndarray, spectra: np.ndarray, endmembers: Sequence[str],
                 sensor: str, seed: int) -> xr.Dataset:
    """The scene of a linear mixture: the cube with its endmembers and abundances as ground truth."""
    wavelength, fwhm = sensor_grid(sensor)
    scene = make_scene(
        cube, wavelength=wavelength, fwhm=fwhm, good_band=~in_windows(wavelength, WATER_WINDOWS_NM),
        units="reflectance", sensor=sensor, attrs=provenance_attrs(f"synthetic-{seed}", [], "synth", "1.0"),
    )
    scene.attrs["synth_seed"] = seed
    scene = scene.assign_coords(endmember=list(endmembers))
    scene["endmembers"] = (("endmember", "band"), spectra.astype(np.float32))
    scene["abundances"] = (("y", "x", "endmember"), abundances.astype(np.float32))
    return scene


#: Companion images a synthetic acquisition can come with: band centres and full widths at half maximum (nm),
#: Gaussian responses. ``rgb``: a colour camera's three channels; ``pan``: a broad visible-to-red channel.
COMPANION_BANDS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "rgb": ((460.0, 540.0, 610.0), (60.0, 60.0, 60.0)),
    "pan": ((600.0,), (250.0,)),
}


@dataclass(frozen=True)
class Acquisition:
    """A generated acquisition: the hyperspectral ``scene`` (with its unmixing ground truth) and, when it has a
    companion, the ``companion`` image on a grid ``ratio`` times finer and the ``reference``: the scene's cube on
    that finer grid, which fusion should recover."""

    scene: xr.Dataset
    companion: xr.Dataset | None = None
    reference: xr.Dataset | None = None


def synthetic_acquisition(seed: int = 0, *, companion: str | None = None, ratio: int = 4, height: int = 128,
                          width: int = 128, length: float = 10.0, pure_patch: int = 4, nodata_corner: float = 0.0,
                          **scene_options: object) -> Acquisition:
    """A scene as :func:`synthetic_scene` makes it (``height`` × ``width`` pixels) or, with ``companion`` (a key of
    :data:`COMPANION_BANDS`), generated ``ratio`` times finer and degraded by the sensor model; the companion
    is the fine cube through the companion's bands. The scene's abundances are degraded alike (blur and
    sampling are linear, so they stay on the simplex and the scene stays their exact mixture); its pure patches
    are generated wide enough that whole coarse pixels inside them stay pure."""
    if companion is None:
        return Acquisition(synthetic_scene(seed, height=height, width=width, length=length, pure_patch=pure_patch,
                                           nodata_corner=nodata_corner, **scene_options))  # type: ignore[arg-type]
    from ..methods.fusion import band_responses, degrade

    if companion not in COMPANION_BANDS:
        raise ConfigError(f"companion {companion!r}: expected one of {sorted(COMPANION_BANDS)} or null")
    if not isinstance(ratio, int) or not 2 <= ratio <= 16:
        raise ConfigError(f"ratio={ratio!r}: expected an integer in 2..16 (the companion's resolution over the "
                          "scene's)")
    if nodata_corner:
        raise ConfigError("a synthetic acquisition with a companion has no nodata corner; set nodata_corner: 0")
    fine = synthetic_scene(seed, height=height * ratio, width=width * ratio, length=length * ratio,
                           pure_patch=(pure_patch + 4) * ratio, **scene_options)  # type: ignore[arg-type]
    cube, abundances = fine["cube"].values, fine["abundances"].values
    coarse = _mixed_scene(degrade(cube, ratio).astype(np.float32), degrade(abundances, ratio),
                          fine["endmembers"].values, list(fine["endmember"].values), str(fine["cube"].attrs["sensor"]),
                          seed)
    centres, widths = (np.array(v) for v in COMPANION_BANDS[companion])
    guide = cube @ band_responses(fine["wavelength"].values, centres, widths).T.astype(np.float32)
    image = make_scene(guide.astype(np.float32), wavelength=centres, fwhm=widths, units="reflectance",
                       sensor=f"{fine['cube'].attrs['sensor']} {companion}",
                       attrs=provenance_attrs(f"synthetic-{seed}-{companion}", [], "synth", "1.0"))
    image.attrs["synth_seed"] = seed
    return Acquisition(coarse, image, fine[["cube"]])


def write_scene_envi(scene: xr.Dataset, directory: str | Path, name: str = "scene",
                     interleave: str = "bil", scale: float = 10000.0) -> tuple[Path, Path]:
    """Write a reflectance scene as an instrument would: int16 DN (``reflectance * scale``) with a full header.

    Returns ``(header, raw)``. Ground truth, when the scene has it, is written beside as
    ``<name>_groundtruth.nc`` (NetCDF).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    values = scene["cube"].values
    missing = np.isnan(values)
    dn = np.clip(np.rint(np.nan_to_num(values) * scale), -32767, 32767).astype(np.int16)
    dn[missing] = NODATA_DN
    from ..io import write_envi

    header, raw = write_envi(
        directory / f"{name}.img", dn, interleave=interleave,
        wavelength=scene["wavelength"].values, fwhm=scene["fwhm"].values,
        bbl=scene["good_band"].values.astype(int), reflectance_scale_factor=scale,
        data_ignore_value=float(NODATA_DN) if missing.any() else None,
        sensor_type=str(scene["cube"].attrs.get("sensor", "unknown")),
        description=f"spectraflow synthetic scene, seed {scene.attrs.get('synth_seed')}",
    )
    if "abundances" in scene:
        scene[["endmembers", "abundances"]].to_netcdf(directory / f"{name}_groundtruth.nc", engine="h5netcdf")
    return header, raw
