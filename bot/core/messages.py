"""Platform-neutral messages: what the core says; each adapter renders it (Block Kit, embed, terminal).

Text uses light markup only: *bold*, `code`, and newlines. Adapters translate it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # charts.py reads readiness and ports, which import this module
    from bot.core.charts import Chart

# Action ids carried by buttons. Adapters encode (action, value) in their own custom-id formats.
ACTION_ANSWER = "answer"  # value: "<post_id>:<letters>"
# Every other action goes to StudyService.handle_action(action, value, picked): the module that
# registered the action (practice: next/open, the exam: exam) decides what it means.
ACTION_NEXT = "next"  # value: "quiz:<topic slug or ->", "review", "weak"
ACTION_OPEN = "open"  # value: "review", "quiz", "stats" (App Home and "nothing due" buttons)
ACTION_REPORT = "report"  # value: "<question id>": Slack and Discord open a form, the console says how
# Actions and values are short and plain so that every platform can carry them in its ids
# (Discord custom ids hold 100 characters, Slack action values 2,000).
ACTION_RE = re.compile(r"^[a-z]{2,12}$")
VALUE_RE = re.compile(r"^[A-Za-z0-9:_.\-]{1,60}$")


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    action: str
    value: str
    disabled: bool = False


@dataclass(frozen=True, slots=True)
class Message:
    text: str
    title: str = ""
    options: tuple[tuple[str, str], ...] = ()  # (letter, text) shown under the text
    buttons: tuple[Button, ...] = ()
    choose: int = 1  # how many options an answer must pick (>1: multiple response)
    post_id: int | None = None  # the stored post this message shows, if any
    ephemeral: bool = True
    footer: str = ""
    lines: tuple[str, ...] = field(default=())  # extra lines (rankings, vote shares)
    # Where the letters a member picks go (tick boxes + Submit, a select, letters typed in the
    # console): (action, value) for handle_action. None: answer `post_id` as a post.
    answer_to: tuple[str, str] | None = None
    # Part of the member's private study session (review, quiz, stats, exam): adapters deliver it
    # where it lasts (Slack and Discord DMs with the bot), not as a message that vanishes.
    private: bool = False
    # A click's reply that replaces the clicked message (exam navigation) instead of adding one.
    replace: bool = False
    # Whom a channel post notifies: "here", "role:<id>" (Discord) or "group:<id>" (Slack); "" nobody.
    mention: str = ""
    # How an answer went ("right", "wrong"; "" for anything else): Discord colours its embed by it.
    tone: str = ""
    # A picture of the numbers in `text`/`lines` (bot/core/charts.py), delivered beside them where the
    # platform can show images; the text stays complete without it.
    chart: Chart | None = None

    def plain(self) -> str:
        """A plain-text rendering, used by the console and by tests."""
        parts = []
        if self.title:
            parts.append(f"== {self.title} ==")
        if self.text:
            parts.append(self.text)
        parts += [f"  {letter}. {text}" for letter, text in self.options]
        parts += list(self.lines)
        if self.footer:
            parts.append(self.footer)
        # Answer letters are typed, so neither a post's answer buttons nor a feature's letter
        # buttons (the exam's) are listed as labels.
        letters = {letter for letter, _ in self.options}
        labels = [
            f"[{b.label}]" for b in self.buttons
            if not b.disabled and b.action != ACTION_ANSWER and b.label not in letters
        ]
        if labels:
            parts.append(" ".join(labels))
        return "\n".join(parts)


def valid_action(action: str, value: str) -> bool:
    return bool(ACTION_RE.match(action)) and bool(VALUE_RE.match(value))


def answer_value(post_id: int, letters: str) -> str:
    return f"{post_id}:{letters}"


MAX_POST_DIGITS = 18  # every id below 10**18 fits a signed 64-bit column (ids >= 2**63 do not)


def parse_post_id(value: str) -> int | None:
    """A post id from a button value: ASCII digits only (str.isdigit also accepts "²" and "٣"),
    small enough for the database; None for anything else (an expired or forged button)."""
    if not value or len(value) > MAX_POST_DIGITS or not value.isascii() or not value.isdigit():
        return None
    return int(value)


def parse_answer_value(value: str) -> tuple[int, str] | None:
    post, _, letters = value.partition(":")
    post_id = parse_post_id(post)
    if post_id is None or not letters or len(value) > 40:
        return None
    return post_id, letters
