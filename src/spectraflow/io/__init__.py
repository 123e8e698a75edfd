"""Reading instrument files and writing/opening spectraflow stores.

One module per format, all behind :data:`readers`:

========  ==========================================================
``envi``     ENVI header + raw (BSQ/BIL/BIP), lazy                  (:mod:`._envi`)
``matlab``   MATLAB .mat v5 and v7.3, cubes and unmixing matrices   (:mod:`._matlab`)
``netcdf``   HDF5 / NetCDF-3/4 through xarray                       (:mod:`._netcdf`)
``geotiff``  GeoTIFF / COG through rioxarray, CRS kept              (:mod:`._geotiff`)
``npy``      NumPy .npy, lazy                                       (:mod:`._npy`)
``dm``       Gatan DigitalMicrograph .dm3/.dm4 (EELS), RosettaSciIO  (:mod:`._microscopy`)
``emd``      Thermo Fisher Velox .emd (EELS), RosettaSciIO          (:mod:`._microscopy`)
``hspy``     HyperSpy .hspy (EELS), RosettaSciIO                    (:mod:`._microscopy`)
========  ==========================================================
"""

from ._base import Reader, readers, sha256_file, tree_sha256
from ._envi import EnviReader, parse_envi_header, write_envi
from ._fields import fields_dataset, open_fields_store, write_fields_store
from ._geotiff import GeoTiffReader
from ._ingest import attach_ground_truth, check_name, detect_format, get_reader, ingest, read, resolve_inside
from ._matlab import MatlabReader, pixels_to_cube
from ._microscopy import DigitalMicrographReader, HyperSpyReader, VeloxReader
from ._netcdf import NetcdfReader
from ._npy import NpyReader
from ._store import (
    StoreLayout,
    StoreWriter,
    count_files,
    open_store,
    store_info,
    store_layout,
    store_writer,
    write_result,
    write_store,
)

__all__ = [
    "fields_dataset", "open_fields_store", "write_fields_store",
    "Reader",
    "readers",
    "EnviReader",
    "MatlabReader",
    "NetcdfReader",
    "GeoTiffReader",
    "NpyReader",
    "DigitalMicrographReader",
    "VeloxReader",
    "HyperSpyReader",
    "detect_format",
    "get_reader",
    "read",
    "ingest",
    "attach_ground_truth",
    "check_name",
    "resolve_inside",
    "parse_envi_header",
    "write_envi",
    "pixels_to_cube",
    "sha256_file",
    "tree_sha256",
    "StoreLayout",
    "store_layout",
    "write_store",
    "store_writer",
    "StoreWriter",
    "write_result",
    "open_store",
    "store_info",
    "count_files",
]
