"""Dask-lazy spectral preprocessing over the cube data model (chunks of whole spectra).

Operations are plain functions; the registered steps (family ``preprocess``: ``radiometric``, ``bad_bands``,
``normalize``, ``savgol``, ``continuum_removal``, ``anscombe``, ``pca``, ``mnf``, ``resample``) wrap them with
validated parameters so that ``params.yaml`` can declare a chain::

    preprocess:
      steps:
        - radiometric: {}
        - bad_bands: {header: true, min_snr: 3}
        - normalize: {method: robust, percentiles: [1, 99]}

Statistics are fitted out of core in one pass per fitted step (:func:`band_statistics`) and recorded, with
the parameters, in the result's ``preprocessing`` attribute (:func:`invert` applies the inverse). Memory is
bounded by the chunk size: each dask block is one window of whole spectra and is reduced where it lives.
"""

from . import _steps  # noqa: F401  (registers the steps)
from ._bands import WATER_WINDOWS_NM, band_snr, in_windows
from ._chain import PREPROCESSING, chain_records, invert, parse_steps, preprocess_store, run_chain
from ._decompose import Projection, fit_mnf, fit_pca
from ._filters import continuum_removed, gaussian_response, savgol, upper_hull_continuum
from ._noise import NOISE_METHODS, HySime, estimate_noise, hysime, noise_covariance, quadratic_forms
from ._normalize import NORMALIZATIONS, Normalization, fit_normalization
from ._patches import PatchConfig, Window, extract_patches, patch_table, tile_windows
from ._radiometric import VALID, to_physical
from ._stats import BandStatistics, along_rows, band_statistics
from ._steps import Step

__all__ = [
    "WATER_WINDOWS_NM", "band_snr", "in_windows",
    "PREPROCESSING", "chain_records", "invert", "parse_steps", "preprocess_store", "run_chain",
    "Projection", "fit_mnf", "fit_pca",
    "continuum_removed", "gaussian_response", "savgol", "upper_hull_continuum",
    "NOISE_METHODS", "HySime", "estimate_noise", "hysime", "noise_covariance", "quadratic_forms",
    "NORMALIZATIONS", "Normalization", "fit_normalization",
    "PatchConfig", "Window", "extract_patches", "patch_table", "tile_windows",
    "VALID", "to_physical",
    "BandStatistics", "along_rows", "band_statistics",
    "Step",
]
