"""The SQLite store's part for mock exams (bot/core/exam.py): an exam row and one row per question.

Every change is one short transaction on the writer connection (BEGIN IMMEDIATE), conditional on
the exam being active, so doubled clicks, a click after the deadline and the deadline sweep
racing the member's own submit each leave one consistent outcome. Closing scores the exam and
moves the member's review cards in the same transaction.
"""

from __future__ import annotations

import sqlite3

from bot.core.models import MemberRef
from bot.core.ports import Exam, ExamItem, StoreError
from storage.sqlite.cards import move_cards_async

EXAM_COLS = "id, platform, workspace, user_id, mode, started_at, deadline, state, position, closed_at, right_count"
ITEM_COLS = "exam_id, question_id, choice, flagged, correct"


def exam_row(row, items: list) -> Exam:
    """An Exam from an `EXAM_COLS` row and its `ITEM_COLS` rows in index order."""
    return Exam(
        id=row[0], member=MemberRef(row[1], row[2], row[3]), mode=row[4], started_at=row[5], deadline=row[6],
        state=row[7], position=row[8], closed_at=row[9], right=row[10],
        items=tuple(
            ExamItem(question_id=i[1], choice=i[2], flagged=bool(i[3]), correct=None if i[4] is None else bool(i[4]))
            for i in items
        ),
    )


def score(items: list, keys: dict[str, str]) -> list[bool]:
    """Right or wrong per (question_id, choice) item: the choice equals the key; unanswered is wrong."""
    return [choice is not None and choice == keys.get(qid) for qid, choice in items]


class SQLiteExams:
    """Mixed into SQLiteStore: uses its `_fetchall`, `_fetchone` and `_tx`."""

    async def create_exam(
        self, *, member: MemberRef, mode: str, question_ids: list[str], started_at: float, deadline: float
    ) -> tuple[Exam, bool]:
        try:
            async with self._tx() as db:
                # The partial unique index lets one active exam per member in; a second start
                # (another click, another process) inserts nothing.
                cur = await db.execute(
                    "INSERT INTO exams (platform, workspace, user_id, mode, started_at, deadline, total) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
                    (member.platform, member.workspace, member.user, mode, started_at, deadline, len(question_ids)),
                )
                row = await cur.fetchone()
                await cur.close()
                if row is not None:
                    await db.executemany(
                        "INSERT INTO exam_answers (exam_id, idx, question_id) VALUES (?, ?, ?)",
                        [(row[0], i, qid) for i, qid in enumerate(question_ids)],
                    )
        except sqlite3.Error as exc:
            raise StoreError(f"exam not started: {exc}") from exc
        exam = await self.get_exam(row[0]) if row is not None else await self.active_exam(member)
        if exam is None:  # pragma: no cover - the conflict means an active exam exists
            raise StoreError("exam neither created nor found")
        return exam, row is not None

    async def get_exam(self, exam_id: int) -> Exam | None:
        row = await self._fetchone(f"SELECT {EXAM_COLS} FROM exams WHERE id=?", (exam_id,))
        if row is None:
            return None
        items = await self._fetchall(f"SELECT {ITEM_COLS} FROM exam_answers WHERE exam_id=? ORDER BY idx", (exam_id,))
        return exam_row(row, items)

    async def active_exam(self, member: MemberRef) -> Exam | None:
        row = await self._fetchone(
            f"SELECT {EXAM_COLS} FROM exams WHERE platform=? AND workspace=? AND user_id=? AND state='active'",
            (member.platform, member.workspace, member.user),
        )
        if row is None:
            return None
        items = await self._fetchall(f"SELECT {ITEM_COLS} FROM exam_answers WHERE exam_id=? ORDER BY idx", (row[0],))
        return exam_row(row, items)

    async def exam_step(
        self, exam_id: int, *, at: int, now: float, to: int, choice: str | None = None,
        flagged: bool | None = None,
    ) -> bool:
        try:
            async with self._tx() as db:
                cur = await db.execute(
                    "UPDATE exams SET position=? WHERE id=? AND state='active' AND deadline > ? AND position=?",
                    (to, exam_id, now, at),
                )
                if cur.rowcount != 1:
                    return False
                if choice is not None or flagged is not None:
                    await db.execute(
                        "UPDATE exam_answers SET choice=COALESCE(?, choice), flagged=COALESCE(?, flagged) "
                        "WHERE exam_id=? AND idx=?",
                        (choice, None if flagged is None else int(flagged), exam_id, at),
                    )
                return True
        except sqlite3.Error as exc:
            raise StoreError(f"exam answer not saved: {exc}") from exc

    async def close_exam(self, exam_id: int, *, now: float, keys: dict[str, str]) -> Exam | None:
        try:
            async with self._tx() as db:
                row = await (await db.execute(
                    f"SELECT {EXAM_COLS} FROM exams WHERE id=? AND state='active'", (exam_id,)
                )).fetchone()
                if row is None:
                    return None
                items = list(await (await db.execute(
                    "SELECT idx, question_id, choice FROM exam_answers WHERE exam_id=? ORDER BY idx", (exam_id,)
                )).fetchall())
                right = score([(i[1], i[2]) for i in items], keys)
                deadline = row[6]
                state = "submitted" if now < deadline else "expired"
                await db.executemany(
                    "UPDATE exam_answers SET correct=? WHERE exam_id=? AND idx=?",
                    [(int(ok), exam_id, i[0]) for i, ok in zip(items, right, strict=True)],
                )
                await db.execute(
                    "UPDATE exams SET state=?, closed_at=?, right_count=? WHERE id=?",
                    (state, now, sum(right), exam_id),
                )
                member = MemberRef(row[1], row[2], row[3])
                at = min(now, deadline)
                await move_cards_async(db, member, [(i[1], ok, at) for i, ok in zip(items, right, strict=True)])
        except sqlite3.Error as exc:
            raise StoreError(f"exam not scored: {exc}") from exc
        return await self.get_exam(exam_id)

    async def abandon_exam(self, exam_id: int, *, now: float) -> bool:
        return await self._write(
            "UPDATE exams SET state='abandoned', closed_at=? WHERE id=? AND state='active'", (now, exam_id)
        ) == 1

    async def expired_exams(self, *, now: float, limit: int = 500) -> list[int]:
        rows = await self._fetchall(
            "SELECT id FROM exams WHERE state='active' AND deadline <= ? ORDER BY deadline, id LIMIT ?", (now, limit)
        )
        return [r[0] for r in rows]

    async def member_exams(self, member: MemberRef, *, limit: int) -> list[Exam]:
        rows = await self._fetchall(
            f"SELECT {EXAM_COLS} FROM exams WHERE platform=? AND workspace=? AND user_id=? AND state <> 'active' "
            "ORDER BY started_at DESC, id DESC LIMIT ?",
            (member.platform, member.workspace, member.user, limit),
        )
        if not rows:
            return []
        ids = [r[0] for r in rows]
        items = await self._fetchall(
            f"SELECT {ITEM_COLS} FROM exam_answers WHERE exam_id IN ({','.join('?' for _ in ids)}) "
            "ORDER BY exam_id, idx",
            tuple(ids),
        )
        by_exam: dict[int, list] = {i: [] for i in ids}
        for item in items:
            by_exam[item[0]].append(item)
        return [exam_row(r, by_exam[r[0]]) for r in rows]

    async def _extra_attempts(self, member: MemberRef, since: float) -> list:
        """Every question of the member's scored exams counts as an attempt at the exam's end
        (unanswered as wrong), so readiness and stats see exam answers."""
        return await self._fetchall(
            "SELECT a.question_id, a.correct, MIN(e.closed_at, e.deadline) FROM exams e "
            "JOIN exam_answers a ON a.exam_id = e.id WHERE e.platform=? AND e.workspace=? AND e.user_id=? "
            "AND e.state IN ('submitted', 'expired') AND MIN(e.closed_at, e.deadline) >= ?",
            (member.platform, member.workspace, member.user, since),
        )
