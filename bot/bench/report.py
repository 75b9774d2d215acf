"""Rows, percentiles, progress and the table `studybot bench` prints."""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass


@dataclass(frozen=True, slots=True)
class Row:
    scenario: str
    figure: str  # what was measured, e.g. "answers/s"
    value: float
    target: str  # e.g. ">= 10000"; "" when the row is for information only
    baseline: str  # the raw baseline measured in the same run, with its unit
    met: bool | None  # None: no target
    note: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (pct 0-100) of a non-empty list."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def fmt(value: float) -> str:
    if value != value:  # NaN
        return "n/a"
    if float(value).is_integer():
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(rows: list[Row]) -> str:
    head = ("scenario", "figure", "value", "target", "met", "baseline (same run)", "note")
    body = [
        (r.scenario, r.figure, fmt(r.value), r.target or "-", {True: "yes", False: "NO", None: "-"}[r.met],
         r.baseline or "-", r.note)
        for r in rows
    ]
    widths = [max(len(str(x[i])) for x in [head, *body]) for i in range(len(head))]
    lines = [" | ".join(str(c).ljust(w) for c, w in zip(head, widths, strict=True)).rstrip()]
    lines.append("-|-".join("-" * w for w in widths))
    lines += [" | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in body]
    return "\n".join(lines)


class Progress:
    """A one-line progress counter on stderr, redrawn at most twice a second."""

    def __init__(self, label: str, total: int, *, enabled: bool = True) -> None:
        self.label, self.total, self.enabled = label, total, enabled and total > 0
        self.done = 0
        self._shown = 0.0

    def add(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if self.enabled and (now - self._shown >= 0.5 or self.done >= self.total):
            self._shown = now
            print(f"\r  {self.label}: {self.done:,}/{self.total:,}", end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.enabled and self._shown:
            print(file=sys.stderr, flush=True)
