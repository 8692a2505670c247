"""The store's answers: a `Result` for a served call, `SandboxError` for an error answer
(the server renders Exact's error JSON around its message)."""

from __future__ import annotations

from dataclasses import dataclass


class SandboxError(Exception):
    """An API error answer: status and Exact's message text."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


@dataclass
class Result:
    status: int  # 200, 201, 204
    body: dict | None  # JSON-able; None for 204
    rows: int  # entity rows in the body (for the rows_served statistic)


#: Seeded rows of table k get Timestamps from FIRST_TIMESTAMP + k * TIMESTAMP_STRIDE on, so a
