"""Lazy access to raw binary arrays on disk (ENVI raw files, .npy payloads)."""

from __future__ import annotations

import mmap
import os
from pathlib import Path
from typing import Any

import numpy as np


class RawFileArray:
    """A read-only, array-like view of a C-ordered binary array stored at ``offset`` in ``path``.

    Every ``__getitem__`` maps the file, copies the selection into native byte order, and unmaps
    again. A dask array built over it therefore keeps only the blocks in flight resident: a
    persistent ``np.memmap`` would keep every page it ever touched in the process's RSS.
    """

    def __init__(self, path: str | os.PathLike[str], shape: tuple[int, ...], dtype: np.dtype[Any],
                 offset: int = 0) -> None:
        self.path = Path(path)
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype).newbyteorder("=")  # what __getitem__ returns
        self.file_dtype = np.dtype(dtype)
        self.offset = int(offset)
        self.ndim = len(self.shape)

    def __getitem__(self, key: Any) -> np.ndarray:
        nbytes = int(np.prod(self.shape)) * self.file_dtype.itemsize
        if nbytes == 0:
            return np.empty(self.shape, self.dtype)[key]
        with open(self.path, "rb") as f:
            # map from the page boundary below the offset; mmap offsets must be page-aligned
            start = self.offset - self.offset % mmap.ALLOCATIONGRANULARITY
            with mmap.mmap(f.fileno(), self.offset - start + nbytes, access=mmap.ACCESS_READ,
                           offset=start) as mm:
                view = np.frombuffer(mm, self.file_dtype, count=int(np.prod(self.shape)),
                                     offset=self.offset - start).reshape(self.shape)
                out = np.array(view[key], dtype=self.dtype, copy=True)
                del view  # release the buffer export so the map can close
        return out

    def __repr__(self) -> str:
        return f"RawFileArray({str(self.path)!r}, shape={self.shape}, dtype={self.file_dtype}, offset={self.offset})"
