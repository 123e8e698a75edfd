"""Registered methods, by family.

A method is one file that registers a class: ``@register("denoise", "fasthyde")``. ``params.yaml`` picks it
by that short name; ``get(family, name)`` returns the class; ``names(family)`` lists a family (an empty list
for a family with no methods yet).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._registry import Registry
from ..errors import UnknownMethodError

__all__ = ["FAMILIES", "register", "get", "names", "registry", "build", "method_params", "provider_modules"]

FAMILIES = ("denoise", "unmix", "anomaly", "fuse", "operator", "preprocess")
_REGISTRIES: dict[str, Registry[Any]] = {family: Registry(f"{family} method") for family in FAMILIES}
# the modules whose import registers a family's methods (imported on first use, so `import spectraflow` is fast)
_PROVIDERS: dict[str, tuple[str, ...]] = {
    "preprocess": ("spectraflow.preprocess",),
    "unmix": ("spectraflow.methods.unmixers",),
    "denoise": ("spectraflow.methods.denoisers",),
    "anomaly": ("spectraflow.methods.anomaly",),
    "fuse": ("spectraflow.methods.fusion",),
    "operator": ("spectraflow.methods.operators",),
}


def provider_modules() -> tuple[str, ...]:
    """The modules that register every family's methods (what a process about to run any method can import
    ahead)."""
    return tuple(module for family in FAMILIES for module in _PROVIDERS.get(family, ()))


def registry(family: str) -> Registry[Any]:
    if family not in _REGISTRIES:
        raise UnknownMethodError(f"unknown method family {family!r}; known: {', '.join(FAMILIES)}")
    import importlib

    for module in _PROVIDERS.get(family, ()):
        importlib.import_module(module)
    return _REGISTRIES[family]


def register(family: str, name: str) -> Callable[[Any], Any]:
    """Class decorator registering a method under ``family``/``name``."""
    if family not in _REGISTRIES:
        raise UnknownMethodError(f"unknown method family {family!r}; known: {', '.join(FAMILIES)}")
    return _REGISTRIES[family].register(name)


def get(family: str, name: str) -> Any:
    """The class registered as ``name`` in ``family``."""
    return registry(family).get(name)


def names(family: str) -> list[str]:
    """Registered method names of ``family``, sorted."""
    return registry(family).names()


def build(family: str, spec: Any, section: str) -> Any:
    """An instance from a ``params.yaml`` entry: a method name, or ``{name: {parameter: value}}``.

    ``section`` names the entry in error messages (``unmix.endmembers``); unknown names, unknown parameters
    and bad values are :class:`~spectraflow.errors.ConfigError`.
    """
    from ..config import from_mapping
    from ..errors import ConfigError

    params: Any
    if isinstance(spec, str):
        name, params = spec, {}
    elif isinstance(spec, dict) and len(spec) == 1:
        ((name, params),) = spec.items()
    else:
        raise ConfigError(f"params.yaml [{section}]: {spec!r}; expected a method name or {{name: {{parameters}}}}")
    try:
        cls = get(family, str(name))
    except UnknownMethodError as exc:
        raise ConfigError(f"params.yaml [{section}]: {exc.args[0]}") from None
    return from_mapping(cls, params or {}, f"{section}: {name}")


def method_params(method: Any) -> dict[str, Any]:
    """A method instance's parameters (its dataclass fields), for provenance records."""
    import dataclasses

    return {f.name: getattr(method, f.name) for f in dataclasses.fields(method)}
