"""Denoising methods, one file each: ``get("denoise", name)(**config).denoise(cube)``.

``subspace_tv``         HySime-whitened low-rank subspace with TV-denoised eigen-images (FastHyDe class).
``robust_subspace_tv``  the same under an ℓ1 fit (low rank + sparse), for stripes/dead lines/impulse (L1HyMixDe
                        class).
"""

from . import robust_subspace_tv, subspace_tv  # noqa: F401  (registration)
from ._base import Denoiser
from ._run import denoise_store

__all__ = ["Denoiser", "denoise_store"]
