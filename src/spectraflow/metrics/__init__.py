"""The field's metrics, on NumPy arrays (xarray objects are accepted and their values used).

Unmixing: :func:`sad` (spectral angle distance between endmembers, degrees), :func:`match_endmembers`
(Hungarian assignment of estimated to true endmembers by SAD), :func:`rmse`, :func:`sre` (signal-to-
reconstruction error, dB), :func:`sufficiently_scattered` (whether abundances make the factorisation
identifiable, with a margin). Denoising: :func:`band_psnr`, :func:`mpsnr`, :func:`mssim`, :func:`sam`,
:func:`ergas`. Fusion: :func:`fusion_scores`, :func:`q_index`, :func:`q_avg`, :func:`qnr`. Anomaly
detection: :func:`roc_auc`, :func:`roc_curve`, :func:`anomaly_scores`, :func:`auc_difference` and
:func:`compare_auc` (two detectors' AUCs compared, with a standard error and an interval). Operator learning:
:func:`relative_l2`, :func:`relative_h1`, :func:`relative_sobolev`.
"""

from ._anomaly import AucComparison, anomaly_scores, auc_difference, compare_auc, roc_auc, roc_curve
from ._fusion import fusion_scores, q_avg, q_index, qnr
from ._identifiability import Scattering, sufficiently_scattered
from ._image import band_psnr, denoising_scores, denoising_scores_by_band, ergas, mpsnr, mssim, sam
from ._operator import relative_h1, relative_l2, relative_sobolev
from ._unmix import match_endmembers, rmse, sad, spectral_angle, sre, unmixing_scores

__all__ = ["spectral_angle", "sad", "match_endmembers", "rmse", "sre", "unmixing_scores",
           "sufficiently_scattered", "Scattering",
           "band_psnr", "mpsnr", "mssim", "sam", "ergas", "denoising_scores", "denoising_scores_by_band",
           "fusion_scores", "q_index", "q_avg", "qnr",
           "roc_auc", "roc_curve", "anomaly_scores", "auc_difference", "compare_auc", "AucComparison",
           "relative_l2", "relative_h1", "relative_sobolev"]
