"""Export and import between backends (SQLite -> PostgreSQL -> export again is identical), the
checks that keep an import from mixing data, the online SQLite backup, and `studybot db`."""

from __future__ import annotations

import io
import json
import sqlite3
from datetime import UTC, datetime

import pytest

from bot.cli import main
from bot.core.clock import FakeClock
from bot.core.models import ChannelRef, MemberRef
from bot.core.ports import Store, StoreError, Subscription
from bot.core.service import StudyService
from storage.backup import backup_sqlite
from storage.export import ExportError, export_to, import_from, import_order
from storage.sqlite.store import SQLiteStore
from tests import pg_fixtures
from tests.pg_fixtures import Backend, count_rows

pg_database = pg_fixtures.pg_database
postgres_backend = pg_fixtures.postgres_backend

CH = ChannelRef("console", "ws1", "study")
OTHER = ChannelRef("console", "ws1", "général")  # non-ASCII survives the trip


async def populate(store: Store, bank) -> StudyService:
    """Ten days of use: schedules, daily posts answered right and wrong, reveals, quizzes, time
    zones, a failed delivery, kv: something in every table."""
    clock = FakeClock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    service = StudyService(bank=bank, store=store, clock=clock)
    await store.put_subscription(Subscription(channel=CH, time="09:00", timezone="Europe/Berlin",
                                              days="mon,tue,wed,thu,fri", reveal="17:00"))
    await store.put_subscription(Subscription(channel=OTHER, time="08:30", timezone="UTC", days="mon",
                                              reveal="12:00", active=False, digest=False, last_error="gone"))
    await store.set_member_timezone(MemberRef("console", "ws1", "ann"), "Asia/Kolkata")
    await store.set_kv("discord:commands", "abc123")
    await store.set_reminder(MemberRef("console", "ws1", "bob"), "07:45")
    for day in range(10):
        post, _ = await service.claim_daily(CH, "Europe/Berlin")
        await store.set_post_message(post.id, f"m{day}")
        question = bank.question(post.question_id)
        right = "".join(sorted(question.key))
        wrong = next(letter for letter in "ABCDE" if letter not in question.key)
        for n, user in enumerate(["ann", "bob", "cy", "dee"][: 2 + day % 3]):
            await service.answer(member=MemberRef("console", "ws1", user), post_id=post.id,
                                 raw_choice=right if (n + day) % 3 else wrong)
        if day % 4 == 0:
            quiz = await store.create_quiz(channel=CH, question_id=post.question_id, created_at=clock.now().timestamp())
            await service.answer(member=MemberRef("console", "ws1", "bob"), post_id=quiz.id, raw_choice=right)
        clock.advance(hours=8)
        await service.reveal(post.id)
        clock.advance(hours=16)
    stuck, _ = await store.claim_daily(channel=OTHER, local_date="2026-03-20", question_id="q-x", created_at=5.0)
    await store.mark_post_failed(stuck.id)
    # Mock exams: one scored (its cards moved), one stopped, one still running.
    for user, finish in (("ann", "submit"), ("cy", "stop"), ("bob", None)):
        who = MemberRef("console", "ws1", user)
        msg = await service.handle_command(member=who, channel=CH, text="/dva exam short")
        exam = await store.active_exam(who)
        for item in exam.items[:3]:
            await service.handle_action(member=who, channel=CH, action="exam", value=msg.answer_to[1],
                                        picked="".join(sorted(bank.question(item.question_id).key)))
            msg = await service.handle_command(member=who, channel=CH, text="/dva exam")
        if finish == "submit":
            await service.handle_command(member=who, channel=CH, text="/dva exam submit now")
        elif finish == "stop":
            await service.handle_command(member=who, channel=CH, text="/dva exam stop")
    return service


async def export_text(store: Store) -> str:
    out = io.StringIO()
    await export_to(store, out)
    return out.getvalue()


def rows_of(text: str) -> list[str]:
    return sorted(text.splitlines()[1:])


async def started(store: Store) -> Store:
    await store.start()
    return store


def test_import_order_puts_parents_first():
    assert import_order({"answers": ["posts"], "posts": [], "kv": [], "board_totals": []}) == [
        "posts", "answers", "board_totals", "kv"]
    order = import_order({"c": ["b"], "b": ["a"], "a": []})
    assert order == ["a", "b", "c"]
    assert import_order({"a": ["b"], "b": ["a"]}) in (["b", "a"], ["a", "b"])  # a cycle does not hang


async def test_sqlite_to_postgres_and_back_is_identical(bank, tmp_path, postgres_backend: Backend):
    source = await started(SQLiteStore(tmp_path / "source.db"))
    service = await populate(source, bank)
    first = await export_text(source)
    header = json.loads(first.splitlines()[0])
    assert header["schema"] == await source.applied_migrations()
    assert header["tables"].index("posts") < header["tables"].index("answers")
    tables = {json.loads(line)["table"] for line in first.splitlines()[1:]}
    assert {"members", "subscriptions", "posts", "answers", "kv", "board_totals", "board_levels", "review_cards",
            "review_reminders", "exams", "exam_answers"} <= tables

    target = await started(postgres_backend.make())
    summary = await import_from(target, io.StringIO(first))
    assert summary.rows["answers"] == await count_rows(source, "answers") > 20
    second = await export_text(target)
    assert second.splitlines()[0] == first.splitlines()[0]
    assert rows_of(second) == rows_of(first)

    # The copy behaves like the original: history, streaks, points, boards, schedules.
    moved = StudyService(bank=bank, store=target, clock=service.clock)
    assert await target.daily_history(CH) == await source.daily_history(CH)
    for user in ["ann", "bob", "cy", "dee"]:
        m = MemberRef("console", "ws1", user)
        assert (await moved.streak_message(member=m, channel=CH)).text == (await service.streak_message(member=m, channel=CH)).text
        assert await target.member_points(m) == await source.member_points(m)
        for period in ("week", "month", "all"):
            assert (await moved.leaderboard_message(member=m, channel=CH, period=period, scope="here")).text == (
                await service.leaderboard_message(member=m, channel=CH, period=period, scope="here")).text
    assert await target.list_subscriptions(active_only=False) == await source.list_subscriptions(active_only=False)
    assert await target.get_kv("discord:commands") == "abc123"
    # Review cards, practice posts and reminders come along: the same cards, due times and stats.
    for user in ["ann", "bob", "cy", "dee"]:
        m = MemberRef("console", "ws1", user)
        assert await target.member_cards(m) == await source.member_cards(m) != {}
        assert (await moved.practice.stats_for(m, title="s")).lines == (await service.practice.stats_for(m, title="s")).lines
    assert await target.get_reminder(MemberRef("console", "ws1", "bob")) == await source.get_reminder(
        MemberRef("console", "ws1", "bob"))
    # New rows get fresh ids after an import that brought its own.
    last = max(json.loads(line)["row"]["id"] for line in first.splitlines()[1:] if '"table": "posts"' in line)
    assert (await target.create_quiz(channel=CH, question_id="q", created_at=1.0)).id > last
    # Exams too: the running one continues where it was, history and cards are the same, and a new
    # exam gets a fresh id.
    for user in ("ann", "bob", "cy"):
        m = MemberRef("console", "ws1", user)
        assert await target.active_exam(m) == await source.active_exam(m)
        assert await target.member_exams(m, limit=5) == await source.member_exams(m, limit=5)
        assert await target.member_cards(m) == await source.member_cards(m)
    assert (await moved.handle_command(member=MemberRef("console", "ws1", "bob"), channel=CH, text="/dva exam")
            ).title.startswith("Question 4 of 8")
    last_exam = max(json.loads(line)["row"]["id"] for line in first.splitlines()[1:] if '"table": "exams"' in line)
    fresh, created = await target.create_exam(member=MemberRef("console", "ws1", "new"), mode="short",
                                              question_ids=["q"], started_at=1.0, deadline=2.0)
    assert created and fresh.id > last_exam

    # And back: PostgreSQL -> a new SQLite file, identical again.
    back = await started(SQLiteStore(tmp_path / "back.db"))
    await import_from(back, io.StringIO(second))
    assert rows_of(await export_text(back)) == rows_of(first)
    for s in (source, target, back):
        await s.aclose()


async def test_import_refuses_a_database_with_data(tmp_path, postgres_backend: Backend):
    source = await started(SQLiteStore(tmp_path / "s.db"))
    await source.set_kv("k", "v")
    text = await export_text(source)
    target = await started(postgres_backend.make())
    await target.set_kv("other", "x")
    with pytest.raises(ExportError, match="kv is not empty"):
        await import_from(target, io.StringIO(text))
    assert await count_rows(target, "kv") == 1
    for s in (source, target):
        await s.aclose()


async def test_import_refuses_other_files_and_other_schemas(tmp_path):
    target = await started(SQLiteStore(tmp_path / "t.db"))
    with pytest.raises(ExportError, match="not a studybot export"):
        await import_from(target, io.StringIO('{"hello": 1}\n'))
    with pytest.raises(ExportError, match="schema migrations"):
        await import_from(target, io.StringIO(json.dumps(
            {"format": "studybot-export", "version": 1, "schema": [1], "tables": []}) + "\n"))
    schema = await target.applied_migrations()
    header = json.dumps({"format": "studybot-export", "version": 1, "schema": schema, "tables": ["kv"]})
    with pytest.raises(ExportError, match="line 2"):
        await import_from(target, io.StringIO(header + "\nnot json\n"))
    with pytest.raises(StoreError, match="no column"):
        await import_from(target, io.StringIO(header + '\n{"table": "kv", "row": {"key": "a", "evil\\"": 1}}\n'))
    await target.aclose()


async def test_backup_of_a_live_sqlite_database(bank, tmp_path):
    live = await started(SQLiteStore(tmp_path / "live.db"))
    await populate(live, bank)
    # The store is open and its latest writes sit in the WAL, not yet in the main file.
    assert (tmp_path / "live.db-wal").stat().st_size > 0
    pages = backup_sqlite(tmp_path / "live.db", tmp_path / "copy" / "backup.db")
    assert pages > 0 and not (tmp_path / "copy" / "backup.db.partial").exists()
    with sqlite3.connect(tmp_path / "copy" / "backup.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    copy = await started(SQLiteStore(tmp_path / "copy" / "backup.db"))
    assert rows_of(await export_text(copy)) == rows_of(await export_text(live))
    await copy.aclose()
    await live.aclose()
    with pytest.raises(StoreError, match="no SQLite database"):
        backup_sqlite(tmp_path / "missing.db", tmp_path / "x.db")


def test_cli_db_migrate_export_import_backup(tmp_path, monkeypatch, capsys, pg_database):
    monkeypatch.chdir(tmp_path)  # no stray .env
    source = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("STUDYBOT_DATABASE_URL", source)
    assert main(["db", "migrate"]) == 0
    assert "migrations applied: 001, 002" in capsys.readouterr().out
    with sqlite3.connect(tmp_path / "cli.db") as db:
        db.execute("INSERT INTO kv (key, value) VALUES ('k', 'v')")
    assert main(["db", "export", str(tmp_path / "dump.jsonl")]) == 0
    assert "kv 1" in capsys.readouterr().err
    assert main(["db", "backup", str(tmp_path / "copy.db")]) == 0
    with sqlite3.connect(tmp_path / "copy.db") as db:
        assert db.execute("SELECT value FROM kv").fetchall() == [("v",)]

    monkeypatch.setenv("STUDYBOT_DATABASE_URL", pg_fixtures.fresh_schema(pg_database))
    assert main(["db", "import", str(tmp_path / "dump.jsonl")]) == 0
    assert "kv 1" in capsys.readouterr().err
    assert main(["db", "import", str(tmp_path / "dump.jsonl")]) == 1  # not into a database with data
    assert "is not empty" in capsys.readouterr().err
    assert main(["db", "export", str(tmp_path / "again.jsonl")]) == 0
    assert sorted((tmp_path / "again.jsonl").read_text().splitlines()) == sorted(
        (tmp_path / "dump.jsonl").read_text().splitlines())
    assert main(["db", "backup", str(tmp_path / "pg.db")]) == 2
    assert "pg_dump" in capsys.readouterr().err
    assert main(["db", "export"]) == 2
