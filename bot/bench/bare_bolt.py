"""The baselines of the `clicks` bench: a bare slack-bolt app in HTTP mode that only acknowledges
block_actions, or inserts one row per click (SQLite with studybot's pragmas, or PostgreSQL) and
then acknowledges. No studybot code on the request path: what Slack + Bolt + one insert cost.

    python -m bot.bench.bare_bolt MODE PORT API_URL [DATABASE_URL]    (MODE: ack | insert)

Prints "ready" on stdout once listening.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import sys
import time

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.testing import TEST_BOT_TOKEN, TEST_SECRET

_CREATE = "CREATE TABLE IF NOT EXISTS clicks (user_id TEXT PRIMARY KEY, value TEXT, at DOUBLE PRECISION)"
_INSERT_SQLITE = "INSERT INTO clicks (user_id, value, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
_INSERT_PG = "INSERT INTO clicks (user_id, value, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"


async def main(mode: str, port: int, api_url: str, database_url: str = "") -> None:
    app = AsyncApp(client=AsyncWebClient(token=TEST_BOT_TOKEN, base_url=api_url), signing_secret=TEST_SECRET)
    insert = None
    if mode == "insert" and database_url.startswith("sqlite:///"):
        db = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
        for pragma in ("journal_mode=WAL", "busy_timeout=5000", "synchronous=NORMAL", "foreign_keys=ON"):
            db.execute(f"PRAGMA {pragma}")
        db.execute(_CREATE)

        async def insert(user: str, value: str) -> None:
            db.execute(_INSERT_SQLITE, (user, value, time.time()))  # autocommit: one transaction per click
    elif mode == "insert":
        import asyncpg

        pool = await asyncpg.create_pool(database_url, min_size=1, max_size=10,
                                         server_settings={"synchronous_commit": "on"})
        await pool.execute(_CREATE)

        async def insert(user: str, value: str) -> None:
            await pool.execute(_INSERT_PG, user, value, time.time())

    async def on_click(ack, body: dict, action: dict) -> None:
        if insert is not None:
            await insert(str(body["user"]["id"]), str(action.get("value")))
        await ack()

    app.action(re.compile(".*"))(on_click)
    runner = web.AppRunner(app.web_app(path="/slack/events", port=port), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3], *sys.argv[4:5]))
