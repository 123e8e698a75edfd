"""Anomaly detectors: a score per pixel, higher = more anomalous.

=============  =====================================================================================
global         ``rx`` (Reed–Xiaoli: Mahalanobis distance to the scene's mean and covariance)
local          ``local_rx`` (dual window: distance to the ring of pixels around each pixel, outside a guard)
representation ``crd`` (collaborative representation: how badly the ring's pixels reconstruct each pixel)
morphological  ``attribute`` (what area openings/closings of the leading components remove: small objects)
learned        ``cvae`` (a 3-D convolutional VAE trained on the scene: negative ELBO per pixel)
=============  =====================================================================================

Contract: ``get("anomaly", name)(**config).scores(cube)`` → a ``(y, x)`` DataArray on the cube's coordinates.
The stage (``anomaly@<scene>``) runs :func:`detect_store`.
"""

from . import attribute, crd, cvae, local_rx, rx  # noqa: F401  (registration)
from ._base import Detector
from ._run import SCORES, detect_store

__all__ = ["Detector", "SCORES", "detect_store"]
