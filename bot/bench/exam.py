"""exam: members in full mock exams at once, each clicking an answer and getting the next question;
timed from the click (StudyService.handle_action, the store's conditional step) to the next
question rendered as Block Kit. The measured load is paced: every member clicks once per
`interval` seconds (a real candidate clicks about once in two minutes, so the default of one click
a second for 200 members is ~100 times a real room), plus one round where all of them click in
the same instant. Baseline: a bare sqlite3 UPDATE of one row per click, one transaction each.

With `slack=True` the same load also goes through Slack's HTTP path: signed block_actions
payloads to the real Bolt app, timed until the next question arrives at the response_url of a
local fake of Slack (the sender, the app and the fake share this process and its cores).
"""

from __future__ import annotations

import asyncio
import random
import re
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.adapters.slack.render import render
from bot.bench.report import Progress, Row, percentile
from bot.bench.stores import backend, database_url, run_id, started_store
from bot.core.clock import FakeClock
from bot.core.messages import Message
from bot.core.models import Bank, ChannelRef, MemberRef
from bot.core.service import StudyService
from bot.runtime import freeze_heap

NOW = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
TARGET_MS = 20


def _click(msg: Message, rng: random.Random) -> tuple[str, str, str]:
    """(action, value, picked) of a member answering the question on screen: a letter button for
    one answer, the picked letters for several."""
    letters = [b for b in msg.buttons if len(b.label) == 1]
    if letters:
        b = rng.choice(letters)
        return b.action, b.value, ""
    assert msg.answer_to is not None
    picked = "".join(sorted(rng.sample([x for x, _ in msg.options], msg.choose)))
    return msg.answer_to[0], msg.answer_to[1], picked


async def run(*, bank: Bank, folder: Path, members: int = 200, clicks: int = 20, interval: float = 1.0,
              progress: bool = True, slack: bool = True) -> list[Row]:
    rows = await _service_path(bank=bank, folder=folder, members=members, clicks=clicks, interval=interval,
                               progress=progress)
    if slack:
        rows += await _slack_path(bank=bank, folder=folder, members=members, clicks=clicks, interval=interval,
                                  progress=progress)
    return rows


async def _service_path(*, bank: Bank, folder: Path, members: int, clicks: int, interval: float,
                        progress: bool) -> list[Row]:
    url = database_url(folder, "exam")
    store = await started_store(url)
    service = StudyService(bank=bank, store=store, clock=FakeClock(NOW))
    workspace = run_id()
    channel = ChannelRef("slack", workspace, "D-bench")
    people = [MemberRef("slack", workspace, f"U{i:05d}") for i in range(members)]
    screens = await asyncio.gather(*[
        service.handle_command(member=m, channel=channel, text="/dva exam full") for m in people
    ])
    if not all(s.title.startswith("Question 1 of") for s in screens):
        raise RuntimeError(f"exam: could not start {members} exams: {screens[0].text[:80]}")
    freeze_heap()
    rng = random.Random(7)
    latencies: list[float] = []
    meter = Progress("exam clicks", members * clicks, enabled=progress)

    async def one(i: int) -> float:
        action, value, picked = _click(screens[i], rng)
        t0 = time.perf_counter()
        msg = await service.handle_action(member=people[i], channel=channel, action=action, value=value, picked=picked)
        render(msg)
        took = time.perf_counter() - t0
        if not msg.title.startswith("Question ") or msg.text.startswith("That click"):
            raise RuntimeError(f"exam: a click did not move on: {msg.title} {msg.text[:80]}")
        screens[i] = msg
        return took

    async def member(i: int) -> None:
        await asyncio.sleep(rng.random() * interval)  # members are not in step
        start = time.perf_counter()
        for k in range(clicks):
            due = start + k * interval
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            latencies.append(await one(i))
            meter.add()

    paced_t0 = time.perf_counter()
    await asyncio.gather(*[member(i) for i in range(members)])
    paced_wall = time.perf_counter() - paced_t0
    meter.close()
    # Everyone at once: the worst instant, and the rate the store sustains.
    burst_t0 = time.perf_counter()
    burst = await asyncio.gather(*[one(i) for i in range(members)])
    burst_wall = time.perf_counter() - burst_t0
    await store.aclose()
    p50, p99 = 1000 * percentile(latencies, 50), 1000 * percentile(latencies, 99)
    base = _baseline(folder, len(latencies))
    where = (f"{backend(url)}, service + store + Block Kit render, {members} members in full exams, "
             f"a click each per {interval:g} s ({members / interval:,.0f}/s)")
    return [
        Row("exam", "p99 ms click to next question (in-process)", p99, f"<= {TARGET_MS}",
            f"sqlite3 one-row UPDATE per click: p99 {base:.2f} ms", p99 <= TARGET_MS, where),
        Row("exam", "p50 ms click to next question (in-process)", p50, "", "", None, where),
        Row("exam", "p99 ms, all click at once", 1000 * percentile(burst, 99), "", "", None,
            f"{members} clicks in the same instant, {members / burst_wall:,.0f} clicks/s"),
        Row("exam", "clicks handled", len(latencies) + len(burst), "", "", None,
            f"{len(latencies) / paced_wall:,.0f}/s paced"),
    ]


def _baseline(folder: Path, n: int) -> float:
    """p99 ms of one transaction updating one row of a 200-row table in plain sqlite3 (WAL,
    synchronous=NORMAL): the least a click that changes stored state can cost."""
    path = folder / "exam-baseline.db"
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE exams (id INTEGER PRIMARY KEY, position INTEGER NOT NULL)")
    db.executemany("INSERT INTO exams VALUES (?, 0)", [(i,) for i in range(200)])
    times = []
    for k in range(max(n, 1000)):
        t0 = time.perf_counter()
        db.execute("BEGIN IMMEDIATE")
        db.execute("UPDATE exams SET position = position + 1 WHERE id = ?", (k % 200,))
        db.execute("COMMIT")
        times.append(time.perf_counter() - t0)
    db.close()
    return 1000 * percentile(times, 99)


async def _slack_path(*, bank: Bank, folder: Path, members: int, clicks: int, interval: float,
                      progress: bool) -> list[Row]:
    import aiohttp
    from aiohttp import web

    from bot.adapters.slack import SlackAdapter
    from bot.adapters.slack.fake import FakeSlack
    from bot.adapters.slack.render import PICK_ACTION
    from bot.adapters.slack.testing import SlackSender, elements, http_settings

    arrived: dict[str, asyncio.Future] = {}

    class TimedSlack(FakeSlack):
        """The fake of Slack, noting when each response_url message arrives."""

        async def _response_url(self, request: web.Request) -> web.Response:
            response = await super()._response_url(request)
            name = request.match_info["name"]
            waiter = arrived.get(name)
            if waiter is not None and not waiter.done():
                waiter.set_result((time.perf_counter(), self.calls[-1].args))
            return response

    url = database_url(folder, "exam-slack")
    store = await started_store(url)
    service = StudyService(bank=bank, store=store, clock=FakeClock(NOW))
    fake = TimedSlack(team="TB")
    await fake.start()
    adapter = SlackAdapter(service=service, settings=http_settings(fake), http_host="127.0.0.1")
    await adapter.start()
    rng = random.Random(11)
    latencies: list[float] = []
    meter = Progress("exam clicks via Slack", members * clicks, enabled=progress)
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            sender = SlackSender(port=adapter.http_port, fake=fake, session=session, team="TB")
            users = [f"U{i:05d}" for i in range(members)]
            for u in users:  # known to users.info, as real members are
                fake.users[u] = {"id": u, "tz": "UTC", "is_admin": False, "is_owner": False}
            await asyncio.gather(*[sender.command("exam full", user=u, name=f"start-{u}") for u in users])
            screens = {}
            for u in users:
                posted = await fake.wait_for(
                    lambda u=u: [c.args for c in fake.calls_to("chat.postMessage") if c.args.get("channel") == f"D{u}"],
                    within=30,
                )
                screens[u] = posted[-1]
            counter = 0

            async def one(u: str) -> float:
                nonlocal counter
                counter += 1
                name = f"c{counter}"
                screen = screens[u]
                letters = [b for b in elements(screen, "button") if len(b["text"]["text"]) == 1]
                if letters:
                    element, state = rng.choice(letters), None
                else:
                    found = elements(screen, "checkboxes")
                    if not found:
                        raise RuntimeError(f"exam via Slack: no answer element on screen: {str(screen)[:300]}")
                    boxes = found[0]
                    wanted = re.search(r"Choose (TWO|THREE|FOUR)", str(screen.get("text", "")))
                    n = {"TWO": 2, "THREE": 3, "FOUR": 4}[wanted.group(1)] if wanted else 2
                    picked = [{"value": o["value"]} for o in rng.sample(boxes["options"], n)]
                    element = next(b for b in elements(screen, "button") if b["action_id"].endswith(":pick"))
                    state = {boxes["block_id"]: {PICK_ACTION: {"type": "checkboxes", "selected_options": picked}}}
                waiter = arrived[name] = asyncio.get_running_loop().create_future()
                t0 = time.perf_counter()
                # The answer may reach the response_url before or after the click's own HTTP ack.
                status, _, _ = await sender.click(element, user=u, name=name, channel=f"D{u}", state=state)
                try:
                    at, body = await asyncio.wait_for(waiter, 10)
                finally:
                    arrived.pop(name, None)
                if status != 200 or not str(body.get("text", "")).startswith("Question "):
                    raise RuntimeError(f"exam via Slack: a click did not move on: {str(body.get('text'))[:100]}")
                screens[u] = body
                return at - t0

            async def member(u: str) -> None:
                await asyncio.sleep(rng.random() * interval)
                start = time.perf_counter()
                for k in range(clicks):
                    await asyncio.sleep(max(0.0, start + k * interval - time.perf_counter()))
                    latencies.append(await one(u))
                    meter.add()

            await asyncio.gather(*[member(u) for u in users])
    finally:
        meter.close()
        await adapter.aclose()
        await fake.aclose()
        await store.aclose()
    p50, p99 = 1000 * percentile(latencies, 50), 1000 * percentile(latencies, 99)
    where = (f"{backend(url)}, Slack HTTP: signed click -> Bolt -> service + store -> response_url of a local fake, "
             f"{members} members, a click each per {interval:g} s")
    return [
        Row("exam", "p99 ms click to next question (Slack HTTP)", p99, "", "", None, where),
        Row("exam", "p50 ms click to next question (Slack HTTP)", p50, "", "", None, where),
    ]
