"""Torch building blocks shared by the models (assemblies live with their methods in ``methods/``)."""

from ._five_point import five_point_operator, five_point_solve
from ._qrnn import QuasiRecurrent3d, SeparableConv3d, spectral_scan
from ._spectral import SpectralConv, mode_matmul, mode_slices

__all__ = ["QuasiRecurrent3d", "SeparableConv3d", "spectral_scan", "SpectralConv", "mode_matmul", "mode_slices",
           "five_point_operator", "five_point_solve"]
