"""Subspace denoising of the FastHyDe class: noise whitening, a low-rank signal subspace, TV and Wiener on eigen-images.

The spectra of a hyperspectral image live close to a low-dimensional subspace, so the cube is written as
``Y = E Z + noise`` with ``E`` (band × k) orthonormal and ``Z`` the k eigen-images; denoising the few
eigen-images instead of every band removes most of the noise by the projection alone [1]_. Here:

1. the per-band noise σ is estimated (``noise_method``: by default each band's neighbour differences regressed on
   the other bands', ``difference_regression`` in :mod:`spectraflow.preprocess`) and the bands are whitened by it,
   so non-i.i.d. noise becomes i.i.d. with unit variance;
2. ``E`` holds the first ``k`` principal directions of the whitened data (``subspace``: an integer, or
   ``None`` for HySime's estimate, never below ``min_subspace`` — HySime underestimates at strong noise); with
   ``drop_white`` (the default) a direction whose eigen-image cannot be told from white noise is left out (below);
3. each eigen-image (unit noise variance by construction) is denoised by total variation [2]_ with weight
   ``weight``, and the cube is reconstructed and un-whitened;
4. with ``wiener`` (the default), after TV and before the cube is rebuilt, each eigen-image is Wiener-filtered in
   sliding 8 × 8 DCT windows, TV's result the pilot that sets the gains (BM3D's second step without block matching [3]_,
   ``._wiener``): TV finds where the texture is, and the filter keeps it from the noisy eigen-image instead of TV's
   flattened copy.

The noise estimate was HySime's regression (``noise_method: regression``) until stop 77, which over-estimates σ on a
cube of few bands (its own signal left in each band's residual). ``difference_regression`` was chosen on the four
training scenes below (``python benchmarks/denoise.py --noise-estimator``, ``results/denoise_noise_estimator.md``;
Gaussian σ 30 / 50 and non-i.i.d., noise seed 7), with all their bands and every 6th and 20th (about 30 and 10): a mean
MPSNR gain of +0.04 / +0.09 / +1.37 dB (worst cases −0.01 / −0.29 / −0.17). Reported on the scored scenes (San
Diego, ABU urban-1 and beach-2, noise seeds 0–2): +0.03 / +0.39 / +0.78 on the mean, each case's mean from −0.18 to
+0.19 dB with all bands (beach-2's non-i.i.d. case the lowest: with σ closer to the truth the test below keeps its
weak third eigen-image in more draws) and from −1.07 to +2.64 with few. At any fixed number of eigen-images the
closer σ gains more (ABU urban-1, every 20th band, Gaussian σ 30, noise seeds 100–105, by hand: +0.8 / +2.6 / +2.0 dB
at 1 / 2 / 3); which number the defaults keep is what makes single draws lose.

``min_subspace`` 3 was chosen at stop 65 on the four scenes ``subspace_learned``'s prior trains on (Jasper Ridge,
Samson, ABU beach-3 and urban-3), never on a scene the denoising benchmark scores (``python benchmarks/denoise.py
--training-scenes``, ``benchmarks/results/denoise_training_scenes.md``): on the mean of the Gaussian σ 30 and 50 and
non-i.i.d. cases, at least 2 / 4 / 6 / 8 / 10 eigen-images score −0.01 / −0.33 / −1.07 / −1.66 / −2.17 dB MPSNR
against 3. Until then it was 4, set when the method was written and never chosen. HySime alone takes 2–5 there.
Rechecked at stop 73 with ``drop_white`` (``python benchmarks/denoise.py --min-subspace``,
``results/denoise_min_subspace.md``; the same scenes, noise seed 7): at least 2 / 4 / 5 / 6 / 8
score −0.10 / −0.07 / −0.04 / −0.05 / −0.05 dB against 3 (the test leaves out most of what more would add; what it
keeps gains up to +0.29 dB on Jasper Ridge and costs 0.18–0.29 in four other cases), so 3 stands; rechecked at stop 77
with the ``difference_regression`` noise estimate: −0.10 / −0.04 / −0.04 / −0.05 / −0.05, 3 stands.
``weight`` 0.7 is each eigen-image's own best before the Wiener step (stop 74, by hand: each eigen-image's error
against the clean one after both steps over weights 0.2 / 0.3 / 0.45 / 0.7 / 1 / 1.5 / 2.2 / 3.3, ABU urban-3 and
Jasper Ridge, Gaussian σ 30 / 50 and non-i.i.d., noise seed 7): 0.7 in 20 of 21 eigen-images, the other's error lower
by 1 % of the summed error at 0.45, so a weight per eigen-image (chosen by SURE, say) has nothing to gain. Nor
has a weight that varies over the image (stop 75, by hand, urban-3, the same cases): with each 8 × 8 block's weight
picked from 0.2–2.2 by the clean eigen-image (an oracle a network predicting the weights could at best
approach), the summed error after the Wiener step is 0.781 / 0.517 / 0.963 of the unit noise variance against 0.794 /
0.539 / 0.977, 1–4 % lower (4 × 4 blocks, which begin to pick the noise: 5–9 %).
Tried at stop 66 on the same scenes and not taken: the number of eigen-images chosen per scene (2–8) by Monte-Carlo
SURE, the whole method rerun on a copy probed with noise. Its whitened error picked what the true whitened error
picked in 11 of 12 cases, but that error weights the quiet bands most, and MPSNR does not: +0.05 dB MPSNR over 3 on
the mean (the best per case would give +0.19), losing 0.28–0.47 dB in the non-i.i.d. case on three scenes. A SURE
per band (for MPSNR itself) was too noisy to choose with: negative in 15–37 bands of a scene, −0.48 dB.

The Wiener step (stop 68; ``python benchmarks/denoise.py --wiener``, ``benchmarks/results/denoise_wiener.md``) was
chosen on the same four scenes, never on a scored one: +0.743 / +0.477 / +0.362 / +0.291 dB MPSNR over TV alone there
(Jasper Ridge, Samson, ABU beach-3, urban-3; mean of Gaussian σ 30 / 50 and non-i.i.d., noise seed 7), +0.23 to +0.79 in
each of the 12 cases, with SAM lower in all; in their mixture case +0.09 to +0.35 with ``sparse`` (SAM within 0.03°) and
−0.08 to −0.25 without it (rerun at stop 74 with ``drop_white``: Samson +0.396, its third eigen-image at σ 50 now left
out of TV alone too; without ``sparse`` Jasper Ridge's mixture now +0.09, the others −0.08 to −0.19), where stripes and
impulses are not the Gaussian noise the gains assume and the pilot keeps them (mixed noise wants ``sparse: true`` or
``robust_subspace_tv`` either way). On the scored scenes of ``benchmarks/results/denoise.md`` (3 seeds, measured while
it was an option) +0.47 / +0.44 / +0.43 on San Diego, +0.19 / +0.25 / +0.29 on ABU urban-1 and +0.66 / +0.77 / +0.48 on
beach-2, for 0.1 s more per 100 × 100 scene. ``wiener: false`` gives the method of stops 1–67. Tried at stop 69 and not
taken: block matching in the step (BM3D's second step whole: for each 8 × 8 reference window at a stride of 3, its 16
nearest windows in the pilot within ±9 pixels, filtered together in a 3-D DCT; by hand, same scenes and noise): mean
+0.485 dB over TV alone against the sliding windows' +0.468, lower in 3 of the 12 cases, for 10–30× the step's time.
TV's result as the pilot is what limits both (with the clean eigen-images as the pilot the sliding windows alone gain
+1.0 to +1.7 dB on urban-1 and San Diego, ``subspace_learned``'s docstring; with that oracle pilot, block matching adds
only +0.02 to +0.14 dB to the sliding windows on urban-3 and Jasper Ridge, stop 73 by hand). Nor a second pass with the
first one's result as its pilot: +0.436 (+0.467 averaged with the first). Nor a vectorial TV as the pilot, one TV over
the eigen-images together (the gradient's norm taken across them, so that an edge of the strong eigen-images lets the
weak ones keep theirs; stop 75, by hand, ABU urban-3 and Jasper Ridge, Gaussian σ 30 / 50 and non-i.i.d., noise seed 7):
the eigen-images' summed error after the Wiener step was at best level with TV per eigen-image (weight 1.4: 0.792
against 0.794 of the unit noise variance on urban-3 at σ 30, 0.540 against 0.539 at σ 50, 0.992 against 0.977
non-i.i.d.; Jasper Ridge 1.537 / 1.005 / 2.042 against 1.537 / 1.004 / 2.038), and above it at weights 0.7, 1 and 2.
Nor a learned shrinkage in place of the Wiener gain (stop 78, by hand, the same four scenes and cases, noise seed 7):
each DCT coefficient's gain a table of its frequency, its pilot's magnitude and its own (32 × 32 logarithmic bins),
fitted by least squares to the clean eigen-images of three scenes (drawn towards the Wiener gain where a bin holds
little) and scored on the fourth: the summed error after the step was above the Wiener gain's in 9 of the 12 held-out
cases (Samson 0.753 / 0.504 / 0.933 against 0.730 / 0.488 / 0.914) and at most 0.5 % below in the others. With TV's
result as the pilot, ``p² / (p² + σ²)`` is already what the pair (pilot, noisy coefficient) can tell.

``min_subspace`` can force in an eigen-image that holds no signal at all: on ABU beach-2 the third is white noise (its
clean part's spread 0.04 of the unit noise's). TV and the Wiener step keep a few blobs of it, which the rebuilt cube
carries into every band. ``drop_white`` (stop 72) leaves out each direction, past the first, whose eigen-image's
correlation between horizontal neighbours is within 3 standard errors (3/√n over n pairs) of white noise's 0: a test,
not a setting chosen on data (with 9 pairs or fewer, as in a single column, no correlation can pass it, and nothing is
left out). The correlation comes from the same streaming pass, as 1 − E[d²] / 2 var over the neighbour differences
``d``. Their Gram matrix costs as much as the pixels' own, so on a scene of 2 × 2¹⁸ pairs or more they come from every
n-th row (:data:`WHITE_TEST_PAIRS`; stop 73): the pass over a generated 8 GB cube, from disk, took 1.57× as long as
without them over every row and 0.90× thinned (63 and 36 s; within these machines' drift), 1.43× and 1.04× at
1 GB (``python benchmarks/scale.py --sizes 1 8 --statistics``, ``results/scale_statistics.md``). On the four scenes
``min_subspace`` was chosen on (``python benchmarks/denoise.py --white``,
``benchmarks/results/denoise_white.md``: Gaussian σ 30 / 50 and non-i.i.d., noise seeds 0, 1, 2, 7) it drops Samson's
third at σ 50 in all four draws (+0.20 to +0.34 dB MPSNR) and nothing else: the eigen-images kept there correlate at
0.076 and above, against thresholds of 0.030–0.032. On the scored scenes it drops beach-2's third in 10 of 12 draws
(+0.49 to +0.90 dB; kept at 0.054 and 0.062 in two non-i.i.d. draws), nothing on San Diego or urban-1; in ``denoise.md``
(seeds 0–2) ``subspace_tv`` gains +0.56 / +0.68 / +0.30 dB on beach-2, where its SAM is now below FastHyDe's in the
Gaussian cases too (2.16° against 2.20° at σ 30). ``drop_white: false`` gives the method of stops 68–71. With the
``difference_regression`` estimate (stop 77, rerun) it drops the same in the Gaussian draws (samson +0.19 to +0.33,
beach-2 +0.48 to +0.72) and beach-2's third in none of its four non-i.i.d. draws: whitened by the closer σ, that
eigen-image correlates 0.032–0.090, above its threshold of 0.030. It is not noise there: its clean part's power is 0.05
/ 0.06 / 0.15 / 0.16 of the unit noise's in noise seeds 7 / 1 / 2 / 0 (0.001–0.003 in the Gaussian draws; stop 78, by
hand), yet keeping it costs 0.55–0.85 dB of MPSNR (45.40–45.76 against 46.17–46.41 with two). Its error lands on the
noisiest bands: in seeds 0 and 7 the half of the bands with the higher σ lose 1.2 and 1.0 dB, the quieter half move
by +0.10 and −0.25, and the whitened error, which weighs the quiet bands most, is lower or level (0.00406 against
0.00457, 0.00426 both); MPSNR weighs every band alike (the mismatch the SURE choice of stop 66 met, above). So
beach-2's non-i.i.d. case is the one where the closer σ costs (−0.18 dB, above).

Steps 1–2 need only the band Gram matrices (of the pixels and of their neighbour differences), accumulated in one
streaming pass; steps 3–4 run tile by tile with a ``halo`` (the Wiener step reaches 7 pixels; TV's reach is not
bounded, but it decays within a few pixels: the tiled result is within 0.05 dB MPSNR of the whole-cube one,
tests/denoise/test_denoisers.py and benchmarks/scale.py).

References
----------
.. [1] L. Zhuang and J. M. Bioucas-Dias, "Fast hyperspectral image denoising and inpainting based on low-rank
   and sparse representations," IEEE JSTARS 11(3), 730-742, 2018 (FastHyDe).
.. [2] A. Chambolle, "An algorithm for total variation minimization and applications," JMIV 20, 2004.
.. [3] K. Dabov, A. Foi, V. Katkovnik and K. Egiazarian, "Image denoising by sparse 3-D transform-domain
   collaborative filtering," IEEE TIP 16(8), 2007 (BM3D).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import register
from ._base import Denoiser
from ._tv import tv_denoise
from ._wiener import dct_wiener

if TYPE_CHECKING:
    from ...preprocess import BandStatistics


@dataclass(frozen=True)
class EigenImages:
    """How a cube's ``k`` eigen-images of unit noise are found (:meth:`eigen_images`, by each subspace) and how
    the cube is rebuilt from them, float32 on the data's side."""

    rebuild: np.ndarray  # (k, band): the basis back to the cube's units
    level: np.ndarray  # (band,): the mean spectrum

    @property
    def k(self) -> int:
        return self.rebuild.shape[0]

    def eigen_images(self, window: np.ndarray) -> np.ndarray:
        """``(k, y, x)`` eigen-images of a ``(y, x, band)`` window; their noise has unit variance."""
        raise NotImplementedError

    def cube(self, eigen_images: np.ndarray) -> np.ndarray:
        """The ``(y, x, band)`` float32 cube of ``(k, y, x)`` eigen-images."""
        _, height, width = eigen_images.shape
        cube = eigen_images.reshape(self.k, -1).T.astype(np.float32) @ self.rebuild
        cube += self.level
        return cube.reshape(height, width, -1)


@dataclass(frozen=True)
class WhitenedSubspace(EigenImages):
    """Steps 1–2 above: the eigen-images are the whitened, centred cube's coordinates on the basis."""

    project: np.ndarray  # (band, k): whitening and the basis, folded
    offset: np.ndarray  # (k,): the whitened mean's coordinates

    def eigen_images(self, window: np.ndarray) -> np.ndarray:
        height, width, bands = window.shape
        return ((window.reshape(-1, bands) @ self.project) - self.offset).T.reshape(self.k, height, width)


#: neighbour pairs enough for ``drop_white``'s test (a threshold of 3/√n ≈ 0.006): a larger scene takes them from a
#: regular subset of its rows, as its difference Gram matrix would cost as much as the pixels' own
WHITE_TEST_PAIRS = 1 << 18


def white_test_stride(shape: tuple[int, ...]) -> int:
    """Every how many rows a ``(y, x, band)`` cube of ``shape`` gives ``drop_white``'s test its neighbour pairs: its
    pairs over :data:`WHITE_TEST_PAIRS`, rounded down, so the rows 0, n, 2n, … keep at least that many (1: every
    row)."""
    height, width = shape[:2]
    return max(1, height * max(width - 1, 0) // WHITE_TEST_PAIRS)


def neighbour_correlation(stats: BandStatistics, basis: np.ndarray) -> np.ndarray:
    """Each ``basis`` direction's correlation between horizontal neighbours over the pixels of ``stats`` (which needs
    ``gram`` and ``shift_difference``): ``1 − E[d²] / 2 var``, ``d`` the difference of neighbours' coordinates, whose
    half mean square is the shift-difference noise estimate."""
    from ...preprocess import noise_covariance, quadratic_forms

    noise = quadratic_forms(basis, noise_covariance(stats, "shift_difference"))
    return 1.0 - noise / np.maximum(quadratic_forms(basis, stats.covariance()), 1e-300)


@dataclass(frozen=True)
class SubspaceDenoiser(Denoiser):
    """A denoiser of eigen-images: the subspace fitted to the whole cube (:meth:`subspace_of`), then tile by tile
    the eigen-images found, smoothed (:meth:`smooth`) and the cube rebuilt from them."""

    def subspace_of(self, noisy: Any) -> EigenImages:
        raise NotImplementedError

    def smooth(self, eigen_images: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def restore(self, noisy: Any) -> Any:
        space = self.subspace_of(noisy)
        return self.tiled(lambda window: space.cube(self.smooth(space.eigen_images(window))), noisy)


@register("denoise", "subspace_tv")
@dataclass(frozen=True)
class SubspaceTV(SubspaceDenoiser):
    name = "subspace_tv"
    subspace: int | None = None
    min_subspace: int = 3
    weight: float = 0.7
    iterations: int = 100
    noise_std: tuple[float, ...] | None = None  # per band, in the cube's units; estimated when None
    noise_method: str = "difference_regression"  # how, where noise_std is not given: preprocess.NOISE_METHODS
    sparse: bool = False  # first repair stuck values, stripes, dead lines and impulses (mixed noise; ._sparse)
    wiener: bool = True  # then Wiener-filter the eigen-images in sliding DCTs, TV's result the pilot (._wiener)
    drop_white: bool = True  # leave out eigen-images (past the first) that cannot be told from white noise

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.sparse, bool):
            self._fail("sparse", self.sparse, "true (repair sparse corruption first: mixed noise) or false")
        if not isinstance(self.drop_white, bool):
            self._fail("drop_white", self.drop_white, "true (leave out eigen-images that test as white noise) or false")
        if not isinstance(self.wiener, bool):
            self._fail("wiener", self.wiener, "true (a DCT Wiener step after TV, TV's result its pilot) or false")
        if self.subspace is not None and self.subspace < 1:
            self._fail("subspace", self.subspace, "a positive integer or null (HySime)")
        from ...preprocess import NOISE_METHODS

        if self.noise_method not in NOISE_METHODS:
            self._fail("noise_method", self.noise_method, f"one of {', '.join(NOISE_METHODS)} (how the noise σ per "
                       "band is estimated where noise_std is not given)")
        if not self.weight > 0:
            self._fail("weight", self.weight, "a positive TV weight (eigen-images have unit noise)")

    def eigen_image_bound(self, bands: int) -> int:
        """The eigen-images a tile's working memory is sized for: ``subspace``, or up to 16 where HySime chooses."""
        return min(self.subspace or max(self.min_subspace, 16), bands)

    @property
    def wiener_step(self) -> bool:
        """Whether :meth:`smooth` runs the Wiener step (its working memory is counted)."""
        return self.wiener

    def bytes_per_voxel(self, bands: int) -> float:
        # measured: the float32 window, the copies dask assembles and crops, the float32 result; the Wiener step
        # holds four float64 arrays of each eigen-image's 8 × 8 windows at a stride of 2 (16 values per pixel)
        return 20.0 + (512.0 * self.eigen_image_bound(bands) / bands if self.wiener_step else 0.0)

    def restore(self, noisy: Any) -> Any:
        if self.sparse:
            from ._sparse import find_sparse_corruption

            noisy = find_sparse_corruption(noisy).repair(noisy)
        return super().restore(noisy)

    def subspace_of(self, noisy: Any) -> WhitenedSubspace:
        """Steps 1–2: the noise estimate, whitening and signal subspace of ``noisy``, in one streaming pass."""
        from ...preprocess import band_statistics, hysime

        nb = noisy.shape[2]
        stats = band_statistics(noisy, gram=True, shift_difference=True,  # the one pass over the cube
                                difference_stride=white_test_stride(noisy.shape))
        method = self._noise_method(stats)
        if self.noise_std is not None:
            sigma = np.asarray(self.noise_std, dtype=np.float64)
            if sigma.shape != (nb,):
                self._fail("noise_std", f"{sigma.size} values", f"{nb} (one per band)")
        else:
            sigma = hysime(stats=stats, method=method).noise_std
        largest = float(np.max(np.maximum(np.abs(stats.minimum), np.abs(stats.maximum))))
        sigma = np.maximum(sigma, 1e-6 * max(largest, 1e-12))
        white = stats.scaled(1.0 / sigma)
        k = min(self.subspace or max(hysime(stats=white, method=method).k, self.min_subspace), nb)
        _, vectors = np.linalg.eigh(white.covariance())
        basis = vectors[:, ::-1][:, :k]
        if self.drop_white and white.diff_count > 9:  # with fewer pairs no correlation (at most 1) passes the test
            correlation = neighbour_correlation(white, basis)
            basis = basis[:, (correlation > 3 / np.sqrt(white.diff_count)) | (np.arange(k) == 0)]
        # whitening and centring folded into a (band, k) projection and its (k, band) inverse: the window is read
        # by one float32 matmul and the cube rebuilt by another, with no full-size float64 copy
        return WhitenedSubspace(project=(basis / sigma[:, None]).astype(np.float32), offset=white.mean @ basis,
                                rebuild=(basis.T * sigma).astype(np.float32),
                                level=(white.mean * sigma).astype(np.float32))

    def _noise_method(self, stats: BandStatistics) -> str:
        """``noise_method``, or HySime's regression over the pixels where the cube has too few neighbour pairs to
        regress (fewer than twice its bands: a column, a narrow strip)."""
        short = self.noise_method != "regression" and stats.diff_count < 2 * len(stats.total)
        return "regression" if short else self.noise_method

    def smooth(self, eigen_images: np.ndarray) -> np.ndarray:
        """Step 3: the eigen-images denoised by TV (then, with ``wiener``, Wiener-filtered with TV's result as the
        pilot)."""
        smoothed = tv_denoise(eigen_images, self.weight, self.iterations)
        return dct_wiener(eigen_images, smoothed) if self.wiener else smoothed
