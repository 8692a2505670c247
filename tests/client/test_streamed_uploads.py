"""A streamed upload (a file's base64 inside the JSON body, read in blocks) goes out with its
exact Content-Length, is stored byte for byte, and is sent whole again on every retry."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from exactonline_api.client import ExactClient
from exactonline_api.streamed_body import FILE_BLOCK, FileBase64Json, SourceChanged
from exactonline_sandbox.harness import Sandbox

FILES = "documents/DocumentAttachments"
SIZE = 3 * FILE_BLOCK + 1  # several blocks and a padded end


@pytest.fixture
def own(sandbox_factory) -> Sandbox:
    """A sandbox of this test's own: its faults and clock are global to a sandbox."""
    return sandbox_factory(scale=0.02, divisions=1)


def _sent_uploads(client: ExactClient) -> list[requests.PreparedRequest]:
    """The requests the client sends to DocumentAttachments, as requests prepared them."""
    sent: list[requests.PreparedRequest] = []

    def keep(resp: requests.Response, *args: Any, **kwargs: Any) -> None:
        if FILES in (resp.request.url or ""):
            sent.append(resp.request)

    client.session.hooks["response"].append(keep)
    return sent


def _document(client: ExactClient, division: int) -> str:
    created = client.post(division, "documents/Documents", {"Subject": "streamed", "Type": 10})
    return str(created["ID"])


@contextmanager
def _file_body(path: Path, document: str) -> Iterator[FileBase64Json]:
    with path.open("rb") as f:
        yield FileBase64Json(
            {"Document": document, "FileName": path.name},
            "Attachment",
            f.fileno(),
            path.stat().st_size,
        )


def _stored(sb: Sandbox, client: ExactClient, division: int, document: str) -> dict[str, bytes]:
    """Each file on `document`, downloaded from its Url as a user of the API would."""
    found = {}
    for row in client.get(division, FILES, {"$filter": f"Document eq guid'{document}'"}):
        att_id = parse_qs(urlsplit(row["Url"]).query)["ID"][0]
        answer = client.session.get(
            f"{sb.url}/docs/SysAttachment.aspx?ID={att_id}&_Division_={division}",
            headers={"Authorization": f"Bearer {client.tokens.access_token()}"},
            timeout=30,
        )
        answer.raise_for_status()
        found[row["FileName"]] = answer.content
    return found


def test_a_streamed_file_is_sent_with_its_exact_length_and_stored_byte_for_byte(
    own: Sandbox, make_client, tmp_path: Path
) -> None:
    grant = own.grant()
    client = make_client(own, grant)
    division = grant["divisions"][0]
    data = os.urandom(SIZE)
    (tmp_path / "scan.pdf").write_bytes(data)
    document = _document(client, division)
    sent = _sent_uploads(client)
    with _file_body(tmp_path / "scan.pdf", document) as body:
        client.post(division, FILES, body)
    [request] = sent
    assert request.headers["Content-Length"] == str(len(body))
    assert "Transfer-Encoding" not in request.headers
    assert not isinstance(request.body, bytes | str)  # handed to requests as a stream
    assert _stored(own, client, division, document) == {"scan.pdf": data}


def test_a_streamed_upload_is_sent_whole_again_after_a_503_and_after_a_401(
    own: Sandbox, make_client, tmp_path: Path
) -> None:
    grant = own.grant()
    client = make_client(own, grant)
    division = grant["divisions"][0]
    first, second = os.urandom(SIZE), os.urandom(SIZE + 1)
    (tmp_path / "first.pdf").write_bytes(first)
    (tmp_path / "second.pdf").write_bytes(second)
    document = _document(client, division)
    sent = _sent_uploads(client)
    lengths = []
    with (
        own.faults_during({"endpoints": [FILES], "next": ["503"]}) as answered,
        _file_body(tmp_path / "first.pdf", document) as body,
    ):
        client.post(division, FILES, body)
        lengths += [str(len(body))] * 2
    assert answered.get("503") == 1
    assert client.stats.retries == 1
    own.advance_clock(601)  # the access token expired in Exact's eyes: the upload gets a 401
    with _file_body(tmp_path / "second.pdf", document) as body:
        client.post(division, FILES, body)
        lengths += [str(len(body))] * 2
    assert client.stats.auth_retries == 1
    assert [r.headers["Content-Length"] for r in sent] == lengths
    assert _stored(own, client, division, document) == {"first.pdf": first, "second.pdf": second}


def test_a_file_whose_size_changed_after_the_check_is_not_sent(
    own: Sandbox, make_client, tmp_path: Path
) -> None:
    grant = own.grant()
    client = make_client(own, grant)
    division = grant["divisions"][0]
    path = tmp_path / "growing.pdf"
    path.write_bytes(os.urandom(SIZE))
    document = _document(client, division)
    sent = _sent_uploads(client)
    with _file_body(path, document) as body:
        with path.open("ab") as f:
            f.write(b"more")
        with pytest.raises(SourceChanged, match="grew"):
            client.post(division, FILES, body)
        os.truncate(path, SIZE - 10)
        with pytest.raises(SourceChanged, match="shrank"):
            client.post(division, FILES, body)
    assert sent == []
    assert _stored(own, client, division, document) == {}
