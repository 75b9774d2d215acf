"""`studybot run` with discord.py pointed at a FakeDiscord (tests/test_faults.py's crash test):

    FAKE_DISCORD_API=http://127.0.0.1:PORT/api/v10 python -m tests.discord_run

The fake's GET /gateway/bot names its websocket, so the only thing to change is the REST base.
"""

from __future__ import annotations

import os
import sys

import discord

from bot.cli import main

if __name__ == "__main__":
    discord.http.Route.BASE = os.environ["FAKE_DISCORD_API"]
    sys.exit(main(["run"]))
