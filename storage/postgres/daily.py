"""The PostgreSQL store's part for the daily loop (as storage/sqlite/daily.py): the reveal's recorded
steps and its lease, the discussion thread of a post, and members' question reports."""

from __future__ import annotations

from bot.core.boards import board_rows
from bot.core.grading import regrade
from bot.core.models import MemberRef
from bot.core.ports import Post, Report, StoreError
from storage.sqlite.daily import REPORT_COLS, report_row, step_column, stored_answer


class PostgresDaily:
    """Mixed into PostgresStore, which provides _execute, _fetch, _fetchrow, _tx, post_row and _cache
    (its short read cache of posts: every write to a post drops the entry)."""

    async def set_post_thread(self, post_id: int, thread_id: str) -> None:
        await self._execute("UPDATE posts SET thread_id=$1 WHERE id=$2", thread_id, post_id)
        self._cache.drop(("post", post_id))

    async def mark_reveal_step(self, post_id: int, step: str, at: float) -> None:
        column = step_column(step)
        await self._execute(f"UPDATE posts SET {column}=$1 WHERE id=$2 AND {column} IS NULL", at, post_id)
        self._cache.drop(("post", post_id))

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
        self._cache.drop(("post", post_id))
        return self.post_row(row) if row else None

    async def regrade_answers(self, keys: dict[str, str], *, right: int, wrong: int, practice_right: int) -> int:
        if not keys:
            return 0
        async with self._tx() as conn:
            await conn.execute("SELECT pg_advisory_xact_lock($1)", self.BOARD_LOCK)
            # The answers to these questions, and the other practice answers of the same members' days
            # (the practice cap counts them).
            rows = await conn.fetch(
                "SELECT a.id, p.question_id, a.choice, a.correct, a.points, a.practice, a.platform, a.workspace, "
                "a.user_id, a.local_day, a.answered_at FROM answers a JOIN posts p ON p.id = a.post_id "
                "WHERE p.question_id = ANY($1::text[]) OR (a.practice = 1 AND EXISTS ("
                "SELECT 1 FROM answers b JOIN posts q ON q.id = b.post_id "
                "WHERE q.question_id = ANY($1::text[]) AND b.practice = 1 AND b.platform = a.platform "
                "AND b.workspace = a.workspace AND b.user_id = a.user_id AND b.local_day = a.local_day)) "
                "FOR UPDATE OF a",
                sorted(keys),
            )
            stored = {r[0]: stored_answer(r) for r in rows}
            regraded = regrade(stored.values(), keys, right=right, wrong=wrong, practice_right=practice_right)
            await conn.executemany("UPDATE answers SET correct=$1, points=$2 WHERE id=$3",
                                   [(int(c), n, i) for i, (c, n) in sorted(regraded.items())])
            workspaces = {(stored[i].member.platform, stored[i].member.workspace) for i in regraded}
            for platform, workspace in sorted(workspaces):
                answers = await conn.fetch(
                    "SELECT platform, workspace, user_id, channel, points, local_day FROM answers "
                    "WHERE platform=$1 AND workspace=$2 AND points != 0", platform, workspace,
                )
                totals, levels = board_rows([tuple(a) for a in answers])
                for table in ("board_totals", "board_levels"):
                    await conn.execute(f"DELETE FROM {table} WHERE platform=$1 AND workspace=$2", platform, workspace)
                await conn.executemany(
                    "INSERT INTO board_totals (platform, workspace, channel, period, user_id, points) "
                    "VALUES ($1, $2, $3, $4, $5, $6)", [(*k, v) for k, v in totals.items()],
                )
                await conn.executemany(
                    "INSERT INTO board_levels (platform, workspace, channel, period, points, members) "
                    "VALUES ($1, $2, $3, $4, $5, $6)", [(*k, v) for k, v in levels.items()],
                )
        return len(regraded)

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
