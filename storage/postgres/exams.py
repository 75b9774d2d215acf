"""The PostgreSQL store's part for mock exams (as storage/sqlite/exams.py).

Every change is conditional on the exam row (state, deadline, position) in the statement that
takes its row lock, so two processes clicking, sweeping or submitting at once serialise on the
exam row and only one of them acts. Closing scores the exam and moves the member's review cards
in one transaction.
"""

from __future__ import annotations

from bot.core.models import MemberRef
from bot.core.ports import Exam, StoreError
from storage.postgres.cards import move_cards
from storage.sqlite.exams import EXAM_COLS, ITEM_COLS, exam_row, score


class PostgresExams:
    """Mixed into PostgresStore: uses its `_fetch`, `_fetchrow`, `_execute` and `_tx`."""

    async def create_exam(
        self, *, member: MemberRef, mode: str, question_ids: list[str], started_at: float, deadline: float
    ) -> tuple[Exam, bool]:
        async with self._tx() as conn:
            # A concurrent start waits on the partial unique index and then inserts nothing.
            exam_id = await conn.fetchval(
                "INSERT INTO exams (platform, workspace, user_id, mode, started_at, deadline, total) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING id",
                member.platform, member.workspace, member.user, mode, started_at, deadline, len(question_ids),
            )
            if exam_id is not None:
                await conn.execute(
                    "INSERT INTO exam_answers (exam_id, idx, question_id) "
                    "SELECT $1, i - 1, q FROM unnest($2::text[]) WITH ORDINALITY AS t(q, i)",
                    exam_id, question_ids,
                )
        exam = await self.get_exam(exam_id) if exam_id is not None else await self.active_exam(member)
        if exam is None:  # pragma: no cover - the conflict means an active exam exists
            raise StoreError("exam neither created nor found")
        return exam, exam_id is not None

    async def get_exam(self, exam_id: int) -> Exam | None:
        async with self._conn() as conn:
            row = await conn.fetchrow(f"SELECT {EXAM_COLS} FROM exams WHERE id=$1", exam_id)
            if row is None:
                return None
            items = await conn.fetch(f"SELECT {ITEM_COLS} FROM exam_answers WHERE exam_id=$1 ORDER BY idx", exam_id)
        return exam_row(row, items)

    async def active_exam(self, member: MemberRef) -> Exam | None:
        async with self._conn() as conn:
            row = await conn.fetchrow(
                f"SELECT {EXAM_COLS} FROM exams WHERE platform=$1 AND workspace=$2 AND user_id=$3 AND state='active'",
                member.platform, member.workspace, member.user,
            )
            if row is None:
                return None
            items = await conn.fetch(f"SELECT {ITEM_COLS} FROM exam_answers WHERE exam_id=$1 ORDER BY idx", row[0])
        return exam_row(row, items)

    async def exam_step(
        self, exam_id: int, *, at: int, now: float, to: int, choice: str | None = None,
        flagged: bool | None = None,
    ) -> bool:
        async with self._tx() as conn:
            moved = await conn.fetchval(
                "UPDATE exams SET position=$1 WHERE id=$2 AND state='active' AND deadline > $3 AND position=$4 "
                "RETURNING id",
                to, exam_id, now, at,
            )
            if moved is None:
                return False
            if choice is not None or flagged is not None:
                await conn.execute(
                    "UPDATE exam_answers SET choice=COALESCE($1, choice), flagged=COALESCE($2, flagged) "
                    "WHERE exam_id=$3 AND idx=$4",
                    choice, None if flagged is None else int(flagged), exam_id, at,
                )
            return True

    async def close_exam(self, exam_id: int, *, now: float, keys: dict[str, str]) -> Exam | None:
        async with self._tx() as conn:
            # The row lock makes a concurrent step or close wait, then find the exam closed.
            row = await conn.fetchrow(f"SELECT {EXAM_COLS} FROM exams WHERE id=$1 AND state='active' FOR UPDATE", exam_id)
            if row is None:
                return None
            items = await conn.fetch("SELECT idx, question_id, choice FROM exam_answers WHERE exam_id=$1 ORDER BY idx", exam_id)
            right = score([(i[1], i[2]) for i in items], keys)
            deadline = row[6]
            await conn.execute(
                "UPDATE exam_answers a SET correct=t.ok FROM unnest($2::int[], $3::int[]) AS t(idx, ok) "
                "WHERE a.exam_id=$1 AND a.idx=t.idx",
                exam_id, [i[0] for i in items], [int(ok) for ok in right],
            )
            await conn.execute(
                "UPDATE exams SET state=$1, closed_at=$2, right_count=$3 WHERE id=$4",
                "submitted" if now < deadline else "expired", now, sum(right), exam_id,
            )
            at = min(now, deadline)
            member = MemberRef(row[1], row[2], row[3])
            await move_cards(conn, {member: [(i[1], ok, at) for i, ok in zip(items, right, strict=True)]})
        return await self.get_exam(exam_id)

    async def abandon_exam(self, exam_id: int, *, now: float) -> bool:
        return await self._execute(
            "UPDATE exams SET state='abandoned', closed_at=$1 WHERE id=$2 AND state='active'", now, exam_id
        ) == 1

    async def expired_exams(self, *, now: float, limit: int = 500) -> list[int]:
        rows = await self._fetch(
            "SELECT id FROM exams WHERE state='active' AND deadline <= $1 ORDER BY deadline, id LIMIT $2", now, limit
        )
        return [r[0] for r in rows]

    async def member_exams(self, member: MemberRef, *, limit: int) -> list[Exam]:
        async with self._conn() as conn:
            rows = await conn.fetch(
                f"SELECT {EXAM_COLS} FROM exams WHERE platform=$1 AND workspace=$2 AND user_id=$3 AND state <> 'active' "
                "ORDER BY started_at DESC, id DESC LIMIT $4",
                member.platform, member.workspace, member.user, limit,
            )
            if not rows:
                return []
            items = await conn.fetch(
                f"SELECT {ITEM_COLS} FROM exam_answers WHERE exam_id = ANY($1::bigint[]) ORDER BY exam_id, idx",
                [r[0] for r in rows],
            )
        by_exam: dict[int, list] = {r[0]: [] for r in rows}
        for item in items:
            by_exam[item[0]].append(item)
        return [exam_row(r, by_exam[r[0]]) for r in rows]

    async def _extra_attempts(self, member: MemberRef, since: float) -> list:
        """Every question of the member's scored exams, at the exam's end (unanswered as wrong)."""
        return await self._fetch(
            "SELECT a.question_id, a.correct, LEAST(e.closed_at, e.deadline) FROM exams e "
            "JOIN exam_answers a ON a.exam_id = e.id WHERE e.platform=$1 AND e.workspace=$2 AND e.user_id=$3 "
            "AND e.state IN ('submitted', 'expired') AND LEAST(e.closed_at, e.deadline) >= $4",
            member.platform, member.workspace, member.user, since,
        )
