"""Figures and reports. Matplotlib is imported only when a figure is drawn (Agg backend, no display)."""

from .figures import (
    anomaly_overview,
    denoising_overview,
    fusion_overview,
    operator_overview,
    preprocessing_overview,
    rgb_bands,
    scene_overview,
    training_curves,
    unmixing_overview,
)

__all__ = [
    "anomaly_overview", "rgb_bands", "scene_overview", "preprocessing_overview", "unmixing_overview",
    "denoising_overview", "fusion_overview", "training_curves", "operator_overview",
]
