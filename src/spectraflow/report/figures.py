"""Figures of scenes: what a person looks at before reading any number."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import xarray as xr

from .._atomic import atomic_output
from ..cube import CUBE

__all__ = ["rgb_bands", "scene_overview"]

#: Wavelengths (nm) shown as red, green and blue in true-colour composites.
TRUE_COLOUR_NM = (640.0, 550.0, 460.0)


def rgb_bands(wavelength: np.ndarray, n_bands: int) -> list[int]:
    """Band indices nearest to red/green/blue; evenly spread bands when the wavelengths are unknown."""
    if np.isfinite(wavelength).any() and np.nanmin(wavelength) <= 500 and np.nanmax(wavelength) >= 600:
        return [int(np.nanargmin(np.abs(wavelength - nm))) for nm in TRUE_COLOUR_NM]
    return [int(i) for i in np.linspace(n_bands - 1, 0, 3)]


def _stretch(image: np.ndarray, low: float = 2.0, high: float = 98.0) -> np.ndarray:
    """Per-channel percentile stretch to [0, 1], ignoring NaN."""
    lo = np.nanpercentile(image, low, axis=(0, 1))
    hi = np.nanpercentile(image, high, axis=(0, 1))
    return np.clip((image - lo) / np.where(hi > lo, hi - lo, 1.0), 0.0, 1.0)


def scene_overview(scene: xr.Dataset, path: str | os.PathLike[str], max_pixels: int = 200_000) -> Path:
    """Write a PNG: RGB composite, mean spectrum (bad bands shaded), and ground-truth endmembers if present.

    Large cubes are subsampled to about ``max_pixels`` pixels for the spectrum statistics.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cube = scene[CUBE]
    scale = float(cube.attrs.get("data_scale", 1.0)) or 1.0
    wavelength = scene["wavelength"].values
    good = scene["good_band"].values.astype(bool)
    ny, nx, nb = cube.shape
    step = max(1, int(np.ceil(np.sqrt(ny * nx / max_pixels))))
    sample = cube[::step, ::step].values.astype(np.float64) / scale
    nodata = cube.attrs.get("nodata")
    if nodata is not None:
        sample[sample == nodata / scale] = np.nan
    bands = rgb_bands(wavelength, nb)
    x = wavelength if np.isfinite(wavelength).all() else np.arange(nb)
    xlabel = "wavelength (nm)" if x is wavelength else "band"
    has_truth = "endmembers" in scene
    fig, axes = plt.subplots(1, 3 if has_truth else 2, figsize=(15 if has_truth else 10, 4.2),
                             gridspec_kw={"width_ratios": [1, 1.4, 1.4][: 3 if has_truth else 2]})
    axes[0].imshow(_stretch(sample[:, :, bands]), interpolation="nearest")
    axes[0].set_title("RGB " + "/".join(f"{x[b]:.0f}" for b in bands) + (" nm" if x is wavelength else ""))
    axes[0].set_axis_off()
    mean = np.nanmean(sample.reshape(-1, nb), axis=0)
    p5, p95 = np.nanpercentile(sample.reshape(-1, nb), [5, 95], axis=0)
    axes[1].fill_between(x, p5, p95, alpha=0.3, label="5–95 %")
    axes[1].plot(x, mean, lw=1.2, label="mean")
    for ax in axes[1:]:
        for i in np.flatnonzero(~good):
            ax.axvspan(float(x[max(int(i) - 1, 0)]), float(x[int(i)]), color="0.85", lw=0)
        ax.set_xlabel(xlabel)
    axes[1].set_ylabel(str(cube.attrs.get("units", "value")))
    axes[1].set_title(f"{ny} x {nx} x {nb}, bad bands shaded")
    axes[1].legend(loc="best", fontsize=8)
    if has_truth:
        names = scene["endmember"].values if "endmember" in scene.coords else range(scene.sizes["endmember"])
        for name, spectrum in zip(names, scene["endmembers"].values, strict=True):
            axes[2].plot(x, spectrum, lw=1.2, label=str(name))
        axes[2].set_title("ground-truth endmembers")
        axes[2].legend(loc="best", fontsize=8)
    fig.suptitle(str(scene.attrs.get("name", "")), fontsize=10)
    fig.tight_layout()
    dest = Path(path)
    with atomic_output(dest) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return dest
