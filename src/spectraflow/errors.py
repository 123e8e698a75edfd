"""One exception hierarchy for spectraflow.

Every error spectraflow raises on purpose is a :class:`SpectraflowError`. Each subclass also derives from
the builtin exception a caller would naturally catch (``FileNotFoundError``, ``ValueError``, ...), so
``except ValueError`` keeps working for code that does not know spectraflow.

Errors about an input file carry the file, the offending field and what was expected, and render them
in one sentence that the CLI prints as is.
"""

from __future__ import annotations

from os import PathLike

__all__ = [
    "SpectraflowError",
    "InputNotFoundError",
    "DatasetNotFoundError",
    "FormatError",
    "HeaderError",
    "DataSizeError",
    "UnsupportedFormatError",
    "NonFiniteDataError",
    "ChecksumError",
    "ConfigError",
    "PathEscapeError",
    "StoreError",
    "OutputConflictError",
    "UnknownMethodError",
]


class SpectraflowError(Exception):
    """Base class of every error spectraflow raises on purpose."""


class InputNotFoundError(SpectraflowError, FileNotFoundError):
    """A file the caller named (or that a header implies) does not exist."""

    def __init__(self, path: str | PathLike[str], what: str = "input file") -> None:
        self.path = str(path)
        super().__init__(f"{what} not found: {self.path}")

    def __str__(self) -> str:  # FileNotFoundError would otherwise format errno-style
        return str(self.args[0])


class DatasetNotFoundError(SpectraflowError, FileNotFoundError):
    """A named benchmark dataset's files are not where the loader looked."""

    def __str__(self) -> str:
        return str(self.args[0])


class FormatError(SpectraflowError, ValueError):
    """An input file exists but its content is not what the reader expects.

    Parameters
    ----------
    path
        The file at fault.
    field
        The header key, variable or property that is wrong (``"data type"``, ``"interleave"``, ...).
    expected
        What would have been accepted.
    found
        What was there instead (optional).
    """

    def __init__(
        self,
        path: str | PathLike[str],
        field: str,
        expected: str,
        found: object | None = None,
    ) -> None:
        self.path = str(path)
        self.field = field
        self.expected = expected
        self.found = found
        message = f"{self.path}: field '{field}': expected {expected}"
        if found is not None:
            message += f", found {found!r}"
        super().__init__(message)


class HeaderError(FormatError):
    """An ENVI (or similar) header is missing a key, or a key has a bad value."""


class DataSizeError(FormatError):
    """The raw data file is not the size the header implies (or implies an absurd size)."""


class UnsupportedFormatError(FormatError):
    """No registered reader recognises the file, or the format named does not exist."""


class NonFiniteDataError(FormatError):
    """The data contain NaN or infinite values and the ingest policy is to refuse them."""


class ChecksumError(SpectraflowError, ValueError):
    """A file's sha256 differs from the one recorded for it."""


class ConfigError(SpectraflowError, ValueError):
    """A configuration key is unknown or its value is out of range."""


class PathEscapeError(SpectraflowError, ValueError):
    """A name or output path would place data outside the directory it must stay in."""


class StoreError(SpectraflowError, OSError):
    """A zarr store is missing, incomplete or not a spectraflow store."""


class OutputConflictError(SpectraflowError, FileExistsError):
    """An output path holds something that is not a previous output of the same kind: it is never replaced."""

    def __init__(self, path: str | PathLike[str], kind: str, found: str) -> None:
        self.path, self.kind, self.found = str(path), kind, found
        super().__init__(f"{self.path}: refusing to replace {found} with a '{kind}' output (only a previous "
                         f"'{kind}' output of spectraflow is replaced); choose another path, or move it away yourself")

    def __str__(self) -> str:  # FileExistsError would otherwise format errno-style
        return str(self.args[0])


class UnknownMethodError(SpectraflowError, KeyError):
    """A method name is not registered in its family."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0])
