"""The PostgreSQL store's part for the daily loop (as storage/sqlite/daily.py): the reveal's recorded
steps and its lease, the discussion thread of a post, and members' question reports."""

from __future__ import annotations

from bot.core.models import MemberRef
from bot.core.ports import Post, Report, StoreError
from storage.sqlite.daily import REPORT_COLS, report_row, step_column


class PostgresDaily:
    """Mixed into PostgresStore, which provides _execute, _fetch, _fetchrow, _tx and post_row."""

    async def set_post_thread(self, post_id: int, thread_id: str) -> None:
        await self._execute("UPDATE posts SET thread_id=$1 WHERE id=$2", thread_id, post_id)

    async def mark_reveal_step(self, post_id: int, step: str, at: float) -> None:
        column = step_column(step)
        await self._execute(f"UPDATE posts SET {column}=$1 WHERE id=$2 AND {column} IS NULL", at, post_id)

    async def unfinished_reveals(self, *, since: float) -> list[Post]:
        rows = await self._fetch(
            f"SELECT {self.POST_COLS} FROM posts WHERE revealed_at IS NOT NULL AND reveal_reply_at IS NULL "
            "AND kind='daily' AND created_at >= $1 ORDER BY id",
            since,
        )
        return [self.post_row(r) for r in rows]

    async def lease_reveal(self, post_id: int, *, now: float, seconds: float) -> Post | None:
        row = await self._fetchrow(
            "UPDATE posts SET reveal_lease_until=$1 WHERE id=$2 AND revealed_at IS NOT NULL "
            "AND (reveal_face_at IS NULL OR reveal_reply_at IS NULL) "
            f"AND (reveal_lease_until IS NULL OR reveal_lease_until <= $3) RETURNING {self.POST_COLS}",
            now + seconds, post_id, now,
        )
        return self.post_row(row) if row else None

    # ----- question reports ---------------------------------------------------------------
    async def add_report(
        self, *, member: MemberRef, question_id: str, reason: str, text: str, at: float
    ) -> tuple[Report, bool]:
        async with self._tx() as conn:
            created = await conn.fetchrow(
                "INSERT INTO question_reports (platform, workspace, user_id, question_id, reason, text, created_at) "
                f"VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING {REPORT_COLS}",
                member.platform, member.workspace, member.user, question_id, reason, text, at,
            )
            if created is not None:
                return report_row(created), True
            row = await conn.fetchrow(
                f"SELECT {REPORT_COLS} FROM question_reports WHERE platform=$1 AND workspace=$2 AND user_id=$3 "
                "AND question_id=$4 AND status='open'",
                member.platform, member.workspace, member.user, question_id,
            )
        return report_row(row), False

    async def list_reports(
        self, *, platform: str | None = None, workspace: str | None = None, status: str | None = "open"
    ) -> list[Report]:
        where, params = [], []
        for column, value in (("platform", platform), ("workspace", workspace), ("status", status)):
            if value is not None:
                params.append(value)
                where.append(f"{column}=${len(params)}")
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = await self._fetch(f"SELECT {REPORT_COLS} FROM question_reports {clause} ORDER BY id", *params)
        return [report_row(r) for r in rows]

    async def close_reports(
        self, *, question_id: str, status: str, at: float, platform: str | None = None, workspace: str | None = None,
    ) -> int:
        if status not in ("fixed", "dismissed"):
            raise StoreError(f"a report closes as fixed or dismissed, not {status!r}")
        params: list = [status, at, question_id]
        where = ["question_id=$3", "status='open'"]
        for column, value in (("platform", platform), ("workspace", workspace)):
            if value is not None:
                params.append(value)
                where.append(f"{column}=${len(params)}")
        return await self._execute(
            f"UPDATE question_reports SET status=$1, closed_at=$2 WHERE {' AND '.join(where)}", *params
        )

    async def disputed_questions(self, *, reason: str, min_members: int) -> set[str]:
        rows = await self._fetch(
            "SELECT question_id FROM question_reports WHERE status='open' AND reason=$1 GROUP BY question_id "
            "HAVING COUNT(DISTINCT (platform, workspace, user_id)) >= $2",
            reason, min_members,
        )
        return {r[0] for r in rows}
