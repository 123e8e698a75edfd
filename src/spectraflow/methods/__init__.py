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

__all__ = ["FAMILIES", "register", "get", "names", "registry"]

FAMILIES = ("denoise", "unmix", "operator", "preprocess")
_REGISTRIES: dict[str, Registry[Any]] = {family: Registry(f"{family} method") for family in FAMILIES}
# the modules whose import registers a family's methods (imported on first use, so `import spectraflow` is fast)
_PROVIDERS: dict[str, tuple[str, ...]] = {
    "preprocess": ("spectraflow.preprocess",),
    "unmix": ("spectraflow.methods.unmixers",),
    "denoise": ("spectraflow.methods.denoisers",),
}


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
