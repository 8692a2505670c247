"""An attachment's `path` is read only from `attachment_dir`, only as a regular file within
`attachment_max_bytes`; every other path is a reject naming the record and the field."""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from exactonline_sandbox.harness import Sandbox
from target_exactonline.attachment_files import file_body
from target_exactonline.rejects import RecordRejected
from tests.target.singer_run import invoices_for, record, run_target, schema

CAP = 4096


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """attachment_dir with one good file, and secrets beside it that must never be uploaded."""
    inside = tmp_path / "attachments"
    inside.mkdir()
    (inside / "factuur.pdf").write_bytes(b"%PDF-1.4 the only file to upload")
    (tmp_path / "secret.txt").write_text("SECRET-NOT-FOR-EXACT")
    return inside


def _files_of(sandbox: Sandbox, division: int, key: str) -> list[str]:
    [invoice] = [
        r for r in sandbox.rows(division, "salesinvoice/SalesInvoices") if r.get("YourRef") == key
    ]
    return sorted(
        r["FileName"]
        for r in sandbox.rows(division, "documents/DocumentAttachments")
        if invoice.get("Document") and r["Document"] == invoice["Document"]
    )


def _attachments(key: str, paths: dict[str, str]) -> list[dict[str, Any]]:
    return [schema("invoice_attachments")] + [
        record("invoice_attachments", {"invoice_key": key, "FileName": name, "path": path})
        for name, path in paths.items()
    ]


def test_paths_outside_attachment_dir_or_not_regular_files_are_rejected(
    sandbox: Sandbox, target_config: dict, division: int, tmp_path: Path, folder: Path
) -> None:
    key = f"HOSTILE-{uuid.uuid4().hex[:8].upper()}"
    (folder / "escape.pdf").symlink_to(tmp_path / "secret.txt")
    (folder / "zero.pdf").symlink_to("/dev/zero")
    (folder / "tokens.pdf").symlink_to(target_config["token_store_path"])
    os.mkfifo(folder / "pipe.pdf")
    (folder / "map").mkdir()
    # Sparse: 200 MB by its size, no disk used; refused by its size before a byte is read.
    with (folder / "huge.pdf").open("wb") as f:
        f.truncate(200 * 1024 * 1024)
    (folder / "big.pdf").write_bytes(b"x" * (CAP + 1))
    hostile = {
        "symlink-out.pdf": "escape.pdf",
        "dotdot.pdf": "../secret.txt",
        "dotdot-deep.pdf": "map/../../secret.txt",
        "absolute.pdf": str(tmp_path / "secret.txt"),
        "environ.pdf": "/proc/self/environ",
        "shadow.pdf": "/etc/shadow",
        "dev-zero.pdf": "/dev/zero",
        "link-zero.pdf": "zero.pdf",
        "tokens.pdf": "tokens.pdf",
        "fifo.pdf": "pipe.pdf",
        "directory.pdf": "map",
        "huge.pdf": "huge.pdf",
        "over-cap.pdf": "big.pdf",
    }
    messages = [
        *invoices_for(sandbox, division, [key]),
        *_attachments(key, {"factuur.pdf": "factuur.pdf", **hostile}),
        record(
            "invoice_attachments",
            {
                "invoice_key": key,
                "FileName": "base64-over-cap.pdf",
                "content_base64": base64.b64encode(b"y" * (CAP + 1)).decode(),
            },
        ),
    ]
    config = {
        **target_config,
        "attachment_dir": str(folder),
        "attachment_max_bytes": CAP,
        "on_error": "skip",
    }
    run = run_target(tmp_path, config, messages)
    assert run.returncode == 0, run.stderr
    assert [(r["key"], r["field"]) for r in run.rejects] == [
        *((f"{key}/{name}", "path") for name in hostile),
        (f"{key}/base64-over-cap.pdf", "content_base64"),
    ]
    reasons = {r["record"]["FileName"]: r["reason"] for r in run.rejects}
    assert "outside attachment_dir" in reasons["environ.pdf"]
    assert "outside attachment_dir" in reasons["symlink-out.pdf"]
    assert "a FIFO" in reasons["fifo.pdf"]
    assert "a directory" in reasons["directory.pdf"]
    assert "more than attachment_max_bytes" in reasons["huge.pdf"]
    assert "more than attachment_max_bytes" in reasons["base64-over-cap.pdf"]
    assert run.summary["streams"]["invoice_attachments"]["created"] == 1
    assert _files_of(sandbox, division, key) == ["factuur.pdf"]
    assert "SECRET-NOT-FOR-EXACT" not in run.stderr + run.reject_file.read_text()


def test_without_attachment_dir_a_path_is_rejected_and_content_base64_still_works(
    sandbox: Sandbox, target_config: dict, division: int, tmp_path: Path, folder: Path
) -> None:
    key = f"NODIR-{uuid.uuid4().hex[:8].upper()}"
    messages = [
        *invoices_for(sandbox, division, [key]),
        *_attachments(key, {"factuur.pdf": str(folder / "factuur.pdf")}),
        record(
            "invoice_attachments",
            {"invoice_key": key, "FileName": "notitie.txt", "content_base64": "aGFsbG8="},
        ),
    ]
    run = run_target(tmp_path, {**target_config, "on_error": "skip"}, messages)
    assert run.returncode == 0, run.stderr
    assert [(r["key"], r["field"]) for r in run.rejects] == [(f"{key}/factuur.pdf", "path")]
    assert "set attachment_dir" in run.rejects[0]["reason"]
    assert _files_of(sandbox, division, key) == ["notitie.txt"]


def test_paths_inside_attachment_dir_are_read_after_resolving_links(
    sandbox: Sandbox, target_config: dict, division: int, tmp_path: Path, folder: Path
) -> None:
    """A relative path is relative to attachment_dir; `..` and symlinks that stay inside it
    and an absolute path into it are fine."""
    key = f"INSIDE-{uuid.uuid4().hex[:8].upper()}"
    (folder / "2026").mkdir()
    (folder / "2026" / "scan.pdf").write_bytes(b"scan")
    (folder / "latest.pdf").symlink_to(folder / "2026" / "scan.pdf")
    paths = {
        "a.pdf": "factuur.pdf",
        "b.pdf": "2026/../factuur.pdf",
        "c.pdf": "latest.pdf",
        "d.pdf": str(folder / "2026" / "scan.pdf"),
    }
    messages = [*invoices_for(sandbox, division, [key]), *_attachments(key, paths)]
    run = run_target(tmp_path, {**target_config, "attachment_dir": str(folder)}, messages)
    assert run.returncode == 0, run.stderr
    assert _files_of(sandbox, division, key) == sorted(paths)


@pytest.mark.parametrize(
    ("value", "message"),
    [("/no/such/folder", "must be an existing folder"), (0, "must be at least 1")],
)
def test_attachment_settings_are_checked_before_any_write(
    target_config: dict, tmp_path: Path, value: Any, message: str
) -> None:
    name = "attachment_dir" if isinstance(value, str) else "attachment_max_bytes"
    run = run_target(tmp_path, {**target_config, name: value}, [schema("invoice_attachments")])
    assert run.returncode != 0
    assert name in run.stderr and message in run.stderr
    assert "Traceback" not in run.stderr


def _grow(path: Path) -> None:
    with path.open("ab") as f:
        f.write(b" and more")


def _shrink(path: Path) -> None:
    os.truncate(path, 3)


@pytest.mark.parametrize("change", [_grow, _shrink])
@pytest.mark.parametrize("opened", [False, True], ids=["before-sending", "while-sending"])
def test_a_file_that_changes_size_while_it_is_uploaded_is_a_reject_naming_path(
    folder: Path, change: Callable[[Path], None], opened: bool
) -> None:
    """The body is streamed from the file checked; if its size is no longer the one checked,
    the body is cut short (never sent whole with another length) and the record is refused."""
    fields = {"Document": str(uuid.uuid4()), "FileName": "factuur.pdf"}
    with (
        pytest.raises(RecordRejected) as info,  # noqa: PT012 - the change happens in the block
        file_body(fields, "Attachment", "factuur.pdf", folder, CAP) as body,
    ):
        reader = body.open() if opened else None
        if reader is not None:
            assert reader.read(5) == b'{"Doc'
        change(folder / "factuur.pdf")
        sent = (reader or body.open()).read()
        pytest.fail(f"sent {len(sent)} bytes of a file that changed")
    assert info.value.field == "path"
    verb = "grew" if change is _grow else "shrank"
    assert f"'factuur.pdf' {verb}" in info.value.reason
