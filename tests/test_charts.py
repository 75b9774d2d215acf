"""Charts: built by the core from a store with known answers, drawn to valid PNGs of the stated
size whose alt text states the numbers that went in; "no answers yet" for an empty history; the
renderer runs off the event loop with a bound, and matplotlib is not imported until a chart is drawn."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
import threading
from datetime import date, datetime, timedelta

import pytest
from PIL import Image

from bot.core.charts import BarsPanel, CalendarPanel, SeriesPanel, exam_history_chart, exam_report_chart
from bot.core.models import ChannelRef, MemberRef
from bot.core.ports import AnswerIn
from bot.core.timeutil import streak_day
from bot.render import charts as render
from tests.conftest import ROOT

CH = ChannelRef("console", "ws1", "study")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def member(name: str) -> MemberRef:
    return MemberRef("console", "ws1", name)


async def answer(store, who: MemberRef, qid: str, correct: bool, at: datetime, channel: ChannelRef = CH) -> None:
    post = await store.create_quiz(channel=channel, question_id=qid, created_at=at.timestamp(), user=who.user)
    outcome = await store.record_answer(AnswerIn(
        post_id=post.id, member=who, channel=channel, choice="A", correct=correct, points=1, practice=True,
        answered_at=at.timestamp(), local_day=streak_day(at, "UTC").isoformat(), question_id=qid,
    ))
    assert outcome.recorded


def check_png(data: bytes, chart) -> Image.Image:
    """A PNG (magic, IHDR) of exactly the size the renderer states, carrying the alt text."""
    assert data[:8] == PNG_MAGIC and data[12:16] == b"IHDR"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == render.size_px(chart)
    assert width == 800 and 300 <= height <= 1400
    image = Image.open(io.BytesIO(data))
    image.load()  # decodes every row: a truncated or corrupt PNG fails here
    assert image.size == (width, height)
    assert image.text["Description"] == chart.alt and image.text["Title"] == chart.title
    return image


@pytest.fixture
async def seeded(store, clock):
    """alice: domain 1 two of three right, domain 2 none of two; 2 answers today, 2 yesterday, 1
    three days ago (so a 2-day streak). bob: one answer 10 days ago and one yesterday; carol: one
    20 days ago. All in the channel `study`."""
    now = clock.now()  # Monday 2026-03-02 10:00 UTC
    alice, bob, carol = member("alice"), member("bob"), member("carol")
    await answer(store, alice, "t-d1-one", True, now - timedelta(hours=1))
    await answer(store, alice, "t-d2-one", False, now - timedelta(hours=2))
    await answer(store, alice, "t-d1-two", True, now - timedelta(days=1))
    await answer(store, alice, "t-d2-two", False, now - timedelta(days=1, hours=1))
    await answer(store, alice, "t-d1-multi", False, now - timedelta(days=3))
    await answer(store, bob, "t-d3-one", True, now - timedelta(days=10))
    await answer(store, bob, "t-d1-one", True, now - timedelta(days=1))
    await answer(store, carol, "t-d4-one", False, now - timedelta(days=20))
    return alice


async def test_personal_stats_chart_from_known_answers(service, seeded):
    msg = await service.handle_command(member=seeded, channel=CH, text="/dva stats")
    chart = msg.chart
    assert chart is not None and chart.kind == "stats" and msg.private
    domains, weakest, calendar = chart.panels
    assert isinstance(domains, BarsPanel) and isinstance(weakest, BarsPanel) and isinstance(calendar, CalendarPanel)
    assert [b.label for b in domains.bars][0] == "1 Development with AWS Services (32 % of the exam)"
    assert [(b.value, b.detail) for b in domains.bars] == [
        (2 / 3, "2/3"), (0.0, "0/2"), (None, "not practised"), (None, "not practised")]
    assert domains.pass_mark == 72
    assert all(b.highlight for b in weakest.bars) and not any(b.highlight for b in domains.bars)
    # As the text names them: unpractised tasks count as weakest.
    assert [(b.label.split()[0], b.detail) for b in weakest.bars] == [
        ("2.3", "not practised"), ("3.1", "not practised"), ("3.2", "not practised")]
    today = date(2026, 3, 2)
    counts = {calendar.first + timedelta(days=i): n for i, n in enumerate(calendar.counts) if n}
    assert counts == {today: 2, today - timedelta(days=1): 2, today - timedelta(days=3): 1}
    assert calendar.first == date(2025, 12, 15) and calendar.first.weekday() == 0 and len(calendar.counts) == 78
    assert calendar.streak == {today, today - timedelta(days=1)}
    # The alt text states what went in.
    for said in ("domain 1 Development with AWS Services 67 % (2 of 3)", "domain 2 Security 0 % (0 of 2)",
                 "domain 3 Deployment not practised", "72 % pass mark", "5 questions on 3 days",
                 "at most 2 on 2026-03-02", "current streak 2 days"):
        assert said in chart.alt, (said, chart.alt)
    check_png(render.draw_png(chart), chart)


async def test_group_chart_and_weekly_digest_from_known_answers(service, seeded):
    msg = await service.handle_command(member=member("dave"), channel=CH, text="/dva stats group")
    chart = msg.chart
    assert chart is not None and chart.kind == "group" and not msg.ephemeral and "bob" not in chart.alt
    per_day, per_week, accuracy = chart.panels
    assert isinstance(per_day, SeriesPanel) and isinstance(per_week, SeriesPanel) and isinstance(accuracy, BarsPanel)
    assert len(per_day.values) == 28 and sum(per_day.values) == 8
    assert per_day.values[-1] == 2 and per_day.values[-2] == 3  # today: alice twice; yesterday: alice twice, bob
    assert per_week.values == (0.0, 1.0, 1.0, 2.0)  # carol; bob; alice and bob
    assert per_week.labels == ("3 Feb-9 Feb", "10 Feb-16 Feb", "17 Feb-23 Feb", "24 Feb-2 Mar")
    assert [(b.value, b.detail) for b in accuracy.bars][:2] == [(3 / 4, "3/4"), (0.0, "0/2")]
    for said in ("8 answers in the last 4 weeks", "busiest day 3", "10 Feb-16 Feb 1", "24 Feb-2 Mar 2",
                 "domain 1 Development with AWS Services 75 % (3 of 4)", "domain 4 Troubleshooting and "
                 "Optimization 0 % (0 of 1)"):
        assert said in chart.alt, (said, chart.alt)
    check_png(render.draw_png(chart), chart)

    digest = await service.weekly_digest(CH, "UTC")
    assert digest is not None and digest.chart is not None and digest.chart.title == "Weekly digest"
    assert digest.chart.panels == chart.panels and not digest.ephemeral


async def test_an_empty_history_says_no_answers_yet(service, store):
    msg = await service.handle_command(member=member("newbie"), channel=CH, text="/dva stats")
    chart = msg.chart
    assert chart is not None and chart.note == "No answers yet"
    assert "No answers yet" in chart.alt and "No questions answered in the last 12 weeks" in chart.alt
    check_png(render.draw_png(chart), chart)
    from bot.render import draw

    drawn = [t.get_text() for t in draw.figure(chart).findobj(lambda a: hasattr(a, "get_text"))]
    assert "No answers yet" in drawn
    group = await service.handle_command(member=member("newbie"), channel=ChannelRef("console", "ws1", "empty"),
                                         text="/dva stats group")
    assert group.chart.note == "No answers yet" and "No answers yet in this channel" in group.chart.alt
    check_png(render.draw_png(group.chart), group.chart)


def test_exam_report_and_history_charts_from_plain_data():
    report = exam_report_chart(domains=[("1", "Development", 14, 21), ("2", "Security", 12, 17),
                                        ("3", "Deployment", 10, 15), ("4", "Troubleshooting", 9, 12)], right=45, total=65)
    assert "69 % (45 of 65), a fail against the 72 % pass mark" in report.alt
    assert "domain 2 Security 71 % (12 of 17)" in report.alt
    check_png(render.draw_png(report), report)
    history = exam_history_chart(scores=[(date(2026, 2, 1), 61.5), (date(2026, 2, 20), 75.4)])
    assert "2 scored mock exams, 1 at or above the 72 % pass mark: 2026-02-01 62 %, 2026-02-20 75 %." == history.alt
    check_png(render.draw_png(history), history)
    empty = exam_history_chart(scores=[])
    assert empty.note and empty.alt == "No scored mock exams yet."
    check_png(render.draw_png(empty), empty)


async def test_the_renderer_draws_off_the_event_loop_within_its_bound(monkeypatch, service, seeded):
    chart = (await service.handle_command(member=seeded, channel=CH, text="/dva stats")).chart
    threads: list[str] = []
    gate = threading.Event()

    def slow_draw(c):
        threads.append(threading.current_thread().name)
        gate.wait(5)
        return b"png"

    monkeypatch.setattr(render, "draw_png", slow_draw)
    renderer = render.ChartRenderer(max_waiting=1)
    try:
        first = asyncio.ensure_future(renderer.png(chart))
        second = asyncio.ensure_future(renderer.png(chart))
        await asyncio.sleep(0.05)
        # One drawing and one waiting: a third is refused at once, so the text goes alone.
        with pytest.raises(render.ChartBusy):
            await renderer.png(chart)
        gate.set()
        assert await first == b"png" and await second == b"png"
    finally:
        renderer.close()
    assert threads and all(name.startswith("studybot-charts") for name in threads)
    assert threading.main_thread().name not in threads


async def test_a_failing_drawing_costs_the_picture_only(monkeypatch, service, seeded):
    chart = (await service.handle_command(member=seeded, channel=CH, text="/dva stats")).chart

    def broken(c):
        raise ValueError("matplotlib broke")

    monkeypatch.setattr(render, "draw_png", broken)
    renderer = render.ChartRenderer()
    with pytest.raises(render.ChartError, match="ValueError"):
        await renderer.png(chart)
    renderer.close()


def test_matplotlib_pil_and_numpy_are_imported_only_when_a_chart_is_drawn():
    """Start-up imports neither matplotlib, PIL nor numpy (docs/performance.md); the first chart does."""
    code = (
        "import sys\n"
        "heavy = lambda: sorted({m.split('.')[0] for m in sys.modules} & {'matplotlib', 'PIL', 'numpy'})\n"
        "import bot.cli, bot.app, bot.runtime, bot.scheduler, bot.adapters.console\n"
        "from bot.adapters.slack import SlackAdapter\n"
        "from bot.adapters.discord import DiscordAdapter\n"
        "from bot.render.charts import ChartRenderer, draw_png\n"
        "ChartRenderer()\n"
        "print('before', ','.join(heavy()) or '-')\n"
        "from bot.core.charts import exam_history_chart\n"
        "draw_png(exam_history_chart(scores=[]))\n"
        "print('after', ','.join(heavy()) or '-')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["before", "-", "after", "PIL,matplotlib,numpy"]


async def test_exam_report_and_history_carry_charts_from_a_sat_exam(service, store, clock):
    """Two short exams on the fixture bank (8 questions each): the first with every answer right
    but domain 2's, the second abandoned; the report's bars and the history's line say so."""
    from tests.test_exam import ALICE, answer, press, question_on, right, say, wrong

    empty = await say(service, "/dva exam history")
    assert empty.chart is not None and empty.chart.note and empty.chart.alt == "No scored mock exams yet."
    check_png(render.draw_png(empty.chart), empty.chart)

    msg = await press(service, await say(service, "/dva exam"), "Short")
    exam = await store.active_exam(ALICE)
    for _ in range(exam.total):
        q = question_on(service, msg, exam)
        msg = await answer(service, msg, wrong(q) if q.domain == 2 else right(q))
    report = await press(service, msg, "Submit exam")
    if not report.title.startswith("Mock exam report"):  # asked to confirm
        report = await press(service, report, "Submit now")
    assert report.title.startswith("Mock exam report") and report.replace
    chart = report.chart
    assert chart is not None and chart.kind == "exam_report"
    by_domain: dict[int, list[int]] = {}
    for item in exam.items:
        q = service.bank.question(item.question_id)
        cell = by_domain.setdefault(q.domain, [0, 0])
        cell[0] += q.domain != 2
        cell[1] += 1
    [bars] = chart.panels
    assert [(b.detail, b.value) for b in bars.bars] == [(f"{r}/{t}", r / t) for _, (r, t) in sorted(by_domain.items())]
    right_n = sum(r for r, _ in by_domain.values())
    assert f"({right_n} of 8)" in chart.alt and "domain 2 Security 0 % (0 of " in chart.alt
    check_png(render.draw_png(chart), chart)

    clock.advance(days=3)
    await press(service, await say(service, "/dva exam"), "Short")
    await say(service, "/dva exam stop")
    history = await say(service, "/dva exam history")
    [line] = history.chart.panels
    assert line.values == (round(100 * right_n / 8, 1),) and line.labels == ("2 Mar",)  # the stopped one has no point
    assert history.chart.alt == (f"1 scored mock exam, {int(100 * right_n / 8 >= 72)} at or above the 72 % pass "
                                 f"mark: 2026-03-02 {100 * right_n / 8:.0f} %.")
    check_png(render.draw_png(history.chart), history.chart)
