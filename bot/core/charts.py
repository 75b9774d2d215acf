"""Charts as data: what a picture shows and the alt text that says its numbers. Platform-free.

Core modules build a `Chart` from the store's numbers and attach it to a `Message` (`Message.chart`);
adapters turn it into a PNG with bot/render/charts.py and deliver it beside the message's text,
which stays complete on its own (screen readers, the console, a workspace without files:write).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from bot.core.ports import Attempt
from bot.core.readiness import PASS_MARK, Readiness, Row

NO_ANSWERS = "No answers yet"
CALENDAR_WEEKS = 12
GROUP_DAYS = 28  # answers per day and members per week over the last four weeks
MAX_ALT = 1000  # Slack's and Discord's alt texts both hold at least this much


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: float | None  # a share 0..1; None: nothing answered
    detail: str  # shown at the end of the bar, e.g. "16/25"
    highlight: bool = False  # drawn in the accent colour (the weakest tasks)


@dataclass(frozen=True, slots=True)
class BarsPanel:
    """Horizontal bars of accuracy (0-100 %) with the pass mark as a vertical line."""

    title: str
    bars: tuple[Bar, ...]
    pass_mark: int | None = PASS_MARK


@dataclass(frozen=True, slots=True)
class CalendarPanel:
    """One cell a day, a column a week (Monday on top): shade = questions answered that day."""

    title: str
    first: date  # a Monday
    counts: tuple[int, ...]  # one per day from `first` up to and including `today`
    today: date
    streak: frozenset[date] = frozenset()  # the days of the current streak, marked


@dataclass(frozen=True, slots=True)
class SeriesPanel:
    """Values over time: vertical bars (`line` False) or a line with points."""

    title: str
    labels: tuple[str, ...]
    values: tuple[float, ...]
    unit: str  # "answers", "members", "%"
    line: bool = False
    pass_mark: int | None = None  # a horizontal line (for a series in percent)
    tick_every: int = 1  # label every n-th point (28 days: one label a week)


Panel = BarsPanel | CalendarPanel | SeriesPanel


@dataclass(frozen=True, slots=True)
class Chart:
    kind: str  # "stats", "group", "exam_report", "exam_history"; also the PNG's file name
    title: str
    panels: tuple[Panel, ...]
    alt: str  # the numbers in one or two sentences, for screen readers and as the image's alt text
    note: str = ""  # said across the picture, e.g. "No answers yet"

    @property
    def filename(self) -> str:
        return f"{self.kind}.png"


def _pct(value: float | None) -> str:
    return "not practised" if value is None else f"{100 * value:.0f} %"


def _clip(text: str) -> str:
    return text if len(text) <= MAX_ALT else text[: MAX_ALT - 1].rstrip() + "…"


def _domain_bars(r: Readiness) -> tuple[Bar, ...]:
    return tuple(
        Bar(f"{d.id} {d.name} ({d.weight} % of the exam)", d.accuracy,
            f"{d.right}/{d.answered}" if d.answered else "not practised")
        for d in r.domains
    )


def _row_alt(rows: tuple[Row, ...], *, prefix: str = "") -> str:
    return ", ".join(
        f"{prefix}{row.id} {row.name} {_pct(row.accuracy)}" + (f" ({row.right} of {row.answered})" if row.answered else "")
        for row in rows
    )


def count_by_day(attempts: Iterable[Attempt], day_of: Callable[[datetime], date]) -> dict[date, int]:
    """Answers per day, the day of each answer's instant given by `day_of` (a streak day, a local date)."""
    out: dict[date, int] = {}
    for a in attempts:
        day = day_of(datetime.fromtimestamp(a.at, UTC))
        out[day] = out.get(day, 0) + 1
    return out


def members_by_day(attempts: Iterable[Attempt], day_of: Callable[[datetime], date]) -> dict[date, set[str]]:
    out: dict[date, set[str]] = {}
    for a in attempts:
        out.setdefault(day_of(datetime.fromtimestamp(a.at, UTC)), set()).add(a.user)
    return out


def streak_days(days: list[date], current: int, today: date) -> frozenset[date]:
    """The days counted in a current streak of `current` days: the latest `current` days with an
    answer up to today (a frozen day in between holds no answer and is not one of them)."""
    active = sorted((d for d in set(days) if d <= today), reverse=True)
    return frozenset(active[:current])


def calendar_start(today: date, weeks: int = CALENDAR_WEEKS) -> date:
    """The Monday `weeks - 1` weeks before this week's: the calendar's first day."""
    return today - timedelta(days=today.weekday() + 7 * (weeks - 1))


def stats_chart(
    *, readiness: Readiness, counts: dict[date, int], streak: frozenset[date], today: date, recent_days: int,
    title: str = "Your DVA-C02 study",
) -> Chart:
    """A member's accuracy per domain (weights in the labels, pass line), the weakest tasks
    highlighted, and a 12-week activity calendar with the streak days marked."""
    r = readiness
    first = calendar_start(today)
    span = (today - first).days + 1
    cells = tuple(counts.get(first + timedelta(days=i), 0) for i in range(span))
    # The weakest tasks as the text names them (an unpractised task counts as weakest).
    weakest = tuple(
        Bar(f"{t.id} {t.name}", t.accuracy, f"{t.right}/{t.answered}" if t.answered else "not practised", True)
        for t in r.weakest
    )
    panels: tuple[Panel, ...] = (
        BarsPanel(f"Accuracy by domain, last {recent_days} days", _domain_bars(r)),
        BarsPanel("Weakest tasks", weakest),
        CalendarPanel(f"Questions answered, last {CALENDAR_WEEKS} weeks", first, cells, today, streak),
    )
    answered, active = sum(cells), sum(1 for c in cells if c)
    if r.answers:
        accuracy = (f"Accuracy by domain over the last {recent_days} days against the {PASS_MARK} % pass mark: "
                    f"{_row_alt(r.domains, prefix='domain ')}; weakest tasks: {_row_alt(r.weakest)}.")
    else:
        accuracy = f"{NO_ANSWERS} in the last {recent_days} days, so no accuracy by domain."
    if answered:
        busiest = max(range(span), key=lambda i: (cells[i], i))  # the latest of the busiest days
        best = first + timedelta(days=busiest)
        activity = (f" Activity over the last {CALENDAR_WEEKS} weeks: {answered} question{'s' if answered != 1 else ''} "
                    f"on {active} day{'s' if active != 1 else ''}, at most {cells[busiest]} on {best.isoformat()}; "
                    f"current streak {len(streak)} day{'s' if len(streak) != 1 else ''}.")
    else:
        activity = f" No questions answered in the last {CALENDAR_WEEKS} weeks."
    return Chart("stats", title, panels, _clip(accuracy + activity), note="" if r.answers or answered else NO_ANSWERS)


def _short(day: date) -> str:
    return f"{day.day} {day.strftime('%b')}"


def group_chart(
    *, readiness: Readiness, counts: dict[date, int], members: dict[date, set[str]], today: date, recent_days: int,
    title: str = "Group stats",
) -> Chart:
    """A channel's answers per day over four weeks, members active per week (7-day windows ending
    today), and the group's accuracy per domain with the pass line."""
    first = today - timedelta(days=GROUP_DAYS - 1)
    days = [first + timedelta(days=i) for i in range(GROUP_DAYS)]
    per_day = tuple(float(counts.get(d, 0)) for d in days)
    weeks = [days[i:i + 7] for i in range(0, GROUP_DAYS, 7)]
    per_week = tuple(float(len(set().union(*(members.get(d, set()) for d in week)))) for week in weeks)
    week_labels = tuple(f"{_short(w[0])}-{_short(w[-1])}" for w in weeks)
    panels: tuple[Panel, ...] = (
        SeriesPanel("Answers per day, last 4 weeks", tuple(_short(d) for d in days), per_day, "answers", tick_every=7),
        SeriesPanel("Members active per week", week_labels, per_week, "members"),
        BarsPanel(f"Group accuracy by domain, last {recent_days} days", _domain_bars(readiness)),
    )
    total = int(sum(per_day))
    if total or readiness.answers:
        weekly = ", ".join(f"{label} {int(n)}" for label, n in zip(week_labels, per_week, strict=True))
        alt = (f"{total} answer{'s' if total != 1 else ''} in the last 4 weeks "
               f"(busiest day {int(max(per_day))}); members active per week: {weekly}. "
               f"Group accuracy by domain over the last {recent_days} days against the {PASS_MARK} % pass mark: "
               f"{_row_alt(readiness.domains, prefix='domain ')}.")
    else:
        alt = f"{NO_ANSWERS} in this channel in the last 4 weeks."
    return Chart("group", title, panels, _clip(alt), note="" if total or readiness.answers else NO_ANSWERS)


def exam_report_chart(
    *, domains: list[tuple[str, str, int, int]], right: int, total: int, pass_mark: int = PASS_MARK,
    title: str = "Mock exam report",
) -> Chart:
    """Per-domain scores of one mock exam with the pass line. `domains`: (id, name, right, total)."""
    bars = tuple(Bar(f"{key} {name}", n_right / n if n else None, f"{n_right}/{n}") for key, name, n_right, n in domains)
    score = 100 * right / total if total else 0.0
    verdict = "pass" if score >= pass_mark else "fail"
    per = ", ".join(f"domain {key} {name} {100 * r_ / n:.0f} % ({r_} of {n})" for key, name, r_, n in domains if n)
    alt = (f"Mock exam score {score:.0f} % ({right} of {total}), a {verdict} against the {pass_mark} % pass mark. "
           f"By domain: {per or 'no questions scored'}.")
    return Chart("exam_report", title, (BarsPanel(f"Score by domain: {score:.0f} % overall, {verdict}", bars, pass_mark),),
                 _clip(alt), note="" if total else NO_ANSWERS)


def exam_history_chart(*, scores: list[tuple[date, float]], pass_mark: int = PASS_MARK,
                       title: str = "Your mock exams") -> Chart:
    """Scores (percent) of scored mock exams over time, oldest first, with the pass line."""
    labels = tuple(_short(d) for d, _ in scores)
    values = tuple(round(s, 1) for _, s in scores)
    panel = SeriesPanel("Score per mock exam (%)", labels, values, "%", line=True, pass_mark=pass_mark,
                        tick_every=max(1, len(scores) // 8))
    if scores:
        listed = ", ".join(f"{d.isoformat()} {s:.0f} %" for d, s in scores)
        passes = sum(s >= pass_mark for _, s in scores)
        alt = (f"{len(scores)} scored mock exam{'s' if len(scores) != 1 else ''}, {passes} at or above the "
               f"{pass_mark} % pass mark: {listed}.")
    else:
        alt = "No scored mock exams yet."
    return Chart("exam_history", title, (panel,), _clip(alt), note="" if scores else "No mock exams yet")
