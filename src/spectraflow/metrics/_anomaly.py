"""Anomaly-detection scores of a per-pixel score map against a truth map (1/True = anomalous).

The 3-D ROC of C.-I Chang (*An effective evaluation tool for hyperspectral target detection: 3D receiver
operating characteristic curve analysis*, IEEE TGRS 59(6), 2021): scores min–max normalised to [0, 1] and
thresholded at τ give the detection probability P_D(τ) and the false-alarm probability P_F(τ).

* ``auc``: the area under P_D against P_F (the usual ROC AUC), the probability that an anomalous pixel
  scores above a background one (ties count one half);
* ``auc_detection``: ∫ P_D dτ, which is the mean normalised score of the anomalous pixels;
* ``auc_false_alarm``: ∫ P_F dτ, the mean normalised score of the background (lower is better);
* ``separability``: ``auc - auc_false_alarm`` (background suppression), and ``snpr`` =
  ``auc_detection / auc_false_alarm``.

Pixels with a non-finite score are left out.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import rankdata

__all__ = ["roc_auc", "roc_curve", "anomaly_scores"]


def _flat(scores: Any, truth: Any) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(getattr(scores, "values", scores), dtype=np.float64).ravel()
    t = np.asarray(getattr(truth, "values", truth)).ravel().astype(bool)
    if s.shape != t.shape:
        raise ValueError(f"anomaly scores: {s.size} scores for {t.size} truth pixels")
    keep = np.isfinite(s)
    s, t = s[keep], t[keep]
    if not t.any() or t.all():
        raise ValueError("anomaly scores: the truth map needs both anomalous and background pixels")
    return s, t


def roc_auc(scores: Any, truth: Any) -> float:
    """Area under the ROC curve (the Mann–Whitney statistic, ties counted one half)."""
    s, t = _flat(scores, truth)
    ranks = rankdata(s)
    positives = int(t.sum())
    negatives = t.size - positives
    return float((ranks[t].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def roc_curve(scores: Any, truth: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(false_alarm, detection)`` probabilities at every distinct threshold, from (0, 0) to (1, 1)."""
    s, t = _flat(scores, truth)
    order = np.argsort(-s, kind="stable")
    s, t = s[order], t[order]
    last = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]  # the last pixel of each distinct score
    detection = np.cumsum(t)[last] / t.sum()
    false_alarm = np.cumsum(~t)[last] / (~t).sum()
    return np.r_[0.0, false_alarm], np.r_[0.0, detection]


def anomaly_scores(scores: Any, truth: Any) -> dict[str, float]:
    """``auc``, ``auc_detection``, ``auc_false_alarm``, ``separability`` and ``snpr`` (module docstring)."""
    s, t = _flat(scores, truth)
    span = s.max() - s.min()
    normalised = (s - s.min()) / span if span > 0 else np.zeros_like(s)
    auc = roc_auc(s, t)
    detection, false_alarm = float(normalised[t].mean()), float(normalised[~t].mean())
    return {"auc": auc, "auc_detection": detection, "auc_false_alarm": false_alarm,
            "separability": auc - false_alarm, "snpr": detection / false_alarm if false_alarm > 0 else float("inf")}
