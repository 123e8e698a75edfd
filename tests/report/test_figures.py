"""Scene figures: the PNG shows the scene (not a blank canvas) and picks true-colour bands."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image
import numpy as np

from spectraflow import datasets
from spectraflow.report import rgb_bands, scene_overview
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
