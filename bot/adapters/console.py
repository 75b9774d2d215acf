"""The console adapter: a terminal chat in a simulated channel, on the same core and store.

Reads lines from stdin (a terminal or a pipe): `/dva ...` commands, letters to answer the
question shown last, or a button's label (shown as `[Next question]`) to press it. Exits at end of
input, so it can be scripted. A message's chart is written as a PNG under `charts_dir` (the data
directory's charts/ folder; `studybot console --no-charts` skips them) and its path printed after
the text.
"""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path
from typing import TextIO

from bot.core.messages import ACTION_ANSWER, Button, Message
from bot.core.models import ChannelRef, MemberRef
from bot.core.service import StudyService
from bot.render.charts import ChartError, ChartRenderer

PLATFORM = "console"
_BOLD = re.compile(r"\*([^*\n]+)\*")
_ITALIC = re.compile(r"(?<![\w/])_([^_\n]+)_(?!\w)")
_MENTION = re.compile(r"<@([^>]+)>")


def render(message: Message) -> str:
    """The core's light markup for a terminal: *bold* and _italic_ lose their marks, `code`
    keeps its backticks (they show what to type), mentions read @name, and code fences (which
    only frame tables) go: a terminal shows the table as it is."""
    text = "\n".join(line for line in message.plain().split("\n") if line.strip() != "```")
    text = _MENTION.sub(r"@\1", text)
    return _ITALIC.sub(r"\1", _BOLD.sub(r"\1", text))


class ConsoleAdapter:
    def __init__(
        self, *, service: StudyService, channel: str = "study-group", user: str = "you",
        workspace: str = "local", out: TextIO | None = None, charts_dir: Path | None = None,
        charts: ChartRenderer | None = None,
    ) -> None:
        self.service = service
        self.channel = ChannelRef(PLATFORM, workspace, channel)
        self.member = MemberRef(PLATFORM, workspace, user)
        self.out = out or sys.stdout
        self.current_post: int | None = None
        self.answer_to: tuple[str, str] | None = None  # a feature module's question shown last
        self.buttons: tuple[Button, ...] = ()  # the buttons of the message shown last
        self.charts_dir = charts_dir  # None: no charts
        self._charts = charts or (ChartRenderer() if charts_dir is not None else None)

    def show(self, message: Message) -> None:
        if message.options and (message.post_id is not None or message.answer_to):
            # Letters typed next answer this question.
            self.current_post, self.answer_to = message.post_id, message.answer_to
        live = tuple(b for b in message.buttons if not b.disabled and b.action != ACTION_ANSWER)
        if live or message.options:
            self.buttons = live
        print(render(message), file=self.out, flush=True)
        if message.options:
            hint = "Type the letter" if message.choose == 1 else f"Type {message.choose} letters (e.g. A C)"
            print(f"({hint} to answer.)", file=self.out, flush=True)
        print(file=self.out, flush=True)

    async def emit(self, message: Message) -> None:
        """Show the message, then write its chart and print where."""
        self.show(message)
        if message.chart is None or self.charts_dir is None or self._charts is None:
            return
        try:
            data = await self._charts.png(message.chart)
            path = self.charts_dir / message.chart.filename
            await asyncio.to_thread(_write, path, data)
        except (ChartError, OSError) as exc:
            print(f"(Chart not saved: {exc})\n", file=self.out, flush=True)
            return
        print(f"Chart: {path}\n", file=self.out, flush=True)

    def close(self) -> None:
        if self._charts is not None:
            self._charts.close()

    # The Poster port used by the scheduler: posts go to the terminal.
    async def post(self, channel: ChannelRef, message: Message) -> str:
        await self.emit(message)
        return f"console-{message.post_id}"

    async def update(self, channel: ChannelRef, message_id: str, message: Message) -> None:
        self.show(message)

    async def reply(self, channel: ChannelRef, message_id: str, message: Message, *, thread: str | None = None) -> str:
        self.show(message)
        return f"{message_id}-reply"

    async def send_private(self, member: MemberRef, message: Message) -> str:
        """A DM on the chat platforms (review reminders); the terminal here."""
        await self.emit(message)
        return "console-dm"

    def button_for(self, typed: str) -> Button | None:
        """The button of the last message whose label was typed: whole, in brackets, or a unique
        start of it (`next` for `[Next question]`)."""
        want = typed.strip().strip("[]").strip().lower()
        if not want:
            return None
        exact = [b for b in self.buttons if b.label.lower() == want]
        if exact:
            return exact[0]
        starts = [b for b in self.buttons if b.label.lower().startswith(want)]
        return starts[0] if len(starts) == 1 and len(want) >= 3 else None

    async def post_today(self) -> None:
        sub = await self.service.store.get_subscription(self.channel)
        tz = sub.timezone if sub else "UTC"
        post, _ = await self.service.claim_daily(self.channel, tz)
        if post.message_id is None:
            await self.service.store.set_post_message(post.id, f"console-{post.id}")
        if post.revealed_at is None:
            self.show(self.service.daily_message(post))
        else:
            self.current_post = post.id

    async def handle_line(self, line: str) -> bool:
        """Handle one input line; False means quit."""
        line = line.strip()
        if not line:
            return True
        if line.lower() in ("quit", "exit", "/quit", "/exit"):
            return False
        if line.startswith("/"):
            msg = await self.service.handle_command(member=self.member, channel=self.channel, text=line, is_admin=True)
            await self.emit(msg)
            return True
        button = self.button_for(line)
        if button is not None:
            await self.emit(await self.service.handle_action(
                member=self.member, channel=self.channel, action=button.action, value=button.value, is_admin=True,
            ))
            return True
        if self.answer_to is not None:
            action, value = self.answer_to
            await self.emit(await self.service.handle_action(
                member=self.member, channel=self.channel, action=action, value=value, picked=line[:40], is_admin=True,
            ))
            return True
        if self.current_post is None:
            await self.emit(Message(text="There is no question to answer yet; try `/dva quiz`."))
            return True
        await self.emit(await self.service.answer(member=self.member, post_id=self.current_post, raw_choice=line))
        return True

    async def run(self, stdin: TextIO | None = None) -> None:
        stdin = stdin or sys.stdin
        reconfigure = getattr(stdin, "reconfigure", None)
        if reconfigure is not None:
            # Bytes that are not UTF-8 (a pasted binary, another terminal encoding) become U+FFFD and
            # meet the usual "unknown command" answer instead of ending the session.
            reconfigure(errors="replace")
        loop = asyncio.get_running_loop()
        print("studybot console: type /dva help, or a letter to answer. Ctrl-D to quit.\n", file=self.out, flush=True)
        await self.post_today()
        while True:
            line = await loop.run_in_executor(None, stdin.readline)
            if not line:
                break
            if not await self.handle_line(line):
                break


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_bytes(data)
    partial.replace(path)
