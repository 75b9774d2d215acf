"""The SQLite store's part for the daily loop: the reveal's recorded steps and its lease, the
discussion thread of a post, and members' question reports (migration 007)."""

from __future__ import annotations

import sqlite3

from bot.core.boards import board_rows
from bot.core.grading import StoredAnswer, regrade
from bot.core.models import MemberRef
from bot.core.ports import Post, Report, StoreError

REPORT_COLS = "id, platform, workspace, user_id, question_id, reason, text, created_at, status, closed_at"
STEPS = {"face": "reveal_face_at", "reply": "reveal_reply_at"}


def report_row(row) -> Report:
    return Report(
        id=row[0], member=MemberRef(row[1], row[2], row[3]), question_id=row[4], reason=row[5], text=row[6],
        created_at=row[7], status=row[8], closed_at=row[9],
    )


def stored_answer(row) -> StoredAnswer:
    """A row of (id, question_id, choice, correct, points, practice, platform, workspace, user_id,
    local_day, answered_at), as both stores select it for re-grading."""
    return StoredAnswer(
        id=row[0], question_id=row[1], choice=row[2], correct=bool(row[3]), points=row[4], practice=bool(row[5]),
        member=MemberRef(row[6], row[7], row[8]), local_day=row[9], answered_at=row[10],
    )


def step_column(step: str) -> str:
    column = STEPS.get(step)
    if column is None:
        raise StoreError(f"unknown reveal step {step!r}")
    return column


class SQLiteDaily:
    """Mixed into SQLiteStore, which provides _write, _fetchall, _tx, _forget and post_row."""

    async def set_post_thread(self, post_id: int, thread_id: str) -> None:
        await self._write("UPDATE posts SET thread_id=? WHERE id=?", (thread_id, post_id))
        self._forget(("post", post_id))

    async def mark_reveal_step(self, post_id: int, step: str, at: float) -> None:
        column = step_column(step)
        await self._write(f"UPDATE posts SET {column}=? WHERE id=? AND {column} IS NULL", (at, post_id))
        self._forget(("post", post_id))

    async def unfinished_reveals(self, *, since: float) -> list[Post]:
        rows = await self._fetchall(
            f"SELECT {self.POST_COLS} FROM posts WHERE revealed_at IS NOT NULL AND reveal_reply_at IS NULL "
            "AND kind='daily' AND created_at >= ? ORDER BY id",
            (since,),
        )
        return [self.post_row(r) for r in rows]

    async def lease_reveal(self, post_id: int, *, now: float, seconds: float) -> Post | None:
        taken = await self._write(
            "UPDATE posts SET reveal_lease_until=? WHERE id=? AND revealed_at IS NOT NULL "
            "AND (reveal_face_at IS NULL OR reveal_reply_at IS NULL) "
            "AND (reveal_lease_until IS NULL OR reveal_lease_until <= ?)",
            (now + seconds, post_id, now),
        )
        self._forget(("post", post_id))
        return await self.get_post(post_id) if taken == 1 else None

    async def regrade_answers(self, keys: dict[str, str], *, right: int, wrong: int, practice_right: int) -> int:
        if not keys:
            return 0
        marks = ", ".join(["?"] * len(keys))
        qids = tuple(sorted(keys))
        try:
            async with self._tx() as db:
                # The answers to these questions, and the other practice answers of the same members'
                # days (the practice cap counts them).
                rows = await (await db.execute(
                    "SELECT a.id, p.question_id, a.choice, a.correct, a.points, a.practice, a.platform, a.workspace, "
                    "a.user_id, a.local_day, a.answered_at FROM answers a JOIN posts p ON p.id = a.post_id "
                    f"WHERE p.question_id IN ({marks}) OR (a.practice = 1 AND EXISTS ("
                    "SELECT 1 FROM answers b JOIN posts q ON q.id = b.post_id "
                    f"WHERE q.question_id IN ({marks}) AND b.practice = 1 AND b.platform = a.platform "
                    "AND b.workspace = a.workspace AND b.user_id = a.user_id AND b.local_day = a.local_day))",
                    qids + qids,
                )).fetchall()
                stored = {r[0]: stored_answer(r) for r in rows}
                regraded = regrade(stored.values(), keys, right=right, wrong=wrong, practice_right=practice_right)
                await db.executemany("UPDATE answers SET correct=?, points=? WHERE id=?",
                                     [(int(c), n, i) for i, (c, n) in sorted(regraded.items())])
                workspaces = {(stored[i].member.platform, stored[i].member.workspace) for i in regraded}
                for platform, workspace in sorted(workspaces):
                    answers = await (await db.execute(
                        "SELECT platform, workspace, user_id, channel, points, local_day FROM answers "
                        "WHERE platform=? AND workspace=? AND points != 0", (platform, workspace),
                    )).fetchall()
                    totals, levels = board_rows([tuple(a) for a in answers])
                    for table in ("board_totals", "board_levels"):
                        await db.execute(f"DELETE FROM {table} WHERE platform=? AND workspace=?", (platform, workspace))
                    await db.executemany(
                        "INSERT INTO board_totals (platform, workspace, channel, period, user_id, points) "
                        "VALUES (?, ?, ?, ?, ?, ?)", [(*k, v) for k, v in totals.items()],
                    )
                    await db.executemany(
                        "INSERT INTO board_levels (platform, workspace, channel, period, points, members) "
                        "VALUES (?, ?, ?, ?, ?, ?)", [(*k, v) for k, v in levels.items()],
                    )
        except sqlite3.Error as exc:
            raise StoreError(str(exc)) from exc
        return len(regraded)

    # ----- question reports ---------------------------------------------------------------
    async def add_report(
        self, *, member: MemberRef, question_id: str, reason: str, text: str, at: float
    ) -> tuple[Report, bool]:
        try:
            async with self._tx() as db:
                cur = await db.execute(
                    "INSERT INTO question_reports (platform, workspace, user_id, question_id, reason, text, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (member.platform, member.workspace, member.user, question_id, reason, text, at),
                )
                created = cur.rowcount == 1
                row = await (await db.execute(
                    f"SELECT {REPORT_COLS} FROM question_reports WHERE platform=? AND workspace=? AND user_id=? "
                    "AND question_id=? AND status='open'",
                    (member.platform, member.workspace, member.user, question_id),
                )).fetchone()
        except sqlite3.Error as exc:
            raise StoreError(str(exc)) from exc
        return report_row(row), created

    async def list_reports(
        self, *, platform: str | None = None, workspace: str | None = None, status: str | None = "open"
    ) -> list[Report]:
        where, params = [], []
        for column, value in (("platform", platform), ("workspace", workspace), ("status", status)):
            if value is not None:
                where.append(f"{column}=?")
                params.append(value)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = await self._fetchall(f"SELECT {REPORT_COLS} FROM question_reports {clause} ORDER BY id", tuple(params))
        return [report_row(r) for r in rows]

    async def close_reports(
        self, *, question_id: str, status: str, at: float, platform: str | None = None, workspace: str | None = None,
    ) -> int:
        if status not in ("fixed", "dismissed"):
            raise StoreError(f"a report closes as fixed or dismissed, not {status!r}")
        where, params = ["question_id=?", "status='open'"], [question_id]
        for column, value in (("platform", platform), ("workspace", workspace)):
            if value is not None:
                where.append(f"{column}=?")
                params.append(value)
        return await self._write(
            f"UPDATE question_reports SET status=?, closed_at=? WHERE {' AND '.join(where)}", (status, at, *params)
        )

    async def disputed_questions(self, *, reason: str, min_members: int) -> set[str]:
        rows = await self._fetchall(
            "SELECT question_id FROM question_reports WHERE status='open' AND reason=? GROUP BY question_id "
            "HAVING COUNT(DISTINCT platform || '|' || workspace || '|' || user_id) >= ?",
            (reason, min_members),
        )
        return {r[0] for r in rows}
