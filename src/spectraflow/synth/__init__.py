"""Seeded generators of data that need no file and no network."""

from ._eels import EDGES, PHASES, eels_scene, write_eels_hspy
from ._noise import NOISE_CASES, add_noise
from ._operator_data import EQUATIONS, operator_data
from ._scene import (
                     COMPANION_BANDS,
                     ENDMEMBER_LIBRARY,
                     Acquisition,
                     endmember_spectra,
                     sensor_grid,
                     synthetic_acquisition,
                     synthetic_scene,
                     write_scene_envi,
)

__all__ = ["EDGES", "PHASES", "eels_scene", "write_eels_hspy",
           "NOISE_CASES", "add_noise", "EQUATIONS", "operator_data", "ENDMEMBER_LIBRARY", "COMPANION_BANDS",
           "Acquisition", "endmember_spectra", "sensor_grid", "synthetic_acquisition", "synthetic_scene",
           "write_scene_envi"]
