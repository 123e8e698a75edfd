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

Two detectors on the same scene are compared by :func:`auc_difference`: the difference of their AUCs and its
standard error by DeLong's method (E. R. DeLong, D. M. DeLong and D. L. Clarke-Pearson, *Comparing the areas under
two or more correlated receiver operating characteristic curves: a nonparametric approach*, Biometrics 44(3), 1988),
which takes the pixels as independent. They are not: an object's pixels score alike. With ``by_object`` the
anomalous pixels' share of the variance is the cluster-robust one over the truth map's connected objects instead
(each object one independent unit, its pixels as correlated as they are), which is wider where an object's pixels
move together, and what a scene of few objects supports. :func:`compare_auc` gives that difference with its
interval and a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import rankdata

__all__ = ["roc_auc", "roc_curve", "anomaly_scores", "auc_difference", "compare_auc", "AucComparison"]


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


def _placements(s: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DeLong's placement values: for each anomalous pixel the share of the background it outscores, for each
    background pixel the share of the anomalous pixels that outscore it (ties one half); each averages to the AUC."""
    ranks = rankdata(s)
    positives, negatives = int(t.sum()), int((~t).sum())
    over_background = (ranks[t] - rankdata(s[t])) / negatives
    under_anomalies = 1.0 - (ranks[~t] - rankdata(s[~t])) / positives
    return over_background, under_anomalies


def _variance_of_mean(values: np.ndarray, groups: np.ndarray | None = None) -> float:
    """The variance of ``values``' mean: the sample variance over ``n`` with independent values, or with ``groups``
    (an integer label per value) the cluster-robust one, ``K / (K − 1) Σ_k (Σ_{i∈k} (v_i − v̄))² / n²``."""
    n = values.size
    deviations = values - values.mean()
    if groups is None:
        return float((deviations**2).sum() / (n - 1) / n) if n > 1 else float("nan")
    _, index = np.unique(groups, return_inverse=True)
    sums = np.bincount(index, weights=deviations)
    k = sums.size
    return float(k / (k - 1) * (sums**2).sum() / n**2) if k > 1 else float("nan")


def _paired(scores_a: Any, scores_b: Any, truth: Any, by_object: bool) -> tuple[float, float, int]:
    """The AUC difference, its standard error and the number of units it rests on (objects or pixels)."""
    a = np.asarray(getattr(scores_a, "values", scores_a), dtype=np.float64)
    b = np.asarray(getattr(scores_b, "values", scores_b), dtype=np.float64)
    t = np.asarray(getattr(truth, "values", truth)).astype(bool)
    if not a.shape == b.shape == t.shape:
        raise ValueError(f"auc_difference: score maps of shapes {a.shape} and {b.shape} for a truth map of {t.shape}")
    objects = None
    if by_object:
        if t.ndim != 2:
            raise ValueError(f"auc_difference: by_object needs a 2-D truth map, not {t.ndim}-D")
        from scipy.ndimage import label

        objects = label(t, structure=np.ones((3, 3), dtype=int))[0].ravel()
    keep = np.isfinite(a.ravel()) & np.isfinite(b.ravel())
    (sa, ta), (sb, _) = _flat(a.ravel()[keep], t.ravel()[keep]), _flat(b.ravel()[keep], t.ravel()[keep])
    over_a, under_a = _placements(sa, ta)
    over_b, under_b = _placements(sb, ta)
    groups = None if objects is None else objects[keep][ta]
    variance = _variance_of_mean(over_a - over_b, groups) + _variance_of_mean(under_a - under_b)
    units = int(ta.sum()) if groups is None else np.unique(groups).size
    return float(over_a.mean() - over_b.mean()), float(np.sqrt(variance)), units


def auc_difference(scores_a: Any, scores_b: Any, truth: Any, by_object: bool = False) -> tuple[float, float]:
    """``(AUC of scores_a − AUC of scores_b, its standard error)`` on the same truth map, by DeLong's method (module
    docstring); pixels where either score is non-finite are left out. With ``by_object`` the anomalous pixels are
    grouped into the truth map's 8-connected objects (it must then be 2-D): the standard error is the
    cluster-robust one over those objects (``nan`` with a single object)."""
    difference, error, _ = _paired(scores_a, scores_b, truth, by_object)
    return difference, error


@dataclass(frozen=True)
class AucComparison:
    """One detector's AUC against another's on the same scene (:func:`compare_auc`)."""

    difference: float  # the first's AUC minus the second's
    half_width: float  # of the interval, by objects; nan where the scene has a single object (no interval)
    objects: int  # the truth map's 8-connected objects with a scored pixel: the units the interval rests on

    @property
    def verdict(self) -> str:
        """``above`` or ``below`` where the interval leaves out 0, else ``not resolved`` (also without one)."""
        if not abs(self.difference) > self.half_width:  # also where there is no interval (nan)
            return "not resolved"
        return "above" if self.difference > 0 else "below"


def compare_auc(scores_a: Any, scores_b: Any, truth: Any, level: float = 0.95) -> AucComparison:
    """``scores_a``'s AUC against ``scores_b``'s on a 2-D truth map, with its ``level`` interval by the map's K
    objects: the cluster-robust standard error (:func:`auc_difference` with ``by_object``) times Student's t of
    K − 1 degrees of freedom, as fits few clusters. A scene of few objects resolves only large differences."""
    from scipy.stats import t as student

    difference, error, objects = _paired(scores_a, scores_b, truth, by_object=True)
    half = float(student.ppf(0.5 + level / 2, objects - 1) * error) if objects > 1 else float("nan")
    return AucComparison(difference, half, objects)
