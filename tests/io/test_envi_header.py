"""ENVI header parsing against hand-written headers (the NV5 header grammar)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spectraflow.errors import HeaderError
from spectraflow.io import parse_envi_header, read
from spectraflow.io._envi import find_envi_pair

HEADER = """ENVI
description = {
  A multi-line
  description, with commas}
samples = 3
lines   = 2
Bands = 4
header offset = 0
file type = ENVI Standard
data type = 12
interleave = BIL
byte order = 1
; a comment line
wavelength units = Micrometers
wavelength = { 0.4, 0.5,
 0.6, 0.7 }
fwhm = {0.01, 0.01, 0.01, 0.01}
bbl = {1, 0, 1, 1}
reflectance scale factor = 10000
data ignore value = 65535
sensor type = AVIRIS
"""


def test_parse_fields(tmp_path: Path) -> None:
    (tmp_path / "x.hdr").write_text(HEADER)
    fields = parse_envi_header(tmp_path / "x.hdr")
    assert fields["bands"] == "4"  # keys are case-insensitive
    assert fields["wavelength"] == ["0.4", "0.5", "0.6", "0.7"]
    assert fields["description"].startswith("A multi-line")
    assert fields["interleave"] == "BIL"


def test_read_applies_header(tmp_path: Path) -> None:
    (tmp_path / "x.hdr").write_text(HEADER)
    # BIL, big-endian uint16: raw index order (line, band, sample)
    raw = np.arange(2 * 4 * 3, dtype=">u2").reshape(2, 4, 3)
    (tmp_path / "x.img").write_bytes(raw.tobytes())
    scene = read(tmp_path / "x.hdr")
    np.testing.assert_array_equal(scene["cube"].values, raw.transpose(0, 2, 1))
    np.testing.assert_allclose(scene["wavelength"].values, [400, 500, 600, 700])
    np.testing.assert_allclose(scene["fwhm"].values, [10, 10, 10, 10])
    assert scene["good_band"].values.tolist() == [True, False, True, True]
    attrs = scene["cube"].attrs
    assert attrs["data_scale"] == 10000 and attrs["nodata"] == 65535 and attrs["sensor"] == "AVIRIS"
    assert attrs["units"] == "reflectance"


def test_unclosed_brace(tmp_path: Path) -> None:
    (tmp_path / "x.hdr").write_text("ENVI\nwavelength = {1, 2,\n3\n")
    with pytest.raises(HeaderError, match="wavelength"):
        parse_envi_header(tmp_path / "x.hdr")


@pytest.mark.parametrize("names", [("x.img", "x.hdr"), ("x.img", "x.img.hdr"), ("x", "x.hdr"), ("x.dat", "x.hdr")])
def test_header_and_raw_found_from_either(tmp_path: Path, names: tuple[str, str]) -> None:
    raw, header = (tmp_path / n for n in names)
    raw.write_bytes(b"")
    header.write_text("ENVI\n")
    assert find_envi_pair(raw) == (header, raw)
    assert find_envi_pair(header) == (header, raw)
