"""Scene figures: the PNG shows the scene (not a blank canvas) and picks true-colour bands."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image
import numpy as np

from spectraflow import datasets
from spectraflow.report import denoising_overview, rgb_bands, scene_overview, training_curves
from spectraflow.synth import synthetic_scene


def test_true_colour_bands_are_nearest_to_rgb() -> None:
    wavelength = np.linspace(400, 2500, 224)
    red, green, blue = rgb_bands(wavelength, 224)
    assert abs(wavelength[red] - 640) < 5 and abs(wavelength[green] - 550) < 5 and abs(wavelength[blue] - 460) < 5
    assert rgb_bands(np.full(10, np.nan), 10) == [9, 4, 0]


def _check_png(path: Path) -> None:
    image = matplotlib.image.imread(path)
    assert image.shape[0] > 300 and image.shape[1] > 800
    assert image[..., :3].std() > 0.1  # drawn content, not a blank canvas
    assert len(np.unique(image[..., :3].reshape(-1, 3), axis=0)) > 200


def test_overview_of_synthetic_and_real_scenes(tmp_path: Path) -> None:
    _check_png(scene_overview(synthetic_scene(0, height=40, width=40), tmp_path / "synthetic.png"))
    _check_png(scene_overview(datasets.load("san_diego"), tmp_path / "san_diego.png"))  # no wavelengths, no truth
    assert sorted(p.name for p in tmp_path.iterdir()) == ["san_diego.png", "synthetic.png"]  # nothing partial


def test_a_line_scan_shows_as_a_stripe(tmp_path: Path) -> None:
    """A scene one pixel high or wide (an EELS line scan): its maps fill their panels as stripes, as a square
    scene's do, and its thumbnail is a stripe too (at equal aspect both were a line one pixel thick: under 1 %
    of the panel inked)."""
    import io

    from spectraflow.report.figures import scene_thumbnail

    scene = synthetic_scene(0, height=32, width=32).drop_vars(["endmembers", "abundances"])
    for shape in [(1, 1024), (1024, 1)]:
        line = scene.assign(cube=(("y", "x", "band"), scene["cube"].values.reshape(*shape, -1)))
        image = matplotlib.image.imread(scene_overview(line, tmp_path / "line.png"))
        rgb_panel = image[:, : image.shape[1] // 3, :3]
        assert (rgb_panel.min(axis=2) < 0.95).mean() > 0.3
        thumbnail = matplotlib.image.imread(io.BytesIO(scene_thumbnail(line)))
        assert min(thumbnail.shape[:2]) >= 10


def test_training_curves_and_denoising_comparison(tmp_path: Path) -> None:
    curves = tmp_path / "curves.csv"
    rows = ["epoch,train_loss,val_loss,val_mpsnr,lr"]
    rows += [f"{e},{0.1 / (e + 1)},{0.12 / (e + 1)},{20 + e},0.001" for e in range(6)]
    curves.write_text("\n".join(rows) + "\n")
    image = matplotlib.image.imread(training_curves(curves, tmp_path / "curves.png", title="run"))
    assert image.shape[1] > 600 and image[..., :3].std() > 0.05
    scene = synthetic_scene(1, height=32, width=32)["cube"]
    clean = scene / float(scene.max())
    noisy = clean + 0.05
    path = denoising_overview({"a": clean * 0.99, "b": clean * 0.98}, tmp_path / "d.png", noisy=noisy, clean=clean)
    wide = matplotlib.image.imread(path)
    assert wide.shape[1] > 1100 and wide.shape[0] > 700  # noisy, a, b, clean and the spectra: rows of three panels
