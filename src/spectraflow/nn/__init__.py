"""Torch building blocks shared by the models (assemblies live with their methods in ``methods/``)."""

from ._five_point import five_point_operator, five_point_solve
from ._qrnn import QuasiRecurrent3d, SeparableConv3d, spectral_scan
from ._spectral import SPECTRAL_INITS, SpectralConv, mode_matmul, mode_slices, spectral_std

__all__ = ["QuasiRecurrent3d", "SeparableConv3d", "spectral_scan", "SpectralConv", "SPECTRAL_INITS", "spectral_std",
           "mode_matmul", "mode_slices", "five_point_operator", "five_point_solve"]
