"""The Discord form for reporting a question: the Report button opens a modal with the reason and
the member's words; its submission is stored through the core and answered privately."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import discord

from bot.core import texts

REASON_HINT = "wrong key, unclear, outdated or typo"

Submit = Callable[[discord.Interaction, str, str], Awaitable[None]]


class ReportModal(discord.ui.Modal):
    """Two fields: the reason (one of REASON_HINT, typed) and the details."""

    def __init__(self, question_id: str, *, submit: Submit) -> None:
        super().__init__(title=f"Report question {question_id}"[:45], custom_id=f"dva:report:{question_id}"[:100],
                         timeout=900)
        self.question_id = question_id
        self._submit = submit
        self.reason: discord.ui.TextInput = discord.ui.TextInput(
            label="What is wrong?", placeholder=REASON_HINT, max_length=20, custom_id="reason",
        )
        self.details: discord.ui.TextInput = discord.ui.TextInput(
            label="Details", style=discord.TextStyle.paragraph, required=False, max_length=1000,
            placeholder="For example: B is right because ...", custom_id="details",
        )
        self.add_item(self.reason)
        self.add_item(self.details)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await self._submit(interaction, str(self.reason.value or ""), str(self.details.value or ""))


def reasons_line() -> str:
    return ", ".join(texts.REPORT_REASONS.values())
