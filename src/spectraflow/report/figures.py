"""Figures of scenes: what a person looks at before reading any number."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from .._atomic import atomic_output
from ..cube import CUBE, SPECTRAL_AXES, WAVELENGTH, physical_values, spectral_axis, spectral_positions

if TYPE_CHECKING:
    from ..metrics import AucComparison

__all__ = ["anomaly_overview", "rgb_bands", "scene_overview", "preprocessing_overview", "unmixing_overview",
           "denoising_overview", "fusion_overview", "training_curves", "operator_overview", "scene_thumbnail",
           "figure_thumbnail"]

#: Wavelengths (nm) shown as red, green and blue in true-colour composites.
TRUE_COLOUR_NM = (640.0, 550.0, 460.0)


def band_abscissa(obj: xr.Dataset | xr.DataArray, n_bands: int) -> tuple[np.ndarray, str]:
    """Where spectra are plotted over the bands of ``obj``, and the axis label: the positions on its spectral
    axis when all are known, else the band numbers."""
    if sum(name in obj.coords for name in SPECTRAL_AXES) == 1:
        axis, positions = spectral_axis(obj), spectral_positions(obj)
        if positions.size == n_bands and np.isfinite(positions).all():
            return positions, axis.label
    return np.arange(n_bands), "band"


def wavelengths(obj: xr.Dataset | xr.DataArray, n_bands: int) -> np.ndarray:
    """The bands' wavelengths in nm, for colour composites; NaN on any other spectral axis."""
    if WAVELENGTH.name in obj.coords:
        return np.asarray(obj[WAVELENGTH.name].values, dtype=np.float64)
    return np.full(n_bands, np.nan)


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


def _physical_sample(cube: xr.DataArray, max_pixels: int) -> np.ndarray:
    """A spatially subsampled copy (about ``max_pixels`` pixels) in physical units, nodata as NaN."""
    ny, nx = cube.shape[:2]
    step = max(1, int(np.ceil(np.sqrt(ny * nx / max_pixels))))
    return physical_values(cube[::step, ::step].values, cube.attrs, dtype=np.float64)


def _show_map(ax: Any, image: np.ndarray, **kwargs: Any) -> Any:
    """``ax.imshow`` of a ``(y, x[, rgb])`` map, nearest-neighbour; a line scan (a map one pixel high or wide) is
    stretched to the panel as a stripe, which at equal aspect would be a line too thin to see."""
    line = min(image.shape[:2]) == 1
    return ax.imshow(image, interpolation="nearest", **({"aspect": "auto"} if line else {}), **kwargs)


def _save(fig: object, path: str | os.PathLike[str]) -> Path:
    import matplotlib.pyplot as plt

    dest = Path(path)
    with atomic_output(dest) as tmp:
        fig.savefig(tmp, dpi=110, format="png")  # type: ignore[attr-defined]
    plt.close(fig)  # type: ignore[arg-type]
    return dest


def scene_overview(scene: xr.Dataset, path: str | os.PathLike[str], max_pixels: int = 200_000) -> Path:
    """Write a PNG: RGB composite, mean spectrum (bad bands shaded), and ground-truth endmembers if present.

    Large cubes are subsampled to about ``max_pixels`` pixels for the spectrum statistics.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cube = scene[CUBE]
    good = scene["good_band"].values.astype(bool)
    ny, nx, nb = cube.shape
    sample = _physical_sample(cube, max_pixels)
    bands = rgb_bands(wavelengths(scene, nb), nb)
    x, xlabel = band_abscissa(scene, nb)
    has_truth = "endmembers" in scene
    fig, axes = plt.subplots(1, 3 if has_truth else 2, figsize=(15 if has_truth else 10, 4.2),
                             gridspec_kw={"width_ratios": [1, 1.4, 1.4][: 3 if has_truth else 2]})
    _show_map(axes[0], _stretch(sample[:, :, bands]))
    axes[0].set_title("RGB " + "/".join(f"{x[b]:.0f}" for b in bands) + ("" if xlabel == "band" else
                                                                           f" {spectral_axis(scene).units}"))
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
    return _save(fig, path)


def preprocessing_overview(before: xr.Dataset, after: xr.Dataset, path: str | os.PathLike[str],
                           max_pixels: int = 100_000) -> Path:
    """Write a PNG: spectra before and after the chain (removed bands marked), and the train/validation
    regions of the patch table over an RGB composite when the result has one."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    raw = _physical_sample(before[CUBE], max_pixels)
    out = _physical_sample(after[CUBE], max_pixels)
    has_patches = "patch_y" in after
    fig, axes = plt.subplots(1, 3 if has_patches else 2, figsize=(15 if has_patches else 10, 4.2))
    x_in, label_in = band_abscissa(before, raw.shape[-1])
    axes[0].plot(x_in, np.nanmean(raw.reshape(-1, raw.shape[-1]), axis=0), lw=1.2)
    records: list[dict[str, Any]] = json.loads(after.attrs.get("preprocessing", "[]"))
    # only the first removal indexes the input's bands (later ones index an already reduced axis)
    first_removal: dict[str, Any] = next((r for r in records if r["step"] == "bad_bands"), {"fitted": {"removed": []}})
    for i in first_removal["fitted"]["removed"]:
        axes[0].axvline(float(x_in[i]), color="tab:red", alpha=0.25, lw=1.5)
    axes[0].set_title("input mean spectrum (removed bands in red)")
    axes[0].set_ylabel(str(before[CUBE].attrs.get("units", "value")))
    flat = out.reshape(-1, out.shape[-1])
    x_out, label_out = band_abscissa(after, out.shape[-1])
    if label_out == "band":  # components of a decomposition: numbered from 1, drawn as points
        x_out, label_out = x_out + 1, "band / component"
    marker = "o-" if label_out == "band / component" else "-"
    p5, p95 = np.nanpercentile(flat, [5, 95], axis=0)
    axes[1].fill_between(x_out, p5, p95, alpha=0.3, label="5–95 %")
    axes[1].plot(x_out, np.nanmean(flat, axis=0), marker, lw=1.2, ms=3, label="mean")
    axes[1].set_title(f"after preprocessing: {out.shape[-1]} bands")
    axes[1].legend(loc="best", fontsize=8)
    axes[0].set_xlabel(label_in)
    axes[1].set_xlabel(label_out)
    if has_patches:
        full = after[CUBE]
        bands = rgb_bands(wavelengths(after, full.sizes["band"]), full.sizes["band"])
        ny, nx = full.sizes["y"], full.sizes["x"]
        _show_map(axes[2], _stretch(out[:, :, bands]), extent=(0, nx, ny, 0))
        size = json.loads(after.attrs.get("patches", "{}")).get("size", 0)
        colours = {0: "tab:blue", 1: "tab:orange"}
        for y0, x0, split in zip(after["patch_y"].values, after["patch_x"].values, after["patch_split"].values,
                                 strict=True):
            axes[2].add_patch(plt.Rectangle((x0, y0), size, size, fill=False, lw=0.6, ec=colours[int(split)]))
        n_val = int(after["patch_split"].values.sum())
        axes[2].set_title(f"patches: {after.sizes['patch'] - n_val} train (blue), {n_val} validation (orange)")
        axes[2].set_axis_off()
    fig.suptitle(str(after.attrs.get("name", "")), fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def unmixing_overview(result: xr.Dataset, path: str | os.PathLike[str], order: Any = None) -> Path:
    """Write a PNG: one abundance map per endmember (ground truth beneath when the result carries it) and
    the estimated endmember spectra against the true ones. ``order[i]`` is the estimate matched to truth ``i``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    abundances = result["abundances"].values
    endmembers = result["endmembers"].values
    p = endmembers.shape[0]
    has_truth = "true_abundances" in result and "true_endmembers" in result
    order = np.arange(p) if order is None else np.asarray(order)
    rows = 2 if has_truth else 1
    fig, axes = plt.subplots(rows, p + 1, figsize=(3.0 * (p + 1), 3.0 * rows), squeeze=False)
    x, xlabel = band_abscissa(result, endmembers.shape[1])
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    truth_names = (list(result["true_endmember"].values) if "true_endmember" in result.coords
                   else [f"em{i + 1}" for i in range(p)])
    for i in range(min(p, len(order))):
        k = int(order[i])
        _show_map(axes[0, i], abundances[..., k], vmin=0, vmax=1, cmap="viridis")
        axes[0, i].set_title(f"estimate ↔ {truth_names[i] if has_truth else k + 1}", fontsize=11)
        axes[0, i].set_axis_off()
        label = str(truth_names[i]) if has_truth else f"endmember {k + 1}"
        axes[0, p].plot(x, endmembers[k], color=colours[i % len(colours)], lw=1.3, label=label)
        if has_truth:
            _show_map(axes[1, i], result["true_abundances"].values[..., i], vmin=0, vmax=1, cmap="viridis")
            axes[1, i].set_title(f"true {truth_names[i]}", fontsize=11)
            axes[1, i].set_axis_off()
            axes[0, p].plot(x, result["true_endmembers"].values[i], color=colours[i % len(colours)], lw=1.0,
                            ls="--")
    axes[0, p].set_title("endmembers (dashed: truth)" if has_truth else "endmembers", fontsize=10)
    axes[0, p].set_xlabel(xlabel)
    if has_truth:  # the legend in the free panel beneath the spectra, large enough to read
        axes[1, p].set_axis_off()
        axes[1, p].legend(*axes[0, p].get_legend_handles_labels(), loc="center", fontsize=11, frameon=False)
    else:
        axes[0, p].legend(fontsize=9, loc="best")
    fig.suptitle(f"{result.attrs.get('name', '')}: abundances (0–1)", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def anomaly_overview(result: xr.Dataset, path: str | os.PathLike[str],
                     against_best: Mapping[str, AucComparison] | None = None) -> Path:
    """Write a PNG of an anomaly store: each detector's score map (stretched to its 1–99.5 percentiles, nodata
    black) beside the anomaly map when the scene has one, and then every detector's ROC curve (log false-alarm
    axis, where the detectors differ). With ``against_best`` (by detector, its AUC against the best's:
    :func:`spectraflow.metrics.compare_auc`) each map's title says how far behind the best it is and whether the
    scene resolves that."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..metrics import roc_auc, roc_curve

    scores = result["scores"]
    names = [str(n) for n in scores["method"].values]
    truth = result["anomaly_map"].values.astype(bool) if "anomaly_map" in result else None
    valid = result["valid"].values if "valid" in result else np.ones(scores.shape[1:], dtype=bool)
    panels = len(names) + (2 if truth is not None else 0)
    columns = min(4, panels)
    rows = -(-panels // columns)
    fig, grid = plt.subplots(rows, columns, figsize=(3.6 * columns, 3.4 * rows), squeeze=False)
    axes = list(grid.ravel())
    for ax in axes[panels:]:
        ax.set_axis_off()
    if truth is not None:
        _show_map(axes[0], truth, cmap="gray")
        axes[0].set_title(f"anomaly map ({int(truth[valid].sum())} pixels)", fontsize=11)
        axes[0].set_axis_off()
    offset = 1 if truth is not None else 0
    for i, (name, values) in enumerate(zip(names, scores.values, strict=True)):
        ax = axes[offset + i]
        _show_map(ax, np.nan_to_num(_stretch(values[..., None], 1.0, 99.5)[..., 0], nan=0.0), cmap="inferno")
        auc = f", AUC {roc_auc(values[valid], truth[valid]):.4f}" if truth is not None else ""
        ax.set_title(f"{name}{auc}{_against_best(against_best, name)}", fontsize=11)
        ax.set_axis_off()
    if truth is not None:
        ax = axes[offset + len(names)]
        for name, values in zip(names, scores.values, strict=True):
            false_alarm, detection = roc_curve(values[valid], truth[valid])
            ax.plot(np.maximum(false_alarm, 1e-5), detection, lw=1.3, label=name)
        ax.set_xscale("log")
        ax.set_xlim(1e-4, 1)
        ax.set_xlabel("false-alarm rate")
        ax.set_ylabel("detection rate")
        ax.set_title("ROC", fontsize=11)
        ax.legend(fontsize=9, loc="lower right")
    fig.suptitle(f"{result.attrs.get('name', '')}: anomaly scores (brighter = more anomalous)", fontsize=11)
    fig.tight_layout()
    return _save(fig, path)


def _against_best(against_best: Mapping[str, AucComparison] | None, name: str) -> str:
    """A second title line: the best, or the AUC difference from the best with its 95 % interval, and whether the
    scene resolves it (``behind``) or not."""
    compared = (against_best or {}).get(name)
    if compared is None:
        return ""
    if compared.difference == 0:
        return "\nthe best"
    interval = f" ± {compared.half_width:.4f}" if np.isfinite(compared.half_width) else " (one object: no interval)"
    verdict = "behind" if compared.verdict == "below" else "not resolved"
    return f"\n{compared.difference:+.4f}{interval} vs the best: {verdict}"


def denoising_overview(results: Mapping[str, xr.DataArray], path: str | os.PathLike[str], *,
                       noisy: xr.DataArray | None = None, clean: xr.DataArray | None = None,
                       title: str = "") -> Path:
    """Write a PNG: one band of the noisy cube, of each denoised result (``{method: cube}``) and of the clean
    one, and one pixel's spectrum in all of them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = {**({"noisy": noisy} if noisy is not None else {}), **results,
              **({"clean": clean} if clean is not None else {})}
    first = next(iter(results.values()))
    ny, nx, nb = first.shape
    band = nb // 2
    # one band and one spectrum of each cube are read (the cubes may be lazy, on a store, and large)
    images = {name: np.asarray(cube.isel(band=band).values, dtype=np.float64) for name, cube in panels.items()}
    reference = images["clean"] if clean is not None else images[next(iter(results))]
    pixel = np.unravel_index(int(np.nanargmax(reference)), (ny, nx))
    spectra = {name: np.asarray(cube.isel(y=pixel[0], x=pixel[1]).values) for name, cube in panels.items()}
    x, xlabel = band_abscissa(first, nb)
    low, high = np.nanpercentile(reference, [1, 99])
    columns = min(3, len(panels) + 1)  # rows of three panels: readable at the report's thumbnail width
    rows = -(-(len(panels) + 1) // columns)
    fig, grid = plt.subplots(rows, columns, figsize=(3.8 * columns, 3.6 * rows), squeeze=False)
    axes = list(grid.ravel())
    for ax in axes[len(panels) + 1:]:
        ax.set_axis_off()
    axes = axes[:len(panels) + 1]
    for ax, name in zip(axes, panels, strict=False):
        _show_map(ax, images[name], cmap="gray", vmin=low, vmax=high)
        ax.plot(pixel[1], pixel[0], "r+", ms=8)
        ax.set_title(f"{name}, band {band}", fontsize=12)
        ax.set_axis_off()
    for name in panels:
        axes[-1].plot(x, spectra[name], lw=0.8 if name == "noisy" else 1.3, label=name,
                      alpha=0.6 if name == "noisy" else 1.0)
    axes[-1].set_title(f"spectrum at (y={pixel[0]}, x={pixel[1]})", fontsize=12)
    axes[-1].set_xlabel(xlabel)
    axes[-1].legend(fontsize=10)
    fig.suptitle(title, fontsize=12)
    fig.tight_layout()
    return _save(fig, path)


def training_curves(curves: str | os.PathLike[str], path: str | os.PathLike[str], title: str = "") -> Path:
    """Write a PNG of a training run's CSV curves: train and validation loss per epoch (log scale), and each
    validation score beside them."""
    import csv

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(curves, newline="") as fh:
        rows = [{k: float(v) for k, v in row.items()} for row in csv.DictReader(fh)]
    if not rows:
        raise ValueError(f"{curves}: no epochs recorded")
    epoch = [r["epoch"] for r in rows]
    scores = [k for k in rows[0] if k.startswith("val_") and k != "val_loss"]
    fig, axes = plt.subplots(1, 1 + len(scores), figsize=(4.2 * (1 + len(scores)), 3.4), squeeze=False)
    ax = axes[0, 0]
    for key in ("train_loss", "val_loss"):
        ax.plot(epoch, [r[key] for r in rows], marker="o", ms=3, label=key.replace("_", " "))
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_title("loss", fontsize=9)
    ax.legend(fontsize=8)
    for ax, key in zip(axes[0, 1:], scores, strict=True):
        ax.plot(epoch, [r[key] for r in rows], marker="o", ms=3, color="tab:green")
        ax.set_xlabel("epoch")
        ax.set_title(key.replace("_", " "), fontsize=9)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def operator_overview(inputs: np.ndarray, target: np.ndarray, prediction: np.ndarray, path: str | os.PathLike[str],
                      title: str = "", samples: int = 3) -> Path:
    """Write a PNG: for a few samples, the input field, the target, the prediction and the error (2-D fields
    as images, 1-D as curves)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    count = min(samples, len(inputs))
    fig, axes = plt.subplots(count, 4, figsize=(12, 2.9 * count), squeeze=False)
    for row in range(count):
        fields = {"input": inputs[row, 0], "target": target[row, 0], "prediction": prediction[row, 0],
                  "error": prediction[row, 0] - target[row, 0]}
        low, high = float(np.min(target[row, 0])), float(np.max(target[row, 0]))
        for ax, (name, field) in zip(axes[row], fields.items(), strict=True):
            if field.ndim == 2:
                spread = float(np.abs(field).max()) or 1.0  # errors on a scale centred at zero
                limits = {"input": (None, None), "error": (-spread, spread)}.get(name, (low, high))
                shown = ax.imshow(field, cmap="RdBu_r" if name == "error" else "viridis", vmin=limits[0],
                                  vmax=limits[1])
                fig.colorbar(shown, ax=ax, fraction=0.046)
                ax.set_axis_off()
            else:
                ax.plot(np.linspace(0, 1, field.size), field, color="tab:red" if name == "error" else "tab:blue")
            ax.set_title(f"sample {row}: {name}", fontsize=9)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def scene_thumbnail(scene: xr.Dataset, size: int = 96) -> bytes:
    """A small PNG (about ``size`` pixels on the long side) of the scene's RGB composite, stretched, nodata
    black: the overview table's picture of a scene."""
    import io

    import matplotlib.pyplot as plt

    cube = scene[CUBE]
    ny, nx = cube.shape[:2]
    step = max(1, int(np.ceil(max(ny, nx) / size)))
    sample = physical_values(cube[::step, ::step, rgb_bands(wavelengths(scene, cube.shape[2]), cube.shape[2])].values,
                             cube.attrs, dtype=np.float64)
    image = np.nan_to_num(_stretch(sample), nan=0.0)
    if min(image.shape[:2]) == 1:  # a line scan: a stripe of a sixth of its length, not a line one pixel thick
        image = np.repeat(image, max(1, max(image.shape[:2]) // 6), axis=0 if image.shape[0] == 1 else 1)
    buffer = io.BytesIO()
    plt.imsave(buffer, np.clip(image, 0, 1), format="png")
    return buffer.getvalue()


def figure_thumbnail(path: str | os.PathLike[str], width: int = 720) -> tuple[str, bytes]:
    """The PNG figure at ``path`` made ``width`` pixels wide, as ``(mime type, bytes)``: JPEG or PNG, whichever
    is smaller (photographs of scenes favour JPEG, line plots PNG). What a scene's section embeds, linking to
    the full figure."""
    import io

    from PIL import Image

    with Image.open(path) as opened:
        figure = opened.convert("RGB")
        height = max(1, round(figure.height * width / figure.width))
        small = figure.resize((width, height), Image.Resampling.LANCZOS) if figure.width > width else figure
        encoded = []
        for kind, options in (("jpeg", {"quality": 80, "optimize": True}), ("png", {"optimize": True})):
            buffer = io.BytesIO()
            small.save(buffer, format=kind.upper(), **options)
            encoded.append((f"image/{kind}", buffer.getvalue()))
    return min(encoded, key=lambda item: len(item[1]))


def fusion_overview(panels: Mapping[str, xr.DataArray], path: str | os.PathLike[str], *,
                    reference: xr.DataArray | None = None, zoom: int = 4, pixels: int = 3, title: str = "") -> Path:
    """Write a PNG of a resolution enhancement: a colour composite of each panel (``{name: cube}`` on one fine
    grid, e.g. the input shown by pixel replication, the fused results, the reference) with the same stretch,
    a ``zoom`` x detail of the centre of each, and the spectra of ``pixels`` pixels in the results and the
    reference."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = {**panels, **({"reference": reference} if reference is not None else {})}
    first = next(iter(shown.values()))
    ny, nx, nb = first.shape
    rgb = rgb_bands(wavelengths(first, nb), nb)
    basis = np.asarray((reference if reference is not None else first).values, dtype=np.float64)[:, :, rgb]
    lo, hi = np.nanpercentile(basis, 2, axis=(0, 1)), np.nanpercentile(basis, 98, axis=(0, 1))
    hy, hx = max(8, ny // zoom), max(8, nx // zoom)
    window = (slice((ny - hy) // 2, (ny + hy) // 2), slice((nx - hx) // 2, (nx + hx) // 2))
    rng = np.random.default_rng(0)
    spots = [(int(rng.integers(window[0].start, window[0].stop)), int(rng.integers(window[1].start, window[1].stop)))
             for _ in range(pixels)]
    fig, grid = plt.subplots(3, len(shown), figsize=(3.2 * len(shown), 9.2), squeeze=False)
    x, xlabel = band_abscissa(first, nb)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for column, (name, cube) in enumerate(shown.items()):
        values = np.asarray(cube.values, dtype=np.float64)
        image = np.clip((values[:, :, rgb] - lo) / np.where(hi > lo, hi - lo, 1), 0, 1)
        grid[0, column].imshow(image, interpolation="nearest")
        grid[0, column].add_patch(plt.Rectangle((window[1].start, window[0].start), hx, hy, fill=False, ec="w"))
        grid[0, column].set_title(name, fontsize=11)
        grid[1, column].imshow(image[window], interpolation="nearest")
        for (sy, sx), colour in zip(spots, colours, strict=False):
            grid[1, column].plot(sx - window[1].start, sy - window[0].start, "+", color=colour, ms=9, mew=2)
        grid[1, column].set_title(f"{name}, {zoom}x detail", fontsize=10)
        for ax in grid[:2, column]:
            ax.set_axis_off()
        for (sy, sx), colour in zip(spots, colours, strict=False):
            grid[2, column].plot(x, values[sy, sx], color=colour, lw=1.2)
            if reference is not None and name != "reference":
                grid[2, column].plot(x, np.asarray(reference.values)[sy, sx], color=colour, lw=0.8, ls=":")
        grid[2, column].set_xlabel(xlabel, fontsize=9)
        grid[2, column].set_title("spectra (dotted: reference)" if reference is not None else "spectra",
                                  fontsize=10)
    fig.suptitle(title, fontsize=12)
    fig.tight_layout()
    return _save(fig, path)
