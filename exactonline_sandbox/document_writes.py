"""POST rules of documents and their attachments (the file kept for the download Url)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from exactonline_sandbox import seed_vocabulary
from exactonline_sandbox.answers import SandboxError
from exactonline_sandbox.division import Division
from exactonline_sandbox.formats import odata_day
from exactonline_sandbox.resources import Resource
from exactonline_sandbox.writes import Writes


class DocumentWrites(Writes):
    """Creating documents and document attachments."""

    def _post_document(self, div: Division, res: Resource, body: Any) -> str:
        row = self._clean(res, body)
        if not row.get("Subject"):
            raise SandboxError(400, "Verplicht: Onderwerp")
        if row.get("Type") is None:
            raise SandboxError(400, "Verplicht: Soort")
        if row.get("Account"):
            acc = self._account(div, row["Account"], "Account", status=400)
            row["AccountCode"] = acc["Code"]
            row["AccountName"] = acc["Name"]
        types = dict(seed_vocabulary.DOCUMENT_TYPES)
        row["TypeDescription"] = types.get(row["Type"], "Overige")
        row.setdefault("DocumentDate", odata_day(self._today().date()))
        row["ID"] = self._new_id()
        row["HasEmptyBody"] = not row.get("Body")
        row["HID"] = 1 + max(
            (r.get("HID") or 0 for r in div.tables["documents"].rows.values()), default=0
        )
        row["Currency"] = row.get("Currency") or "EUR"
        row["SendMethod"] = 0
        row["InheritShare"] = False
        row["DocumentViewUrl"] = f"/docs/DocViewContent.aspx?ID={row['ID']}&_Division_={div.code}"
        self._stamp_new(div, row)
        div.tables["documents"].put(row, div.next_ts())
        return row["ID"]

    def _post_attachment(self, div: Division, res: Resource, body: Any) -> str:
        if not isinstance(body, dict):
            raise SandboxError(400, "Error processing request stream. JSON object expected.")
        raw = body.get("Attachment")
        row = self._clean(res, {k: v for k, v in body.items() if k != "Attachment"})
        if not row.get("Document"):
            raise SandboxError(400, "Verplicht: Document")
        if div.tables["documents"].get(str(row["Document"]).lower()) is None:
            raise SandboxError(400, f"Ongeldige referentie: Document ({row['Document']})")
        if not row.get("FileName"):
            raise SandboxError(400, "Verplicht: Bestandsnaam")
        if not isinstance(raw, str) or not raw:
            raise SandboxError(400, "Verplicht: Bijlage")
        try:
            content = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SandboxError(400, "Bijlage: ongeldige base64-gegevens") from exc
        att_id = self._new_id()
        row.update(
            {
                "ID": att_id,
                "Attachment": None,
                "FileSize": float(len(content)),
                "Url": f"/docs/SysAttachment.aspx?ID={att_id}",
            }
        )
        self._stamp_new(div, row)
        self._files[att_id] = (row["FileName"], content)
        div.tables["attachments"].put(row, div.next_ts())
        doc = div.tables["documents"].get(row["Document"])
        if doc is not None:
            div.tables["documents"].put(self._stamp_modified(dict(doc)), div.next_ts())
        return att_id
