"""Denoising methods, one file each: ``get("denoise", name)(**config).denoise(cube)``.

``subspace_tv``         noise-whitened low-rank subspace with TV-denoised eigen-images (FastHyDe class), then a
                        DCT Wiener step with TV's result as its pilot.
``robust_subspace_tv``  the same under an ℓ1 fit (low rank + sparse), for stripes/dead lines/impulse (L1HyMixDe
                        class).
``subspace_learned``    ``subspace_tv`` whose TV-denoised eigen-images a small network refines, trained on the
                        eigen-images of other scenes by :func:`train_denoiser` (noise-whitened, so it transfers),
                        averaged with ``subspace_tv``'s own (``wiener_share``: by default each eigen-image's
                        share chosen by Stein's unbiased risk estimate).
``qrnn3d``              a deep spatial–spectral network (quasi-recurrent over the bands, QRNN3D class) for any
                        band count; trained by :func:`train_denoiser`, applied tile by tile.
"""

from . import qrnn3d, robust_subspace_tv, subspace_learned, subspace_tv  # noqa: F401  (registration)
from ._base import Denoiser, TrainedDenoiser
from ._run import RESULT_PREFIX, denoise_store
from ._training import DenoiserData, train_denoiser

__all__ = ["Denoiser", "TrainedDenoiser", "denoise_store", "RESULT_PREFIX", "DenoiserData", "train_denoiser"]
