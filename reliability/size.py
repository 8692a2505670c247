"""How big a scenario run is: the short form (part of `make test`) and the long one."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Size:
    """Knobs shared by the scenarios; `SHORT` keeps the pytest suite within its budget."""

    label: str
    scale: float  # sandbox company size
    seeds: tuple[int, ...]  # crash points / fault draws
    kills: int  # SIGKILLs per crash chain before the run that completes
    lifetimes: int  # token lifetimes the concurrency scenario must cross
    customers: int  # records per reverse-ETL load
    document_mib: int  # the large document uploaded (and the attachment_max_bytes it meets)


SHORT = Size("short", scale=0.05, seeds=(1, 2), kills=2, lifetimes=3, customers=30, document_mib=4)
FULL = Size(
    "full",
    scale=0.3,
    seeds=(1, 2, 3, 4, 5, 6),
    kills=3,
    lifetimes=8,
    customers=120,
    document_mib=20,
)
