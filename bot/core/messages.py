"""Platform-neutral messages: what the core says; each adapter renders it (Block Kit, embed, terminal).

Text uses light markup only: *bold*, `code`, and newlines. Adapters translate it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Action ids carried by buttons. Adapters encode (action, value) in their own custom-id formats.
ACTION_ANSWER = "answer"  # value: "<post_id>:<letters>"


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
        return "\n".join(parts)


def answer_value(post_id: int, letters: str) -> str:
    return f"{post_id}:{letters}"


def parse_answer_value(value: str) -> tuple[int, str] | None:
    post, _, letters = value.partition(":")
    if not post.isdigit() or not letters or len(value) > 40:
        return None
    return int(post), letters
