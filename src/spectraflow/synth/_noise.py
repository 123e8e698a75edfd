"""Seeded noise models: the protocol the hyperspectral denoising literature benchmarks with.

On a clean cube ``(y, x, band)`` scaled to [0, 1], following QRNN3D (Wei et al., IEEE TNNLS 32(1), 2021),
HSDT and HyDe:

``gaussian``   i.i.d. Gaussian of one σ (``sigma``, in units of 1/255; the field uses 30, 50, 70).
``blind``      i.i.d. Gaussian with σ drawn once per cube from U[10, 70]/255.
``noniid``     each band its own σ drawn from {10, 30, 50, 70}/255.
``stripe``     ``noniid`` plus stripes: on a third of the bands, 5–15 % of the columns shifted by U[−0.25, 0.25].
``deadline``   ``noniid`` plus dead lines: on a third of the bands, 5–15 % of the columns set to 0.
``impulse``    ``noniid`` plus salt-and-pepper on a third of the bands, each at a ratio from {0.1, 0.3, 0.5, 0.7}.
``mixture``    ``noniid`` plus stripes, dead lines and impulse, each on its own disjoint third of the bands.
``poisson``    shot noise of photon-limited data: ``Poisson(clean × peak) / peak`` (``peak`` photons at 1.0).

The draws that concern the whole cube (σ of each band, which bands and columns are corrupted, stripe offsets,
impulse ratios) come from the seed's own stream; the draws of each row of pixels from a stream of their own,
spawned from the seed with the row's index (NumPy's ``SeedSequence`` spawn keys, PCG64). So a cube read block
by block from a store gets exactly the noise of the cube in memory, whatever its blocks, and the same seed
gives the same noise on any machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..cube import array_of
from ..errors import ConfigError

__all__ = ["NOISE_CASES", "add_noise"]

NOISE_CASES = ("gaussian", "blind", "noniid", "stripe", "deadline", "impulse", "mixture", "poisson")
NONIID_SIGMAS = (10, 30, 50, 70)
IMPULSE_RATIOS = (0.1, 0.3, 0.5, 0.7)


@dataclass(frozen=True)
class _CubeDraws:
    """What a noise case draws once per cube; each row then draws its own pixels' noise."""

    case: str
    seed: int
    sigma: np.ndarray  # (band,) Gaussian σ of each band, in [0, 1] units
    stripes: dict[int, tuple[np.ndarray, np.ndarray]]  # band -> (columns, offsets)
    deadlines: dict[int, np.ndarray]  # band -> columns
    impulses: dict[int, float]  # band -> ratio
    peak: float

    @classmethod
    def draw(cls, case: str, seed: int, width: int, n_bands: int, sigma: float, peak: float) -> _CubeDraws:
        rng = np.random.default_rng(seed)
        stripes: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        deadlines: dict[int, np.ndarray] = {}
        impulses: dict[int, float] = {}
        if case == "gaussian":
            sigmas = np.full(n_bands, sigma / 255.0)
        elif case == "blind":
            sigmas = np.full(n_bands, rng.uniform(10, 70) / 255.0)
        elif case == "poisson":
            sigmas = np.zeros(n_bands)
        else:
            sigmas = rng.choice(NONIID_SIGMAS, size=n_bands) / 255.0
            third = max(1, n_bands // 3)
            order = rng.permutation(n_bands)
            kinds = {"stripe": ("stripe",), "deadline": ("deadline",), "impulse": ("impulse",),
                     "mixture": ("stripe", "deadline", "impulse")}.get(case, ())
            for i, kind in enumerate(kinds):
                # each kind on its own third of the bands (disjoint in the mixture)
                bands = np.sort(order[i * third:(i + 1) * third] if case == "mixture" else order[:third])
                for b in bands.tolist():
                    if kind == "stripe":
                        columns = _columns(rng, width)
                        stripes[b] = (columns, rng.uniform(-0.25, 0.25, size=columns.size))
                    elif kind == "deadline":
                        deadlines[b] = _columns(rng, width)
                    else:
                        impulses[b] = float(rng.choice(IMPULSE_RATIOS))
        return cls(case, seed, sigmas, stripes, deadlines, impulses, peak)

    def rows(self, clean: np.ndarray, first_row: int) -> np.ndarray:
        """The noisy rows (float32) of ``clean`` rows ``(row, x, band)``, the first of which is ``first_row``."""
        noisy = np.empty(clean.shape, dtype=np.float32)
        for i, stored in enumerate(clean):
            row = np.asarray(stored, dtype=np.float64)  # a row at a time, not the block
            rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(first_row + i,)))
            if self.case == "poisson":
                noisy[i] = rng.poisson(np.clip(row, 0, None) * self.peak) / self.peak
                continue
            values = row + rng.standard_normal(row.shape) * self.sigma
            for b, (columns, offsets) in self.stripes.items():
                values[columns, b] += offsets
            for b, columns in self.deadlines.items():
                values[columns, b] = 0.0
            for b, ratio in self.impulses.items():
                hit = rng.random(row.shape[0]) < ratio
                salt = rng.random(row.shape[0]) < 0.5
                values[hit & salt, b] = 1.0
                values[hit & ~salt, b] = 0.0
            noisy[i] = values
        return noisy


def _columns(rng: np.random.Generator, width: int) -> np.ndarray:
    count = int(rng.integers(int(np.ceil(0.05 * width)), int(np.floor(0.15 * width)) + 1))
    return rng.choice(width, size=max(count, 1), replace=False)


def add_noise(clean: Any, case: str, seed: int = 0, *, sigma: float = 30.0, peak: float = 100.0) -> Any:
    """A noisy copy (float32) of ``clean`` ``(y, x, band)`` in [0, 1] under noise model ``case``: NumPy for a
    NumPy cube, a lazy dask array for a dask one (computed block by block, rows whole).

    ``sigma`` (units of 1/255) is used by ``gaussian``; ``peak`` by ``poisson``. Values are not clipped (the
    protocol leaves the Gaussian tails), except where impulse noise sets 0 or 1.
    """
    if case not in NOISE_CASES:
        raise ConfigError(f"noise case {case!r}: expected one of {NOISE_CASES}")
    if case == "gaussian" and not sigma > 0:
        raise ConfigError(f"gaussian noise sigma={sigma!r}: expected a positive value (units of 1/255)")
    if case == "poisson" and not peak > 0:
        raise ConfigError(f"poisson noise peak={peak!r}: expected a positive photon count")
    data = array_of(clean)
    if data.ndim != 3:
        raise ConfigError(f"noise needs a (y, x, band) cube; got shape {data.shape}")
    draws = _CubeDraws.draw(case, seed, data.shape[1], data.shape[2], sigma, peak)
    if not hasattr(data, "map_blocks"):
        return draws.rows(np.asarray(data), 0)

    def block(values: np.ndarray, block_info: dict[Any, Any] | None = None) -> np.ndarray:
        assert block_info is not None
        return draws.rows(values, block_info[0]["array-location"][0][0])

    whole_rows = data.rechunk({1: -1, 2: -1})  # a row's draws need the whole row
    return whole_rows.map_blocks(block, dtype=np.float32, meta=np.empty((0, 0, 0), np.float32))
