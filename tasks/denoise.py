"""Tasks of the denoise stage."""

from __future__ import annotations

import json

from prefect import task

from spectraflow.config import DenoiseConfig
from tasks.metrics import record_metrics


@task(name="denoise-store")
def denoise_scene(config: DenoiseConfig, metrics_path: str) -> str:
    """Denoise ``config.input`` into ``config.out``; scores (when noise was added) go to ``metrics_path``."""
    from spectraflow.methods.denoisers import denoise_store

    store, metrics = denoise_store(config.input, config.out, config.methods, config.noise)
    record_metrics(metrics_path, metrics)
    return str(store)


@task(name="evaluate-denoising")
def evaluate_denoising(store: str, source: str, figure_path: str, bands_path: str) -> str:
    """Noisy / denoised / clean band and spectrum (the figure), and a table per band that ``dvc plots`` draws
    over the spectral axis (wavelength): PSNR of each cube against the clean one when noise was added, else the
    standard deviation of what each method removed."""
    import numpy as np

    from spectraflow._atomic import write_csv
    from spectraflow.cube import spectral_axis, spectral_positions
    from spectraflow.io import open_store
    from spectraflow.methods.denoisers import RESULT_PREFIX
    from spectraflow.report import denoising_overview

    result = open_store(store)
    names = [m["name"] for m in json.loads(result.attrs["denoising"])]
    results = {names[0]: result["cube"], **{n: result[f"{RESULT_PREFIX}{n}"] for n in names[1:]}}
    noisy = result["noisy"] if "noisy" in result else None
    given = open_store(source)["cube"]  # the clean cube when noise was added
    axis = spectral_axis(result)
    positions = spectral_positions(result)
    # the cubes stay on their stores: the figure reads one band and one spectrum of each
    if noisy is not None:  # PSNR per band against the clean cube, scored by the stage
        columns = {f"psnr_{name}": np.asarray(values) for name, values in json.loads(result.attrs["band_psnr"]).items()}
    else:  # no reference: how much each method changed each band (noisy bands and stripes stand out); nodata
        # pixels are NaN in every result, so the standard deviation (skipping NaN) counts the valid pixels only
        columns = {f"removed_std_{name}": (given - cube).std(("y", "x")).values for name, cube in results.items()}
    write_csv(bands_path, [{"band": b, axis.name: round(float(positions[b]), 3),
                            **{key: round(float(values[b]), 4) for key, values in columns.items()}}
                           for b in range(len(positions))])
    return str(denoising_overview(results, figure_path, noisy=noisy, clean=given if noisy is not None else None,
                                  title=f"denoising {source}"))
