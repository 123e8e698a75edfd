"""Seeded generators of data that need no file and no network."""

from ._noise import NOISE_CASES, add_noise
from ._scene import ENDMEMBER_LIBRARY, endmember_spectra, sensor_grid, synthetic_scene, write_scene_envi

__all__ = ["NOISE_CASES", "add_noise", "ENDMEMBER_LIBRARY", "endmember_spectra", "sensor_grid", "synthetic_scene",
           "write_scene_envi"]
