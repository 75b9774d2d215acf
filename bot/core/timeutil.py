"""Time zones, streak days and schedule specs, all pure functions over explicit instants."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.core import texts
from bot.core.words import did_you_mean

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_START = time(4, 0)  # a streak day starts at 04:00 local
_TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class UsageError(ValueError):
    """Bad input from a member; the message is shown to them as is."""


def zone(name: str) -> ZoneInfo:
    if not name or len(name) > 64 or name.startswith("/") or ".." in name:
        raise UsageError(texts.BAD_TZ.format(tz=name[:64], hint=""))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise UsageError(texts.BAD_TZ.format(tz=name, hint="")) from exc


# Zone names with a fixed offset all year: a study group that types EST gets no daylight saving, so
# its 09:00 post drifts to 10:00 local in summer. Accepted with a warning naming the city zone.
FIXED_OFFSET_CITIES = {
    "EST": "America/New_York", "MST": "America/Denver", "HST": "Pacific/Honolulu",
    "ETC/GMT+5": "America/New_York", "ETC/GMT+6": "America/Chicago", "ETC/GMT+7": "America/Denver",
    "ETC/GMT+8": "America/Los_Angeles", "ETC/GMT+10": "Pacific/Honolulu", "ETC/GMT-1": "Europe/Berlin",
    "ETC/GMT-2": "Europe/Athens", "ETC/GMT-10": "Australia/Sydney",
}
_NO_WARNING = {"ETC/GMT", "ETC/GMT0", "ETC/GMT+0", "ETC/GMT-0"}  # UTC by another name: right as it is


@cache
def _zone_names() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


def canonical_zone(name: str) -> tuple[str, str | None]:
    """(the IANA name as spelled in the database, a warning or None) for a zone a member typed:
    matched case-insensitively; a near miss or a bare city ('Berlin') suggests the full name; a
    fixed-offset name (EST, Etc/GMT+5) is accepted with a warning naming a city zone."""
    typed = (name or "").strip()
    if not typed or len(typed) > 64 or typed.startswith("/") or ".." in typed:
        raise UsageError(texts.BAD_TZ.format(tz=typed[:64], hint=""))
    names = _zone_names()
    found = names.get(typed.lower())
    if found is None:
        cities = {n.rsplit("/", 1)[-1].lower(): n for n in names.values() if "/" in n}
        city = cities.get(typed.lower().replace(" ", "_"))
        hint = f" Did you mean `{city}`?" if city else did_you_mean(typed, names.values(), cutoff=0.8)
        raise UsageError(texts.BAD_TZ.format(tz=typed[:64], hint=hint))
    zone(found)
    upper = found.upper()
    if upper in FIXED_OFFSET_CITIES or (upper.startswith("ETC/GMT") and upper not in _NO_WARNING):
        city = FIXED_OFFSET_CITIES.get(upper, "the zone of a city, such as America/New_York or Europe/Berlin")
        return found, texts.FIXED_OFFSET.format(tz=found, city=city)
    return found, None


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
    """'every day', 'on weekdays', 'on weekends', 'on Tuesdays', 'on Mon, Wed, Fri'."""
    if days == ",".join(DAY_NAMES):
        return "every day"
    if days == ",".join(DAY_NAMES[:5]):
        return "on weekdays"
    if days == ",".join(DAY_NAMES[5:]):
        return "on weekends"
    names = [d for d in days.split(",") if d in DAY_NAMES]
    if len(names) == 1:
        return f"on {_FULL_DAY[names[0]]}s"
    return "on " + ", ".join(d.capitalize() for d in names)


_FULL_DAY = dict(zip(DAY_NAMES, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
                     strict=True))


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
    explicit_reveal: bool = False
    warning: str | None = None  # e.g. a fixed-offset zone


DEFAULT_REVEAL_MINUTES = 8 * 60
SOON_REVEAL_MINUTES = 60  # a reveal set sooner than this after the post gets a warning


def minutes(hhmm: str) -> int:
    h, m = (int(x) for x in hhmm.split(":"))
    return h * 60 + m


def reveal_gap(post: str, reveal: str) -> int:
    """Minutes from the post to its reveal; a reveal at or before the post time is on the next day."""
    gap = (minutes(reveal) - minutes(post)) % (24 * 60)
    return gap or 24 * 60


def default_reveal(hhmm: str) -> str:
    """8 hours after the post, on the next local day when the post is after 16:00: members always
    get 8 hours, and the reveal still comes before the next post (at least 24 hours later)."""
    total = (minutes(hhmm) + DEFAULT_REVEAL_MINUTES) % (24 * 60)
    return f"{total // 60:02d}:{total % 60:02d}"


def reveal_day(post_day: date, post: str, reveal: str) -> date:
    """The local date of the reveal of a post made on `post_day`."""
    return post_day + timedelta(days=1) if minutes(reveal) <= minutes(post) else post_day


def reveal_instant(post_day: date, post: str, reveal: str, tz: str) -> datetime:
    return at_local(reveal_day(post_day, post, reveal), reveal, tz)


def parse_daily_on(args: list[str]) -> DailySpec:
    """`HH:MM <tz> [days] [reveal HH:MM]`."""
    if len(args) < 2:
        raise UsageError(texts.DAILY_USAGE)
    hhmm = parse_hhmm(args[0])
    tz, warning = canonical_zone(args[1])
    rest = list(args[2:])
    reveal = None
    if len(rest) >= 2 and rest[-2].lower() == "reveal":
        reveal = parse_hhmm(rest[-1])
        rest = rest[:-2]
    if len(rest) > 1:
        raise UsageError(texts.DAILY_USAGE)
    days = parse_days(rest[0]) if rest else parse_days("weekdays")
    if reveal == hhmm:
        raise UsageError(texts.REVEAL_SAME_TIME.format(time=hhmm))
    return DailySpec(
        time=hhmm, timezone=tz, days=days, reveal=reveal or default_reveal(hhmm), explicit_reveal=reveal is not None,
        warning=warning,
    )
