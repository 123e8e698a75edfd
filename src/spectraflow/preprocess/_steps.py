"""The registered preprocessing steps (family ``preprocess``), each a thin validated wrapper of an operation.

A step is a frozen dataclass of its parameters (checked on construction) with
``apply(scene) -> (scene, fitted)``: the lazy result and a JSON-able record of what it fitted (statistics,
removed bands, a projection). Invertible steps also have ``invert(cube, fitted)``. The chain runner
(:func:`~spectraflow.preprocess.run_chain`) stores each step's parameters and fitted record in the result's
``preprocessing`` attribute, so the provenance records the chain and the inverse can be applied later.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from ..cube import CUBE, WAVELENGTH, spectral_axis, spectral_positions
from ..errors import ConfigError
from ..methods import register
from ._bands import WATER_WINDOWS_NM, band_snr, in_windows
from ._decompose import Projection, fit_mnf, fit_pca
from ._filters import continuum_removed, gaussian_response, savgol
from ._noise import NOISE_METHODS
from ._normalize import NORMALIZATIONS, Normalization, fit_normalization
from ._radiometric import to_physical
from ._spectra import map_spectra, replace_cube

__all__ = ["Step", "Radiometric", "BadBands", "Normalize", "SavitzkyGolay", "ContinuumRemoval", "PCA", "MNF",
           "Resample"]

Fitted = dict[str, Any]


class Step:
    """Base of the preprocessing steps; ``name`` is the registered short name."""

    name: ClassVar[str]
    invertible: ClassVar[bool] = False

    def apply(self, scene: xr.Dataset) -> tuple[xr.Dataset, Fitted]:
        raise NotImplementedError

    def invert(self, cube: xr.DataArray, fitted: Fitted) -> Any:
        raise ConfigError(f"preprocessing step {self.name!r} has no inverse")

    def params(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    def _fail(self, field: str, value: Any, expected: str) -> None:
        raise ConfigError(f"params.yaml [preprocess.steps: {self.name}]: {field}={value!r}; expected {expected}")


def _band_axis(cube: xr.DataArray) -> np.ndarray:
    """The positions on the spectral axis where known, else the band index (for steps that need an abscissa)."""
    positions = spectral_positions(cube)
    return positions if np.isfinite(positions).all() else np.arange(positions.size, dtype=np.float64)


@register("preprocess", "radiometric")
@dataclass(frozen=True)
class Radiometric(Step):
    """Stored values → physical values (``gain * stored / data_scale + offset``), nodata and NaN masked."""

    name: ClassVar[str] = "radiometric"
    gain: float = 1.0
    offset: float = 0.0
    dtype: str = "float32"

    def __post_init__(self) -> None:
        if self.dtype not in ("float32", "float64"):
            self._fail("dtype", self.dtype, "float32 or float64")
        if not np.isfinite(self.gain) or self.gain == 0:
            self._fail("gain", self.gain, "a finite, non-zero number")

    def apply(self, scene: xr.Dataset) -> tuple[xr.Dataset, Fitted]:
        data_scale = float(scene[CUBE].attrs.get("data_scale", 1.0))
        out = to_physical(scene, gain=self.gain, offset=self.offset, dtype=self.dtype)
        return out, {"data_scale": data_scale, "nodata": scene[CUBE].attrs.get("nodata")}


@register("preprocess", "bad_bands")
@dataclass(frozen=True)
class BadBands(Step):
    """Remove (or only flag) bad bands: the source's flags, water-absorption windows, and low-SNR bands.

    ``water_windows`` are ``[start, stop]`` nm pairs (``stop`` null = open-ended; an empty list for none; applied
    on a wavelength axis only: an EELS or Raman cube has no atmosphere);
    ``min_snr`` (null to skip) drops bands whose ``|mean| / noise std`` is lower, the noise estimated by
    ``snr_method`` (``shift_difference`` or ``regression``) in one pass; ``drop: false`` only clears
    ``good_band``.
    """

    name: ClassVar[str] = "bad_bands"
    header: bool = True
    water_windows: Sequence[Sequence[float | None]] | None = WATER_WINDOWS_NM
    min_snr: float | None = None
    snr_method: str = "shift_difference"
    drop: bool = True

    def __post_init__(self) -> None:
        windows = tuple(tuple(w) for w in (self.water_windows or ()))
        for window in windows:
            if len(window) != 2 or window[0] is None or (window[1] is not None and window[1] < window[0]):
                self._fail("water_windows", list(window), "[start_nm, stop_nm] with start <= stop (stop may be null)")
        object.__setattr__(self, "water_windows", windows)
        if self.snr_method not in NOISE_METHODS:
            self._fail("snr_method", self.snr_method, f"one of {NOISE_METHODS}")
        if self.min_snr is not None and not self.min_snr >= 0:
            self._fail("min_snr", self.min_snr, "a non-negative number or null")

    def apply(self, scene: xr.Dataset) -> tuple[xr.Dataset, Fitted]:
        cube = scene[CUBE]
        n_bands = cube.sizes["band"]
        reasons: dict[str, np.ndarray] = {}
        if self.header:
            reasons["header"] = ~np.asarray(scene["good_band"].values, dtype=bool)
        axis = spectral_axis(scene)
        if self.water_windows and axis is WAVELENGTH:  # atmospheric absorption: no meaning on another axis
            reasons["water"] = in_windows(scene[axis.name].values, self.water_windows)
        bad = np.zeros(n_bands, dtype=bool)
        for flags in reasons.values():
            bad |= flags
        if self.min_snr is not None and not bad.all():
            # the SNR of the bands still in: a band the source flags is often all nodata (EnMAP's 1.4 µm gap),
            # which would leave no pixel finite in every band to estimate the noise from
            kept = np.flatnonzero(~bad)
            snr = band_snr(cube.isel(band=kept), self.snr_method)  # type: ignore[arg-type]
            reasons["snr"] = np.zeros(n_bands, dtype=bool)
            reasons["snr"][kept] = snr < self.min_snr
            bad |= reasons["snr"]
        if bad.all():
            raise ConfigError(f"params.yaml [preprocess.steps: bad_bands] would remove all {n_bands} bands")
        fitted: Fitted = {
            "removed": np.flatnonzero(bad).tolist(),
            f"removed_{axis.name}": spectral_positions(scene)[bad].tolist(),
            "reasons": {k: np.flatnonzero(v).tolist() for k, v in reasons.items()},
        }
        if self.drop:
            return scene.isel(band=np.flatnonzero(~bad)), fitted
        return scene.assign_coords(good_band=("band", ~bad)), fitted


@register("preprocess", "normalize")
@dataclass(frozen=True)
class Normalize(Step):
    """``minmax`` / ``standard`` / ``robust`` (percentile clipping) normalisation, global or ``per_band``."""

    name: ClassVar[str] = "normalize"
    invertible: ClassVar[bool] = True
    method: str = "minmax"
    per_band: bool = False
    percentiles: Sequence[float] = (2.0, 98.0)

    def __post_init__(self) -> None:
        if self.method not in NORMALIZATIONS:
            self._fail("method", self.method, f"one of {NORMALIZATIONS}")
        pct = tuple(float(p) for p in self.percentiles)
        if len(pct) != 2 or not 0 <= pct[0] < pct[1] <= 100:
            self._fail("percentiles", list(self.percentiles), "[low, high] with 0 <= low < high <= 100")
        object.__setattr__(self, "percentiles", pct)

    def apply(self, scene: xr.Dataset) -> tuple[xr.Dataset, Fitted]:
        cube = scene[CUBE]
        normalization = fit_normalization(cube, self.method, per_band=self.per_band,  # type: ignore[arg-type]
                                          percentiles=self.percentiles)
        return replace_cube(scene, map_spectra(cube, normalization.forward)), normalization.to_record()

    def invert(self, cube: xr.DataArray, fitted: Fitted) -> Any:
        return map_spectra(cube, Normalization.from_record(fitted).inverse)


@register("preprocess", "savgol")
@dataclass(frozen=True)
class SavitzkyGolay(Step):
    """Savitzky–Golay smoothing along bands (``window`` odd, polynomial ``order``); ``deriv`` ≥ 1 gives the
    spectral derivative per nm (the median band spacing is the step)."""

    name: ClassVar[str] = "savgol"
    window: int = 11
    order: int = 2
    deriv: int = 0

    def __post_init__(self) -> None:
        if self.window < 3 or self.window % 2 == 0:
            self._fail("window", self.window, "an odd integer >= 3")
        if not 0 <= self.order < self.window:
            self._fail("order", self.order, f"0 <= order < window={self.window}")
        if not 0 <= self.deriv <= self.order:
            self._fail("deriv", self.deriv, f"0 <= deriv <= order={self.order}")

    def apply(self, scene: xr.Dataset) -> tuple[xr.Dataset, Fitted]:
        cube = scene[CUBE]
        if cube.sizes["band"] < self.window:
            self._fail("window", self.window, f"at most the number of bands ({cube.sizes['band']})")
        delta = float(np.median(np.diff(_band_axis(cube)))) if cube.sizes["band"] > 1 else 1.0
        data = map_spectra(cube, lambda s: savgol(s, self.window, self.order, self.deriv, delta))
        return replace_cube(scene, data), {"delta": delta}


@register("preprocess", "continuum_removal")
@dataclass(frozen=True)
class ContinuumRemoval(Step):
    """Divide each spectrum by its upper convex hull (absorption features become dips below 1)."""

    name: ClassVar[str] = "continuum_removal"

    def apply(self, scene: xr.Dataset) -> tuple[xr.Dataset, Fitted]:
        cube = scene[CUBE]
        abscissa = _band_axis(cube)
        return replace_cube(scene, map_spectra(cube, lambda s: continuum_removed(s, abscissa))), {}


@register("preprocess", "anscombe")
@dataclass(frozen=True)
class Anscombe(Step):
    """Variance stabilisation of counting data: ``2·√(x + 3/8)`` makes Poisson noise of any mean about unit
    variance (Anscombe 1948), so that detectors and decompositions that assume one noise level per band see one
    (EELS, photon-counting cameras). Values below −3/8 (dark-subtracted counts) are clipped; the inverse is the
    algebraic one, ``(y/2)² − 3/8``."""

    name: ClassVar[str] = "anscombe"
    invertible: ClassVar[bool] = True

    def apply(self, scene: xr.Dataset) -> tuple[xr.Dataset, Fitted]:
        def stabilise(spectra: np.ndarray) -> np.ndarray:
            return 2 * np.sqrt(np.maximum(spectra + spectra.dtype.type(0.375), 0))

        return replace_cube(scene, map_spectra(scene[CUBE], stabilise), attrs={"units": "anscombe"}), {}

    def invert(self, cube: xr.DataArray, fitted: Fitted) -> Any:
        return map_spectra(cube, lambda values: (values / 2) ** 2 - values.dtype.type(0.375))


class _Projection(Step):
    invertible: ClassVar[bool] = True
    n_components: int

    def _check(self) -> None:
        if not isinstance(self.n_components, int) or self.n_components < 1:
            self._fail("n_components", self.n_components, "a positive integer")

    def _fit(self, cube: xr.DataArray) -> Projection:
        raise NotImplementedError

    def apply(self, scene: xr.Dataset) -> tuple[xr.Dataset, Fitted]:
        cube = scene[CUBE]
        if self.n_components > cube.sizes["band"]:
            self._fail("n_components", self.n_components, f"at most the number of bands ({cube.sizes['band']})")
        projection = self._fit(cube)
        k = projection.n_components
        data = map_spectra(cube, projection.transform, n_bands=k)
        band_coords = {"wavelength": ("band", np.full(k, np.nan), {"units": "nm"}),
                       "good_band": ("band", np.ones(k, dtype=bool)),
                       "component": ("band", [f"{projection.method}{i + 1}" for i in range(k)])}
        record = projection.to_record()
        record[f"source_{spectral_axis(cube).name}"] = spectral_positions(cube).tolist()
        return replace_cube(scene, data, band_coords=band_coords, attrs={"units": projection.method}), record

    def invert(self, cube: xr.DataArray, fitted: Fitted) -> Any:
        projection = Projection.from_record(fitted)
        return map_spectra(cube, projection.reconstruct, n_bands=projection.inverse.shape[1])


@register("preprocess", "pca")
@dataclass(frozen=True)
class PCA(_Projection):
    """Principal components fitted out of core (one pass); the cube becomes ``n_components`` bands."""

    name: ClassVar[str] = "pca"
    n_components: int = 20

    def __post_init__(self) -> None:
        self._check()

    def _fit(self, cube: xr.DataArray) -> Projection:
        return fit_pca(cube, self.n_components)


@register("preprocess", "mnf")
@dataclass(frozen=True)
class MNF(_Projection):
    """Minimum/maximum noise fraction transform (noise-whitened PCA), components by decreasing SNR."""

    name: ClassVar[str] = "mnf"
    n_components: int = 20
    noise: str = "shift_difference"

    def __post_init__(self) -> None:
        self._check()
        if self.noise not in NOISE_METHODS:
            self._fail("noise", self.noise, f"one of {NOISE_METHODS}")

    def _fit(self, cube: xr.DataArray) -> Projection:
        return fit_mnf(cube, self.n_components, self.noise)  # type: ignore[arg-type]


@register("preprocess", "resample")
@dataclass(frozen=True)
class Resample(Step):
    """Resample spectra to another band set through Gaussian spectral response functions.

    Give a ``sensor`` name (a grid :func:`spectraflow.synth.sensor_grid` knows) or explicit ``wavelength``
    and ``fwhm`` lists (nm). Target bands the source does not cover come out NaN and flagged bad.
    """

    name: ClassVar[str] = "resample"
    sensor: str | None = None
    wavelength: Sequence[float] | None = None
    fwhm: Sequence[float] | None = None

    def __post_init__(self) -> None:
        if (self.sensor is None) == (self.wavelength is None):
            self._fail("sensor", self.sensor, "either a sensor name or a wavelength list (not both)")
        if self.wavelength is not None:
            if self.fwhm is None or len(self.fwhm) != len(self.wavelength):
                self._fail("fwhm", self.fwhm, f"{len(self.wavelength)} values (one per target wavelength)")
            if any(f <= 0 for f in self.fwhm or ()):
                self._fail("fwhm", self.fwhm, "positive widths")

    def target(self) -> tuple[np.ndarray, np.ndarray]:
        if self.sensor is not None:
            from ..synth import sensor_grid

            return sensor_grid(self.sensor)
        return np.asarray(self.wavelength, dtype=np.float64), np.asarray(self.fwhm, dtype=np.float64)

    def apply(self, scene: xr.Dataset) -> tuple[xr.Dataset, Fitted]:
        cube = scene[CUBE]
        if spectral_axis(scene) is not WAVELENGTH:
            raise ConfigError(f"preprocess step resample: the cube's spectral axis is {spectral_axis(scene).name}; "
                              "resampling to a sensor's bands needs wavelengths")
        source = spectral_positions(cube)
        if not np.isfinite(source).all():
            raise ConfigError("preprocess step resample: the cube's wavelengths are unknown (NaN)")
        wavelength, fwhm = self.target()
        weights = gaussian_response(source, wavelength, fwhm, np.asarray(scene["good_band"].values, dtype=bool))
        covered = weights.sum(axis=1) > 0
        used = weights.sum(axis=0) > 0  # source bands any target responds to (NaN in the others is harmless)
        matrix = weights[:, used].T.copy()
        matrix[:, ~covered] = np.nan

        def resample(spectra: np.ndarray) -> np.ndarray:
            return spectra[..., used] @ matrix.astype(spectra.dtype)

        band_coords = {"wavelength": ("band", wavelength, {"units": "nm"}), "fwhm": ("band", fwhm, {"units": "nm"}),
                       "good_band": ("band", covered)}
        data = map_spectra(cube, resample, n_bands=wavelength.size)
        return (replace_cube(scene, data, band_coords=band_coords),
                {"target_wavelength": wavelength.tolist(), "target_fwhm": fwhm.tolist(),
                 "uncovered": np.flatnonzero(~covered).tolist()})
