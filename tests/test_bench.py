"""The bench's own pieces and the designs it drove: maintained leaderboard totals equal the sums
of the answers (live and after migration 003's backfill), the PacedPoster stays under a platform's
rate limit, and `studybot bench` runs its scenarios at small sizes."""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import time
from datetime import UTC, datetime, timedelta

import aiohttp

from bot.adapters.slack.poster import SlackPoster, web_client
from bot.bench.pacing import PacedPoster, TokenBucket
from bot.bench.ratelimited import RateLimitedSlack
from bot.cli import main
from bot.core.messages import Message
from bot.core.models import ChannelRef
from bot.core.ports import AnswerIn
from bot.core.timeutil import period_key
from storage.migrate import load_migrations
from storage.sqlite.store import MIGRATIONS, SQLiteStore
from tests.conftest import member


def random_answers(post_ids: dict[tuple[str, str], int], n: int, seed: int = 5) -> list[AnswerIn]:
    rng = random.Random(seed)
    out, seen = [], set()
    for _ in range(n):
        chan, day = rng.choice(sorted(post_ids))
        user = f"u{rng.randrange(25)}"
        if (chan, day, user) in seen:
            continue
        seen.add((chan, day, user))
        right = rng.random() < 0.5
        at = datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC).timestamp()
        out.append(AnswerIn(post_id=post_ids[(chan, day)], member=member(user), channel=ChannelRef("console", "ws1", chan),
                            choice="A", correct=right, points=rng.choice([0, 1, 3, 10]), practice=False,
                            answered_at=at, local_day=day))
    return out


async def claim_posts(store) -> dict[tuple[str, str], int]:
    days = [(datetime(2026, 2, 20) + timedelta(days=i)).date().isoformat() for i in range(20)]
    ids = {}
    for chan in ("c1", "c2"):
        for day in days:
            post, _ = await store.claim_daily(channel=ChannelRef("console", "ws1", chan), local_date=day,
                                              question_id="q1", created_at=1.0)
            ids[(chan, day)] = post.id
    return ids


async def assert_boards_match_the_answers(store, answers: list[AnswerIn]) -> None:
    """Every board (scope x period) read from the totals equals the one summed from the answers."""
    periods = {period_key(datetime.fromisoformat(a.local_day).date(), p) for a in answers for p in ("week", "month")}
    for chan in ("c1", "c2", None):
        for key in sorted(periods) + ["all"]:
            expected: dict[str, int] = {}
            for a in answers:
                day = datetime.fromisoformat(a.local_day).date()
                in_period = key == "all" or key in (period_key(day, "week"), period_key(day, "month"))
                if not in_period or (chan is not None and a.channel.channel != chan):
                    continue
                expected[a.member.user] = expected.get(a.member.user, 0) + a.points
            expected = {u: p for u, p in expected.items() if p > 0}
            board = await store.leaderboard(platform="console", workspace="ws1", channel=chan, since=None,
                                            limit=100, period=key)
            assert {r.user: r.points for r in board} == expected, (chan, key)
            for user, points in expected.items():
                mine = await store.rank_of(member=member(user), channel=chan, since=None, period=key)
                assert mine.points == points
                assert mine.rank == 1 + sum(1 for p in expected.values() if p > points)
            assert await store.rank_of(member=member("nobody"), channel=chan, since=None, period=key) is None


async def test_maintained_totals_equal_the_answers_with_ties_and_repeats(store):
    ids = await claim_posts(store)
    answers = random_answers(ids, 400)
    outcomes = await asyncio.gather(*[store.record_answer(a) for a in answers])
    assert all(o.recorded for o in outcomes)
    # Repeated clicks change nothing, on the answers or on the boards.
    again = await asyncio.gather(*[store.record_answer(a) for a in answers[:50]])
    assert not any(o.recorded for o in again)
    await assert_boards_match_the_answers(store, answers)
    # The streak days come back with each outcome, as member_days would list them.
    o = await store.record_answer(AnswerIn(
        post_id=ids[("c1", "2026-03-01")], member=member("u1"), channel=ChannelRef("console", "ws1", "c1"),
        choice="A", correct=True, points=10, practice=False, answered_at=1.0, local_day="2026-03-01"))
    if o.recorded:
        assert list(o.days) == await store.member_days(member("u1"))


async def test_migration_003_backfills_totals_from_earlier_answers(tmp_path):
    path = tmp_path / "old.db"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)")
    for m in load_migrations(MIGRATIONS)[:2]:
        for statement in m.statements:
            db.execute(statement)
        db.execute("INSERT INTO schema_migrations VALUES (?, ?, 0)", (m.version, m.name))
    db.close()
    old = SQLiteStore(path)
    await old.start()  # applies 003 on an empty answers table; fill answers as a version-2 store did
    ids = await claim_posts(old)
    answers = random_answers(ids, 300, seed=9)
    await old.aclose()
    db = sqlite3.connect(path, isolation_level=None)
    db.executemany(
        "INSERT INTO answers (post_id, platform, workspace, user_id, channel, choice, correct, points, practice, "
        "answered_at, local_day, token) VALUES (?, 'console', 'ws1', ?, ?, 'A', ?, ?, 0, ?, ?, 't')",
        [(a.post_id, a.member.user, a.channel.channel, int(a.correct), a.points, a.answered_at, a.local_day)
         for a in answers],
    )
    db.execute("DELETE FROM board_totals")
    db.execute("DELETE FROM board_levels")
    db.execute("DELETE FROM schema_migrations WHERE version = 3")
    db.execute("DROP TABLE board_totals")
    db.execute("DROP TABLE board_levels")
    db.close()
    store = SQLiteStore(path)
    await store.start()
    try:
        assert await store.applied_migrations() == [m.version for m in load_migrations(MIGRATIONS)]
        await assert_boards_match_the_answers(store, answers)
    finally:
        await store.aclose()


async def test_token_bucket_paces_and_pauses():
    bucket = TokenBucket(rate=50, burst=1)
    t0 = time.monotonic()
    for _ in range(11):
        await bucket.take()
    assert 0.18 <= time.monotonic() - t0 < 1.0  # 10 waits of 20 ms after the first token
    bucket.pause(0.2)
    t1 = time.monotonic()
    await bucket.take()
    assert time.monotonic() - t1 >= 0.18


async def test_paced_poster_stays_under_the_platform_limit():
    fake = RateLimitedSlack(rate=40)
    await fake.start()
    try:
        async with aiohttp.ClientSession() as session:
            raw = SlackPoster(web_client(token="xoxb-test", base_url=fake.base_url, session=session))
            paced = PacedPoster(raw, rate=40)
            channels = [ChannelRef("slack", "T1", f"C{i}") for i in range(60)]
            t0 = time.monotonic()
            await asyncio.gather(*[paced.post(c, Message(text="hi")) for c in channels])
            took = time.monotonic() - t0
        assert fake.refused == 0 and sorted(fake.posts) == sorted(c.channel for c in channels)
        assert took >= (60 - 40) / 40 * 0.9  # the burst of one second's worth, then 40/s
    finally:
        await fake.aclose()


async def test_fake_platform_refuses_past_its_rate_with_retry_after():
    fake = RateLimitedSlack(rate=5)
    await fake.start()
    try:
        async with aiohttp.ClientSession() as session:
            statuses = []
            for _ in range(8):
                async with session.post(fake.base_url + "chat.postMessage", json={"channel": "C1"}) as r:
                    statuses.append((r.status, r.headers.get("Retry-After")))
        assert statuses[:5] == [(200, None)] * 5
        assert statuses[5][0] == 429 and int(statuses[5][1]) >= 1
    finally:
        await fake.aclose()


def test_bench_command_prints_one_table_and_writes_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    code = main(["bench", "answers", "lookup", "review", "fanout", "--members", "300", "--in-flight", "50",
                 "--queries", "40", "--review-clicks", "20", "--fanout-subscriptions", "30", "--rate", "200", "--quiet",
                 "--json", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "scenario" in printed and "answers/s" in printed and "p99 ms per lookup" in printed
    rows = json.loads(out.read_text())
    by = {(r["scenario"], r["figure"]): r for r in rows}
    assert by[("fanout", "missed posts")]["value"] == 0 and by[("fanout", "doubled posts")]["value"] == 0
    assert by[("answers (in-process)", "answers/s")]["value"] > 0
    assert "sqlite3" in by[("answers (in-process)", "answers/s")]["baseline"]
    review = [r for r in rows if r["scenario"] == "review"]
    assert len(review) == 3 and all(r["value"] > 0 and "raw SELECT" in r["baseline"] for r in review)


def test_bench_charts_rows_beside_the_raw_baseline(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "charts", "--charts", "5", "--chart-members", "2", "--quiet", "--json", str(out)]) == 0
    rows = {r["figure"]: r for r in json.loads(out.read_text())}
    for kind in ("stats", "group"):
        row = rows[f"p99 ms to draw the {kind} chart"]
        assert row["value"] > 0 and row["target"] == "<= 200" and "bare matplotlib barh" in row["baseline"]
    assert rows["p99 ms signed Slack /dva stats -> chart shared in the DM"]["value"] > 0
    assert rows["ms for the first chart of a fresh process (imports matplotlib)"]["value"] > 0


def test_bench_refuses_an_unknown_scenario(capsys):
    assert main(["bench", "nope", "--quiet"]) == 2
    assert "unknown scenario 'nope'" in capsys.readouterr().err


def test_bench_clicks_drives_studybot_run_beside_bare_bolt(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("STUDYBOT_DATABASE_URL", raising=False)  # SQLite only: the suite stays quick
    out = tmp_path / "clicks.json"
    code = main(["bench", "clicks", "--clicks", "200", "--click-connections", "20", "--click-rate", "50",
                 "--click-seconds", "1", "--click-settle", "0", "--quiet", "--json", str(out)])
    assert code == 0
    rows = {r["figure"]: r for r in json.loads(out.read_text()) if r["scenario"] == "clicks (sqlite)"}
    burst = rows["durable answers/s, 200-click burst"]
    assert burst["value"] > 0 and "200/200 acked, all stored" in burst["note"]
    assert "bolt ack+insert" in burst["baseline"] and "ack only" in burst["baseline"]
    assert rows["CPU ms per click (burst)"]["value"] > 0 and rows["RSS MB after the burst"]["value"] > 0
    assert rows["click-to-reply p99 ms, 50/s for 1 s"]["value"] > 0


def test_bench_exam_row_measures_clicks_through_the_service(tmp_path, capsys):
    out = tmp_path / "exam.json"
    code = main(["bench", "exam", "--exam-members", "12", "--exam-clicks", "3", "--exam-interval", "0.05",
                 "--quiet", "--json", str(out)])
    assert code == 0
    rows = {r["figure"]: r for r in json.loads(out.read_text()) if r["scenario"] == "exam"}
    p99 = rows["p99 ms click to next question (in-process)"]
    assert p99["value"] > 0 and p99["target"] == "<= 20" and "sqlite3 one-row UPDATE" in p99["baseline"]
    assert "service + store" in p99["note"] and "12 members in full exams" in p99["note"]
    assert rows["clicks handled"]["value"] == 12 * 3 + 12  # the paced clicks and the burst
    slack = rows["p99 ms click to next question (Slack HTTP)"]
    assert slack["value"] > 0 and "Slack HTTP" in slack["note"]
    assert "p99 ms click to next question" in capsys.readouterr().out
