"""Streaks over an injected clock: time zones, the 04:00 boundary, DST and freezes."""

from datetime import UTC, date, datetime, timedelta

from bot.core.streaks import compute_streak
from bot.core.timeutil import streak_day


def days(start: date, n: int, skip: set[int] = frozenset()) -> list[date]:
    return [start + timedelta(days=i) for i in range(n) if i not in skip]


def test_consecutive_days_count_and_today_is_not_a_miss():
    d0 = date(2026, 1, 1)
    s = compute_streak(days(d0, 3), today=d0 + timedelta(days=3))
    assert (s.current, s.best, s.active_today) == (3, 3, False)
    s = compute_streak(days(d0, 4), today=d0 + timedelta(days=3))
    assert (s.current, s.active_today) == (4, True)


def test_a_missed_day_without_freeze_resets():
    d0 = date(2026, 1, 1)
    s = compute_streak(days(d0, 5, skip={2}), today=d0 + timedelta(days=4))
    assert (s.current, s.best) == (2, 2)


def test_freezes_earned_every_seven_days_cap_two_and_spent_on_misses():
    d0 = date(2026, 1, 1)
    # 21 days in a row earn 3 freezes but at most 2 are held.
    s = compute_streak(days(d0, 21), today=d0 + timedelta(days=20))
    assert (s.current, s.freezes) == (21, 2)
    # Two missed days are covered by the two freezes; the streak survives but frozen days do not add.
    active = days(d0, 21) + [d0 + timedelta(days=23)]
    s = compute_streak(active, today=d0 + timedelta(days=23))
    assert (s.current, s.freezes) == (22, 0)
    # A third missed day breaks it.
    active = days(d0, 21) + [d0 + timedelta(days=24)]
    s = compute_streak(active, today=d0 + timedelta(days=24))
    assert s.current == 1 and s.best == 21


def test_day_starts_at_four_local():
    # 03:59 in Berlin still belongs to the previous day; 04:00 starts the new one.
    before = datetime(2026, 6, 10, 1, 59, tzinfo=UTC)  # 03:59 CEST
    after = datetime(2026, 6, 10, 2, 0, tzinfo=UTC)  # 04:00 CEST
    assert streak_day(before, "Europe/Berlin") == date(2026, 6, 9)
    assert streak_day(after, "Europe/Berlin") == date(2026, 6, 10)


def test_same_instant_is_a_different_day_in_different_zones():
    at = datetime(2026, 6, 10, 23, 30, tzinfo=UTC)
    assert streak_day(at, "UTC") == date(2026, 6, 10)
    assert streak_day(at, "Asia/Kolkata") == date(2026, 6, 11)  # 05:00 next day
    assert streak_day(at, "America/New_York") == date(2026, 6, 10)


def test_dst_changes_keep_the_four_o_clock_boundary():
    # Europe/Berlin springs forward on 2026-03-29 (02:00 -> 03:00) and falls back on 2026-10-25.
    assert streak_day(datetime(2026, 3, 29, 1, 59, tzinfo=UTC), "Europe/Berlin") == date(2026, 3, 28)  # 03:59 CEST
    assert streak_day(datetime(2026, 3, 29, 2, 0, tzinfo=UTC), "Europe/Berlin") == date(2026, 3, 29)  # 04:00 CEST
    assert streak_day(datetime(2026, 10, 25, 2, 59, tzinfo=UTC), "Europe/Berlin") == date(2026, 10, 24)  # 03:59 CET
    assert streak_day(datetime(2026, 10, 25, 3, 0, tzinfo=UTC), "Europe/Berlin") == date(2026, 10, 25)  # 04:00 CET
    # America/New_York: 2026-03-08 spring forward, 2026-11-01 fall back.
    assert streak_day(datetime(2026, 3, 8, 7, 59, tzinfo=UTC), "America/New_York") == date(2026, 3, 7)
    assert streak_day(datetime(2026, 3, 8, 8, 0, tzinfo=UTC), "America/New_York") == date(2026, 3, 8)
    assert streak_day(datetime(2026, 11, 1, 8, 59, tzinfo=UTC), "America/New_York") == date(2026, 10, 31)
    assert streak_day(datetime(2026, 11, 1, 9, 0, tzinfo=UTC), "America/New_York") == date(2026, 11, 1)


def test_daily_answers_across_a_dst_week_make_an_unbroken_streak():
    # One answer a day at 08:00 local in New York across the fall-back night of 2026-11-01.
    from datetime import time
    from zoneinfo import ZoneInfo

    ny = ZoneInfo("America/New_York")
    start = date(2026, 10, 28)
    instants = [datetime.combine(start + timedelta(days=i), time(8, 0), tzinfo=ny).astimezone(UTC) for i in range(8)]
    active = [streak_day(at, "America/New_York") for at in instants]
    assert len(set(active)) == 8
    s = compute_streak(active, active[-1])
    assert s.current == 8 and s.freezes == 1
