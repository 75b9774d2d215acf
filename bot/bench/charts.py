"""charts: drawing the charts members get, from a store with a busy member and a busy channel.

Rows: p99 ms to draw each chart to PNG through the ChartRenderer (the worker-thread hop included):
stats and group built by the core from the store as `/dva stats` and `/dva stats group` do, the
mock exam report (65 questions) and a history of twelve exams from plain numbers; end to end on Slack, a signed `/dva stats` to the chart's upload completing at the local
fake (text first, then files.getUploadURLExternal, the upload, files.completeUploadExternal); and
the first chart of a fresh process, which imports matplotlib. Baseline (same run): a bare
matplotlib figure of the same width with one barh call, saved as PNG.
"""

from __future__ import annotations

import io
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.bench.report import Row, fmt, percentile
from bot.core.charts import Chart, exam_history_chart, exam_report_chart
from bot.core.clock import FakeClock
from bot.core.models import Bank, ChannelRef, MemberRef
from bot.core.ports import AnswerIn
from bot.core.service import StudyService
from bot.core.timeutil import streak_day
from bot.render.charts import ChartRenderer
from bot.runtime import freeze_heap
from storage.sqlite.store import SQLiteStore

WORKSPACE = "T1"
TARGET_MS = 200


async def _seed(store: SQLiteStore, bank: Bank, now: datetime, channel: ChannelRef, members: int) -> int:
    """A channel of `members` members answering over 12 weeks; UBENCH answers most days."""
    rng = random.Random(11)
    questions = list(bank.practice_questions)
    answers = []
    for day in range(84):
        for m in range(members):
            if rng.random() > (0.9 if m == 0 else 0.3):
                continue
            user = "UBENCH" if m == 0 else f"U{m:03d}"
            for _ in range(rng.randrange(1, 8)):
                at = now - timedelta(days=day, minutes=rng.randrange(600))
                answers.append((user, rng.choice(questions).id, rng.random() < 0.65, at))
    for user, qid, right, at in answers:
        post = await store.create_quiz(channel=channel, question_id=qid, created_at=at.timestamp(), user=user)
        await store.record_answer(AnswerIn(
            post_id=post.id, member=MemberRef("slack", WORKSPACE, user), channel=channel, choice="A", correct=right,
            points=1, practice=True, answered_at=at.timestamp(), local_day=streak_day(at, "UTC").isoformat(),
        ))
    return len(answers)


def _baseline(n: int) -> list[float]:
    from matplotlib.figure import Figure

    took = []
    for _ in range(n):
        t = time.perf_counter()
        fig = Figure(figsize=(8, 6), dpi=100)
        fig.add_subplot().barh([0, 1, 2, 3], [64, 50, 0, 80])
        fig.savefig(io.BytesIO(), format="png")
        took.append(time.perf_counter() - t)
    return took


def _cold_first_chart() -> float:
    code = ("import time; t = time.perf_counter()\n"
            "from bot.core.charts import exam_history_chart\n"
            "from bot.render.charts import draw_png\n"
            "draw_png(exam_history_chart(scores=[]))\n"
            "print(time.perf_counter() - t)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    return float(out.stdout.strip())


async def run(*, bank: Bank, folder: Path, charts: int = 100, members: int = 40) -> list[Row]:
    store = SQLiteStore(folder / "charts.db")
    await store.start()
    clock = FakeClock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    service = StudyService(bank=bank, store=store, clock=clock)
    channel = ChannelRef("slack", WORKSPACE, "CBENCH")
    answers = await _seed(store, bank, clock.now(), channel, members)
    member = MemberRef("slack", WORKSPACE, "UBENCH")
    renderer = ChartRenderer()
    rows: list[Row] = []
    try:
        await renderer.png((await service.handle_command(member=member, channel=channel, text="stats")).chart)
        freeze_heap()  # as `studybot run` does once started (matplotlib is imported by now)
        base = _baseline(charts)
        b = f"bare matplotlib barh 800x600 PNG: p50 {fmt(1000 * percentile(base, 50))} ms, " \
            f"p99 {fmt(1000 * percentile(base, 99))} ms"
        exam = exam_report_chart(domains=[("1", "Development with AWS Services", 17, 21), ("2", "Security", 11, 17),
                                          ("3", "Deployment", 15, 16), ("4", "Troubleshooting and Optimization", 8, 11)],
                                 right=51, total=65)
        history = exam_history_chart(scores=[(clock.now().date() - timedelta(days=7 * i), 55.0 + 2 * i)
                                             for i in range(12, 0, -1)])
        for kind, text in (("stats", "stats"), ("group", "stats group"), ("exam_report", exam),
                           ("exam_history", history)):
            chart = text if isinstance(text, Chart) else (
                await service.handle_command(member=member, channel=channel, text=text)).chart
            assert chart is not None
            took = []
            for _ in range(charts):
                t = time.perf_counter()
                await renderer.png(chart)
                took.append(time.perf_counter() - t)
            p99 = 1000 * percentile(took, 99)
            note = f"{answers:,} answers, {members} members; {charts} draws through the worker thread"
            rows.append(Row("charts", f"p50 ms to draw the {kind} chart", 1000 * percentile(took, 50), "", b, None,
                            note))
            rows.append(Row("charts", f"p99 ms to draw the {kind} chart", p99, f"<= {TARGET_MS}", b,
                            p99 <= TARGET_MS, note))
        e2e = await _through_slack(service, renderer, n=max(10, charts // 5))
        rows.append(Row("charts", "p99 ms signed Slack /dva stats -> chart shared in the DM", 1000 * percentile(e2e, 99),
                        "", b, None, f"{len(e2e)} commands; real Bolt app in HTTP mode, text first, then the "
                        "files_upload_v2 calls at the local fake"))
    finally:
        renderer.close()
        await store.aclose()
    cold = _cold_first_chart()
    rows.append(Row("charts", "ms for the first chart of a fresh process (imports matplotlib)", 1000 * cold, "", "",
                    None, "once per process; `studybot run` start-up does not import matplotlib"))
    return rows


async def _through_slack(service: StudyService, renderer: ChartRenderer, *, n: int) -> list[float]:
    import aiohttp

    from bot.adapters.slack.app import SlackAdapter
    from bot.adapters.slack.fake import FakeSlack
    from bot.adapters.slack.testing import SlackSender, http_settings

    fake = FakeSlack(team=WORKSPACE)
    await fake.start()
    adapter = SlackAdapter(service=service, settings=http_settings(fake), http_host="127.0.0.1", charts=renderer)
    await adapter.start()
    took: list[float] = []
    try:
        async with aiohttp.ClientSession() as session:
            sender = SlackSender(port=adapter.http_port or 0, fake=fake, session=session, team=WORKSPACE)
            for i in range(n):
                before = len(fake.calls_to("files.completeUploadExternal"))
                t = time.monotonic()
                status, _, _ = await sender.command("stats", user="UBENCH", channel="CBENCH", name=f"s{i}")
                if status != 200:
                    raise RuntimeError(f"charts bench: Slack command answered {status}")
                done = await fake.wait_for(lambda b=before: fake.calls_to("files.completeUploadExternal")[b:],
                                           within=10.0)
                took.append(done[0].at - t)
    finally:
        await adapter.aclose()
        await fake.aclose()
    return took
