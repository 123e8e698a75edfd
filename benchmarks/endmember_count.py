"""Do the estimators at hand count endmembers? Each one's estimate against the known count, on the real unmixing
scenes (Samson: 3, Jasper Ridge: 4, read from their ENVI files in ../shared/data) and on the default collection's
generated scenes (5, 4, 3 endmembers), clean and with the denoising protocol's mixture noise.

- HySime (ours, what ``unmix.n_endmembers: null`` used): the signal subspace's dimension (minimum projection
  error); an upper bound on the endmember count, not the count;
- HFC and NW-HFC (Harsanyi–Farrand–Chang virtual dimensionality; NW-HFC whitens the noise first, per-band noise
  from the regression estimate), at false-alarm rates 1e-3 and 1e-5: written here from the published test (the
  eigenvalues of the correlation and covariance matrices differ where a signal source is; a Neyman–Pearson
  threshold on their difference).

Run: ``python benchmarks/endmember_count.py`` (a few seconds).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

from spectraflow.datasets import shared_file
from spectraflow.io import read
from spectraflow.preprocess._noise import estimate_noise, hysime
from spectraflow.synth import add_noise, synthetic_scene

FALSE_ALARMS = (1e-3, 1e-5)
DEFAULT_SCENES = {"aviris": (0, "aviris", ["vegetation", "soil", "water", "asphalt", "kaolinite"]),
                  "enmap": (1, "enmap", ["vegetation", "soil", "water", "dry_vegetation"]),
                  "camera": (2, "camera31", ["vegetation", "soil", "asphalt"])}


def virtual_dimensionality(pixels: np.ndarray, false_alarm: float) -> int:
    """HFC: count the eigenvalue pairs (correlation ≥ covariance) whose difference passes the threshold."""
    n = len(pixels)
    correlation = pixels.T @ pixels / n
    mean = pixels.mean(axis=0)
    covariance = correlation - np.outer(mean, mean)
    by_correlation = np.sort(np.linalg.eigvalsh(correlation))[::-1]
    by_covariance = np.sort(np.linalg.eigvalsh(covariance))[::-1]
    spread = np.sqrt(2 * (by_correlation ** 2 + by_covariance ** 2) / n)
    return int(np.sum(by_correlation - by_covariance > norm.isf(false_alarm) * spread))


def estimates(cube: np.ndarray) -> list[int]:
    """HySime's k, then HFC and NW-HFC at each false-alarm rate."""
    pixels = cube.reshape(-1, cube.shape[-1]).astype(np.float64)
    pixels = pixels[np.isfinite(pixels).all(axis=1)]
    sigma = np.maximum(estimate_noise(pixels.reshape(1, *pixels.shape)), 1e-12)
    return [hysime(pixels.reshape(1, *pixels.shape)).k,
            *(virtual_dimensionality(pixels, pf) for pf in FALSE_ALARMS),
            *(virtual_dimensionality(pixels / sigma, pf) for pf in FALSE_ALARMS)]


def main() -> None:
    scenes: list[tuple[str, int, np.ndarray]] = [
        ("Samson (ENVI)", 3, read(shared_file("unmixing/samson/envi/samson_1.img"))["cube"].values),
        ("Jasper Ridge (ENVI)", 4,
         read(shared_file("unmixing/jasper_ridge/envi/jasperRidge2_R198.hdr"))["cube"].values),
    ]
    for name, (seed, sensor, endmembers) in DEFAULT_SCENES.items():
        clean = synthetic_scene(seed, height=96, width=96, endmembers=endmembers, sensor=sensor)["cube"].values
        scenes.append((f"default {name} ({sensor}), clean", len(endmembers), clean))
        noisy = add_noise(np.nan_to_num(clean / np.nanmax(clean)), case="mixture", seed=0)
        scenes.append((f"default {name} ({sensor}), mixture noise", len(endmembers), noisy))
    columns = ["HySime k", *(f"HFC Pf={pf:g}" for pf in FALSE_ALARMS), *(f"NW-HFC Pf={pf:g}" for pf in FALSE_ALARMS)]
    print("| scene | endmembers | " + " | ".join(columns) + " |")
    print("|---|---|" + "---|" * len(columns))
    exact = np.zeros(len(columns), dtype=int)
    for name, truth, cube in scenes:
        found = estimates(np.asarray(cube, dtype=np.float64))
        exact += np.asarray(found) == truth
        print(f"| {name} | {truth} | " + " | ".join(str(k) for k in found) + " |")
    print(f"| exact count | of {len(scenes)} | " + " | ".join(str(k) for k in exact) + " |")


if __name__ == "__main__":
    from _results import recorded

    with recorded("endmember_count"):
        main()
