"""A seeded EELS spectrum image: core-loss spectra of a titanium-oxide specimen with planted anomalous regions.

The physics is the textbook one (Egerton, *Electron Energy-Loss Spectroscopy in the Electron Microscope*,
3rd ed., 2011), kept as simple as the task allows:

- **background**: the tail of the valence losses, a power law ``A · E^(−r)``; ``A`` grows with the local
  thickness ``t/λ`` and ``r`` falls slightly with it (thicker areas have flatter backgrounds);
- **ionisation edges** at their tabulated onsets (Ti L₃ 456 eV, O K 532 eV, Fe L₃ 708 eV): a saw-tooth step
  decaying as ``(E₀/E)^s`` above the onset, the L₂,₃ edges with their two white lines (Lorentzians at L₃ and
  L₂), the O K edge with a near-edge peak, all blurred by the spectrometer's resolution; each edge's strength
  proportional to the element's areal density (composition × thickness);
- **plural scattering**: the single-scattering edges convolved with the low-loss distribution of a specimen
  of thickness ``t/λ`` — in Fourier space a multiplication by ``exp(t/λ · (L̂ − 1))`` (the Poisson sum over
  0, 1, 2, … plasmon losses, ``L`` the Drude loss function of a plasmon at 22 eV): thicker pixels have broader,
  weaker edges;
- **counting noise**: Poisson, the expected counts set by ``dose`` (counts per channel at the first energy,
  for a pixel of mean thickness): a lower dose is a noisier image.

The specimen: a rutile (TiO₂) matrix whose thickness varies smoothly, and two anomalies (the ``anomaly_map``):
a hematite (Fe₂O₃) particle — a different phase: an Fe L edge, no Ti — and a thin ilmenite (FeTiO₃) lamella two
pixels wide, the exsolution texture of Fe–Ti oxides: Ti and Fe edges at once, less Ti than the matrix.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from ..cube import make_scene, provenance_attrs
from ..errors import ConfigError
from ._scene import _smooth_fields

__all__ = ["EDGES", "PHASES", "eels_scene", "write_eels_hspy"]


@dataclass(frozen=True)
class Edge:
    """An ionisation edge: its onset (eV), its white lines or near-edge peaks ``(energy eV, height relative to
    the step)``, and the exponent of the continuum's decay above the onset."""

    label: str
    onset: float
    peaks: tuple[tuple[float, float], ...]
    decay: float = 2.5


#: The edges of the three elements, onsets from the EELS Atlas (Ahn & Krivanek, 1983).
EDGES = {
    "Ti": Edge("Ti L2,3", 456.0, ((458.0, 2.0), (463.5, 1.4))),
    "O": Edge("O K", 532.0, ((537.5, 0.6),)),
    "Fe": Edge("Fe L2,3", 708.0, ((709.5, 3.0), (722.5, 1.2))),
}
#: Step heights per unit areal density, relative to the background at 400 eV (oxygen K is the weaker edge).
_STRENGTH = {"Ti": 0.8, "O": 0.35, "Fe": 0.5}
#: Phases by their composition (atoms per formula unit).
PHASES = {
    "TiO2": {"Ti": 1.0, "O": 2.0},
    "Fe2O3": {"Fe": 2.0, "O": 3.0},
    "FeTiO3": {"Fe": 1.0, "Ti": 1.0, "O": 3.0},
}
_PLASMON_EV = 22.0
_PLASMON_FWHM_EV = 6.0


def _lorentzian(x: np.ndarray, centre: float, fwhm: float) -> np.ndarray:
    half = fwhm / 2.0
    return half**2 / ((x - centre) ** 2 + half**2)


def _gaussian_blur(values: np.ndarray, step: float, fwhm: float) -> np.ndarray:
    """``values`` (last axis: energy) convolved with a Gaussian of ``fwhm`` eV, edges held."""
    sigma = fwhm / (2.0 * np.sqrt(2.0 * np.log(2.0))) / step
    half = int(np.ceil(4 * sigma))
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    padded = np.concatenate([np.repeat(values[..., :1], half, -1), values, np.repeat(values[..., -1:], half, -1)], -1)
    return np.apply_along_axis(lambda v: np.convolve(v, kernel, mode="valid"), -1, padded)


def edge_profile(edge: Edge, energy: np.ndarray, resolution: float) -> np.ndarray:
    """The single-scattering shape of ``edge`` on ``energy`` (eV): 1 just above the onset, blurred by the
    spectrometer's ``resolution`` (FWHM, eV)."""
    above = energy >= edge.onset
    shape = np.where(above, (edge.onset / np.maximum(energy, edge.onset)) ** edge.decay, 0.0)
    for centre, height in edge.peaks:
        shape = shape + height * _lorentzian(energy, centre, 1.5) * above
    step = float(energy[1] - energy[0]) if energy.size > 1 else 1.0
    return _gaussian_blur(shape, step, resolution)


def _plural_scattering(single: np.ndarray, thickness: np.ndarray, step: float) -> np.ndarray:
    """``single`` ``(y, x, energy)`` convolved with the low-loss distribution of each pixel's ``t/λ``."""
    n = single.shape[-1]
    size = 1 << int(np.ceil(np.log2(n + 8 * _PLASMON_EV / step)))  # room for the losses pushed past the end
    loss = np.arange(size) * step
    # the Drude loss function Im(-1/ε) of a free-electron plasmon: a peak at E_p of width Γ, zero at zero loss
    width, peak = _PLASMON_FWHM_EV, _PLASMON_EV
    plasmon = loss * width * peak**2 / ((loss**2 - peak**2) ** 2 + (loss * width) ** 2)
    plasmon /= plasmon.sum()
    transfer = np.fft.rfft(plasmon) - 1.0
    spectrum = np.fft.rfft(single, n=size, axis=-1) * np.exp(thickness[..., None] * transfer)
    return np.fft.irfft(spectrum, n=size, axis=-1)[..., :n]


def _disc(height: int, width: int, centre: tuple[float, float], radius: float) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width]
    return (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= radius**2


def _band(height: int, width: int, start: tuple[float, float], angle: float, length: float,
          thickness: float) -> np.ndarray:
    """A straight band ``thickness`` pixels wide from ``start`` at ``angle`` (radians), ``length`` pixels long."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    along = (yy - start[0]) * np.sin(angle) + (xx - start[1]) * np.cos(angle)
    across = -(yy - start[0]) * np.cos(angle) + (xx - start[1]) * np.sin(angle)
    return (along >= 0) & (along <= length) & (np.abs(across) < thickness / 2)


def eels_scene(
    seed: int = 0,
    *,
    height: int = 64,
    width: int = 64,
    energy: tuple[float, float, float] = (400.0, 800.0, 1.0),
    dose: float = 2000.0,
    thickness: tuple[float, float] = (0.3, 1.1),
    particle_radius: float = 4.0,
    lamella: tuple[float, float] = (24.0, 2.0),
    resolution: float = 1.0,
) -> xr.Dataset:
    """A core-loss EELS spectrum image ``(y, x, band)`` in counts on an ``energy_loss`` axis, with the
    ``anomaly_map`` (particle ∪ inclusion), the ``phase_map`` (0 matrix, 1 particle, 2 inclusion) and the
    ``thickness`` (t/λ) as ground truth. See the module's docstring for the model.

    ``energy`` is ``(first, stop, step)`` in eV (stop excluded); ``dose`` the expected counts per channel at the
    first energy for a pixel of mean thickness; ``thickness`` the range of t/λ across the field of view;
    ``lamella`` its ``(length, width)`` in pixels.
    """
    first, stop, step = (float(v) for v in energy)
    if not (step > 0 and stop > first + 2 * step):
        raise ConfigError(f"eels_scene: energy={energy}; expected (first, stop, step) with step > 0 and stop > first")
    if height < 16 or width < 16 or dose <= 0:
        raise ConfigError("eels_scene needs height, width >= 16 (room for the particle and the line) and dose > 0")
    rng = np.random.default_rng(seed)
    axis = np.arange(first, stop, step)
    low, high = thickness
    field = _smooth_fields(rng, 1, height, width, max(height, width) / 4)[0]
    t = low + (high - low) * (field - field.min()) / (np.ptp(field) + 1e-12)

    phase = np.zeros((height, width), dtype=np.int8)
    margin = particle_radius + 2
    centre = (rng.uniform(margin, height - margin), rng.uniform(margin, width - margin))
    particle = _disc(height, width, centre, particle_radius)
    inclusion = np.zeros_like(particle)
    while not inclusion.any() or (inclusion & _disc(height, width, centre, particle_radius + 3)).any():
        start = (rng.uniform(0, height), rng.uniform(0, width))
        inclusion = _band(height, width, start, rng.uniform(0, 2 * np.pi), *lamella)
    phase[particle], phase[inclusion] = 1, 2

    # background: A(t) E^-r(t), A proportional to t so the counts follow the thickness
    mean_t = float(t.mean())
    exponent = 3.2 - 0.4 * (t - mean_t)
    background = (t / mean_t)[..., None] * (axis / first) ** -exponent[..., None]
    profiles = {element: edge_profile(edge, axis, resolution) for element, edge in EDGES.items()}
    single = np.zeros((height, width, axis.size))
    for index, name in enumerate(PHASES):
        where = phase == index
        for element, amount in PHASES[name].items():
            single[where] += (amount * _STRENGTH[element] * t[where])[:, None] * profiles[element]
    # the edges onto a background of their own level: the step scales with the background at the onset
    expected = dose * (background + _plural_scattering(single, t, step) * (axis / first) ** -3.0)
    counts = rng.poisson(np.clip(expected, 0.0, None)).astype(np.float32)

    scene = make_scene(counts, energy_loss=axis, units="counts", sensor="EELS (synthetic)",
                       attrs=provenance_attrs(f"eels-synthetic-{seed}", [], "synth", "1.0"))
    scene.attrs.update({"synth_seed": seed, "signal_type": "EELS", "dose": float(dose)})
    scene["anomaly_map"] = (("y", "x"), phase > 0)
    scene["phase_map"] = (("y", "x"), phase, {"phases": list(PHASES)})
    scene["thickness"] = (("y", "x"), t.astype(np.float32), {"units": "t/lambda"})
    return scene


def write_eels_hspy(scene: xr.Dataset, directory: str | Path, name: str = "scene") -> Path:
    """Write an EELS spectrum image as a microscopist would save it: HyperSpy's ``.hspy`` (through RosettaSciIO),
    the scan axes in pixels and the energy-loss axis in eV, ``signal_type`` EELS. The ground truth (``anomaly_map``,
    ``phase_map``, ``thickness``) goes beside it as ``<name>_groundtruth.nc`` (NetCDF). Returns the ``.hspy`` path."""
    from rsciio.hspy import file_writer

    from .. import __version__

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    cube = scene["cube"].values
    energy = scene["energy_loss"].values
    axes = [{"name": dim, "size": int(size), "offset": 0.0, "scale": 1.0, "units": "px", "navigate": True}
            for dim, size in zip(("y", "x"), cube.shape[:2], strict=True)]
    axes.append({"name": "Energy loss", "size": int(cube.shape[2]), "offset": float(energy[0]),
                 "scale": float(energy[1] - energy[0]), "units": "eV", "navigate": False})
    path = directory / f"{name}.hspy"
    title = f"spectraflow synthetic EELS spectrum image, seed {scene.attrs.get('synth_seed')}"
    file_writer(str(path), {
        "data": cube, "axes": axes, "original_metadata": {}, "tmp_parameters": {}, "attributes": {"_lazy": False},
        "learning_results": {}, "models": {},
        "package_info": {"package": "spectraflow", "package_version": __version__},
        "metadata": {"General": {"title": title}, "Signal": {"signal_type": "EELS", "quantity": "Electrons (Counts)"}}})
    truth = [v for v in ("anomaly_map", "phase_map", "thickness") if v in scene]
    scene[truth].to_netcdf(directory / f"{name}_groundtruth.nc", engine="h5netcdf")
    return path
