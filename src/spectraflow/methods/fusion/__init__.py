"""Resolution enhancement: a hyperspectral cube sharpened by a finer image of the scene, or alone.

=================  ==================================================================================
interpolation      ``cubic`` (cubic spline per band; no guide: also single-image super-resolution)
component subst.   ``gsa`` (Gram–Schmidt adaptive)
multiresolution    ``mtf_glp`` (MTF-matched Laplacian pyramid; per-band regression guides)
convex, subspace   ``subspace`` (HySure class: a spectral subspace, vector TV, the sensor model)
learned            ``sr_cnn`` (a small CNN restoring each band from the interpolated cube; single image)
=================  ==================================================================================

Contracts (``get("fuse", name)(**config)``): ``.fuse(hs, pan)`` (pansharpening), ``.fuse(hs, ms, srf=...)``
(HS–MS fusion), ``.superresolve(hs, ratio)`` (single image, for the methods that need no guide). The sensor
model of Wald's protocol (:func:`degrade`, :func:`upsample`, :func:`reduced_resolution`) is in :mod:`._base`;
the fuse stage's work (a scene and its companion image, every method, scored) in :func:`fuse_store`.
"""

from . import cubic, gsa, mtf_glp, sr_cnn, subspace  # noqa: F401  (registration)
from ._base import (
                    DEFAULT_MTF_GAIN,
                    Fuser,
                    band_responses,
                    blur,
                    degrade,
                    mtf_sigma,
                    reduced_resolution,
                    resolution_ratio,
                    upsample,
)
from ._run import RESULT_PREFIX, coarse_window, fuse_store, read_reference, scored_window
from .sr_cnn import SRData, train_sr_cnn

__all__ = ["Fuser", "DEFAULT_MTF_GAIN", "band_responses", "blur", "degrade", "mtf_sigma", "reduced_resolution",
           "resolution_ratio", "upsample", "SRData", "train_sr_cnn", "fuse_store", "read_reference", "scored_window",
           "coarse_window", "RESULT_PREFIX"]
