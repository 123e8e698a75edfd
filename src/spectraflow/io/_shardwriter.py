"""A direct writer of uncompressed zarr v3 shards.

zarr-python encodes every inner chunk through its async codec pipeline, which writes uncompressed spectral
data at ~0.6–1 GB/s on 2 cores, 4–6× slower than ``np.save`` of the same array. For the store's default
layout (sharding codec; inner chunks ``bytes``-encoded little-endian, no compression; index ``bytes`` +
``crc32c`` at the end) a shard is just its inner chunks' bytes in some order followed by an index of
``(offset, nbytes)`` pairs and that index's CRC-32C (zarr v3 sharding spec, ``sharding_indexed``). Writing
that directly costs one reorder copy (into a buffer reused shard after shard) and one ``write``.

The array's metadata are created by zarr/xarray; :func:`supports` checks that they describe exactly this
layout, so anything else (compression, other codecs, big-endian) goes through zarr itself. Shard files are
read back by zarr in the tests, which makes zarr the independent reference for this writer.

A shard goes to the disk with direct I/O (``O_DIRECT``) where the file system takes it: from the (aligned,
reused) buffer straight to the device, without a copy into the page cache. Buffered, the kernel's work of
taking fresh page-cache pages dominated the write on a 2-core virtual machine (measured by hand: 4–8 s of system
time for 2.15 GB of shards, which then still had to reach the disk; direct, about 1 s of waiting and no CPU time).
In ``benchmarks/results/ingest.md`` the write path of a 2.15 GB cube went from 3.0 s to 2.0 s, and ingest to the
disk from 0.30× to 0.49× ``np.save``'s (best of 3; best of 5, as issue 19 measures it: 0.55×). A file system
that refuses direct I/O gets a buffered write.
"""

from __future__ import annotations

import errno
import itertools
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["ShardBuffers", "supports", "write_shard"]

_EMPTY = np.uint64(2**64 - 1)
#: direct I/O's alignment of buffer addresses, file offsets and lengths (a page: any device's logical block divides it)
_ALIGN = 4096


def supports(array: Any) -> bool:
    """Whether ``array`` (a zarr v3 Array) has the sharded, uncompressed little-endian layout we write."""
    from zarr.codecs import BytesCodec, Crc32cCodec, ShardingCodec
    from zarr.codecs.sharding import ShardingCodecIndexLocation

    meta = array.metadata
    if getattr(meta, "zarr_format", None) != 3 or len(meta.codecs) != 1:
        return False
    codec = meta.codecs[0]
    if not isinstance(codec, ShardingCodec) or codec.index_location != ShardingCodecIndexLocation.end:
        return False
    inner = codec.codecs
    index = codec.index_codecs
    little = lambda c: isinstance(c, BytesCodec) and (c.endian is None or c.endian.value == "little")  # noqa: E731
    native = np.dtype(array.dtype)
    return (len(inner) == 1 and little(inner[0]) and len(index) == 2 and little(index[0])
            and isinstance(index[1], Crc32cCodec) and native.kind in "iufb"
            and native.byteorder in ("=", "<", "|") and len(array.shards) == len(array.shape)
            and meta.chunk_key_encoding.name == "default")


def shard_path(array_dir: Path, array: Any, shard_index: tuple[int, ...]) -> Path:
    return array_dir / array.metadata.chunk_key_encoding.encode_chunk_key(shard_index)


class ShardBuffers:
    """One reusable output buffer per writing thread, for the life of one store write.

    A fresh ~64 MiB array per shard is a fresh memory map (above glibc's mmap threshold) whose every page
    faults on first touch and is unmapped again on free: on a virtual machine that kernel time exceeded the
    whole copy's. Reusing one buffer per thread touches its pages once.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def __reduce__(self) -> tuple[type[ShardBuffers], tuple[()]]:
        # sent to the workers of a process cluster with the write's tasks: a cache, so each gets a fresh one
        return ShardBuffers, ()

    def get(self, nbytes: int) -> np.ndarray:
        """``nbytes`` of this thread's buffer, starting at an address aligned for direct I/O."""
        buffer = getattr(self._local, "buffer", None)
        if buffer is None or buffer.nbytes < nbytes:
            spare = np.empty(nbytes + _ALIGN, dtype=np.uint8)
            start = -spare.ctypes.data % _ALIGN
            buffer = self._local.buffer = spare[start : start + nbytes]
        return buffer[:nbytes]


def _lay_out(block: np.ndarray, chunks: tuple[int, ...], present: tuple[int, ...], fill: Any,
             out: np.ndarray) -> None:
    """Copy ``block`` into ``out`` (shape ``present + chunks``) as inner chunks in C order, the part of an edge
    chunk beyond ``block`` set to ``fill``: one strided copy per combination of whole and partial chunks."""
    nd = block.ndim
    # (p0, p1, ..., c0, c1, ...) seen as (p0, c0, p1, c1, ...): block coordinates, split by chunk
    spatial = out.transpose([i for axis in range(nd) for i in (axis, nd + axis)])
    whole = [b // c for b, c in zip(block.shape, chunks, strict=True)]
    rest = [b % c for b, c in zip(block.shape, chunks, strict=True)]
    for axis in range(nd):  # padding of the partial last chunk along each axis
        if rest[axis]:
            index = [slice(None)] * (2 * nd)
            index[2 * axis: 2 * axis + 2] = [whole[axis], slice(rest[axis], None)]
            spatial[tuple(index)] = fill
    for parts in itertools.product((False, True), repeat=nd):  # per axis: the whole chunks, or the partial one
        if any(whole[a] == 0 if not partial else rest[a] == 0 for a, partial in enumerate(parts)):
            continue
        target: list[Any] = []
        source: list[slice] = []
        shape: list[int] = []
        for axis, partial in enumerate(parts):
            w, c = whole[axis], chunks[axis]
            if partial:
                target += [w, slice(0, rest[axis])]
                source.append(slice(w * c, None))
                shape.append(rest[axis])
            else:
                target += [slice(0, w), slice(None)]
                source.append(slice(0, w * c))
                shape += [w, c]
        spatial[tuple(target)] = block[tuple(source)].reshape(shape)


def write_shard(array_dir: Path, array: Any, shard_index: tuple[int, ...], block: np.ndarray,
                buffers: ShardBuffers) -> None:
    """Write ``block`` (the array's data for shard ``shard_index``; smaller at the array's far edges), laid out
    in a buffer from ``buffers``."""
    import google_crc32c

    chunks = tuple(int(c) for c in array.chunks)
    shards = tuple(int(s) for s in array.shards)
    per_shard = tuple(s // c for s, c in zip(shards, chunks, strict=True))
    present = tuple(-(-b // c) for b, c in zip(block.shape, chunks, strict=True))  # inner chunks touching data
    dtype = np.dtype(array.dtype).newbyteorder("<")
    data_bytes = int(np.prod(present + chunks)) * dtype.itemsize
    nd = block.ndim
    index = np.full(per_shard + (2,), _EMPTY, dtype="<u8")
    size = data_bytes + index.nbytes + 4  # the inner chunks, the index, its CRC-32C
    raw = buffers.get(-(-size // _ALIGN) * _ALIGN)  # the whole file, padded to direct I/O's unit
    _lay_out(block, chunks, present, array.metadata.fill_value, raw[:data_bytes].view(dtype).reshape(present + chunks))
    chunk_bytes = int(np.prod(chunks)) * dtype.itemsize
    grid = np.indices(present).reshape(nd, -1).T
    linear = np.ravel_multi_index(tuple(grid.T), present) if grid.size else np.empty(0, int)
    index[tuple(grid.T)] = np.stack([linear * chunk_bytes, np.full(linear.shape, chunk_bytes)], axis=-1)
    raw[data_bytes : size - 4] = index.reshape(-1).view(np.uint8)
    raw[size - 4 : size] = np.array([google_crc32c.value(raw[data_bytes : size - 4])], "<u4").view(np.uint8)
    path = shard_path(array_dir, array, shard_index)
    # directories only below the array's own, which must exist: a writer still running after a failed write
    # was cleaned up then fails here instead of recreating the removed temporary store
    for parent in reversed(path.relative_to(array_dir).parents[:-1]):
        (array_dir / parent).mkdir(exist_ok=True)
    _write_file(path, raw, size)


def _write_file(path: Path, padded: np.ndarray, size: int) -> None:
    """Write the first ``size`` bytes of ``padded`` (aligned, its length a multiple of ``_ALIGN``) to a new file
    at ``path``: with direct I/O where the file system takes it (the padding written, then cut off), else
    buffered."""
    direct = getattr(os, "O_DIRECT", 0)
    if direct:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | direct, 0o666)
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
        else:
            try:
                view, written = memoryview(padded), 0
                while written < padded.nbytes:
                    written += os.write(fd, view[written:])
                os.ftruncate(fd, size)
                return
            except OSError as exc:
                if exc.errno != errno.EINVAL:  # refused at the first write: buffered below
                    raise
            finally:
                os.close(fd)
    with open(path, "wb") as f:
        f.write(padded[:size].data)
