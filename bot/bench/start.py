"""start: the cold start of a real `studybot run` process (the full bank loaded and validated, the
store migrated, Slack in HTTP mode and Discord both started against local fakes) until it logs
that it is running, and its resident memory then. Baseline: a bare `python -c pass` process."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
from pathlib import Path

from bot.adapters.discord.fake import FakeDiscord
from bot.adapters.slack.fake import FakeSlack
from bot.bench.report import Row

READY = b"studybot is running"
ROOT = Path(__file__).resolve().parents[2]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _until_ready(proc: asyncio.subprocess.Process, marker: bytes, seconds: float) -> bytes:
    assert proc.stderr is not None and proc.stdout is not None
    seen = b""

    async def read(stream: asyncio.StreamReader) -> None:
        nonlocal seen
        while marker not in seen:
            line = await stream.readline()
            if not line:
                raise RuntimeError("start: the process ended before it was ready:\n" + seen.decode(errors="replace")[-800:])
            seen += line

    tasks = [asyncio.create_task(read(proc.stderr)), asyncio.create_task(read(proc.stdout))]
    try:
        done, _ = await asyncio.wait(tasks, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        if not done:
            raise RuntimeError("start: not ready in time:\n" + seen.decode(errors="replace")[-800:])
        for t in done:
            t.result()
    finally:
        for t in tasks:
            t.cancel()
    return seen


async def _measure(args: list[str], env: dict[str, str], cwd: Path, marker: bytes) -> tuple[float, float]:
    t0 = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, *args, env=env, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        await _until_ready(proc, marker, 30)
        took = time.perf_counter() - t0
        rss = rss_mb(proc.pid)
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()
    return took, rss


async def run(*, folder: Path, runs: int = 3, **_: object) -> list[Row]:
    slack, discord = FakeSlack(), FakeDiscord()
    await slack.start()
    await discord.start()
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_", "STUDYBOT_"))}
        env.update({
            "PYTHONPATH": str(ROOT), "STUDYBOT_DATABASE_URL": f"sqlite:///{folder / 'start.db'}",
            "SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": "bench-signing-secret", "SLACK_MODE": "http",
            "SLACK_API_URL": slack.base_url, "DISCORD_TOKEN": "bench.discord.token",
            "STUDYBOT_BENCH_DISCORD_API": discord.api_base,
        })
        starts, sizes = [], []
        for _ in range(runs):
            env["SLACK_HTTP_PORT"] = str(free_port())
            took, rss = await _measure(["-m", "bot.bench.launch", "run"], env, folder, READY)
            starts.append(took)
            sizes.append(rss)
        bare = [await _measure(["-c", "import sys; print('ready', flush=True); sys.stdin.read()"],
                               {"PATH": os.environ.get("PATH", "")}, folder, b"ready") for _ in range(runs)]
    finally:
        await slack.aclose()
        await discord.aclose()
    took, rss = min(starts), max(sizes)
    note = f"best of {runs}; Slack (HTTP mode) and Discord against local fakes, full bank, SQLite"
    return [
        Row("start", "seconds to running", took, "<= 1", f"bare python {min(t for t, _ in bare):.2f} s", took <= 1, note),
        Row("start", "RSS MB after start", rss, "<= 150", f"bare python {max(r for _, r in bare):.0f} MB", rss <= 150, note),
    ]
