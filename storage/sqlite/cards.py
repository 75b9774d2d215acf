"""The SQLite store's part for spaced review and readiness: review cards (moved in the answer
batch's transaction), reminders, and a member's or a channel's recent attempts."""

from __future__ import annotations

import sqlite3
from collections import defaultdict

from bot.core.models import ChannelRef, MemberRef
from bot.core.ports import AnswerIn, Attempt, Reminder
from bot.core.review import CardState, schedule_many
from storage.sqlite.keys import value_rows

CARD_COLS = "question_id, state, step, stability, difficulty, due, last_review, reps, lapses, last_correct"
_UPSERT = (
    f"INSERT INTO review_cards (platform, workspace, user_id, {CARD_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (platform, workspace, user_id, question_id) DO UPDATE SET state=excluded.state, step=excluded.step, "
    "stability=excluded.stability, difficulty=excluded.difficulty, due=excluded.due, "
    "last_review=excluded.last_review, reps=excluded.reps, lapses=excluded.lapses, last_correct=excluded.last_correct"
)
# First answers to posts (daily, quiz, review) and submitted exam answers, as (question, correct, at).
_MEMBER_ATTEMPTS = (
    "SELECT p.question_id, a.correct, a.answered_at FROM answers a JOIN posts p ON p.id = a.post_id "
    "WHERE a.platform=? AND a.workspace=? AND a.user_id=? AND a.answered_at >= ?"
)


def card_row(row) -> CardState:
    return CardState(
        question_id=row[0], state=row[1], step=row[2], stability=row[3], difficulty=row[4], due=row[5],
        last_review=row[6], reps=row[7], lapses=row[8], last_correct=bool(row[9]),
    )


def card_params(member: MemberRef, c: CardState) -> tuple:
    return (member.platform, member.workspace, member.user, c.question_id, c.state, c.step, c.stability,
            c.difficulty, c.due, c.last_review, c.reps, c.lapses, int(c.last_correct))


Moved = dict[tuple[MemberRef, str], CardState]
_CARD_READ = (
    "WITH k (pl, ws, u, q) AS (VALUES {values}) SELECT c.platform, c.workspace, c.user_id, "
    + ", ".join(f"c.{col.strip()}" for col in CARD_COLS.split(","))
    # A join from the VALUES (SQLite plans "IN (VALUES ...)" as a scan).
    + " FROM k CROSS JOIN review_cards c ON c.platform=k.pl AND c.workspace=k.ws AND c.user_id=k.u AND c.question_id=k.q"
)


def _card_reads(reviews: dict[MemberRef, list[tuple[str, bool, float]]]) -> list[tuple[str, tuple]]:
    """The statements that read the cards the reviews move, 200 keys each: rows of (platform,
    workspace, user, card columns...)."""
    keys = sorted({(m.platform, m.workspace, m.user, q) for m, items in reviews.items() for q, _, _ in items})
    return [(_CARD_READ.format(values=values), params) for values, params in value_rows(keys, 200)]


def moved_cards(reviews: dict[MemberRef, list[tuple[str, bool, float]]], rows: list) -> tuple[Moved, list[tuple]]:
    """The cards after the reviews, from the stored ones as rows of (platform, workspace, user,
    card columns...), and the upsert's parameters for them. Both stores."""
    found: defaultdict[MemberRef, dict[str, CardState]] = defaultdict(dict)
    for r in rows:
        card = card_row(tuple(r)[3:])
        found[MemberRef(r[0], r[1], r[2])][card.question_id] = card
    moved: Moved = {}
    for member, items in reviews.items():
        moved.update({(member, q): c for q, c in schedule_many(found.get(member, {}), items).items()})
    return moved, [card_params(m, c) for (m, _), c in moved.items()]



def move_cards_sync(db: sqlite3.Connection, reviews: dict[MemberRef, list[tuple[str, bool, float]]]) -> Moved:
    """Inside the caller's transaction (the answer batch's writer thread): apply each member's
    (question, correct, at) reviews in order; returns the cards as they are now. One read for the
    whole batch's cards and one write: a burst's batch of hundreds of members costs two statements
    (each statement hands the GIL to the event loop and waits to get it back)."""
    rows = [r for sql, params in _card_reads(reviews) for r in db.execute(sql, params)]
    moved, params = moved_cards(reviews, rows)
    db.executemany(_UPSERT, params)
    return moved


async def move_cards_async(db, member: MemberRef, reviews: list[tuple[str, bool, float]]) -> None:
    """The same on the store's aiosqlite writer connection, inside its transaction (`_tx()`)."""
    rows = []
    for sql, params in _card_reads({member: reviews}):
        rows += await (await db.execute(sql, params)).fetchall()
    await db.executemany(_UPSERT, moved_cards({member: reviews}, rows)[1])


def answer_reviews(answers: list[AnswerIn]) -> dict[MemberRef, list[tuple[str, bool, float]]]:
    out: dict[MemberRef, list[tuple[str, bool, float]]] = defaultdict(list)
    for a in answers:
        if a.question_id:
            out[a.member].append((a.question_id, a.correct, a.answered_at))
    return out


class SQLiteCards:
    """Mixed into SQLiteStore: uses its `_fetchall`, `_fetchone`, `_write` and `_tx`."""

    async def member_cards(self, member: MemberRef) -> dict[str, CardState]:
        rows = await self._fetchall(
            f"SELECT {CARD_COLS} FROM review_cards WHERE platform=? AND workspace=? AND user_id=?",
            (member.platform, member.workspace, member.user),
        )
        return {r[0]: card_row(r) for r in rows}

    async def due_cards(self, member: MemberRef, *, now: float, limit: int) -> list[CardState]:
        rows = await self._fetchall(
            f"SELECT {CARD_COLS} FROM review_cards WHERE platform=? AND workspace=? AND user_id=? AND due <= ? "
            "ORDER BY due, question_id LIMIT ?",
            (member.platform, member.workspace, member.user, now, limit),
        )
        return [card_row(r) for r in rows]

    async def card_summary(self, member: MemberRef, *, now: float) -> tuple[int, int, float | None]:
        """(cards, due now, the next due time after now or None)."""
        row = await self._fetchone(
            "SELECT COUNT(*), COALESCE(SUM(due <= ?), 0), MIN(CASE WHEN due > ? THEN due END) FROM review_cards "
            "WHERE platform=? AND workspace=? AND user_id=?",
            (now, now, member.platform, member.workspace, member.user),
        )
        return row[0], row[1], row[2]

    async def apply_reviews(self, member: MemberRef, reviews: list[tuple[str, bool, float]]) -> None:
        """Move the member's cards by reviews outside an answer batch (in one transaction)."""
        async with self._tx() as db:
            await move_cards_async(db, member, reviews)

    async def member_attempts(self, member: MemberRef, *, since: float) -> list[Attempt]:
        rows = await self._fetchall(_MEMBER_ATTEMPTS, (member.platform, member.workspace, member.user, since))
        rows += await self._extra_attempts(member, since)
        return [Attempt(question_id=r[0], correct=bool(r[1]), at=r[2]) for r in rows]

    async def _extra_attempts(self, member: MemberRef, since: float) -> list:
        """Attempts recorded outside the answers table (submitted exams); none by default."""
        return []

    async def channel_attempts(self, channel: ChannelRef, *, since: float) -> list[Attempt]:
        rows = await self._fetchall(
            "SELECT p.question_id, a.correct, a.answered_at, a.user_id FROM answers a JOIN posts p ON p.id = a.post_id "
            "WHERE a.platform=? AND a.workspace=? AND a.channel=? AND a.answered_at >= ?",
            (channel.platform, channel.workspace, channel.channel, since),
        )
        return [Attempt(question_id=r[0], correct=bool(r[1]), at=r[2], user=r[3]) for r in rows]

    async def unrevealed_questions(self, platform: str, workspace: str) -> set[str]:
        rows = await self._fetchall(
            "SELECT question_id FROM posts WHERE platform=? AND workspace=? AND kind='daily' AND revealed_at IS NULL",
            (platform, workspace),
        )
        return {r[0] for r in rows}

    async def set_reminder(self, member: MemberRef, at_time: str | None) -> None:
        if at_time is None:
            await self._write(
                "UPDATE review_reminders SET active=0 WHERE platform=? AND workspace=? AND user_id=?",
                (member.platform, member.workspace, member.user),
            )
            return
        await self._write(
            "INSERT INTO review_reminders (platform, workspace, user_id, at_time, active) VALUES (?, ?, ?, ?, 1) "
            "ON CONFLICT (platform, workspace, user_id) DO UPDATE SET at_time=excluded.at_time, active=1",
            (member.platform, member.workspace, member.user, at_time),
        )

    async def get_reminder(self, member: MemberRef) -> Reminder | None:
        row = await self._fetchone(
            "SELECT r.at_time, r.last_sent, m.timezone FROM review_reminders r LEFT JOIN members m ON "
            "m.platform=r.platform AND m.workspace=r.workspace AND m.user_id=r.user_id "
            "WHERE r.platform=? AND r.workspace=? AND r.user_id=? AND r.active=1",
            (member.platform, member.workspace, member.user),
        )
        return Reminder(member, row[0], row[1], row[2]) if row else None

    async def active_reminders(self) -> list[Reminder]:
        rows = await self._fetchall(
            "SELECT r.platform, r.workspace, r.user_id, r.at_time, r.last_sent, m.timezone FROM review_reminders r "
            "LEFT JOIN members m ON m.platform=r.platform AND m.workspace=r.workspace AND m.user_id=r.user_id "
            "WHERE r.active=1 ORDER BY 1, 2, 3"
        )
        return [Reminder(MemberRef(r[0], r[1], r[2]), r[3], r[4], r[5]) for r in rows]

    async def claim_reminder(self, member: MemberRef, local_day: str) -> bool:
        """True once per member and local day: the caller sends that day's reminder."""
        n = await self._write(
            "UPDATE review_reminders SET last_sent=? WHERE platform=? AND workspace=? AND user_id=? AND active=1 "
            "AND (last_sent IS NULL OR last_sent <> ?)",
            (local_day, member.platform, member.workspace, member.user, local_day),
        )
        return n == 1
