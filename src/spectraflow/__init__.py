"""spectraflow: reproducible pipelines for hyperspectral and scientific spectral data.

``import spectraflow`` is kept fast: heavy dependencies (torch, dask, zarr, matplotlib) load in the
submodules that use them. The library never imports Prefect; orchestration lives in the repository's
``flows/`` and ``tasks/``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("spectraflow")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
