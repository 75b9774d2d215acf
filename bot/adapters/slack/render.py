"""Block Kit rendering of core Messages, always within Slack's limits.

Slack rejects a whole message when one text object is over 3,000 characters, a button label over
75, or the message over 50 blocks; so long text is split over several sections here, labels are
shortened, and only absurdly long content is cut (with a visible mark), never rejected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.core.messages import Message

MAX_TEXT = 3000  # section text, context element
MAX_HEADER = 150  # header block text
MAX_LABEL = 75  # button text, option text
MAX_VALUE = 2000  # button value
MAX_OPTION_VALUE = 150  # checkbox option value
MAX_BLOCKS = 50
MAX_ACTION_ELEMENTS = 25
MAX_CHECKBOXES = 10
MAX_FALLBACK = 3000  # the top-level `text`: shown in notifications, kept short

# Interactive element ids. A button's action_id is "<core action>:<index>" (unique within its block);
# multiple response uses a checkbox group "pick" in block "pick:<post id>" and a "submit" button,
# or, for a message with `answer_to` (action, value), block "pick:<value>" and button "<action>:pick".
PICK_ACTION = "pick"
PICK_BLOCK = "pick:"
SUBMIT_ACTION = "submit"
GENERIC_SUBMIT = "pick"  # "<action>:pick": the Submit of a feature module's tick boxes
SHORTENED = "… (shortened: too long for one Slack message)"

# Slack's own markup inside mrkdwn text: user and channel mentions, special mentions.
_SLACK_TOKEN = re.compile(r"<(?:@[UW][A-Z0-9]+|#C[A-Z0-9]+(?:\|[^>]*)?|![a-z]+|!subteam\^[A-Z0-9]+)>")


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str  # the fallback shown in notifications and by old clients
    blocks: list[dict] = field(default_factory=list)


def escape(text: str) -> str:
    """Escape &, < and > for mrkdwn, keeping the core's <@user> mentions working."""
    out, pos = [], 0
    for match in _SLACK_TOKEN.finditer(text):
        out.append(_escape_plain(text[pos:match.start()]))
        out.append(match.group(0))
        pos = match.end()
    out.append(_escape_plain(text[pos:]))
    return "".join(out)


def _escape_plain(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return _safe_cut(text, limit - 1)[0].rstrip() + "…"


def _safe_cut(text: str, limit: int) -> tuple[str, str]:
    """Cut `text` at most `limit` characters in: at the last space if there is one, and never inside
    an escaped entity (&amp;) or a mention (<@U123>), which Slack would show broken."""
    if len(text) <= limit:
        return text, ""
    cut = text.rfind(" ", limit // 2, limit + 1)
    if cut <= 0:
        cut = limit
        amp = text.rfind("&", max(0, cut - 6), cut)
        if amp != -1 and ";" not in text[amp:cut]:
            cut = amp
        lt = text.rfind("<", max(0, cut - 40), cut)
        if lt > 0 and ">" not in text[lt:cut]:
            cut = lt
    return text[:cut], text[cut:].lstrip(" ")


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split mrkdwn into chunks of at most `limit` characters, on line breaks where possible."""
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            head, line = _safe_cut(line, limit)
            if current:
                chunks.append(current)
                current = ""
            chunks.append(head)
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) <= limit:
            current = candidate
        else:
            chunks.append(current)
            current = line
    if current.strip():
        chunks.append(current)
    return [c for c in chunks if c.strip()]


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _plain(text: str, limit: int) -> dict:
    return {"type": "plain_text", "text": truncate(text, limit) or " ", "emoji": True}


def render(message: Message) -> Rendered:
    """The Block Kit blocks and fallback text of a core message."""
    head: list[dict] = []
    ping = mention_token(message.mention)
    if ping:  # a mention in a section notifies (`/dva daily ping`); Slack shows it as @here or @group
        head.append(_section(ping))
    if message.title:
        head.append({"type": "header", "text": _plain(message.title, MAX_HEADER)})
    body: list[dict] = []
    for part in (
        escape(message.text),
        "\n".join(f"*{letter}.* {escape(text)}" for letter, text in message.options),
        "\n".join(escape(line) for line in message.lines),
    ):
        body += [_section(chunk) for chunk in split_text(part)]
    tail = _interactive(message)
    if message.footer:
        tail.append({"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(escape(message.footer), MAX_TEXT)}]})
    if not body and not tail:
        body.append(_section(escape(message.title) or " "))
    room = MAX_BLOCKS - len(head) - len(tail)
    if len(body) > room:
        body = body[:room]
        last = body[-1]["text"]["text"]
        body[-1] = _section(_safe_cut(last, MAX_TEXT - len(SHORTENED))[0] + SHORTENED)
    fallback = f"{message.title}: {message.text}" if message.title else message.text
    fallback = truncate(escape(fallback), MAX_FALLBACK - len(ping) - 1)
    return Rendered(text=f"{ping} {fallback}" if ping else fallback, blocks=head + body + tail)


def mention_token(mention: str) -> str:
    """Slack's markup for a core mention: 'here' -> <!here>, 'group:S123' -> <!subteam^S123>."""
    if mention == "here":
        return "<!here>"
    kind, _, ident = mention.partition(":")
    if kind == "group" and ident.isalnum():
        return f"<!subteam^{ident}>"
    return ""


def _interactive(message: Message) -> list[dict]:
    blocks: list[dict] = []
    # Slack buttons cannot be disabled: a disabled (closed) button is simply not shown.
    live = [b for b in message.buttons if not b.disabled]
    for start in range(0, len(live), MAX_ACTION_ELEMENTS):
        elements = [
            {
                "type": "button", "action_id": f"{b.action}:{start + i}", "text": _plain(b.label, MAX_LABEL),
                "value": b.value[:MAX_VALUE],
            }
            for i, b in enumerate(live[start:start + MAX_ACTION_ELEMENTS])
        ]
        blocks.append({"type": "actions", "block_id": f"buttons:{message.post_id}:{start}", "elements": elements})
    if message.choose > 1 and message.options and (message.post_id is not None or message.answer_to):
        options = [
            {"text": _plain(f"{letter}. {text}", MAX_LABEL), "value": letter[:MAX_OPTION_VALUE]}
            for letter, text in message.options[:MAX_CHECKBOXES]
        ]
        if message.answer_to:
            # A feature module's question (the exam): Submit goes to its action with the ticks.
            action, value = message.answer_to
            block_id, submit = f"{PICK_BLOCK}{value}", {"action_id": f"{action}:{GENERIC_SUBMIT}", "value": value}
        else:
            block_id, submit = f"{PICK_BLOCK}{message.post_id}", {"action_id": SUBMIT_ACTION, "value": str(message.post_id)}
        blocks.append({
            "type": "actions", "block_id": block_id,
            "elements": [
                {"type": "checkboxes", "action_id": PICK_ACTION, "options": options},
                {"type": "button", "style": "primary", "text": _plain("Submit", MAX_LABEL), **submit},
            ],
        })
    return blocks


def ticked_letters(state_values: dict, key: str) -> str:
    """The letters ticked in the tick-box block `pick:<key>` of a block_actions payload."""
    picked = (state_values.get(f"{PICK_BLOCK}{key}") or {}).get(PICK_ACTION) or {}
    return "".join(str(opt.get("value", "")) for opt in picked.get("selected_options") or [])


def picked_letters(state_values: dict, post_id: int) -> str:
    """The letters ticked in a multiple-response post, from a block_actions payload's state values."""
    return ticked_letters(state_values, str(post_id))
