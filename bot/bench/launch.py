"""`python -m bot.bench.launch ARGS...`: `studybot ARGS...` with discord.py pointed at a local fake
Discord (STUDYBOT_BENCH_DISCORD_API, the fake's /api/v10 base), for the start bench. discord.py
has no setting for its API base; everything else is the ordinary `studybot` entry point."""

from __future__ import annotations

import os
import sys


def main() -> int:
    base = os.environ.get("STUDYBOT_BENCH_DISCORD_API")
    if base:
        import discord.http

        discord.http.Route.BASE = base
    from bot.cli import main as studybot

    return studybot(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
