"""Named loaders for the public benchmark scenes kept in the shared data directory.

The directory is ``$SPECTRAFLOW_SHARED_DATA`` or, when unset, ``../shared/data`` relative to the working
directory (then relative to the source checkout). Every file is checked against the sha256 recorded here
before use. Pixel order follows the MANIFEST: the MATLAB ``bands x pixels`` matrices are column-major
(pixel ``j`` at ``row = j % nRow``, ``col = j // nRow``), verified against the ENVI copies of the scenes.

Scenes (citations in the MANIFEST):

``samson``
    95 x 95 x 156 (401–889 nm), Samson sensor; ``V`` of ``samson_1.mat`` (already in [0, 1]); endmembers
    soil, tree, water from ``E.mat``; abundances ``A_true.mat``. F. Zhu, arXiv:1708.05125 (2017).
``jasper_ridge``
    100 x 100 x 198 (399–2457 nm), AVIRIS; ``Y / maxValue`` (5000) of ``jasperRidge2_R198.mat``; endmembers
    tree, water, dirt, road with abundances from ``end4.mat``. F. Zhu, arXiv:1708.05125 (2017).
``san_diego``
    100 x 100 x 189 AVIRIS DN with the aircraft ``anomaly_map``; wavelengths are not distributed with it.
    X. Kang et al., IEEE TGRS 55(10), 2017.
``paris_hs_ms``, ``paris_hs_pan``
    The Paris fusion pairs of HySure (Simões et al., IEEE TGRS 53(6), 2015): EO-1 Hyperion (30 m, 128 of its
    242 bands, ``non_del_bands`` 1-based) with ALI's multispectral image on the same grid (``ms``, 9 bands, 72 x
    72) or its panchromatic image 3x finer (``pan`` on ``(pan_y, pan_x)``, 216 x 174 for a 72 x 58 cube). Each
    carries the ALI spectral responses as boxes over the published band edges (``srf``: ``(ms_band, band)``;
    ``pan_srf``: ``(band,)``). Hyperion band centres are the linear grids of its two spectrometers as published
    by USGS (VNIR bands 1-70 from 355.59 nm, SWIR 71-242 from 851.92 nm, ~10 nm apart): within a few tenths of
    a nanometre of the per-band table. Radiometric scale as distributed (unstated).
``abu_beach_2``, ``abu_beach_3``, ``abu_urban_1``, ``abu_urban_3``, ``abu_airport``
    The anomaly-detection scenes of the ABU set (100 x 100 crops of AVIRIS scenes, 188–204 bands, int16 or
    uint16 DN cast to float32) with their ``anomaly_map``; no wavelengths are distributed with them.
    ``abu_airport`` is ``sandiego_airport_otad.mat``, a different crop from ``san_diego``. X. Kang et al.,
    IEEE TGRS 55(10), 2017.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import xarray as xr

from .errors import ChecksumError, DatasetNotFoundError, UnknownMethodError

__all__ = ["SHARED_DATA_ENV", "CHECKSUMS", "shared_data_dir", "shared_file", "load", "names", "unit_cube"]

SHARED_DATA_ENV = "SPECTRAFLOW_SHARED_DATA"

#: sha256 of every shared file, as stated by the MANIFEST.
CHECKSUMS: dict[str, str] = {
    "unmixing/samson/samson_1.mat": "1ebacaf7cd32bfc31c0ee3fd56c63a7f29a434893a8b45705fb59cd8a0c8beb6",
    "unmixing/samson/envi/samson_1.img": "4a77f11c20067b69555a65e2f7124a3a822e77c5b6c1bc192ac5ee6ccf786052",
    "unmixing/samson/envi/samson_1.img.hdr": "3ee2d7c4d1b69e3f1266f570f12ad1553b7d6768bc72a52ca7112d2ba3ca257a",
    "unmixing/samson/groundtruth/E.mat": "4a1faf067e354704d9a26ff954182b00f604762f12a610a2316ffd6b9d68e690",
    "unmixing/samson/groundtruth/A_true.mat": "d149ce0ff3f7a0b7877e27707e4b38ab4c76984d18541f10500ae7f6ddfda59d",
    "unmixing/jasper_ridge/jasperRidge2_R198.mat": "0e4118a6452f6044978a8ca3762fb0f791115467904936d463c4e111e56e682e",
    "unmixing/jasper_ridge/end4.mat": "eac85858349f359fc1c374d8d0eefadb55e4da8131c86f7231b14c0142460222",
    "unmixing/jasper_ridge/envi/jasperRidge2_R198.img":
        "b9d45b33c901cf77a2e66541e8afde1d6f531e4abec6201d35c5dc5d661343e8",
    "unmixing/jasper_ridge/envi/jasperRidge2_R198.hdr":
        "4d2e1afb0696bb3d4728166474441a476e97891005b484e948c0a04c94636fd1",
    "hsi/san_diego/sandiego_plane.mat": "9800a9fbd9d043c46171b14c5ef1077f57be287ccf3a61198cc1746b6217d2cb",
    "anomaly/abu-beach-2.mat": "3ec5f0c5c36b2f98a41f9d9e69946e9f3e6fdbeee0f42b3e402485a4efd9bb80",
    "anomaly/abu-beach-3.mat": "56622ebe89aa1a37aced4b41286eb0a045677553f637c63f90c8222f1027f576",
    "anomaly/abu-urban-1.mat": "951d8d9c405d7ae200634dfd5244586545c01a561b1028f0e65e09e562523942",
    "anomaly/abu-urban-3.mat": "a4e4ef3c512b72510f5852300a5050e9e544f80abb021d79ee04921c2070598b",
    "anomaly/sandiego_airport_otad.mat": "6830b031438366acbcf3d20f35a5589f969783471a6fd987b792954c51283b01",
    "envi/aviris_ng/ang20140912t192359_corr_v1c_img_2580-2590_540-550.hdr":
        "46d8b760f2ebfe84a575715e6ffdf95887da2800b2bd246976e8b9536799f517",
    "envi/aviris_ng/ang20140912t192359_corr_v1c_img_2580-2590_540-550.img":
        "6f23d3222e1ac3ecb2e67de15dc7d8b00e65b43284dcee75fd2a3d0c7d32ab1a",
    "envi/aviris_ng/ang20150420t182808_corr_v1e_img_4200-4210_70-80.hdr":
        "e63fb15a0db3e8f5b5f36d1e5dab57b5e3efe37e322189571848ba6bb056941b",
    "envi/aviris_ng/ang20150420t182808_corr_v1e_img_4200-4210_70-80.img":
        "c065f38a7f65a36af3d57744fc0a63fbca5e029186921c5006976bc2d53ebcc0",
    "fusion/paris_data_hs_ms.mat": "81e13528535ff32a0e0069368daa3aa9206d1393317391571a29958f5f57d839",
    "fusion/paris_data_hs_pan.mat": "238baead1beab1c79da7d767ce5bc7f00ec4a7eb1380875fd9a28e6d0ab37837",
    "operator/darcy/darcy_train_16.pt": "0be662acdb1dab7dfd1a1da0b140e97f75cc94f98a14edcf768abe6968b3b418",
    "operator/darcy/darcy_test_16.pt": "d2b19af9d4a6ae04ba2de54b8ecccc8b89766472faf6ce7f506c0b2a60f69a4c",
    "operator/burgers/burgers_train_16.pt": "d12335adc0d96357a893dc39d72957fa89fda852b00902d94da95aa06af23fa0",
}

_verified: set[tuple[Path, int, int]] = set()


def shared_data_dir() -> Path:
    """Where the shared benchmark files are (see the module docstring)."""
    env = os.environ.get(SHARED_DATA_ENV)
    if env:
        return Path(env)
    here = Path("../shared/data")
    if here.is_dir():
        return here
    return Path(__file__).resolve().parents[3] / "shared" / "data"


def shared_file(relative: str, root: str | os.PathLike[str] | None = None, *, verify: bool = True) -> Path:
    """Path of one shared file, checked to exist and (``verify``) to match its recorded sha256."""
    base = Path(root) if root is not None else shared_data_dir()
    path = base / relative
    if not path.is_file():
        raise DatasetNotFoundError(
            f"{path} not found: set {SHARED_DATA_ENV} to the directory holding the shared benchmark data "
            f"(its MANIFEST.md lists {relative})"
        )
    if verify and relative in CHECKSUMS:
        stat = path.stat()
        key = (path.resolve(), stat.st_size, stat.st_mtime_ns)
        if key not in _verified:
            from .io import sha256_file

            found = sha256_file(path)
            if found != CHECKSUMS[relative]:
                raise ChecksumError(f"{path}: sha256 {found}, expected {CHECKSUMS[relative]} (MANIFEST)")
            _verified.add(key)
    return path


def _envi_wavelength(header: Path) -> np.ndarray:
    from .io import read

    return read(header, checksum=False)["wavelength"].values


def _finish(scene: xr.Dataset, name: str, files: dict[str, Path]) -> xr.Dataset:
    """Record the provenance of a scene assembled from shared files (relative name → path)."""
    from .cube import provenance_attrs, source_entry

    entries = [source_entry(path.name, CHECKSUMS[rel], path.stat().st_size) for rel, path in files.items()]
    scene.attrs.update(provenance_attrs(name, entries, f"datasets.{name}", "1.0"))
    return scene


def _shared(prefix: str, names: tuple[str, ...], root: str | os.PathLike[str] | None) -> dict[str, Path]:
    return {f"{prefix}/{n}": shared_file(f"{prefix}/{n}", root) for n in names}


def samson(root: str | os.PathLike[str] | None = None) -> xr.Dataset:
    from scipy.io import loadmat

    from .io import read

    files = _shared("unmixing/samson", ("samson_1.mat", "envi/samson_1.img.hdr", "groundtruth/E.mat",
                                        "groundtruth/A_true.mat"), root)
    f = {rel.removeprefix("unmixing/samson/"): path for rel, path in files.items()}
    scene = read(f["samson_1.mat"], format="matlab", checksum=False,
                 wavelength=_envi_wavelength(f["envi/samson_1.img.hdr"])).compute()
    scene["cube"].attrs.update(units="reflectance", sensor="Samson")
    names = ["soil", "tree", "water"]
    scene = scene.assign_coords(endmember=names)
    scene["endmembers"] = (("endmember", "band"), loadmat(f["groundtruth/E.mat"])["E"].T)
    scene["abundances"] = (("y", "x", "endmember"), loadmat(f["groundtruth/A_true.mat"])["A_true"])
    return _finish(scene, "samson", files)


def jasper_ridge(root: str | os.PathLike[str] | None = None) -> xr.Dataset:
    from scipy.io import loadmat

    from .io import pixels_to_cube, read

    files = _shared("unmixing/jasper_ridge", ("jasperRidge2_R198.mat", "end4.mat", "envi/jasperRidge2_R198.hdr"),
                    root)
    f = {rel.removeprefix("unmixing/jasper_ridge/"): path for rel, path in files.items()}
    raw = read(f["jasperRidge2_R198.mat"], format="matlab", checksum=False, variable="Y",
               wavelength=_envi_wavelength(f["envi/jasperRidge2_R198.hdr"])).compute()
    max_value = float(loadmat(f["jasperRidge2_R198.mat"], variable_names=["maxValue"])["maxValue"].ravel()[0])
    scene = raw.copy()
    scene["cube"] = (raw["cube"].astype(np.float64) / max_value).assign_attrs(
        units="reflectance", sensor="AVIRIS", data_scale=1.0, max_value=max_value)
    truth = loadmat(f["end4.mat"])
    names = [str(np.asarray(c).ravel()[0]).split("-", 1)[-1] for c in truth["cood"].ravel()]
    scene = scene.assign_coords(endmember=names)
    scene["endmembers"] = (("endmember", "band"), truth["M"].T)
    scene["abundances"] = (("y", "x", "endmember"), pixels_to_cube(truth["A"].T, 100, 100))
    return _finish(scene, "jasper_ridge", files)


def san_diego(root: str | os.PathLike[str] | None = None) -> xr.Dataset:
    from .io import read

    files = _shared("hsi/san_diego", ("sandiego_plane.mat",), root)
    scene = read(files["hsi/san_diego/sandiego_plane.mat"], format="matlab", checksum=False, variable="data").compute()
    scene = scene.rename({"map": "anomaly_map"})
    scene["cube"].attrs.update(units="DN", sensor="AVIRIS")
    return _finish(scene, "san_diego", files)


#: the ABU anomaly scenes: dataset name → (file under anomaly/, scene as listed by Kang et al.)
ABU_SCENES = {
    "abu_beach_2": ("abu-beach-2.mat", "San Diego beach"),
    "abu_beach_3": ("abu-beach-3.mat", "Bay Champagne beach"),
    "abu_urban_1": ("abu-urban-1.mat", "Texas Coast urban"),
    "abu_urban_3": ("abu-urban-3.mat", "Gainesville urban"),
    "abu_airport": ("sandiego_airport_otad.mat", "San Diego airport"),
}


def _abu(name: str, root: str | os.PathLike[str] | None = None) -> xr.Dataset:
    from .io import read

    file, place = ABU_SCENES[name]
    files = _shared("anomaly", (file,), root)
    scene = read(files[f"anomaly/{file}"], format="matlab", checksum=False, variable="data").compute()
    scene = scene.rename({"map": "anomaly_map"})
    scene["cube"] = scene["cube"].astype(np.float32).assign_attrs(units="DN", sensor="AVIRIS", place=place)
    scene["anomaly_map"] = scene["anomaly_map"].astype(bool)
    return _finish(scene, name, files)


#: ALI's bands (nm, lower and upper edge; NASA EO-1 ALI instrument description)
ALI_BANDS: dict[str, tuple[float, float]] = {
    "MS-1p": (433, 453), "MS-1": (450, 515), "MS-2": (525, 605), "MS-3": (630, 690), "MS-4": (775, 805),
    "MS-4p": (845, 890), "MS-5p": (1200, 1300), "MS-5": (1550, 1750), "MS-7": (2080, 2350), "Pan": (480, 690),
}


def hyperion_wavelength(band_numbers: np.ndarray) -> np.ndarray:
    """Centres (nm) of Hyperion bands by their 1-based numbers: VNIR 1-70 and SWIR 71-242 linear grids."""
    numbers = np.asarray(band_numbers, dtype=np.float64)
    if numbers.min() < 1 or numbers.max() > 242:
        raise ValueError(f"Hyperion band numbers run from 1 to 242; got {numbers.min():g}..{numbers.max():g}")
    return np.where(numbers <= 70, 355.59 + (numbers - 1) * 10.1725, 851.92 + (numbers - 71) * 10.09)


def box_srf(wavelength: np.ndarray, edges: dict[str, tuple[float, float]]) -> np.ndarray:
    """Spectral responses ``(len(edges), band)``: each broad band the mean of the narrow bands centred in it."""
    boxes = np.array([(wavelength >= lo) & (wavelength <= hi) for lo, hi in edges.values()], dtype=np.float64)
    if not boxes.any(axis=1).all():
        empty = [name for name, row in zip(edges, boxes, strict=True) if not row.any()]
        raise ValueError(f"no band centre within {', '.join(empty)}")
    return boxes / boxes.sum(axis=1, keepdims=True)


def _paris(kind: str, root: str | os.PathLike[str] | None = None) -> xr.Dataset:
    from scipy.io import loadmat

    from .cube import make_scene

    name = f"paris_data_hs_{kind}.mat"
    files = _shared("fusion", (name,), root)
    raw = loadmat(files[f"fusion/{name}"])
    wavelength = hyperion_wavelength(raw["non_del_bands"].ravel())
    scene = make_scene(raw["HSim"], wavelength=wavelength, sensor="EO-1 Hyperion",
                       units="as distributed (scale unstated)", source=str(files[f"fusion/{name}"]))
    scene = scene.assign_coords(hyperion_band=("band", raw["non_del_bands"].ravel().astype(np.int16)))
    if kind == "ms":
        ms_bands = {k: v for k, v in ALI_BANDS.items() if k != "Pan"}
        scene = scene.assign_coords(ms_band=list(ms_bands))
        scene["ms"] = (("y", "x", "ms_band"), raw["MSim"], {"sensor": "EO-1 ALI"})
        scene["srf"] = (("ms_band", "band"), box_srf(wavelength, ms_bands))
    else:
        scene["pan"] = (("pan_y", "pan_x"), raw["PCim"], {"sensor": "EO-1 ALI", "resolution_ratio": 3})
        scene["pan_srf"] = (("band",), box_srf(wavelength, {"Pan": ALI_BANDS["Pan"]})[0])
    return _finish(scene, f"paris_hs_{kind}", files)


_LOADERS: dict[str, Callable[..., xr.Dataset]] = {
    "samson": samson,
    "jasper_ridge": jasper_ridge,
    "san_diego": san_diego,
    **{name: partial(_abu, name) for name in ABU_SCENES},
    "paris_hs_ms": partial(_paris, "ms"),
    "paris_hs_pan": partial(_paris, "pan"),
}


def names() -> list[str]:
    return sorted(_LOADERS)


def load(name: str, root: str | os.PathLike[str] | None = None) -> xr.Dataset:
    """Load the named scene (see the module docstring) with its ground truth, checksums verified."""
    if name not in _LOADERS:
        raise UnknownMethodError(f"unknown dataset {name!r}; known: {', '.join(names())}")
    return _LOADERS[name](root)


def unit_cube(name: str, band_step: int = 1, root: str | os.PathLike[str] | None = None) -> np.ndarray:
    """The named scene's cube as the denoising protocol takes it: scaled to [0, 1] over all its values (float64),
    every ``band_step``-th band kept (a cube of few bands from one of many)."""
    raw = load(name, root)["cube"].values[:, :, ::band_step].astype(np.float64)
    return (raw - raw.min()) / (raw.max() - raw.min())
