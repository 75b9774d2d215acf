"""A core Message as a Discord embed plus components, always within Discord's limits.

Markup: the core's *bold* becomes **bold**; `code`, _italic_ and <@id> mentions are the same on
Discord. Mentions inside embeds do not ping, which is what a leaderboard wants.
"""

from __future__ import annotations

import re

import discord

from bot.adapters.discord.components import ActionButton, ActionSelect, AnswerButton, AnswerSelect
from bot.core import texts
from bot.core.messages import ACTION_ANSWER, Message, parse_answer_value, valid_action

# https://discord.com/developers/docs/resources/message#embed-object-embed-limits and the component docs
EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
FIELD_NAME = 256
FIELD_VALUE = 1024
EMBED_FOOTER = 2048
EMBED_TOTAL = 6000
MAX_FIELDS = 25
BUTTON_LABEL = 80
SELECT_LABEL = 100
SELECT_PLACEHOLDER = 150
SELECT_OPTIONS = 25
COLOUR = discord.Colour(0xFF9900)
TONES = {"right": discord.Colour(0x2ECC71), "wrong": discord.Colour(0xE74C3C)}  # answer feedback
# Discord's select menu: the member picks N options and the answer is sent when the menu closes.
PICK_ON_DISCORD = "Pick {n} options in the menu below; your answer is sent when you close it."

_BOLD = re.compile(r"(?<![*\w])\*(?![\s*])([^*\n]+?)(?<!\s)\*(?![*\w])")
_CODE = re.compile(r"(`[^`\n]*`)")


def clip(text: str, limit: int) -> str:
    """Cut text to `limit` characters, marking the cut with an ellipsis."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rstrip() + "…"


def markup(text: str) -> str:
    """Core markup to Discord markdown, leaving `code` spans untouched."""
    parts = _CODE.split(text)
    return "".join(p if i % 2 else _BOLD.sub(r"**\1**", p) for i, p in enumerate(parts))


def _chunks(lines: tuple[str, ...], limit: int) -> list[str]:
    chunks: list[str] = []
    current = ""
    for line in (clip(markup(x), limit) for x in lines):
        if current and len(current) + 1 + len(line) > limit:
            chunks.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return chunks


def embed_for(message: Message) -> discord.Embed:
    """The message as one embed. Within the 6,000 characters of an embed the options come first
    (they must stay whole to be answerable), then the text, then the extra lines as fields."""
    title = clip(markup(message.title), EMBED_TITLE)
    footer = message.footer
    if message.choose > 1:
        footer = footer.replace(texts.PICK_N.format(n=message.choose), PICK_ON_DISCORD.format(n=message.choose))
    footer = clip(footer, EMBED_FOOTER)
    budget = EMBED_TOTAL - len(title) - len(footer)
    options = "\n".join(f"**{letter}.** {markup(text)}" for letter, text in message.options)
    options = clip(options, min(EMBED_DESCRIPTION // 2, budget // 2))
    gap = 2 if options else 0
    room = min(EMBED_DESCRIPTION, budget) - len(options) - gap
    description = "\n\n".join(filter(None, [clip(markup(message.text), max(room, 0)), options]))
    budget -= len(description)
    embed = discord.Embed(title=title or None, description=description or None, colour=TONES.get(message.tone, COLOUR))
    for value in _chunks(message.lines, FIELD_VALUE)[:MAX_FIELDS]:
        if budget < 2:
            break
        value = clip(value, budget - 1)  # the field name is one character
        embed.add_field(name="\u200b", value=value, inline=False)
        budget -= len(value) + 1
    if footer:
        embed.set_footer(text=footer)
    return embed


def view_for(message: Message, *, guild: str | None = None) -> discord.ui.View | None:
    """The components of a message, or None when it has none (a reply, a lookup). Feature buttons
    (Next, the exam's) carry `guild`, the member's server, and are left out without it."""
    items: list[discord.ui.Item] = []
    options = [
        discord.SelectOption(label=clip(f"{letter}. {text}", SELECT_LABEL), value=letter)
        for letter, text in message.options[:SELECT_OPTIONS]
    ]
    placeholder = clip(f"Pick {message.choose} options", SELECT_PLACEHOLDER)
    if message.choose > 1 and message.options and message.answer_to and guild:
        action, value = message.answer_to
        items.append(ActionSelect(action, guild, value, options=options, choose=message.choose, placeholder=placeholder))
    for button in message.buttons:
        if button.action != ACTION_ANSWER:
            if guild and valid_action(button.action, button.value):
                items.append(ActionButton(button.action, guild, button.value, label=clip(button.label, BUTTON_LABEL),
                                          disabled=button.disabled))
            continue
        parsed = parse_answer_value(button.value)
        if parsed is None:
            continue
        post_id, letters = parsed
        items.append(AnswerButton(post_id, letters, label=clip(button.label, BUTTON_LABEL), disabled=button.disabled))
    if (not any(isinstance(i, AnswerButton | ActionSelect) for i in items) and message.choose > 1
            and message.options and message.post_id is not None and not message.answer_to):
        items.insert(0, AnswerSelect(message.post_id, options=options, choose=message.choose, placeholder=placeholder))
    if not items:
        return None
    view = discord.ui.View(timeout=None)
    for item in items:
        view.add_item(item)
    return view


def render(message: Message, *, guild: str | None = None) -> tuple[discord.Embed, discord.ui.View | None]:
    return embed_for(message), view_for(message, guild=guild)
