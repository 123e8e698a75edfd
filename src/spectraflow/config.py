"""Typed configuration mirroring the sections of ``params.yaml``; checked on construction."""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from .errors import ConfigError

__all__ = ["ComputeConfig", "SynthConfig", "IngestConfig", "PreprocessConfig", "DenoiseConfig", "TrainDenoiseConfig",
           "OperatorDataConfig", "TrainOperatorConfig", "UnmixConfig", "AnomalyConfig", "FuseConfig", "LandingConfig",
           "ReportConfig",
           "from_mapping", "check_workspace_paths", "load_params", "MAX_PARAMS_BYTES"]

C = TypeVar("C")

#: Keys that name files or directories: from params.yaml they must stay inside the workspace.
PATH_KEYS = frozenset({"input", "out", "out_dir", "source_dir", "directory", "stores", "checkpoint",
                       "companion_store"})


#: A params file larger than this is refused before parsing (a real one is a few kilobytes).
MAX_PARAMS_BYTES = 1 << 20


def load_params(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse a ``params.yaml``: plain YAML without aliases (``*name``), at most :data:`MAX_PARAMS_BYTES`.

    Aliases are refused, not expanded: a few hundred bytes of nested aliases expand to gigabytes (the "billion
    laughs"), and no parameter file needs them. Errors name the file and the line.
    """
    import yaml

    path = Path(path)
    size = path.stat().st_size
    if size > MAX_PARAMS_BYTES:
        raise ConfigError(f"{path}: {size} bytes; expected a parameter file of at most {MAX_PARAMS_BYTES} bytes")

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's: 10x faster (every stage reads the file)
    try:
        text = path.read_text(encoding="utf-8")
        for event in yaml.parse(text, Loader=loader):  # the events first: an alias is refused before it expands
            if isinstance(event, yaml.AliasEvent):
                raise ConfigError(f"{path}: line {event.start_mark.line + 1}: alias *{event.anchor}; expected plain "
                                  "values (YAML aliases are not accepted in parameter files)")
        params = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text: {exc}") from None
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise ConfigError(f"{path}: expected a mapping of sections, found {type(params).__name__}")
    return params


def _type_matches(value: Any, hint: Any) -> bool | None:
    """Whether ``value`` fits the annotation ``hint``; None where the hint is not a plain one to check."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        verdicts = [_type_matches(value, h) for h in typing.get_args(hint)]
        return None if None in verdicts else any(verdicts)
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin is tuple:
        return isinstance(value, list | tuple) or None
    return None


def check_types(cls: type, values: Mapping[str, Any], section: str) -> None:
    """Refuse a value whose type does not match its field's plain annotation (str, int, float, bool, None and
    unions of them; lists for tuples), naming the key, the value and the type expected."""
    hints = typing.get_type_hints(cls)
    for key, value in values.items():
        hint = hints.get(key)
        if hint is not None and _type_matches(value, hint) is False:
            expected = " or ".join("null" if h is type(None) else getattr(h, "__name__", str(h))
                                   for h in (typing.get_args(hint) or (hint,)))
            raise ConfigError(f"params.yaml [{section}]: {key}={value!r}; expected {expected}")


def check_workspace_paths(values: Mapping[str, Any], section: str) -> None:
    """Refuse absolute paths and paths leading out with ``..`` under :data:`PATH_KEYS` (checked on the text,
    so a symlink the user put inside the workspace still leads where they meant)."""
    for key in sorted(PATH_KEYS & set(values)):
        value = values[key]
        if not isinstance(value, str | os.PathLike):
            continue
        normal = os.path.normpath(os.fspath(value))
        if os.path.isabs(normal) or normal == ".." or normal.startswith(".." + os.sep):
            raise ConfigError(f"params.yaml [{section}]: {key}={os.fspath(value)!r}; expected a path inside the "
                              "workspace (relative, not leading out with '..'); copy outside data in, or ingest it "
                              "with the `spectraflow ingest` command, which reads any path you name")


def method_entries(value: Any, section: str, what: str) -> tuple[Any, ...]:
    """A section's ``methods``: one entry (a name or ``{name: {parameters}}``) or a list of them, as a tuple;
    an empty list is refused."""
    entries = [value] if isinstance(value, str | Mapping) else list(value or ())
    if not entries:
        raise ConfigError(f"params.yaml [{section}]: methods is empty; expected a list of {what}")
    return tuple(entries)


def from_mapping(cls: type[C], values: Mapping[str, Any] | None, section: str) -> C:
    """Build ``cls`` from a ``params.yaml`` section, naming any unknown key and the allowed ones."""
    values = dict(values or {})
    if dataclasses.is_dataclass(cls):
        fields = {f.name for f in dataclasses.fields(cls)}
    else:  # a class configured by its constructor's keywords (the torch models)
        import inspect

        fields = {name for name, p in inspect.signature(cls).parameters.items()
                  if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    unknown = sorted(set(values) - fields)
    if unknown:
        raise ConfigError(f"params.yaml [{section}]: unknown key(s) {unknown}; allowed: {sorted(fields)}")
    if dataclasses.is_dataclass(cls):
        check_types(cls, values, section)
    check_workspace_paths(values, section)
    try:
        return cls(**values)
    except TypeError as exc:
        raise ConfigError(f"params.yaml [{section}]: {exc}") from None


@dataclass(frozen=True)
class ComputeConfig:
    """Where and with how many threads stages compute (``compute`` section); see :mod:`spectraflow.compute`.

    ``scheduler``, ``n_workers`` and ``memory_limit`` are deliberately not DVC ``params`` dependencies: they
    change where work runs, not its result. ``threads`` is one (of every computing stage): the number of threads
    summing a float reduction changes its last bits.
    """

    scheduler: str = "threads"
    n_workers: int | None = None
    memory_limit: str | None = None
    threads: int | None = None

    def __post_init__(self) -> None:
        if self.threads is not None and (isinstance(self.threads, bool) or not isinstance(self.threads, int)
                                         or self.threads < 1):
            raise ConfigError(f"params.yaml [compute.threads]: {self.threads!r}; expected a whole number >= 1, "
                              "or null (the cores shared among collection.parallel stages)")


@dataclass(frozen=True)
class SynthConfig:
    """One scene of the built-in synthetic collection (an entry of ``synth.scenes``). ``kind: reflectance``: a
    remote-sensing scene, see :func:`spectraflow.synth.synthetic_acquisition` (``sensor``, ``endmembers``,
    ``nodata_corner``; ``companion``: ``rgb`` or ``pan``, a finer image of the scene ``ratio`` times its
    resolution, written beside it with the fine reference), written as ENVI. ``kind: eels``: an EELS spectrum
    image, see :func:`spectraflow.synth.eels_scene` (``dose``), written as HyperSpy ``.hspy``."""

    kind: str = "reflectance"
    seed: int = 0
    height: int = 128
    width: int = 128
    sensor: str = "aviris"
    endmembers: tuple[str, ...] = ("vegetation", "soil", "water", "asphalt", "kaolinite")
    nodata_corner: float = 0.0
    companion: str | None = None
    ratio: int = 4
    dose: float = 2000.0

    def __post_init__(self) -> None:
        if self.kind not in ("reflectance", "eels"):
            raise ConfigError(f"params.yaml [synth]: kind={self.kind!r}; expected 'reflectance' or 'eels'")
        object.__setattr__(self, "endmembers", tuple(self.endmembers))
        for key in ("height", "width"):
            value = getattr(self, key)
            if not isinstance(value, int) or not 2 <= value <= 20000:
                raise ConfigError(f"params.yaml [synth]: {key}={value!r}; expected an integer in 2..20000")


@dataclass(frozen=True)
class IngestConfig:
    """Ingestion of the scene the pipeline works on (``ingest`` section)."""

    source_dir: str = "data/raw"
    source: str = "scene.hdr"
    out: str = "data/stores/scene.zarr"
    name: str = "scene"
    format: str | None = None
    ground_truth: str | None = None
    nonfinite: str = "refuse"
    compressor: str = "none"

    def __post_init__(self) -> None:
        for key in ("source", "ground_truth"):
            value = getattr(self, key)
            if value is not None and (value.startswith("/") or ".." in value.split("/")):
                raise ConfigError(f"params.yaml [ingest]: {key}={value!r}; expected a file name inside source_dir")
        if self.nonfinite not in ("refuse", "mask"):
            raise ConfigError(f"params.yaml [ingest]: nonfinite={self.nonfinite!r}; expected 'refuse' or 'mask'")
        if self.compressor not in ("none", "lz4", "zstd"):
            raise ConfigError(f"params.yaml [ingest]: compressor={self.compressor!r}; expected none, lz4 or zstd")

    @property
    def source_path(self) -> str:
        return f"{self.source_dir}/{self.source}"

    @property
    def ground_truth_path(self) -> str | None:
        return None if self.ground_truth is None else f"{self.source_dir}/{self.ground_truth}"


@dataclass(frozen=True)
class PreprocessConfig:
    """The preprocessing stage (``preprocess`` section): an ordered chain of registered steps, each
    ``{name: {parameters}}`` (``spectraflow methods`` lists them), and the training-patch table."""

    input: str = "data/stores/scene.zarr"
    out: str = "data/stores/preprocessed.zarr"
    steps: tuple[Any, ...] = ()
    patches: Mapping[str, Any] | None = None
    compressor: str = "none"

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", tuple(self.steps or ()))
        if self.compressor not in ("none", "lz4", "zstd"):
            raise ConfigError(f"params.yaml [preprocess]: compressor={self.compressor!r}; expected none, lz4 or zstd")

    def parsed_steps(self) -> list[Any]:
        from .preprocess import parse_steps

        return parse_steps(self.steps)

    def patch_config(self) -> Any:
        from .preprocess import PatchConfig

        return None if self.patches is None else from_mapping(PatchConfig, self.patches, "preprocess.patches")


@dataclass(frozen=True)
class DenoiseConfig:
    """The denoising stage (``denoise`` section): registered methods, each run on the same input (the first
    one's result is the stage's output cube), and the noise to add when the input is a clean scene being used
    to evaluate (``noise: null`` denoises the input as it is)."""

    input: str = "data/stores/preprocessed.zarr"
    out: str = "data/stores/denoised.zarr"
    methods: tuple[Any, ...] = ("subspace_tv",)
    noise: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "methods", method_entries(self.methods, "denoise", "method entries"))
        if self.noise is not None:
            allowed = {"case", "seed", "sigma", "peak"}
            if not isinstance(self.noise, Mapping) or "case" not in self.noise or set(self.noise) - allowed:
                raise ConfigError(f"params.yaml [denoise]: noise={self.noise!r}; expected null or a mapping with "
                                  f"'case' and optionally {sorted(allowed - {'case'})}")


@dataclass(frozen=True)
class TrainDenoiseConfig:
    """The learned denoiser's training stage (``train_denoise`` section): the scene of the collection whose
    preprocessed patches it trains on (its scores there are named as such), the ``model`` (``subspace_learned``
    or ``qrnn3d``), the ``mode`` (``supervised``: on the scene taken as clean, the protocol's ``noise`` added;
    ``self_supervised``: on the scene as it is, its own noise, ``noise: null``), where the checkpoint goes, the
    network (that model's architecture keys; its defaults where empty), the batches (:class:`DenoiserData`
    fields), the noise to train for, ``subspace_learned``'s eigen-image settings (``subspace``, ``min_subspace``,
    ``drop_white``, ``weight``, ``iterations``, ``noise_method``: the denoise config must ask for the same), and how to
    train (:class:`spectraflow.train.TrainConfig` fields)."""

    scene: str = "aviris"
    model: str = "subspace_learned"
    mode: str = "supervised"
    out: str = "data/models/denoiser"
    network: Mapping[str, Any] = field(default_factory=dict)
    data: Mapping[str, Any] = field(default_factory=dict)
    noise: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = field(default_factory=lambda: {"case": "mixture"})
    subspace: Mapping[str, Any] = field(default_factory=dict)
    train: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:  # the nested sections are checked now, not after the data is read
        from .methods.denoisers._training import MODELS, MODES, eigen_image_estimator

        if self.model not in MODELS:
            raise ConfigError(f"params.yaml [train_denoise.model]: {self.model!r}; expected one of {MODELS}")
        if self.mode not in MODES:
            raise ConfigError(f"params.yaml [train_denoise.mode]: {self.mode!r}; expected one of {MODES}")
        self.settings()
        try:
            eigen_image_estimator(self.model, self.subspace)
        except (ConfigError, TypeError) as error:
            raise ConfigError(f"params.yaml [train_denoise.subspace]: {error}") from None

    @property
    def input(self) -> str:
        """The preprocessed store of :attr:`scene`."""
        from .collection import SceneLayout

        return SceneLayout(self.scene).store("preprocessed")

    def settings(self) -> tuple[Any, Any]:
        """The typed ``(TrainConfig, DenoiserData)`` of the ``train`` and ``data`` sub-sections."""
        from .methods.denoisers import DenoiserData
        from .train import TrainConfig

        return (from_mapping(TrainConfig, self.train, "train_denoise.train"),
                from_mapping(DenoiserData, self.data, "train_denoise.data"))


@dataclass(frozen=True)
class OperatorDataConfig:
    """Operator-learning data (``operator_data`` section): ``train``/``test`` samples of ``equation`` from our
    seeded solver at ``size`` points per axis, more test samples at each of ``test_sizes`` for zero-shot
    resolution transfer, solver ``parameters``; stores under ``out``."""

    equation: str = "darcy"
    train: int = 512
    test: int = 64
    size: int = 16
    test_sizes: tuple[int, ...] = (32,)
    seed: int = 0
    parameters: Mapping[str, Any] = field(default_factory=dict)
    out: str = "data/stores/operator"

    def __post_init__(self) -> None:
        from .synth import EQUATIONS

        object.__setattr__(self, "test_sizes", tuple(self.test_sizes or ()))
        if self.equation not in EQUATIONS:
            raise ConfigError(f"params.yaml [operator_data]: equation={self.equation!r}; expected one of {EQUATIONS}")
        for key in ("train", "test", "size"):
            if not isinstance(getattr(self, key), int) or getattr(self, key) < (3 if key == "size" else 1):
                raise ConfigError(f"params.yaml [operator_data]: {key}={getattr(self, key)!r}; expected a positive "
                                  "integer")


@dataclass(frozen=True)
class TrainOperatorConfig:
    """Operator training (``train_operator`` section): the data stores, where the checkpoint goes, the model
    (``{name: {config}}``), batch size, loss (``h1`` | ``l2`` | ``sobolev`` of order ``sobolev_order`` |
    ``darcy_residual``: the last needs no solution data), the problem's symmetries to augment with, and how to
    train (TrainConfig fields)."""

    input: str = "data/stores/operator"
    out: str = "data/models/operator"
    model: Any = "fno"
    batch_size: int = 16
    loss: str = "h1"
    sobolev_order: float = 2.0
    symmetries: tuple[str, ...] = ()
    train: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "symmetries", tuple(self.symmetries or ()))
        self.settings()

    def settings(self) -> Any:
        """The typed :class:`~spectraflow.train.TrainConfig` of the ``train`` sub-section."""
        from .train import TrainConfig

        return from_mapping(TrainConfig, self.train, "train_operator.train")


#: ``unmix.n_endmembers: subspace``: as many endmembers as HySime's signal-subspace dimension.
SUBSPACE = "subspace"


@dataclass(frozen=True)
class UnmixConfig:
    """The unmixing stage (``unmix`` section): a light preprocessing chain, then either an endmember
    extractor and an abundance estimator, or a blind method (``spectraflow methods`` lists them)."""

    input: str = "data/stores/scene.zarr"
    out: str = "data/stores/unmixing.zarr"
    steps: tuple[Any, ...] = ()
    n_endmembers: int | str | None = None
    endmembers: Any = "vca"
    abundances: Any = "fcls"
    blind: Any = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", tuple(self.steps or ()))
        count = self.n_endmembers
        if count is not None and count != SUBSPACE and (not isinstance(count, int) or isinstance(count, bool)
                                                        or count < 1):
            raise ConfigError(f"params.yaml [unmix]: n_endmembers={count!r}; expected a positive integer, or "
                              f"'{SUBSPACE}' (HySime's signal-subspace dimension, an upper bound)")


@dataclass(frozen=True)
class TrainUnmixConfig:
    """The unmixing network's stage (``train_unmix`` section): the scenes of the collection it is fitted to
    (``train_unmix@<scene>`` each; blind — no ground truth is used, so its scores there are a blind method's, as
    ``archetypal``'s are) and the network's keys (:class:`spectraflow.methods.unmixers.autoencoder.Autoencoder`
    fields; its defaults where absent). The cube, its chain and the endmember count are the unmix stage's."""

    scenes: tuple[str, ...] = ()
    network: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from .collection import check_scene_name

        object.__setattr__(self, "scenes", tuple(check_scene_name(s) for s in self.scenes or ()))
        reserved = sorted(set(self.network) & {"checkpoint", "curves"})
        if reserved:
            raise ConfigError(f"params.yaml [train_unmix.network]: {reserved} are the stage's outputs (each "
                              "scene's checkpoint under data/models, its training curves under data/plots)")
        from .methods.unmixers.autoencoder import Autoencoder

        from_mapping(Autoencoder, self.network, "train_unmix.network")  # its keys checked before any data is read


@dataclass(frozen=True)
class AnomalyConfig:
    """The anomaly-detection stage (``anomaly`` section): a light preprocessing chain, then every detector in
    ``methods`` scores the same cube (the first one's scores lead the store, the figure and the overview)."""

    input: str = "data/stores/scene.zarr"
    out: str = "data/stores/anomaly.zarr"
    steps: tuple[Any, ...] = ()
    methods: tuple[Any, ...] = ("rx",)

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", tuple(self.steps or ()))
        object.__setattr__(self, "methods", method_entries(self.methods, "anomaly", "detector entries"))


@dataclass(frozen=True)
class FuseConfig:
    """The resolution-enhancement stage (``fuse`` section) of a scene with a companion image: the companion's
    file (``source`` in ``source_dir``, read as ingest reads a scene: ``format``, ``nonfinite``) ingested into
    ``companion_store``, an optional finer ``reference`` of the scene (NetCDF, beside it) to score against, the
    scene's preprocessing ``steps``, the ``methods`` (the first one's result is the output cube), where the
    companion's spectral responses come from (``srf``: ``bands`` or ``estimate``) and the side, in fine pixels, of
    the central window scored (``score_window``; null: the whole scene)."""

    input: str = "data/stores/scene.zarr"
    out: str = "data/stores/fused.zarr"
    companion_store: str = "data/stores/companion.zarr"
    source_dir: str = "data/raw"
    source: str = "companion.hdr"
    reference: str | None = None
    format: str | None = None
    nonfinite: str = "refuse"
    steps: tuple[Any, ...] = ()
    methods: tuple[Any, ...] = ("mtf_glp",)
    srf: str = "bands"
    score_window: int | None = 256

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", tuple(self.steps or ()))
        object.__setattr__(self, "methods", method_entries(self.methods, "fuse", "fusion method entries"))
        if self.srf not in ("bands", "estimate"):
            raise ConfigError(f"params.yaml [fuse]: srf={self.srf!r}; expected 'bands' or 'estimate'")
        window = self.score_window
        if window is not None and (isinstance(window, bool) or not isinstance(window, int) or window < 16):
            raise ConfigError(f"params.yaml [fuse]: score_window={window!r}; expected a side of at least 16 fine "
                              "pixels, or null for the whole scene")
        if self.reference is not None and (self.reference.startswith("/") or ".." in self.reference.split("/")):
            raise ConfigError(f"params.yaml [fuse]: reference={self.reference!r}; expected a file name inside "
                              "source_dir")
        self.companion_ingest("check")  # the companion's file name and reader keys, checked as ingest checks them

    def companion_ingest(self, name: str) -> IngestConfig:
        """How the companion is ingested: its file, as scene ``name``, into :attr:`companion_store`."""
        return IngestConfig(source_dir=self.source_dir, source=self.source, out=self.companion_store, name=name,
                            format=self.format, nonfinite=self.nonfinite)

    @property
    def reference_path(self) -> str | None:
        return None if self.reference is None else f"{self.source_dir}/{self.reference}"


@dataclass(frozen=True)
class LandingConfig:
    """The landing zone (``landing`` section): where new acquisitions are dropped, where they are kept once
    accepted (each a scene of the collection), how long a file must be unchanged before it is taken (it may
    still be being copied), and the collection entry keys every landed scene gets (``scene``: ingest keys and
    per-stage overrides, as in ``collection.scenes``)."""

    directory: str = "data/landing"
    acquisitions: str = "data/acquisitions"
    settle_seconds: float = 2.0
    scene: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0 <= self.settle_seconds <= 86400:
            raise ConfigError(f"params.yaml [landing]: settle_seconds={self.settle_seconds!r}; expected seconds in "
                              "0..86400 (how long a file must be unchanged before it is taken)")
        reserved = sorted(set(self.scene) & {"source_dir", "source", "ground_truth"})
        if reserved:
            raise ConfigError(f"params.yaml [landing.scene]: {reserved} are set per landed file; expected only "
                              "reader options and per-stage overrides")


@dataclass(frozen=True)
class ReportConfig:
    """The report stage (``report`` section): where the HTML page goes and the git revision whose metrics it
    compares this run's with (``HEAD``: the last committed run)."""

    out: str = "data/report/index.html"
    baseline: str = "HEAD"
