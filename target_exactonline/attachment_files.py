"""An attachment's bytes, from a file under `attachment_dir` or from base64 in the record.

Records come from other systems, so a `path` is untrusted input: without these checks a record
could upload the token store, the target's config, `/proc/self/environ` or `/etc/shadow` to Exact,
or stop the run on `/dev/zero` (memory) or a FIFO (a read that never returns). So:

- a `path` is read only when the `attachment_dir` setting names a folder, and only if it lies in
  that folder once symlinks and `..` are resolved (a relative path is relative to that folder);
- the resolved path is opened component by component below the folder with O_NOFOLLOW, so a
  symlink swapped in after the check is refused rather than followed, and with O_NONBLOCK, so
  a FIFO cannot hang the open;
- the open file must be a regular file no larger than `attachment_max_bytes` (fstat on the
  descriptor, so type and size are those of the file that is read); it is then read from that
  descriptor in blocks while it is sent (never held whole), and a file whose size changes after
  the check is refused, never sent with another length;
- base64 `content_base64` is held to the same cap, measured as decoded bytes before decoding.
"""

from __future__ import annotations

import base64
import binascii
import errno
import os
import stat
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from exactonline_api.streamed_body import (
    BytesBody,
    FileBase64Json,
    SourceChanged,
    StreamedBody,
    json_around,
)
from target_exactonline.rejects import RecordRejected

_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NOCTTY
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _mib(n: int) -> str:
    return f"{n:,} bytes" + (f" ({n / 1_048_576:.1f} MiB)" if n >= 1_048_576 else "")


def _refuse(reason: str) -> RecordRejected:
    return RecordRejected(reason, field="path")


def _inside(root: Path, path_text: str) -> list[str]:
    """The parts of `path_text` below `root` after resolving symlinks and `..`, or a refusal."""
    try:
        # An absolute path_text replaces root here, and must then resolve into it.
        resolved = Path(os.path.realpath(root / path_text))
    except (ValueError, OSError) as exc:  # a NUL byte, a symlink loop
        raise _refuse(f"{path_text!r} is not a usable path: {exc}") from None
    try:
        parts = resolved.relative_to(root).parts
    except ValueError:
        raise _refuse(
            f"{path_text!r} is outside attachment_dir ({root}) once symlinks and '..' are "
            "resolved: only files in that folder are read"
        ) from None
    if not parts:
        raise _refuse(f"{path_text!r} is attachment_dir itself, not a file in it")
    return list(parts)


def _open_below(root: Path, parts: list[str], path_text: str) -> int:
    """Open root/parts without following any symlink (the parts are already resolved, so a
    symlink met here was swapped in after the check) and without blocking on a FIFO."""
    try:
        fd = os.open(root, _DIR_FLAGS)
    except OSError as exc:  # attachment_dir removed or replaced since the run started
        raise _refuse(f"cannot open attachment_dir {str(root)!r}: {exc.strerror}") from None
    try:
        for part in parts[:-1]:
            try:
                nxt = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                raise _refuse(f"cannot open {path_text!r}: {exc.strerror}") from None
            os.close(fd)
            fd = nxt
        try:
            return os.open(parts[-1], _OPEN_FLAGS, dir_fd=fd)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise _refuse(f"{path_text!r} changed into a symlink while being opened") from None
            if exc.errno == errno.ENXIO:  # a socket (or a device with nothing behind it)
                raise _refuse(f"{path_text!r} is not a regular file") from None
            raise _refuse(f"cannot open {path_text!r}: {exc.strerror}") from None
    finally:
        os.close(fd)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _open_checked(path_text: str, root: Path | None, max_bytes: int) -> tuple[int, os.stat_result]:
    """An open descriptor on the file at `path_text` under `root`, with its fstat, after every
    check; the caller closes it. A refusal names `path`."""
    if root is None:
        raise _refuse(
            "reading attachment files is off: set attachment_dir to the folder they are in, "
            "or send the file as content_base64"
        )
    parts = _inside(root, path_text)
    fd = _open_below(root, parts, path_text)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _refuse(f"{path_text!r} is {_kind(info.st_mode)}, not a regular file")
        if info.st_size > max_bytes:
            raise _refuse(
                f"{path_text!r} has {_mib(info.st_size)}, more than attachment_max_bytes "
                f"{_mib(max_bytes)}"
            )
    except BaseException:
        os.close(fd)
        raise
    return fd, info


def check_file(path_text: str, root: Path | None, max_bytes: int) -> None:
    """Refuse now what `file_body` would refuse, without reading a byte (a file that is
    already in Exact is then never read)."""
    fd, _ = _open_checked(path_text, root, max_bytes)
    os.close(fd)


@contextmanager
def file_body(
    fields: Mapping[str, Any], field: str, path_text: str, root: Path | None, max_bytes: int
) -> Iterator[StreamedBody]:
    """The JSON body of `fields` with `field` holding the base64 of the file at `path_text`
    (under `root`), read in blocks from the descriptor opened after every check, at each attempt
    to send it: the file is never held whole. A file whose size is no longer the one checked is
    refused (naming `path`) and never sent with another length."""
    fd, info = _open_checked(path_text, root, max_bytes)
    try:
        yield FileBase64Json(fields, field, fd, info.st_size)
    except SourceChanged as exc:
        raise _refuse(f"{path_text!r} {exc}: send it when it is complete") from None
    finally:
        os.close(fd)


def base64_body(fields: Mapping[str, Any], field: str, text: bytes) -> StreamedBody:
    """The JSON body of `fields` with `field` holding `text` (checked base64), sent from the
    bytes given without a copy of them."""
    before, after = json_around(fields, field)
    return BytesBody(before, text, after)


def decoded_size(text: str) -> int:
    """Bytes that base64 `text` (whitespace removed) decodes to, without decoding it."""
    return len(text) * 3 // 4 - text[-2:].count("=") if text else 0


def checked_base64(value: object, max_bytes: int) -> bytes:
    """`content_base64` without whitespace, as ASCII bytes (the form it is sent in), refused
    when invalid or over the cap (decoded)."""
    text = "".join(str(value).split())
    size = decoded_size(text)
    if size > max_bytes:
        raise RecordRejected(
            f"decodes to {_mib(size)}, more than attachment_max_bytes {_mib(max_bytes)}",
            field="content_base64",
        )
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise RecordRejected("not valid base64", field="content_base64") from None
    return text.encode("ascii")
