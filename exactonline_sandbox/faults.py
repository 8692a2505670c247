"""Fault injection: the failures a connector must survive, on demand and reproducibly.

A fault plan is set with `POST /_sandbox/faults` (JSON) or `serve --faults SPEC` (compact form)
and cleared with `DELETE /_sandbox/faults`. JSON form::

    {"rate": {"500": 0.05, "503": 0.02, "429": 0.01, "drop": 0.02, "drop_after": 0.01,
              "truncate": 0.01, "latency": 0.1},
     "latency_ms": 300,            # delay added by a "latency" fault
     "next": ["500", "drop_after"],# forced faults for the next N matching calls, in order
     "endpoints": ["crm/Accounts"],# only calls to these endpoints (statistic keys); default all
     "token": false,               # also fault token calls (POST /api/oauth2/token)
     "seed": 7}                    # rates draw from random.Random(seed)

Kinds:
  500, 503   answer that status with Exact's error JSON (the call is not handled);
  429        answer 429 as if the minutely limit were used up (Remaining 0);
  drop       close the connection before handling: no answer at all (requests raises
             ConnectionError);
  drop_after handle the request (a write lands), then close the connection without answering;
  truncate   handle the request, send the status, headers and half the body, then close (requests
             raises ChunkedEncodingError);
  latency    wait `latency_ms` before handling (combines with any other kind).

Compact form (the `--faults` flag): comma-separated items::

    KIND:RATE              e.g. 500:0.05, drop:0.02, drop_after:0.01
    latency:RATE@MSms      e.g. latency:0.1@300ms (latency_ms defaults to 300)
    next:KIND+KIND         e.g. next:500+drop_after
    endpoints:EP+EP        e.g. endpoints:crm/Accounts+sync/CRM/Accounts
    seed:N                 e.g. seed:7
    token                  also fault token calls

Example: `500:0.05,503:0.02,drop:0.02,latency:0.1@300ms,seed:7`.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from typing import Any

STATUS_KINDS = ("500", "503", "429")
CONNECTION_KINDS = ("drop", "drop_after", "truncate")
EXCLUSIVE_KINDS = STATUS_KINDS + CONNECTION_KINDS
ALL_KINDS = EXCLUSIVE_KINDS + ("latency",)
DEFAULT_LATENCY_MS = 300


class FaultSpecError(ValueError):
    """A fault spec the sandbox cannot apply; the message says which part."""


@dataclass
class Fault:
    """What to do to one call: an optional exclusive kind and an optional delay."""

    kind: str | None = None
    latency_ms: int = 0

    def __bool__(self) -> bool:
        return self.kind is not None or self.latency_ms > 0


@dataclass
class FaultPlan:
    rates: dict[str, float] = field(default_factory=dict)
    latency_ms: int = DEFAULT_LATENCY_MS
    next: deque[str] = field(default_factory=deque)
    endpoints: frozenset[str] | None = None
    token: bool = False
    seed: int | None = None
    _rng: random.Random = field(default_factory=random.Random, repr=False)

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> FaultPlan:
        """Validate a JSON spec; unknown keys or kinds are errors, not silently ignored."""
        if not isinstance(spec, dict):
            raise FaultSpecError("fault spec must be a JSON object")
        unknown = set(spec) - {"rate", "latency_ms", "next", "endpoints", "token", "seed"}
        if unknown:
            raise FaultSpecError(f"unknown fault spec keys: {sorted(unknown)}")
        rates: dict[str, float] = {}
        for kind, value in (spec.get("rate") or {}).items():
            kind = str(kind)
            if kind not in ALL_KINDS:
                raise FaultSpecError(f"unknown fault kind {kind!r}; known: {list(ALL_KINDS)}")
            try:
                rate = float(value)
            except (TypeError, ValueError) as exc:
                raise FaultSpecError(f"rate of {kind!r} must be a number") from exc
            if not 0.0 <= rate <= 1.0:
                raise FaultSpecError(f"rate of {kind!r} must be between 0 and 1")
            rates[kind] = rate
        if sum(r for k, r in rates.items() if k != "latency") > 1.0:
            raise FaultSpecError("the rates of the exclusive fault kinds add up to more than 1")
        nxt = [str(k) for k in (spec.get("next") or [])]
        for kind in nxt:
            if kind not in ALL_KINDS:
                raise FaultSpecError(f"unknown fault kind {kind!r} in next")
        endpoints = spec.get("endpoints")
        if endpoints is not None and not isinstance(endpoints, list):
            raise FaultSpecError("endpoints must be a list of endpoint names")
        try:
            latency_ms = int(spec.get("latency_ms", DEFAULT_LATENCY_MS))
        except (TypeError, ValueError) as exc:
            raise FaultSpecError("latency_ms must be an integer") from exc
        if latency_ms < 0:
            raise FaultSpecError("latency_ms must not be negative")
        seed = spec.get("seed")
        return cls(
            rates=rates,
            latency_ms=latency_ms,
            next=deque(nxt),
            endpoints=frozenset(str(e) for e in endpoints) if endpoints is not None else None,
            token=bool(spec.get("token", False)),
            seed=seed,
            _rng=random.Random(seed),
        )

    def applies_to(self, endpoint: str, *, token_call: bool) -> bool:
        if token_call:
            return self.token
        return self.endpoints is None or endpoint in self.endpoints

    def pick(self, endpoint: str, *, token_call: bool = False) -> Fault:
        """The fault for this call: the next forced one if any, else a seeded random draw."""
        if not self.applies_to(endpoint, token_call=token_call):
            return Fault()
        if self.next:
            kind = self.next.popleft()
            if kind == "latency":
                return Fault(latency_ms=self.latency_ms)
            return Fault(kind=kind)
        fault = Fault()
        draw = self._rng.random()
        acc = 0.0
        for kind in EXCLUSIVE_KINDS:
            acc += self.rates.get(kind, 0.0)
            if draw < acc:
                fault.kind = kind
                break
        latency_rate = self.rates.get("latency", 0.0)
        if latency_rate and self._rng.random() < latency_rate:
            fault.latency_ms = self.latency_ms
        return fault

    def describe(self) -> dict[str, Any]:
        """The plan as JSON (what GET /_sandbox/faults answers)."""
        return {
            "rate": dict(self.rates),
            "latency_ms": self.latency_ms,
            "next": list(self.next),
            "endpoints": sorted(self.endpoints) if self.endpoints is not None else None,
            "token": self.token,
            "seed": self.seed,
        }


def parse_compact(text: str) -> dict[str, Any]:
    """Turn the `--faults` compact form into the JSON spec (see the module docstring)."""
    spec: dict[str, Any] = {"rate": {}}
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        if item == "token":
            spec["token"] = True
            continue
        key, sep, value = item.partition(":")
        if not sep:
            raise FaultSpecError(f"fault item {item!r} is not KIND:VALUE")
        key, value = key.strip(), value.strip()
        if key == "next":
            spec["next"] = [k for k in value.split("+") if k]
        elif key == "endpoints":
            spec["endpoints"] = [e for e in value.split("+") if e]
        elif key == "seed":
            spec["seed"] = _int(value, item)
        elif key == "token":
            spec["token"] = value.lower() in ("1", "true", "yes", "on")
        elif key == "latency_ms":
            spec["latency_ms"] = _int(value.removesuffix("ms"), item)
        elif key == "latency":
            rate, at, ms = value.partition("@")
            spec["rate"]["latency"] = _float(rate, item)
            if at:
                spec["latency_ms"] = _int(ms.strip().removesuffix("ms"), item)
        elif key in EXCLUSIVE_KINDS:
            spec["rate"][key] = _float(value, item)
        else:
            raise FaultSpecError(f"unknown fault kind {key!r} in {item!r}")
    FaultPlan.from_spec(spec)  # validate now so the command line fails fast
    return spec


def _int(value: str, item: str) -> int:
    try:
        return int(value)
    except ValueError as exc:
        raise FaultSpecError(f"{item!r}: {value!r} is not an integer") from exc


def _float(value: str, item: str) -> float:
    try:
        return float(value)
    except ValueError as exc:
        raise FaultSpecError(f"{item!r}: {value!r} is not a number") from exc
