"""Unmixing methods, one file each, grouped by regime as in HySUPP.

============  ===========================================================
supervised    ``fcls``, ``nnls``, ``sunsal`` (abundances given endmembers)
extraction    ``vca``, ``nfindr``, ``atgp`` (endmembers from the data)
blind         ``archetypal``, ``autoencoder`` (endmembers and abundances together)
============  ===========================================================
"""

from . import archetypal, atgp, autoencoder, fcls, nfindr, nnls, sunsal, vca  # noqa: F401  (registration)
from ._base import AbundanceEstimator, BlindUnmixer, EndmemberExtractor
from ._run import build_method, unmix_scene, unmix_store

__all__ = ["AbundanceEstimator", "EndmemberExtractor", "BlindUnmixer", "build_method", "unmix_scene",
           "unmix_store"]
