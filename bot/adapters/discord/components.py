"""Persistent answer components. The custom id carries the post and the option, so a click is
understood by any process at any time, also after a restart: the classes are registered with
`client.add_dynamic_items` at start and rebuilt from the custom id of each click.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

import discord
from discord.ui import DynamicItem

from bot.core.messages import ACTION_ANSWER, answer_value, parse_answer_value

CUSTOM_ID_LIMIT = 100
_POST = r"[0-9]{1,18}"  # below 10**18: fits a signed 64-bit id
BUTTON_TEMPLATE = re.compile(rf"dva:{ACTION_ANSWER}:(?P<value>{_POST}:[A-H]{{1,8}})")
SELECT_TEMPLATE = re.compile(rf"dva:pick:(?P<post>{_POST})")
# A feature module's button or select: the action, the server (so a click in a DM, which carries no
# server, still knows whose study it is) and the value: at most 4 + 12 + 1 + 20 + 1 + 60 = 98 chars.
_ACTION = r"(?P<action>[a-z]{2,12})@(?P<guild>[0-9]{1,20}):(?P<value>[A-Za-z0-9:_.\-]{1,60})"
ACTION_TEMPLATE = re.compile(rf"dva:{_ACTION}")
ACTION_SELECT_TEMPLATE = re.compile(rf"dvp:{_ACTION}")


class AnswerHandler(Protocol):
    async def answer_clicked(self, interaction: discord.Interaction, *, post_id: int, raw_choice: str) -> None: ...

    async def action_clicked(
        self, interaction: discord.Interaction, *, action: str, guild: str, value: str, picked: str
    ) -> None: ...


def handler_of(interaction: discord.Interaction) -> AnswerHandler:
    return interaction.client.study  # type: ignore[attr-defined]  # set by StudyClient


def button_custom_id(post_id: int, letters: str) -> str:
    return f"dva:{ACTION_ANSWER}:{answer_value(post_id, letters)}"


def select_custom_id(post_id: int) -> str:
    return f"dva:pick:{post_id}"


def answer_post_of(custom_id: str) -> int | None:
    """The post an answer button's or select's custom id belongs to (matched whole, as discord.py
    matches a click); None for any other custom id."""
    if found := BUTTON_TEMPLATE.fullmatch(custom_id):
        parsed = parse_answer_value(found["value"])
        return parsed[0] if parsed is not None else None
    if found := SELECT_TEMPLATE.fullmatch(custom_id):
        return int(found["post"])
    return None


class AnswerButton(DynamicItem[discord.ui.Button], template=BUTTON_TEMPLATE):
    """One option of a single-answer question: clicking it answers with that letter."""

    def __init__(self, post_id: int, letters: str, *, label: str | None = None, disabled: bool = False) -> None:
        super().__init__(discord.ui.Button(
            label=label or letters, style=discord.ButtonStyle.primary, disabled=disabled,
            custom_id=button_custom_id(post_id, letters),
        ))
        self.post_id = post_id
        self.letters = letters

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> AnswerButton:
        parsed = parse_answer_value(match["value"])
        if parsed is None:  # the template and the core format disagree: refuse rather than guess
            raise ValueError(f"unexpected answer id {match['value']!r}")
        post_id, letters = parsed
        return cls(post_id, letters, label=getattr(item, "label", None))

    async def callback(self, interaction: discord.Interaction) -> None:
        await handler_of(interaction).answer_clicked(interaction, post_id=self.post_id, raw_choice=self.letters)


class AnswerSelect(DynamicItem[discord.ui.Select], template=SELECT_TEMPLATE):
    """The options of a multiple-response question: the member picks exactly `choose` of them."""

    def __init__(
        self, post_id: int, *, options: list[discord.SelectOption], choose: int, placeholder: str | None = None
    ) -> None:
        super().__init__(discord.ui.Select(
            custom_id=select_custom_id(post_id), options=options, min_values=choose, max_values=choose,
            placeholder=placeholder,
        ))
        self.post_id = post_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> AnswerSelect:
        options = list(getattr(item, "options", []))
        choose = getattr(item, "min_values", 1)
        return cls(int(match["post"]), options=options, choose=choose)

    async def callback(self, interaction: discord.Interaction) -> None:
        values = (interaction.data or {}).get("values", [])
        raw = " ".join(str(v) for v in values)
        await handler_of(interaction).answer_clicked(interaction, post_id=self.post_id, raw_choice=raw)


def action_custom_id(action: str, guild: str, value: str, *, select: bool = False) -> str:
    return f"{'dvp' if select else 'dva'}:{action}@{guild}:{value}"


class ActionButton(DynamicItem[discord.ui.Button], template=ACTION_TEMPLATE):
    """A feature module's button (Next, Review, the exam's Flag/Back/Next...)."""

    def __init__(self, action: str, guild: str, value: str, *, label: str | None = None, disabled: bool = False) -> None:
        super().__init__(discord.ui.Button(
            label=label or action, style=discord.ButtonStyle.secondary, disabled=disabled,
            custom_id=action_custom_id(action, guild, value),
        ))
        self.action, self.guild, self.value = action, guild, value

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ActionButton:
        return cls(match["action"], match["guild"], match["value"], label=getattr(item, "label", None))

    async def callback(self, interaction: discord.Interaction) -> None:
        await handler_of(interaction).action_clicked(
            interaction, action=self.action, guild=self.guild, value=self.value, picked=""
        )


class ActionSelect(DynamicItem[discord.ui.Select], template=ACTION_SELECT_TEMPLATE):
    """A feature module's multiple-response question: the picked letters go to its action."""

    def __init__(
        self, action: str, guild: str, value: str, *, options: list[discord.SelectOption], choose: int,
        placeholder: str | None = None,
    ) -> None:
        super().__init__(discord.ui.Select(
            custom_id=action_custom_id(action, guild, value, select=True), options=options, min_values=choose,
            max_values=choose, placeholder=placeholder,
        ))
        self.action, self.guild, self.value = action, guild, value

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ActionSelect:
        return cls(match["action"], match["guild"], match["value"], options=list(getattr(item, "options", [])),
                   choose=getattr(item, "min_values", 1))

    async def callback(self, interaction: discord.Interaction) -> None:
        values = (interaction.data or {}).get("values", [])
        await handler_of(interaction).action_clicked(
            interaction, action=self.action, guild=self.guild, value=self.value,
            picked="".join(str(v) for v in values)[:16],
        )
