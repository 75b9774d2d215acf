"""The SQLite store's part for the daily loop: the reveal's recorded steps and its lease, the
discussion thread of a post, and members' question reports (migration 006)."""

from __future__ import annotations

import sqlite3

from bot.core.models import MemberRef
from bot.core.ports import Post, Report, StoreError

REPORT_COLS = "id, platform, workspace, user_id, question_id, reason, text, created_at, status, closed_at"
STEPS = {"face": "reveal_face_at", "reply": "reveal_reply_at"}


def report_row(row) -> Report:
    return Report(
        id=row[0], member=MemberRef(row[1], row[2], row[3]), question_id=row[4], reason=row[5], text=row[6],
        created_at=row[7], status=row[8], closed_at=row[9],
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
