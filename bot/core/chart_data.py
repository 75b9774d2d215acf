"""The store's numbers for the charts of bot/core/charts.py: a member's activity by streak day and a
channel's answers and members by local date. Reads the store once per chart."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from bot.core.charts import (
    GROUP_DAYS,
    Chart,
    calendar_start,
    count_by_day,
    group_chart,
    members_by_day,
    stats_chart,
    streak_days,
)
from bot.core.models import ChannelRef, MemberRef
from bot.core.readiness import RECENT_DAYS, Readiness, readiness
from bot.core.timeutil import local_date, streak_day

if TYPE_CHECKING:
    from bot.core.service import StudyService  # or the DailyLoop mixed into it: clock, store and bank


async def member_chart(
    service: StudyService, member: MemberRef, *, tz: str, readiness_now: Readiness, streak: int, title: str,
) -> Chart:
    """The member's stats chart: `readiness_now` and `streak` as the text shows them, the activity
    calendar from the member's answers by streak day (04:00 to 04:00 in `tz`)."""
    now = service.clock.now()
    today = streak_day(now, tz)
    since = now - timedelta(days=(today - calendar_start(today)).days + 2)
    attempts = await service.store.member_attempts(member, since=since.timestamp())
    counts = count_by_day(attempts, lambda at: streak_day(at, tz))
    days = [date.fromisoformat(d) for d in await service.store.member_days(member)]
    return stats_chart(readiness=readiness_now, counts=counts, streak=streak_days(days, streak, today), today=today,
                       recent_days=RECENT_DAYS, title=title)


async def channel_chart(service: StudyService, channel: ChannelRef, *, tz: str, title: str) -> tuple[Chart, Readiness]:
    """The channel's group chart and its readiness over the last RECENT_DAYS days (for the text)."""
    now = service.clock.now()
    window = max(RECENT_DAYS, GROUP_DAYS)
    attempts = await service.store.channel_attempts(channel, since=(now - timedelta(days=window)).timestamp())
    recent_since = (now - timedelta(days=RECENT_DAYS)).timestamp()
    r = readiness(service.bank, [a for a in attempts if a.at >= recent_since])
    today = local_date(now, tz)
    day_of = lambda at: local_date(at, tz)  # noqa: E731 - one expression used twice
    chart = group_chart(readiness=r, counts=count_by_day(attempts, day_of), members=members_by_day(attempts, day_of),
                        today=today, recent_days=RECENT_DAYS, title=title)
    return chart, r
