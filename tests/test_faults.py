"""Faults lose nothing: a write that fails (disk full, database locked past the timeout) tells the
member "not recorded, try again" and leaves nothing half-written; a slow store only delays. Each
test is bounded in time (a few seconds at most)."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest

from bot.core import texts
from bot.core.ports import AnswerIn, Subscription
from bot.core.service import StudyService
from storage.sqlite import store as sqlite_store
from storage.sqlite.store import SQLiteStore
from tests.conftest import member


def counts(path) -> tuple[int, int, int]:
    with sqlite3.connect(path) as db:
        return tuple(db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                     for t in ("answers", "board_totals", "board_levels"))


def sums_agree(path) -> bool:
    """Every maintained total equals the points of the answers it counts (workspace, all time)."""
    with sqlite3.connect(path) as db:
        answers = dict(db.execute("SELECT user_id, SUM(points) FROM answers GROUP BY user_id HAVING SUM(points) > 0"))
        totals = dict(db.execute("SELECT user_id, points FROM board_totals WHERE channel='' AND period='all'"))
        levels = sum(n for (n,) in db.execute("SELECT members FROM board_levels WHERE channel='' AND period='all'"))
    return answers == totals and levels == len(totals)


def cards_agree(path) -> bool:
    """Every answer moved its member's review card, and no card exists without its answers: the
    card's repetitions equal the member's answers to that question (one transaction for both)."""
    with sqlite3.connect(path) as db:
        answered = dict(((u, q), n) for u, q, n in db.execute(
            "SELECT a.user_id, p.question_id, COUNT(*) FROM answers a JOIN posts p ON p.id = a.post_id "
            "GROUP BY a.user_id, p.question_id"))
        cards = dict(((u, q), n) for u, q, n in db.execute("SELECT user_id, question_id, reps FROM review_cards"))
    return bool(answered) and answered == cards


@pytest.fixture
async def quick_store(tmp_path, monkeypatch):
    """A store that gives up on a locked database after 0.3 s instead of 5 s."""
    monkeypatch.setattr(sqlite_store, "BUSY_TIMEOUT_MS", 300)
    s = SQLiteStore(tmp_path / "faults.db")
    await s.start()
    yield s
    await s.aclose()


@pytest.fixture
async def daily(quick_store, bank, clock, channel):
    service = StudyService(bank=bank, store=quick_store, clock=clock)
    await quick_store.put_subscription(Subscription(channel=channel, time="09:00", timezone="UTC",
                                                    days="mon,tue,wed,thu,fri", reveal="17:00"))
    post, _ = await service.claim_daily(channel, "UTC")
    await quick_store.set_post_message(post.id, "1.0")
    question = bank.question(post.question_id)
    return service, post, question


async def test_database_locked_past_the_timeout_records_nothing_and_says_try_again(daily, quick_store):
    service, post, question = daily
    blocker = sqlite3.connect(quick_store.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        t0 = time.monotonic()
        replies = await asyncio.gather(*[
            service.answer(member=member(f"m{i}"), post_id=post.id, raw_choice=" ".join(sorted(question.key))) for i in range(5)
        ])
        assert time.monotonic() - t0 < 10
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert [r.text for r in replies] == [texts.NOT_RECORDED] * 5
    assert counts(quick_store.path) == (0, 0, 0)
    # Once the lock is gone, trying again works and counts once.
    again = await service.answer(member=member("m0"), post_id=post.id, raw_choice=" ".join(sorted(question.key)))
    assert again.text.startswith("Right!")
    assert counts(quick_store.path)[0] == 1 and sums_agree(quick_store.path)


async def test_disk_full_mid_batch_rolls_back_every_row_and_its_totals(daily, quick_store):
    service, post, question = daily
    # SQLITE_FULL as a full disk raises it: the database may not grow by a single page.
    db = quick_store._batch_db
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count={pages}")
    many = [member(f"user{i:04d}-" + "x" * 200) for i in range(400)]  # enough rows to need new pages
    choice = " ".join(sorted(question.key))
    replies = await asyncio.gather(*[service.answer(member=m, post_id=post.id, raw_choice=choice) for m in many])
    # The batch failed whole; retried one by one, the rows that still fit in free space landed.
    recorded = [m for m, r in zip(many, replies, strict=True) if r.text.startswith("Right!")]
    refused = [m for m, r in zip(many, replies, strict=True) if r.text == texts.NOT_RECORDED]
    assert len(recorded) + len(refused) == len(many) and len(refused) > 300
    assert counts(quick_store.path)[0] == len(recorded) and sums_agree(quick_store.path)
    assert cards_agree(quick_store.path)  # the cards of the refused rows were rolled back with them
    db.execute("PRAGMA max_page_count=1073741823")
    replies = await asyncio.gather(*[service.answer(member=m, post_id=post.id, raw_choice=choice) for m in refused])
    assert all(r.text.startswith("Right!") for r in replies)
    assert counts(quick_store.path)[0] == len(many) and sums_agree(quick_store.path)
    assert cards_agree(quick_store.path)


async def test_a_slow_store_delays_answers_but_loses_none(daily, quick_store, monkeypatch):
    service, post, question = daily
    monkeypatch.setattr(sqlite_store, "BUSY_TIMEOUT_MS", 300)
    blocker = sqlite3.connect(quick_store.path, isolation_level=None, timeout=0)
    blocker.execute("BEGIN IMMEDIATE")
    # The batch connection waits up to its busy timeout; release the lock well inside it.
    quick_store._batch_db.execute("PRAGMA busy_timeout=3000")
    pending = asyncio.gather(*[
        service.answer(member=member(f"s{i}"), post_id=post.id, raw_choice=" ".join(sorted(question.key))) for i in range(30)
    ])
    await asyncio.sleep(0.5)
    blocker.execute("ROLLBACK")
    blocker.close()
    replies = await asyncio.wait_for(pending, 10)
    assert all(r.text.startswith("Right!") for r in replies)
    assert counts(quick_store.path)[0] == 30 and sums_agree(quick_store.path)


async def test_one_bad_row_does_not_sink_its_batch(quick_store, channel):
    post, _ = await quick_store.claim_daily(channel=channel, local_date="2026-03-02", question_id="q1", created_at=1.0)

    def row(user: str, post_id: int) -> AnswerIn:
        return AnswerIn(post_id=post_id, member=member(user), channel=channel, choice="A", correct=True, points=10,
                        practice=False, answered_at=1.0, local_day="2026-03-02")

    results = await asyncio.gather(
        *[quick_store.record_answer(row(f"ok{i}", post.id)) for i in range(20)],
        quick_store.record_answer(row("orphan", 999_999)),  # no such post: a foreign key failure
        return_exceptions=True,
    )
    assert all(getattr(r, "recorded", False) for r in results[:20])
    assert isinstance(results[20], Exception)
    assert counts(quick_store.path)[0] == 20 and sums_agree(quick_store.path)


# ----- crash durability: a real `studybot run` killed with SIGKILL in the middle of a burst ---------

async def _start_bot(env: dict[str, str], cwd) -> asyncio.subprocess.Process:
    import sys

    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", env=env, cwd=cwd,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    seen = b""
    while b"studybot is running" not in seen:
        line = await asyncio.wait_for(proc.stderr.readline(), 10)
        assert line, "studybot run ended before it was ready: " + seen.decode(errors="replace")[-600:]
        seen += line

    async def drain() -> None:  # keep reading so a full pipe never blocks the bot
        while await proc.stderr.readline():
            pass

    proc.drain_task = asyncio.create_task(drain())  # type: ignore[attr-defined]
    return proc


async def test_sigkill_mid_burst_loses_no_recorded_answer_and_counts_none_twice(tmp_path, bank):
    import os
    import signal
    import socket
    from datetime import UTC, datetime

    import aiohttp

    from bot.adapters.slack.fake import FakeSlack
    from bot.adapters.slack.render import render
    from bot.adapters.slack.testing import TEST_BOT_TOKEN, TEST_SECRET, SlackSender, elements, text_of
    from bot.core.clock import FakeClock
    from bot.core.models import ChannelRef
    from tests.conftest import FIXTURE_BANK, ROOT

    db_path = tmp_path / "crash.db"
    seed = SQLiteStore(db_path)
    await seed.start()
    question = next(q for q in bank.questions if len(q.key) == 1)
    channel = ChannelRef("slack", "T1", "C1")
    today = datetime.now(UTC).date().isoformat()
    post, _ = await seed.claim_daily(channel=channel, local_date=today, question_id=question.id,
                                     created_at=time.time())
    await seed.set_post_message(post.id, "1.1")
    await seed.aclose()
    service = StudyService(bank=bank, store=seed, clock=FakeClock(datetime.now(UTC)))  # renders the buttons
    buttons = elements({"blocks": render(service.daily_message(post)).blocks}, "button")
    right = next(b for b in buttons if b["text"]["text"] == question.key_text)
    wrong = next(b for b in buttons if b["text"]["text"] != question.key_text)

    fake = FakeSlack()
    await fake.start()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_", "STUDYBOT_"))}
    env.update({
        "PYTHONPATH": str(ROOT), "STUDYBOT_DATABASE_URL": f"sqlite:///{db_path}", "STUDYBOT_CONTENT_DIR": str(FIXTURE_BANK),
        "SLACK_BOT_TOKEN": TEST_BOT_TOKEN, "SLACK_SIGNING_SECRET": TEST_SECRET, "SLACK_MODE": "http",
        "SLACK_HTTP_PORT": str(port), "SLACK_API_URL": fake.base_url,
    })
    users = [f"U{i:04d}" for i in range(400)]
    choice = {u: right if i % 3 else wrong for i, u in enumerate(users)}

    def recorded_users() -> set[str]:
        got = set()
        for u in users:
            texts_seen = [text_of(p) for p in fake.responses(u)]
            if any(t.startswith(("Right!", "Not quite")) for t in texts_seen):
                got.add(u)
        return got

    try:
        bot = await _start_bot(env, tmp_path)
        async with aiohttp.ClientSession() as session:
            slack = SlackSender(port=port, fake=fake, session=session)
            calls_before = len(fake.calls)
            burst = asyncio.gather(*[slack.click(choice[u], user=u, name=u) for u in users], return_exceptions=True)
            # A quarter of the members heard back: the rest are in flight when the process dies.
            await fake.wait_for(
                lambda: sum(c.method == "response_url" for c in fake.calls[calls_before:]) >= len(users) // 4,
                within=10.0,
            )
            bot.kill()  # SIGKILL: no shutdown, no flush
            assert bot.returncode in (None, -signal.SIGKILL)
            await bot.wait()
            await burst
            before_restart = recorded_users()
            assert 0 < len(before_restart) < len(users), "the kill must land in the middle of the burst"

            # Restarted on the same database, everyone clicks again.
            bot = await _start_bot(env, tmp_path)
            await asyncio.gather(*[slack.click(choice[u], user=u, name=u + "-again") for u in users])
            replies = {u: await fake.wait_for(lambda u=u: fake.responses(u + "-again"), within=5.0) for u in users}
            bot.send_signal(signal.SIGTERM)
            await asyncio.wait_for(bot.wait(), 10)
    finally:
        if bot.returncode is None:
            bot.kill()
            await bot.wait()
        await fake.aclose()

    with sqlite3.connect(db_path) as db:
        rows = db.execute("SELECT user_id, COUNT(*), SUM(points) FROM answers WHERE post_id=? GROUP BY user_id",
                          (post.id,)).fetchall()
        days = dict(db.execute("SELECT user_id, COUNT(DISTINCT local_day) FROM answers GROUP BY user_id"))
    stored = {u: (n, p) for u, n, p in rows}
    # Every answer whose "recorded" reply reached Slack before the kill is in the store, once...
    assert before_restart <= set(stored)
    assert all(n == 1 for n, _ in stored.values())
    # ...and after the restart every member has exactly one answer; the ones stored before the
    # kill are told so, not counted again.
    assert set(stored) == set(users)
    for u in before_restart:
        assert text_of(replies[u][-1]).startswith("You already answered")
    assert all(p == (10 if choice[u] is right else 3) for u, (_, p) in stored.items())
    assert all(days[u] == 1 for u in users)  # one streak day each
    assert sums_agree(db_path)  # the leaderboard totals match the answers
    assert cards_agree(db_path)  # and every answer has its review card, moved once, none without one
