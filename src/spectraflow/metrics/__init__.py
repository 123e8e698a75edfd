"""The field's metrics, on NumPy arrays (xarray objects are accepted and their values used).

Unmixing: :func:`sad` (spectral angle distance between endmembers, degrees), :func:`match_endmembers`
(Hungarian assignment of estimated to true endmembers by SAD), :func:`rmse`, :func:`sre` (signal-to-
reconstruction error, dB). Denoising: :func:`mpsnr`, :func:`mssim`, :func:`sam`, :func:`ergas`.
"""

from ._image import denoising_scores, ergas, mpsnr, mssim, sam
from ._unmix import match_endmembers, rmse, sad, spectral_angle, sre, unmixing_scores

__all__ = ["spectral_angle", "sad", "match_endmembers", "rmse", "sre", "unmixing_scores",
           "mpsnr", "mssim", "sam", "ergas", "denoising_scores"]
