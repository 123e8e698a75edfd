"""Denoising methods, one file each: ``get("denoise", name)(**config).denoise(cube)``.

``subspace_tv``  HySime-whitened low-rank subspace with TV-denoised eigen-images (FastHyDe class).
"""

from . import subspace_tv  # noqa: F401  (registration)
from ._base import Denoiser

__all__ = ["Denoiser"]
