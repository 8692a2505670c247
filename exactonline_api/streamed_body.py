"""Request bodies sent in blocks and re-opened for every attempt, so a large upload (a document's
file as base64 in JSON) is never held whole in memory, let alone twice.

`ExactClient.post` takes a `StreamedBody` besides a Mapping. Its exact length is known before a
byte is sent (requests then sends Content-Length, never chunked), and `open()` starts it anew for
each attempt (a retry, the one 401 refresh, a re-sent POST that did not land).
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

# Raw bytes read per block: a multiple of 3, so each block's base64 has no padding and the
# blocks' base64 joined is the base64 of the whole file.
FILE_BLOCK = 3 * 64 * 1024


class SourceChanged(Exception):
    """The source no longer has the length announced: the body is cut short, never sent whole
    with other bytes. Not an OSError, so the HTTP stack does not take it for a network failure."""


class BodyReader(Protocol):
    def __len__(self) -> int: ...
    def read(self, size: int = -1) -> bytes: ...


class StreamedBody(Protocol):
    """A body of a known length, read from its source again at every `open()`."""

    def __len__(self) -> int: ...
    def open(self) -> BodyReader: ...


class _Blocks:
    """A file-like over an iterator of blocks, with the length requests needs for
    Content-Length (its `super_len` takes `__len__`; its `__iter__` marks it as a stream)."""

    def __init__(self, blocks: Iterator[bytes], length: int) -> None:
        self._blocks = blocks
        self._length = length
        self._block = memoryview(b"")

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[bytes]:
        while block := self.read(FILE_BLOCK):
            yield block

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(FILE_BLOCK), b""))
        while not self._block:
            block = next(self._blocks, None)
            if block is None:
                return b""
            self._block = memoryview(block)
        part, self._block = self._block[:size], self._block[size:]
        return bytes(part)


def json_around(fields: Mapping[str, Any], field: str) -> tuple[bytes, bytes]:
    """The JSON object of `fields` plus `field` (last) as a string, split where that string's
    content goes: (before, after). The content must need no JSON escaping (base64 does not)."""
    rest = json.dumps({k: v for k, v in fields.items() if k != field})
    before = rest[:-1] + (", " if len(rest) > 2 else "") + json.dumps(field) + ': "'
    return before.encode("ascii"), b'"}'


def base64_length(size: int) -> int:
    """Characters of the base64 of `size` bytes, padding included."""
    return 4 * -(-size // 3)


class BytesBody:
    """A body already in memory, as parts sent one after the other: each attempt reads the
    same bytes, never a joined or per-attempt copy."""

    def __init__(self, *parts: bytes) -> None:
        self._parts = parts

    def __len__(self) -> int:
        return sum(len(p) for p in self._parts)

    def open(self) -> BodyReader:
        return _Blocks(iter(self._parts), len(self))


class FileBase64Json:
    """JSON of `fields` with `field` holding the base64 of the `size` bytes of the open file
    `fd` (a regular file; the caller keeps it open while the body is used and closes it).

    The file is read with os.pread in FILE_BLOCK blocks at each attempt, so at most one block
    and its base64 are in memory. If the file is no longer `size` bytes long, when opened or
    while it is read, `SourceChanged` is raised before the body is complete: a body of another
    length, or with other bytes than the size checked, is never sent.
    """

    def __init__(self, fields: Mapping[str, Any], field: str, fd: int, size: int) -> None:
        self._before, self._after = json_around(fields, field)
        self._fd = fd
        self._size = size

    def __len__(self) -> int:
        return len(self._before) + base64_length(self._size) + len(self._after)

    def open(self) -> BodyReader:
        self._check_size()
        return _Blocks(self._blocks(), len(self))

    def _check_size(self) -> None:
        try:
            now = os.fstat(self._fd).st_size
        except OSError as exc:
            raise SourceChanged(f"cannot be read: {exc.strerror}") from None
        if now != self._size:
            verb = "grew" if now > self._size else "shrank"
            raise SourceChanged(f"{verb} from {self._size:,} to {now:,} bytes after it was checked")

    def _blocks(self) -> Iterator[bytes]:
        yield self._before
        for offset in range(0, self._size, FILE_BLOCK):
            want = min(FILE_BLOCK, self._size - offset)
            try:
                block = os.pread(self._fd, want, offset)
            except OSError as exc:
                raise SourceChanged(f"cannot be read: {exc.strerror}") from None
            if len(block) != want:
                raise SourceChanged(f"shrank below {self._size:,} bytes while it was read")
            yield base64.b64encode(block)
        self._check_size()  # grew while read: the end is not sent
        yield self._after
