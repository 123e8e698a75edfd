"""The field's metrics, on NumPy arrays (xarray objects are accepted and their values used).

Unmixing: :func:`sad` (spectral angle distance between endmembers, degrees), :func:`match_endmembers`
(Hungarian assignment of estimated to true endmembers by SAD), :func:`rmse`, :func:`sre` (signal-to-
reconstruction error, dB). Denoising and operators add theirs here.
"""

from ._unmix import match_endmembers, rmse, sad, spectral_angle, sre, unmixing_scores

__all__ = ["spectral_angle", "sad", "match_endmembers", "rmse", "sre", "unmixing_scores"]
