"""Streaks with freezes, as a pure function of the days a member answered and today's day.

A day counts when the member answered at least one question on that streak day. Every 7 days
of streak earns a freeze (at most 2 held); a missed day spends one automatically and keeps the
streak (the frozen day does not add to it). Today is never a miss: it is not over yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

FREEZE_EVERY = 7
MAX_FREEZES = 2


@dataclass(frozen=True, slots=True)
class Streak:
    current: int
    best: int
    freezes: int
    active_today: bool


def compute_streak(days: list[date], today: date) -> Streak:
    active = {d for d in days if d <= today}
    if not active:
        return Streak(0, 0, 0, False)
    streak = best = freezes = 0
    day = min(active)
    while day <= today:
        if day in active:
            streak += 1
            if streak % FREEZE_EVERY == 0:
                freezes = min(MAX_FREEZES, freezes + 1)
        elif day != today:
            if freezes and streak:
                freezes -= 1
            else:
                streak = 0
                freezes = 0
        best = max(best, streak)
        day += timedelta(days=1)
    return Streak(streak, best, freezes, today in active)
