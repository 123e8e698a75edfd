"""A small generic name → object registry (readers, method families)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from .errors import UnknownMethodError

T = TypeVar("T")

__all__ = ["Registry"]


class Registry(Generic[T]):
    """Objects of one kind, registered under short lowercase names.

    Parameters
    ----------
    kind
        What the registry holds, used in error messages (``"reader"``, ``"denoise method"``).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator registering its target under ``name``."""
        if not name or name != name.lower() or not name.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"{self.kind} name must be lowercase letters, digits, '-' or '_': {name!r}")

        def decorate(item: T) -> T:
            if name in self._items and self._items[name] is not item:
                raise ValueError(f"{self.kind} {name!r} is already registered to {self._items[name]!r}")
            self._items[name] = item
            return item

        return decorate

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(self.names()) or "none registered"
            raise UnknownMethodError(f"unknown {self.kind} {name!r}; known: {known}") from None

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)
