"""Which leaderboards an answer counts on: its channel's and its workspace's, each for all time,
the week and the month of its streak day. Both stores keep per-board totals from this one rule."""

from __future__ import annotations

from datetime import date

from bot.core.ports import AnswerIn
from bot.core.timeutil import period_key

PERIODS = ("all", "week", "month")

# (platform, workspace, channel or "" for the workspace board, period key, user)
BoardKey = tuple[str, str, str, str, str]


def board_deltas(answers: list[AnswerIn]) -> dict[BoardKey, int]:
    """The points to add to each board total, summed over the answers (zero-point answers skipped)."""
    deltas: dict[BoardKey, int] = {}
    for a in answers:
        if a.points == 0:
            continue
        day = date.fromisoformat(a.local_day)
        for period in PERIODS:
            key = period_key(day, period)
            for scope in (a.channel.channel, ""):
                k = (a.member.platform, a.member.workspace, scope, key, a.member.user)
                deltas[k] = deltas.get(k, 0) + a.points
    return deltas
