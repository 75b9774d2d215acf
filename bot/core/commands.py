"""Parse the text after `/dva` into a command; bad input becomes a UsageError with one clear line."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core import texts
from bot.core.timeutil import UsageError
from bot.core.words import did_you_mean

MAX_COMMAND = 500
SUBCOMMANDS = (
    "help", "quiz", "scenario", "fact", "streak", "stats", "leaderboard", "timezone", "daily", "lookup",
    "review", "exam", "report", "reports",
)
PERIODS = ("week", "month", "all")
SCOPES = ("here", "workspace")


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    args: tuple[str, ...] = ()

    @property
    def rest(self) -> str:
        return " ".join(self.args)


def parse(text: str) -> Command:
    if len(text) > MAX_COMMAND:
        raise UsageError(texts.TOO_LONG.format(n=len(text), limit=MAX_COMMAND))
    # Control characters never belong in a command; treat them as spaces.
    cleaned = "".join(ch if ch.isprintable() else " " for ch in text)
    words = cleaned.split()
    if words and words[0].lower() in ("/dva", "dva"):
        words = words[1:]
    if not words:
        return Command("help")
    name = words[0].lower()
    if name not in SUBCOMMANDS:
        hint = did_you_mean(name, SUBCOMMANDS, example="/dva {}", cutoff=0.6)
        raise UsageError(texts.UNKNOWN_COMMAND.format(word=words[0][:30], hint=hint))
    return Command(name, tuple(words[1:]))


# Commands whose answer does not depend on who asks (no admin rights, no time zone).
PROFILE_FREE = frozenset({"help", "quiz", "scenario", "fact", "lookup", "exam"})


def needs_profile(text: str) -> bool:
    """Whether the command's answer depends on the member's platform profile (admin rights to
    change a schedule, the profile time zone for days and weeks). Adapters look the profile up
    only then, so lookups, help and quiz never wait for the platform."""
    try:
        command = parse(text)
    except UsageError:
        return False
    return command.name not in PROFILE_FREE


def parse_leaderboard(args: tuple[str, ...]) -> tuple[str, str]:
    period, scope = "week", "here"
    for a in args:
        a = a.lower()
        if a in PERIODS:
            period = a
        elif a in ("alltime", "all-time", "ever"):
            period = "all"
        elif a in SCOPES:
            scope = a
        elif a in ("channel", "group"):
            scope = "here"
        else:
            raise UsageError(texts.LEADERBOARD_USAGE)
    return period, scope
