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

    #: above this many separate runs a selection is copied out of a memory map instead of read run by run
    MAX_RUNS = 4096

    def __getitem__(self, key: Any) -> np.ndarray:
        runs = self._contiguous_runs(key)
        if runs is not None:
            return self._read_runs(*runs)
        return self._read_mapped(key)

    def _contiguous_runs(self, key: Any) -> tuple[list[int], tuple[int, ...], int] | None:
        """Byte offsets of the runs a selection of plain slices consists of, its shape, and the run length."""
        if not isinstance(key, tuple):
            key = (key,)
        if len(key) != self.ndim or not all(isinstance(k, slice) for k in key):
            return None
        bounds = [k.indices(n) for k, n in zip(key, self.shape, strict=True)]
        if any(step != 1 or stop <= start for start, stop, step in bounds):
            return None
        extents = [stop - start for start, stop, _ in bounds]
        # the last axis selected partially; every axis after it is whole, so it bounds one contiguous run
        partial = [i for i, (e, n) in enumerate(zip(extents, self.shape, strict=True)) if e != n]
        k = partial[-1] if partial else 0
        inner = int(np.prod(self.shape[k + 1 :], dtype=np.int64))
        run = extents[k] * inner * self.file_dtype.itemsize
        outer = list(np.ndindex(*extents[:k]))
        if len(outer) > self.MAX_RUNS:
            return None
        strides = [int(np.prod(self.shape[i + 1 :], dtype=np.int64)) for i in range(self.ndim)]
        offsets = [
            self.offset + self.file_dtype.itemsize * (
                sum((bounds[i][0] + idx[i]) * strides[i] for i in range(k)) + bounds[k][0] * strides[k])
            for idx in outer
        ]
        return offsets, tuple(extents), run

    def _read_runs(self, offsets: list[int], shape: tuple[int, ...], run: int) -> np.ndarray:
        out = np.empty(shape, dtype=self.file_dtype)
        view = memoryview(out.reshape(-1).view(np.uint8).data)
        with open(self.path, "rb", buffering=0) as f:
            for i, offset in enumerate(offsets):
                f.seek(offset)
                target = view[i * run : (i + 1) * run]
                got = 0
                while got < run:
                    n = f.readinto(target[got:])
                    if not n:
                        raise OSError(f"{self.path}: unexpected end of file at byte {offset + got}")
                    got += n
        return out if self.file_dtype == self.dtype else out.astype(self.dtype)

    def _read_mapped(self, key: Any) -> np.ndarray:
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
