"""The synthetic EELS spectrum image: its edges where the elements put them, plural scattering as the Poisson sum
of plasmon losses, counts that follow the dose, and anomalies a detector finds."""

from __future__ import annotations

import numpy as np
import pytest

from spectraflow import methods
from spectraflow.cube import spectral_axis, validate_scene
from spectraflow.errors import ConfigError
from spectraflow.metrics import roc_auc
from spectraflow.synth import EDGES, eels_scene
from spectraflow.synth._eels import _PLASMON_EV, _plural_scattering


def _jump(energy: np.ndarray, spectrum: np.ndarray, onset: float) -> float:
    """Counts just above ``onset`` over a power law fitted to the 40 eV below it (the analyst's edge jump)."""
    before = (energy > onset - 45) & (energy < onset - 5)
    slope, intercept = np.polyfit(np.log(energy[before]), np.log(spectrum[before]), 1)
    after = (energy > onset + 3) & (energy < onset + 15)
    return float(spectrum[after].mean() / np.exp(intercept + slope * np.log(energy[after])).mean())


def test_each_phase_shows_the_edges_of_its_elements_and_no_others() -> None:
    scene = eels_scene(int(np.random.default_rng().integers(1000)))
    validate_scene(scene)
    assert spectral_axis(scene).name == "energy_loss"
    energy = scene["energy_loss"].values
    cube, phase = scene["cube"].values.astype(np.float64), scene["phase_map"].values
    elements = {0: {"Ti", "O"}, 1: {"Fe", "O"}, 2: {"Fe", "Ti", "O"}}  # rutile, hematite, ilmenite
    for index, present in elements.items():
        mean = cube[phase == index].mean(axis=0)
        for element, edge in EDGES.items():
            jump = _jump(energy, mean, edge.onset)
            assert (jump > 1.05) == (element in present), (index, element, jump)  # absent: 1.00, present: >1.09


def test_plural_scattering_is_the_poisson_sum_of_plasmon_losses() -> None:
    single = np.zeros((1, 2, 512))
    single[..., 40] = 1.0
    thickness = np.array([[0.0, 0.8]])
    out = _plural_scattering(single, thickness, step=1.0)
    np.testing.assert_allclose(out[0, 0], single[0, 0], atol=1e-12)  # no specimen, no losses
    np.testing.assert_allclose(out[0, 1].sum(), 1.0, atol=2e-3)  # electrons are moved, not lost
    assert out[0, 1, 40] == pytest.approx(np.exp(-0.8), rel=1e-3)  # the unscattered fraction
    centroid = (np.arange(512) * out[0, 1]).sum()  # mean loss: t/λ times a plasmon's (about 22 eV)
    assert centroid - 40 == pytest.approx(0.8 * _PLASMON_EV, rel=0.1)


def test_counts_follow_the_dose_and_the_seed() -> None:
    high, low = eels_scene(3, dose=2000.0), eels_scene(3, dose=500.0)
    assert float(high["cube"].sum() / low["cube"].sum()) == pytest.approx(4.0, rel=0.01)
    assert np.array_equal(high["cube"].values, np.rint(high["cube"].values))  # counts
    np.testing.assert_array_equal(high["anomaly_map"].values, low["anomaly_map"].values)
    assert not np.array_equal(eels_scene(4)["anomaly_map"].values, high["anomaly_map"].values)
    assert np.array_equal(eels_scene(3)["cube"].values, eels_scene(3)["cube"].values)


def test_the_planted_regions_are_found_after_variance_stabilisation() -> None:
    """The issue's floor on a seed drawn here: AUC >= 0.99 at the default dose (benchmarks/anomaly.py records
    the sweep over dose and seeds). Drawn from seeds that chose no setting (1000–1099 chose ``attribute``'s
    ``mirror_weight``); over seeds 2000–2099 the lowest AUC was 0.9969, and 0.935 before ``mirror_weight``
    (regions cut by the scene's edge, 2 in 100); over 2000–2499 0.9969, and 0.908 (seed 2147, a region in a corner)
    while a corner's quadrant of the mirror counted ``mirror_weight`` rather than its square (until stop 71); over
    2500–2999 0.9967 (stop 78), so every seed drawn here was measured."""
    scene = eels_scene(int(np.random.default_rng().integers(2000, 3000)))
    stabilised = 2 * np.sqrt(scene["cube"] + 0.375)
    scores = methods.get("anomaly", "attribute")().scores(stabilised)
    assert roc_auc(scores, scene["anomaly_map"]) >= 0.99


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ConfigError, match="energy"):
        eels_scene(energy=(800.0, 400.0, 1.0))
    with pytest.raises(ConfigError, match="dose"):
        eels_scene(dose=0.0)
