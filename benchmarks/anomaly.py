"""Anomaly detection on the five ABU scenes: SPy's RX (the peer) against spectraflow's detectors.

Prints, per scene and for the mean: ROC AUC of every detector and its wall seconds, then the 3-D ROC scores
(``spectraflow.metrics.anomaly_scores``) of each of ours. Every detector runs with its defaults, one
configuration for all scenes; the defaults of ``local_rx``, ``crd`` and ``attribute`` were chosen on
``san_diego`` (``hsi/san_diego/sandiego_plane.mat``, a different crop from ``abu_airport``) and never on these
five scenes. The detectors are deterministic (no seeds). The peer is ``spectral`` 0.25 (``spectral.rx``, global
mean and covariance), installed by ``benchmarks/peers.sh`` in ``.peers/``.

Run by hand: ``bash benchmarks/peers.sh && python benchmarks/anomaly.py`` (about a minute on 2 cores).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from _results import recorded

sys.path.append(str(Path(__file__).resolve().parents[1] / ".peers"))

OURS = ["rx", "local_rx", "crd", "attribute"]


def main() -> None:
    import spectral

    from spectraflow import datasets, methods
    from spectraflow.metrics import anomaly_scores, roc_auc

    names = list(datasets.ABU_SCENES)
    auc: dict[str, list[float]] = {m: [] for m in ["SPy rx", *OURS]}
    seconds: dict[str, list[float]] = {m: [] for m in auc}
    detail: list[str] = []
    for name in names:
        scene = datasets.load(name)
        cube, truth = scene["cube"], scene["anomaly_map"]
        start = time.perf_counter()
        peer = spectral.rx(cube.values.astype(np.float64))
        seconds["SPy rx"].append(time.perf_counter() - start)
        auc["SPy rx"].append(roc_auc(peer, truth))
        for method in OURS:
            start = time.perf_counter()
            scores = methods.get("anomaly", method)().scores(cube)
            seconds[method].append(time.perf_counter() - start)
            auc[method].append(roc_auc(scores, truth))
            s = anomaly_scores(scores, truth)
            detail.append(f"| {name} | {method} | {s['auc']:.4f} | {s['auc_detection']:.4f} | "
                          f"{s['auc_false_alarm']:.4f} | {s['separability']:.4f} | {s['snpr']:.2f} |")
    print("ROC AUC (seconds), default configuration of each detector, 2 CPU cores:\n")
    print("| scene | " + " | ".join(auc) + " |")
    print("|---|" + "---|" * len(auc))
    for i, name in enumerate(names):
        cells = []
        for method in auc:
            mark = " ✗" if method != "SPy rx" and auc[method][i] < auc["SPy rx"][i] else ""
            cells.append(f"{auc[method][i]:.4f}{mark} ({seconds[method][i]:.1f} s)")
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("| **mean** | " + " | ".join(f"**{np.mean(v):.4f}**" for v in auc.values()) + " |")
    print("\n✗: below the peer's RX on that scene.\n")
    print("3-D ROC scores of ours (AUC(D,τ) and AUC(F,τ) on min–max normalised scores; separability = AUC − "
          "AUC(F,τ); SNPR = AUC(D,τ) / AUC(F,τ)):\n")
    print("| scene | method | AUC | AUC(D,τ) | AUC(F,τ) | separability | SNPR |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(detail))
    print()


if __name__ == "__main__":
    with recorded("anomaly"):
        main()
