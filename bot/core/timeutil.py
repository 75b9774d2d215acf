"""Time zones, streak days and schedule specs, all pure functions over explicit instants."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core import texts

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_START = time(4, 0)  # a streak day starts at 04:00 local
_TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class UsageError(ValueError):
    """Bad input from a member; the message is shown to them as is."""


def zone(name: str) -> ZoneInfo:
    if not name or len(name) > 64 or name.startswith("/") or ".." in name:
        raise UsageError(texts.BAD_TZ.format(tz=name[:64]))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise UsageError(texts.BAD_TZ.format(tz=name)) from exc


def parse_hhmm(value: str) -> str:
    m = _TIME_RE.match(value or "")
    if not m:
        raise UsageError(texts.BAD_TIME)
    return f"{int(m.group(1)):02d}:{m.group(2)}"


def parse_days(value: str) -> str:
    """'daily' | 'weekdays' | 'weekends' | 'mon,wed,fri' | 'mon-fri' -> canonical 'mon,wed,fri'."""
    v = value.lower().strip()
    if v in ("daily", "everyday", "every-day"):
        return ",".join(DAY_NAMES)
    if v == "weekdays":
        return ",".join(DAY_NAMES[:5])
    if v == "weekends":
        return ",".join(DAY_NAMES[5:])
    chosen: set[str] = set()
    for part in v.split(","):
        part = part.strip()[:3] if "-" not in part else part.strip()
        if "-" in part:
            a, _, b = part.partition("-")
            a, b = a[:3], b[:3]
            if a not in DAY_NAMES or b not in DAY_NAMES:
                raise UsageError(texts.BAD_DAYS.format(days=value[:40]))
            i, j = DAY_NAMES.index(a), DAY_NAMES.index(b)
            if i > j:
                raise UsageError(texts.BAD_DAYS.format(days=value[:40]))
            chosen.update(DAY_NAMES[i : j + 1])
        elif part in DAY_NAMES:
            chosen.add(part)
        else:
            raise UsageError(texts.BAD_DAYS.format(days=value[:40]))
    return ",".join(d for d in DAY_NAMES if d in chosen)


def describe_days(days: str) -> str:
    if days == ",".join(DAY_NAMES):
        return "every day"
    if days == ",".join(DAY_NAMES[:5]):
        return "weekdays"
    return days


def local_date(at: datetime, tz: str) -> date:
    return at.astimezone(zone(tz)).date()


def streak_day(at: datetime, tz: str) -> date:
    """The member's streak day: the local date, where a day starts at 04:00 local."""
    local = at.astimezone(zone(tz))
    if local.time() < DAY_START:
        return local.date() - timedelta(days=1)
    return local.date()


def at_local(day: date, hhmm: str, tz: str) -> datetime:
    """The instant of HH:MM on `day` in `tz`. A time in a spring-forward gap moves to the first
    valid minute after the gap; a time repeated at fall-back takes its first occurrence."""
    h, m = (int(x) for x in hhmm.split(":"))
    z = zone(tz)
    naive = datetime.combine(day, time(h, m))
    first = naive.replace(tzinfo=z, fold=0)
    # A wall time that does not exist does not round-trip through UTC.
    if first.astimezone(ZoneInfo("UTC")).astimezone(z).replace(tzinfo=None) != naive:
        probe = naive
        while True:
            probe += timedelta(minutes=1)
            cand = probe.replace(tzinfo=z)
            if cand.astimezone(ZoneInfo("UTC")).astimezone(z).replace(tzinfo=None) == probe:
                return cand
    return first


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def period_start(now: datetime, period: str, tz: str) -> datetime | None:
    """Start of this week (Monday) or month in `tz`, as an aware datetime; None for all time."""
    if period == "all":
        return None
    today = local_date(now, tz)
    first = week_start(today) if period == "week" else today.replace(day=1)
    return datetime.combine(first, time(0, 0), tzinfo=zone(tz))


def period_key(day: date, period: str) -> str:
    """The leaderboard period holding a streak day: 'all', 'w' + its Monday, or 'm' + its month."""
    if period == "all":
        return "all"
    if period == "week":
        return "w" + week_start(day).isoformat()
    if period == "month":
        return "m" + day.isoformat()[:7]
    raise ValueError(f"unknown period {period!r}")


@dataclass(frozen=True, slots=True)
class DailySpec:
    time: str
    timezone: str
    days: str
    reveal: str


def default_reveal(hhmm: str) -> str:
    """8 hours after the post, kept on the same local day (so always before the next post)."""
    h, m = (int(x) for x in hhmm.split(":"))
    total = min(h * 60 + m + 8 * 60, 23 * 60 + 59)
    if total <= h * 60 + m:
        total = h * 60 + m
    return f"{total // 60:02d}:{total % 60:02d}"


def parse_daily_on(args: list[str]) -> DailySpec:
    """`HH:MM <tz> [days] [reveal HH:MM]`."""
    if len(args) < 2:
        raise UsageError(texts.DAILY_USAGE)
    hhmm = parse_hhmm(args[0])
    tz = args[1]
    zone(tz)
    rest = list(args[2:])
    reveal = None
    if len(rest) >= 2 and rest[-2].lower() == "reveal":
        reveal = parse_hhmm(rest[-1])
        rest = rest[:-2]
    if len(rest) > 1:
        raise UsageError(texts.DAILY_USAGE)
    days = parse_days(rest[0]) if rest else parse_days("weekdays")
    if reveal is None:
        reveal = default_reveal(hhmm)
    elif reveal <= hhmm:
        raise UsageError(f"the reveal time must be after the post time ({hhmm}) on the same day.")
    return DailySpec(time=hhmm, timezone=tz, days=days, reveal=reveal)
