"""review: serving the next due review card to a member who holds a card for every question of the
bank (653 today: a member has at most one card per question, so the issue's 1,000 needs a bigger
bank), most of them due.

Two paths: through StudyService (the core and the store, in-process) and end to end through the
real Slack adapter in HTTP mode - a signed block_actions click on "Next review" to /slack/events,
the reply read from the local fake's response_url. Baseline (same run): the raw SQLite query for
the most overdue card, with sqlite3 on the same file.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.bench.report import Row, fmt, percentile
from bot.core.clock import FakeClock
from bot.core.messages import ACTION_NEXT
from bot.core.models import Bank, ChannelRef, MemberRef
from bot.core.service import StudyService
from storage.sqlite.store import SQLiteStore

WORKSPACE = "T1"
CARDS = 1_000


async def _seed(store: SQLiteStore, bank: Bank, member: MemberRef, now: float) -> None:
    questions = list(bank.practice_questions)
    reviews = []
    for i in range(CARDS):
        q = questions[i % len(questions)]
        # Most cards due (missed hours ago), one in five answered right (due in days).
        reviews.append((q.id, i % 5 == 0, now - 86400 - i))
    await store.apply_reviews(member, reviews)


async def run(*, bank: Bank, folder: Path, clicks: int = 300) -> list[Row]:
    path = folder / "review.db"
    store = SQLiteStore(path)
    await store.start()
    clock = FakeClock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    now = clock.now().timestamp()
    service = StudyService(bank=bank, store=store, clock=clock)
    member = MemberRef("slack", WORKSPACE, "UBENCH")
    await _seed(store, bank, member, now)
    cards, due, _ = await store.card_summary(member, now=now)
    channel = ChannelRef("slack", WORKSPACE, "DUBENCH")
    core: list[float] = []
    for _ in range(clicks):
        t = time.perf_counter()
        msg = await service.handle_action(member=member, channel=channel, action=ACTION_NEXT, value="review")
        core.append(time.perf_counter() - t)
        if msg.post_id is None:
            raise RuntimeError("review bench: no card was served")
    http = await _through_slack(service, clicks=clicks)
    await store.aclose()
    base = _baseline(path, member, now, clicks)
    note = f"sqlite, 1 member with {cards:,} cards ({due:,} due); {clicks} clicks each"
    b = f"raw SELECT of the most overdue card: p99 {fmt(1000 * percentile(base, 99))} ms"
    p99_core = 1000 * percentile(core, 99)
    return [
        Row("review", "p99 ms to serve the next due card (StudyService + store)", p99_core, "<= 5", b,
            p99_core <= 5, f"{note}; in-process: the core's and the store's part of a click"),
        Row("review", "p50 ms next due card, signed Slack click -> reply", 1000 * percentile(http, 50), "", b, None,
            note),
        Row("review", "p99 ms next due card, signed Slack click -> reply", 1000 * percentile(http, 99), "", b, None,
            f"{note}; real Bolt app in HTTP mode, reply read at the fake's response_url (the click path of #14)"),
    ]


async def _through_slack(service: StudyService, *, clicks: int) -> list[float]:
    import aiohttp

    from bot.adapters.slack.app import SlackAdapter
    from bot.adapters.slack.fake import FakeSlack
    from bot.adapters.slack.testing import SlackSender, http_settings

    fake = FakeSlack(team=WORKSPACE)
    await fake.start()
    adapter = SlackAdapter(service=service, settings=http_settings(fake), http_host="127.0.0.1")
    await adapter.start()
    button = {"type": "button", "action_id": f"{ACTION_NEXT}:0", "value": "review", "block_id": "b"}
    took: list[float] = []
    try:
        async with aiohttp.ClientSession() as session:
            sender = SlackSender(port=adapter.http_port or 0, fake=fake, session=session, team=WORKSPACE)
            for i in range(clicks):
                name = f"r{i}"
                t = time.monotonic()
                status, _, _ = await sender.click(button, user="UBENCH", name=name, channel="DUBENCH")
                if status != 200:
                    raise RuntimeError(f"review bench: Slack click answered {status}")
                await fake.wait_for(lambda name=name: fake.responses(name))
                # The fake stamps each call when it arrives: click to reply, without the poll's delay.
                arrived = next(c.at for c in fake.calls if c.method == "response_url" and c.path.endswith(f"/{name}"))
                took.append(arrived - t)
                if "Review (" not in str(fake.responses(name)[-1]):
                    raise RuntimeError("review bench: the reply is not a review card")
    finally:
        await adapter.aclose()
        await fake.aclose()
    return took


def _baseline(path: Path, member: MemberRef, now: float, n: int) -> list[float]:
    db = sqlite3.connect(path)
    out = []
    for _ in range(n):
        t = time.perf_counter()
        db.execute(
            "SELECT question_id, due FROM review_cards WHERE platform=? AND workspace=? AND user_id=? AND due <= ? "
            "ORDER BY due LIMIT 1", (member.platform, member.workspace, member.user, now),
        ).fetchone()
        out.append(time.perf_counter() - t)
    db.close()
    return out
