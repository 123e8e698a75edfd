"""Real sensor products read into the data model: EnMAP L2A GeoTIFF tiles (GDAL metadata checked by an
independent parse of the file's GDAL_METADATA tag) and the EMIT L2A NetCDF layout (a file written from the
product's public description)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import tifffile

from spectraflow.cube import CUBE
from spectraflow.errors import FormatError
from spectraflow.io import ingest, open_store, read
from spectraflow.preprocess import to_physical
from spectraflow.testing.writers import write_emit_l2a

TILES = ("enmap_potsdam_tile_96_0.tif", "enmap_potsdam_tile_192_96.tif")


def _gdal_items(path: Path) -> dict[str, list[str]]:
    """Per-band items of the GDAL_METADATA XML tag, read without GDAL: name -> value of each band."""
    with tifffile.TiffFile(path) as tif:
        root = ET.fromstring(tif.pages[0].tags["GDAL_METADATA"].value)
    items: dict[str, dict[int, str]] = {}
    for item in root.iter("Item"):
        if "sample" in item.attrib:
            items.setdefault(item.attrib["name"], {})[int(item.attrib["sample"])] = item.text or ""
    return {name: [by_band[i] for i in sorted(by_band)] for name, by_band in items.items()}


@pytest.mark.parametrize("tile", TILES)
def test_enmap_l2a_tile_reads_band_metadata_nodata_and_reflectance(shared_data: Path, tile: str) -> None:
    path = shared_data / "sensor_product" / tile
    items = _gdal_items(path)
    stored = np.moveaxis(tifffile.imread(path), 0, 2)  # (band, y, x) in the file
    scene = read(path)
    np.testing.assert_allclose(scene["wavelength"].values, [float(v) for v in items["wavelength"]])
    np.testing.assert_allclose(scene["fwhm"].values, [float(v) for v in items["fwhm"]])
    bad = [i for i, v in enumerate(items["bbl"]) if v == "0"]
    assert bad == list(range(129, 135))  # MANIFEST §7: the 1.4 µm water-vapour gap
    assert np.flatnonzero(~scene["good_band"].values).tolist() == bad
    assert scene[CUBE].attrs["nodata"] == -32768 and scene[CUBE].attrs["acquired"] == "2022-07-24T10:45:26"
    scale = float(items["SCALE"][0])
    assert scale == pytest.approx(1e-4) and {float(v) for v in items["OFFSET"]} == {0.0}

    physical = to_physical(scene)
    expected = np.where(stored == -32768, np.nan, stored.astype(np.float64) * scale)
    np.testing.assert_allclose(physical[CUBE].values, expected, rtol=1e-6, equal_nan=True)
    assert np.isnan(physical[CUBE].values[..., bad]).all()
    assert bool(physical["valid"].all())  # the bad bands are all nodata, and they do not invalidate pixels
    assert scene.rio.crs.to_epsg() == 32633


def test_enmap_l2a_tile_ingests_into_a_store_keeping_the_metadata(shared_data: Path, tmp_path: Path) -> None:
    path = shared_data / "sensor_product" / TILES[0]
    store = ingest(path, tmp_path / "tile.zarr")
    reopened = open_store(store)
    assert np.flatnonzero(~reopened["good_band"].values).tolist() == list(range(129, 135))
    assert reopened[CUBE].attrs["data_scale"] == pytest.approx(1e4)
    np.testing.assert_array_equal(reopened[CUBE].values, read(path)[CUBE].values)


def test_geotiff_with_a_nonzero_offset_and_differing_scales(tmp_path: Path) -> None:
    import rasterio
    from rasterio.transform import from_origin

    cube = np.arange(2 * 3 * 4, dtype=np.int16).reshape(4, 2, 3)

    def write(name: str, scales: list[float], offsets: list[float]) -> Path:
        path = tmp_path / name
        with rasterio.open(path, "w", driver="GTiff", height=2, width=3, count=4, dtype="int16",
                           crs="EPSG:32633", transform=from_origin(0, 0, 30, 30)) as dst:
            dst.write(cube)
            dst.scales, dst.offsets = scales, offsets
        return path

    physical = to_physical(read(write("offset.tif", [0.5] * 4, [-1.0] * 4)))[CUBE].values
    np.testing.assert_allclose(physical, np.moveaxis(cube, 0, 2) * 0.5 - 1.0)
    with pytest.raises(FormatError, match=r"differs\.tif.*SCALE.*one value for every band"):
        read(write("differs.tif", [0.5, 0.5, 0.25, 0.5], [0.0] * 4))


def test_emit_l2a_layout_reads_reflectance_band_parameters_and_fill(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    reflectance = rng.uniform(0.0, 0.6, (5, 4, 285)).astype(np.float32)
    reflectance[0, 0] = np.nan  # written as the product's fill value, -9999
    wavelengths = np.linspace(381.0, 2493.0, 285)
    fwhm = rng.uniform(8.0, 9.0, 285)
    good = np.ones(285, bool)
    good[[127, 128, 129, 186, 187]] = False
    path = write_emit_l2a(tmp_path / "EMIT_L2A_RFL_001_20230316T045133_2307503_005.nc", reflectance,
                          wavelengths, fwhm, good)
    scene = read(path)
    assert scene[CUBE].dims == ("y", "x", "band") and scene[CUBE].shape == (5, 4, 285)  # downtrack = y
    np.testing.assert_allclose(scene["wavelength"].values, wavelengths.astype(np.float32))
    np.testing.assert_allclose(scene["fwhm"].values, fwhm.astype(np.float32))
    np.testing.assert_array_equal(scene["good_band"].values, good)
    assert scene[CUBE].attrs["nodata"] == -9999 and scene[CUBE].attrs["sensor"].startswith("EMIT")
    assert scene[CUBE].attrs["acquired"] == "2023-03-16T04:51:33+0000"
    physical = to_physical(scene)
    np.testing.assert_allclose(physical[CUBE].values, reflectance, equal_nan=True)
    assert not bool(physical["valid"][0, 0]) and int(physical["valid"].sum()) == 19
