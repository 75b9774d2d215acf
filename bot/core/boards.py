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


def board_rows(answers: list[tuple[str, str, str, str, int, str]]) -> tuple[dict[BoardKey, int], dict[tuple, int]]:
    """Every board total and level of a set of answers given as (platform, workspace, user, channel,
    points, streak day): the board_totals rows (key -> points) and the board_levels rows
    ((platform, workspace, channel, period, points) -> members). Used to rebuild the boards of a
    workspace from its answers (a re-grade), by the same rule as `board_deltas`."""
    totals: dict[BoardKey, int] = {}
    for platform, workspace, user, channel, points, local_day in answers:
        if points == 0:
            continue
        day = date.fromisoformat(local_day)
        for period in PERIODS:
            key = period_key(day, period)
            for scope in (channel, ""):
                k = (platform, workspace, scope, key, user)
                totals[k] = totals.get(k, 0) + points
    levels: dict[tuple, int] = {}
    for (platform, workspace, scope, period, _), points in totals.items():
        level = (platform, workspace, scope, period, points)
        levels[level] = levels.get(level, 0) + 1
    return totals, levels
