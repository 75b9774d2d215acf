"""`make charts`: the charts members get, drawn from demo data into docs/ for the README.

A throwaway SQLite store is filled with twelve weeks of a small study group's answers to the real
bank (one member who studies most days and is improving, eleven others who drop in), and the
charts are built by the same core code `/dva stats` and `/dva stats group` run, then drawn.
The demo member then sits a full mock exam (answering right about three times in four, less in
Security) for the report's chart. Deterministic: same data, same pictures.

    python -m bot.render.demo docs/charts
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.core.charts import Chart
from bot.core.clock import FakeClock
from bot.core.messages import Message
from bot.core.models import ChannelRef, MemberRef
from bot.core.ports import AnswerIn
from bot.core.service import StudyService
from bot.core.timeutil import streak_day
from bot.render.charts import draw_png
from content.loader import load_bank
from storage.sqlite.store import SQLiteStore

NOW = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
CHANNEL = ChannelRef("console", "demo", "study-group")
YOU = MemberRef("console", "demo", "you")


async def _seed(service: StudyService) -> None:
    rng = random.Random(2026)
    questions = list(service.bank.practice_questions)
    weak_domain = 2  # the demo member's weak spot: Security
    for day in range(84):
        for m in range(12):
            user = "you" if m == 0 else f"member{m}"
            studies = (day < 9 or rng.random() < 0.7) if m == 0 else rng.random() < 0.25 - 0.01 * (day // 14)
            if not studies or (m == 0 and day == 9):  # day 9 ago: the gap before the current streak
                continue
            for _ in range(rng.randrange(2, 9) if m == 0 else rng.randrange(1, 5)):
                q = rng.choice(questions)
                # Improving: accuracy climbs from ~55 % twelve weeks ago to ~80 % now, lower in Security.
                p = 0.8 - 0.25 * day / 84 - (0.25 if q.domain == weak_domain else 0.0)
                at = NOW - timedelta(days=day, hours=rng.randrange(1, 12))
                post = await service.store.create_quiz(channel=CHANNEL, question_id=q.id, created_at=at.timestamp(),
                                                       user=user)
                await service.store.record_answer(AnswerIn(
                    post_id=post.id, member=MemberRef("console", "demo", user), channel=CHANNEL, choice="A",
                    correct=rng.random() < p, points=1, practice=True, answered_at=at.timestamp(),
                    local_day=streak_day(at, "UTC").isoformat(), question_id=q.id,
                ))


async def demo_charts() -> list[Chart]:
    with tempfile.TemporaryDirectory(prefix="studybot-demo-") as tmp:
        store = SQLiteStore(Path(tmp) / "demo.db")
        await store.start()
        try:
            service = StudyService(bank=load_bank(), store=store, clock=FakeClock(NOW))
            await _seed(service)
            stats = await service.handle_command(member=YOU, channel=CHANNEL, text="/dva stats")
            group = await service.handle_command(member=YOU, channel=CHANNEL, text="/dva stats group")
            report = await _sit_exam(service)
        finally:
            await store.aclose()
    assert stats.chart is not None and group.chart is not None and report.chart is not None
    return [stats.chart, group.chart, report.chart]


async def _sit_exam(service: StudyService) -> Message:
    """A full mock exam through the exam's own commands and buttons, as a member clicks it."""
    rng = random.Random(65)
    msg = await service.handle_command(member=YOU, channel=CHANNEL, text="/dva exam full")
    exam = await service.store.active_exam(YOU)
    assert exam is not None
    for item in exam.items:
        q = service.bank.by_id[item.question_id]
        wrong = [x for x in q.letters if x not in q.key][: len(q.key)]
        ok = rng.random() < (0.6 if q.domain == 2 else 0.8)
        letters = "".join(sorted(q.key if ok else wrong))
        button = next((b for b in msg.buttons if b.label == letters), None)
        action, value = (button.action, button.value) if button else msg.answer_to or ("", "")
        msg = await service.handle_action(member=YOU, channel=CHANNEL, action=action, value=value,
                                          picked="" if button else letters)
    for label in ("Submit exam", "Submit now"):
        button = next((b for b in msg.buttons if b.label.startswith(label)), None)
        if button is not None and msg.chart is None:
            msg = await service.handle_action(member=YOU, channel=CHANNEL, action=button.action, value=button.value)
    return msg


def main(argv: list[str]) -> int:
    out = Path(argv[0] if argv else "docs/charts")
    out.mkdir(parents=True, exist_ok=True)
    for chart in asyncio.run(demo_charts()):
        path = out / chart.filename
        path.write_bytes(draw_png(chart))
        print(f"{path}: {chart.alt}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
