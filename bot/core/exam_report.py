"""A scored mock exam as messages: the report (score, pass or fail, a scaled estimate, time used,
tables per domain and per task, the weakest tasks), the answer review in pages, and the history.
Pure functions of the stored exam and the bank; nothing here is shown before an exam is scored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.core import texts
from bot.core.charts import Chart, exam_history_chart, exam_report_chart
from bot.core.messages import Button, Message
from bot.core.models import Bank
from bot.core.ports import Exam, ExamItem
from bot.core.timeutil import local_date, zone

PASS_PERCENT = 72  # the pass mark studybot uses (the real exam: 720 on its 100-1000 scale)
WEAKEST = 3
# One review page, carried in Message.lines: within a Discord embed's 6,000 characters (with the
# title and footer) and Slack's 50 blocks of 3,000.
PAGE_CHARS = 4800
ACTION = "exam"


@dataclass(frozen=True, slots=True)
class Tally:
    key: str  # "1" for a domain, "2.1" for a task
    title: str
    right: int
    total: int

    @property
    def percent(self) -> float:
        return 100 * self.right / self.total if self.total else 0.0

    def line(self) -> str:
        return f"{self.key} {self.title}: {self.right}/{self.total} ({self.percent:.0f} %)"


def clock_text(seconds: float) -> str:
    """H:MM:SS, as an exam's clock shows it: 1:43:10, 0:09:05."""
    s = max(0, int(seconds))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}"


def local_time(ts: float, tz: str, *, with_date: bool = False) -> str:
    at = datetime.fromtimestamp(ts, UTC).astimezone(zone(tz))
    return at.strftime("%Y-%m-%d %H:%M" if with_date else "%H:%M") + f" ({tz})"


def percent(exam: Exam) -> float:
    return 100 * (exam.right or 0) / exam.total if exam.total else 0.0


def scaled_estimate(right: int, total: int) -> int:
    """100-1000, an estimate (AWS does not publish its scaling), drawn so that it agrees with the
    verdict: linear from 100 (none right) to 720 at the pass mark, then to 1000 (all right).
    Rounded down, so a share just under the pass mark never reads 720."""
    if not total:
        return 100
    share, mark = right / total, PASS_PERCENT / 100
    if share < mark:
        return math.floor(100 + 620 * share / mark)
    return math.floor(720 + 280 * (share - mark) / (1 - mark))


def passed(exam: Exam) -> bool:
    return percent(exam) >= PASS_PERCENT


def tallies(exam: Exam, bank: Bank) -> tuple[list[Tally], list[Tally]]:
    """(per domain, per task) right/total of a scored exam, in outline order; only domains and
    tasks the exam asked about (questions no longer in the bank are left out of the tables)."""
    per_domain: dict[int, list[int]] = {}
    per_task: dict[str, list[int]] = {}
    for item in exam.items:
        q = bank.question(item.question_id)
        if q is None:
            continue
        for table, key in ((per_domain, q.domain), (per_task, q.task)):
            cell = table.setdefault(key, [0, 0])
            cell[0] += bool(item.correct)
            cell[1] += 1
    domains = [Tally(str(d.id), d.name, *per_domain[d.id]) for d in bank.taxonomy.domains if d.id in per_domain]
    tasks = [Tally(t.id, t.title, *per_task[t.id]) for t in bank.taxonomy.tasks if t.id in per_task]
    return domains, tasks


def weakest(tasks: list[Tally], n: int = WEAKEST) -> list[Tally]:
    """The tasks with the lowest share right (more questions missed first on a tie), not perfect ones."""
    missed = [t for t in tasks if t.right < t.total]
    return sorted(missed, key=lambda t: (t.percent, -(t.total - t.right), t.key))[:n]


def report_message(exam: Exam, bank: Bank, *, note: str = "") -> Message:
    right, total = exam.right or 0, exam.total
    verdict = "PASS" if passed(exam) else "FAIL"
    allowed = exam.deadline - exam.started_at
    used = min(exam.closed_at or exam.deadline, exam.deadline) - exam.started_at
    how = "submitted" if exam.state == "submitted" else "time ran out"
    head = [note] if note else []
    head += [
        f"*Score: {right}/{total} right ({percent(exam):.1f} %) - {verdict}* (the pass mark is {PASS_PERCENT} %).",
        texts.EXAM_SCALED.format(scaled=scaled_estimate(right, total)),
        f"Time used: {clock_text(used)} of {clock_text(allowed)} ({how}).",
    ]
    domains, tasks = tallies(exam, bank)
    lines = ["*By domain*", *(d.line() for d in domains), "*By task*", *(t.line() for t in tasks)]
    weak = weakest(tasks)
    if weak:
        lines.append("*Weakest tasks*: " + "; ".join(f"{t.key} {t.title} ({t.right}/{t.total})" for t in weak)
                     + f". Practise them with `/dva quiz {weak[0].key}`.")
    else:
        lines.append("*Weakest tasks*: none, every question right.")
    return Message(
        title=f"Mock exam report: {exam.mode} exam, {total} questions",
        text="\n".join(head), lines=tuple(lines),
        buttons=(Button("Review answers", ACTION, f"{exam.id}:0:review:0"),),
        footer=texts.EXAM_NO_POINTS, private=True, replace=True,
        chart=exam_report_chart(domains=[(d.key, d.title, d.right, d.total) for d in domains], right=right,
                                total=total, pass_mark=PASS_PERCENT, title=f"Mock exam report: {exam.mode} exam"),
    )


def review_order(exam: Exam) -> list[int]:
    """Item indexes for the review: wrong ones first, then flagged ones, then the rest; exam order within."""
    return sorted(range(exam.total), key=lambda i: (bool(exam.items[i].correct), not exam.items[i].flagged, i))


def _review_entry(n: int, item: ExamItem, bank: Bank) -> str:
    q = bank.question(item.question_id)
    mark = "Right" if item.correct else "Wrong" if item.choice else "Unanswered (wrong)"
    flag = ", flagged" if item.flagged else ""
    if q is None:
        return f"*Question {n}: {mark}{flag}*\n{texts.EXAM_MISSING_QUESTION}"
    parts = [f"*Question {n}: {mark}{flag}* (task {q.task})", q.stem]
    parts += [f"  {letter}. {text}" for letter, text in q.options]
    chosen = ", ".join(item.choice) if item.choice else "none"
    parts.append(f"Your answer: {chosen}. The answer: {q.key_text}.")
    parts.append(q.explanation)
    parts += [f"{letter}: {why}" for letter, why in q.wrong]
    return "\n".join(parts)


def review_pages(exam: Exam, bank: Bank, *, limit: int = PAGE_CHARS) -> list[list[str]]:
    """The review as pages of lines, each page at most `limit` characters (one question at least)."""
    pages: list[list[str]] = []
    current: list[str] = []
    size = 0
    for i in review_order(exam):
        entry = ["", *_review_entry(i + 1, exam.items[i], bank).split("\n")] if current else \
            _review_entry(i + 1, exam.items[i], bank).split("\n")
        length = sum(len(x) + 1 for x in entry)
        if current and size + length > limit:
            pages.append(current)
            entry, length = entry[1:], length - 1
            current, size = [], 0
        current += entry
        size += length
    if current:
        pages.append(current)
    return pages


def review_message(exam: Exam, bank: Bank, page: int) -> Message:
    pages = review_pages(exam, bank)
    page = min(max(page, 0), len(pages) - 1)
    buttons = ()
    if page + 1 < len(pages):
        buttons = (Button(f"Next page ({page + 2} of {len(pages)})", ACTION, f"{exam.id}:0:review:{page + 1}"),)
    wrong = sum(not i.correct for i in exam.items)
    later = f" `/dva exam review {page + 2}` shows the next page." if page + 1 < len(pages) else ""
    return Message(
        title=f"Review answers, page {page + 1} of {len(pages)}",
        text=f"{wrong} wrong or unanswered of {exam.total} come first, then flagged ones, then the rest.",
        lines=tuple(pages[page]), footer=f"Mock exam of {exam.mode} mode.{later}", buttons=buttons, private=True,
    )


def history_message(exams: list[Exam], bank: Bank, tz: str) -> Message:
    if not exams:
        return Message(text=texts.EXAM_NO_HISTORY, private=True, chart=history_chart(exams, tz))
    lines = []
    for exam in exams:
        when = local_time(exam.started_at, tz, with_date=True).rsplit(" (", 1)[0]
        if exam.state == "abandoned":
            lines.append(f"{when} {exam.mode}: stopped, no score")
            continue
        domains, _ = tallies(exam, bank)
        per = ", ".join(f"D{d.key} {d.percent:.0f} %" for d in domains)
        verdict = "pass" if passed(exam) else "fail"
        late = ", time ran out" if exam.state == "expired" else ""
        lines.append(f"{when} {exam.mode}: {exam.right}/{exam.total} ({percent(exam):.0f} %, {verdict}{late}); {per}")
    return Message(
        title="Your mock exams", text=f"Newest first, times in {tz}.", lines=tuple(lines),
        footer=f"The pass mark is {PASS_PERCENT} %. `/dva exam report` shows the last report.", private=True,
        chart=history_chart(exams, tz),
    )


def history_chart(exams: list[Exam], tz: str) -> Chart:
    """The scored exams' percentages over time (oldest first; `exams` comes newest first), by the
    member's local date of each start; stopped exams have no score and no point."""
    scored = [e for e in reversed(exams) if e.state != "abandoned" and e.right is not None]
    return exam_history_chart(
        scores=[(local_date(datetime.fromtimestamp(e.started_at, UTC), tz), percent(e)) for e in scored],
        pass_mark=PASS_PERCENT,
    )
