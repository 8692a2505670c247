"""Counts in log lines and messages, worded as a person would write them ("1 call", "2 calls")."""

from __future__ import annotations


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """`number` and `noun`, the noun plural unless the number is exactly one."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"
