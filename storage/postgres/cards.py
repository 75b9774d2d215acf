"""The PostgreSQL store's part for spaced review and readiness (as storage/sqlite/cards.py):
review cards moved in the answer batch's transaction, reminders, recent attempts."""

from __future__ import annotations

import asyncpg

from bot.core.models import ChannelRef, MemberRef
from bot.core.ports import AnswerIn, Attempt, Reminder
from bot.core.review import CardState
from storage.sqlite.cards import CARD_COLS, Moved, answer_reviews, card_row, moved_cards

_KEYS = "unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS k(platform, workspace, user_id, question_id)"
# LATERAL ... LIMIT 1: an index lookup per key whatever the statistics say (see TOKENS_SQL in store.py).
CARDS_SQL = (
    f"SELECT k.platform, k.workspace, k.user_id, c.* FROM {_KEYS} CROSS JOIN LATERAL (SELECT {CARD_COLS} "
    "FROM review_cards WHERE platform = k.platform AND workspace = k.workspace AND user_id = k.user_id "
    "AND question_id = k.question_id LIMIT 1) c"
)
_UPSERT = (
    f"INSERT INTO review_cards (platform, workspace, user_id, {CARD_COLS}) SELECT * FROM unnest("
    "$1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::int[], $7::float8[], $8::float8[], "
    "$9::float8[], $10::float8[], $11::int[], $12::int[], $13::int[]) "
    "ON CONFLICT (platform, workspace, user_id, question_id) DO UPDATE SET state=excluded.state, step=excluded.step, "
    "stability=excluded.stability, difficulty=excluded.difficulty, due=excluded.due, "
    "last_review=excluded.last_review, reps=excluded.reps, lapses=excluded.lapses, last_correct=excluded.last_correct"
)


async def move_cards(conn: asyncpg.Connection, reviews: dict[MemberRef, list[tuple[str, bool, float]]]) -> Moved:
    """Inside the caller's transaction: apply each member's (question, correct, at) reviews in
    order, one read and one upsert for the whole batch; returns the cards as they are now."""
    keys = sorted({(m.platform, m.workspace, m.user, q) for m, items in reviews.items() for q, _, _ in items})
    if not keys:  # no member with a review (also {member: []}): nothing to read or move
        return {}
    rows = await conn.fetch(
        CARDS_SQL,
        *[list(col) for col in zip(*keys, strict=True)],
    )
    moved, out = moved_cards(reviews, rows)
    await conn.execute(_UPSERT, *[list(col) for col in zip(*out, strict=True)])
    return moved


async def move_answer_cards(conn: asyncpg.Connection, answers: list[AnswerIn]) -> Moved:
    return await move_cards(conn, answer_reviews(answers))


class PostgresCards:
    """Mixed into PostgresStore: uses its `_fetch`, `_fetchrow`, `_execute` and `_tx`."""

    async def member_cards(self, member: MemberRef) -> dict[str, CardState]:
        rows = await self._fetch(
            f"SELECT {CARD_COLS} FROM review_cards WHERE platform=$1 AND workspace=$2 AND user_id=$3",
            member.platform, member.workspace, member.user,
        )
        return {r[0]: card_row(r) for r in rows}

    async def due_cards(self, member: MemberRef, *, now: float, limit: int) -> list[CardState]:
        rows = await self._fetch(
            f"SELECT {CARD_COLS} FROM review_cards WHERE platform=$1 AND workspace=$2 AND user_id=$3 AND due <= $4 "
            'ORDER BY due, question_id COLLATE "C" LIMIT $5',
            member.platform, member.workspace, member.user, now, limit,
        )
        return [card_row(r) for r in rows]

    async def card_summary(self, member: MemberRef, *, now: float) -> tuple[int, int, float | None]:
        row = await self._fetchrow(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE due <= $1), MIN(due) FILTER (WHERE due > $1) FROM review_cards "
            "WHERE platform=$2 AND workspace=$3 AND user_id=$4",
            now, member.platform, member.workspace, member.user,
        )
        return row[0], row[1], row[2]

    async def apply_reviews(self, member: MemberRef, reviews: list[tuple[str, bool, float]]) -> None:
        async with self._tx() as conn:
            await move_cards(conn, {member: reviews})

    async def member_attempts(self, member: MemberRef, *, since: float) -> list[Attempt]:
        rows = await self._fetch(
            "SELECT p.question_id, a.correct, a.answered_at FROM answers a JOIN posts p ON p.id = a.post_id "
            "WHERE a.platform=$1 AND a.workspace=$2 AND a.user_id=$3 AND a.answered_at >= $4",
            member.platform, member.workspace, member.user, since,
        )
        rows = list(rows) + list(await self._extra_attempts(member, since))
        return [Attempt(question_id=r[0], correct=bool(r[1]), at=r[2]) for r in rows]

    async def _extra_attempts(self, member: MemberRef, since: float) -> list:
        """Attempts recorded outside the answers table (submitted exams); none by default."""
        return []

    async def channel_attempts(self, channel: ChannelRef, *, since: float) -> list[Attempt]:
        rows = await self._fetch(
            "SELECT p.question_id, a.correct, a.answered_at, a.user_id FROM answers a JOIN posts p ON p.id = a.post_id "
            "WHERE a.platform=$1 AND a.workspace=$2 AND a.channel=$3 AND a.answered_at >= $4",
            channel.platform, channel.workspace, channel.channel, since,
        )
        return [Attempt(question_id=r[0], correct=bool(r[1]), at=r[2], user=r[3]) for r in rows]

    async def unrevealed_questions(self, platform: str, workspace: str) -> set[str]:
        rows = await self._fetch(
            "SELECT question_id FROM posts WHERE platform=$1 AND workspace=$2 AND kind='daily' AND revealed_at IS NULL",
            platform, workspace,
        )
        return {r[0] for r in rows}

    async def set_reminder(self, member: MemberRef, at_time: str | None) -> None:
        if at_time is None:
            await self._execute(
                "UPDATE review_reminders SET active=0 WHERE platform=$1 AND workspace=$2 AND user_id=$3",
                member.platform, member.workspace, member.user,
            )
            return
        await self._execute(
            "INSERT INTO review_reminders (platform, workspace, user_id, at_time, active) VALUES ($1, $2, $3, $4, 1) "
            "ON CONFLICT (platform, workspace, user_id) DO UPDATE SET at_time=excluded.at_time, active=1",
            member.platform, member.workspace, member.user, at_time,
        )

    async def get_reminder(self, member: MemberRef) -> Reminder | None:
        row = await self._fetchrow(
            "SELECT r.at_time, r.last_sent, m.timezone FROM review_reminders r LEFT JOIN members m ON "
            "m.platform=r.platform AND m.workspace=r.workspace AND m.user_id=r.user_id "
            "WHERE r.platform=$1 AND r.workspace=$2 AND r.user_id=$3 AND r.active=1",
            member.platform, member.workspace, member.user,
        )
        return Reminder(member, row[0], row[1], row[2]) if row else None

    async def active_reminders(self) -> list[Reminder]:
        rows = await self._fetch(
            "SELECT r.platform, r.workspace, r.user_id, r.at_time, r.last_sent, m.timezone FROM review_reminders r "
            "LEFT JOIN members m ON m.platform=r.platform AND m.workspace=r.workspace AND m.user_id=r.user_id "
            'WHERE r.active=1 ORDER BY r.platform COLLATE "C", r.workspace COLLATE "C", r.user_id COLLATE "C"'
        )
        return [Reminder(MemberRef(r[0], r[1], r[2]), r[3], r[4], r[5]) for r in rows]

    async def claim_reminder(self, member: MemberRef, local_day: str) -> bool:
        n = await self._execute(
            "UPDATE review_reminders SET last_sent=$1 WHERE platform=$2 AND workspace=$3 AND user_id=$4 AND active=1 "
            "AND (last_sent IS NULL OR last_sent <> $1)",
            local_day, member.platform, member.workspace, member.user,
        )
        return n == 1
