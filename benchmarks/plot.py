"""The budget plot: calls per window against the minutely limit over the budget runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt  # noqa: E402


def budget_plot(budget: dict[str, Any], path: Path) -> Path:
    """Two panels (tap alone; tap and target at once), bars per window, the limit as a line,
    refused calls (429) stacked in red, the windows where both ran shaded."""
    limit = budget["compression"]["minutely_limit"]
    minute = budget["compression"]["minute_seconds"]
    runs = (
        ("Tap alone (full sync)", budget["tap_alone"], []),
        (
            "Tap (full sync) and target (creating customers) at once, one app and division",
            budget["tap_and_target"],
            budget["tap_and_target"]["both_running"],
        ),
    )
    fig, axes = plt.subplots(2, 1, figsize=(10, 7), sharey=True)
    for ax, (title, run, both) in zip(axes, runs, strict=True):
        calls = run["windows"]
        xs = list(range(1, len(calls) + 1))
        for i in both:
            ax.axvspan(i + 0.5, i + 1.5, color="#dde8f5", zorder=0)
        ax.bar(xs, calls, color="#3b6ea8", label="calls answered", zorder=2)
        rejected = run["rejected"]
        ax.bar(xs, rejected, bottom=calls, color="#c0392b", label="429 refused", zorder=2)
        ax.axhline(limit, color="#c0392b", linestyle="--", linewidth=1, label=f"limit ({limit})")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(f"window (compressed minute = {minute:g} s)")
        ax.set_ylabel("calls in window")
        ax.set_ylim(0, limit * 1.25)
        ax.legend(loc="lower right", fontsize=8)
    fig.suptitle("Exact Online connector: API calls per minutely window against the limit")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
