"""The /dva slash command group: typed options in, the core command text out.

Each callback only builds the text the core parses (`quiz lambda`, `daily on 09:00 Europe/Berlin`)
and hands it to the runner; autocomplete offers the taxonomy's topics and IANA time zones.
"""

from typing import Literal, Protocol
from zoneinfo import available_timezones

import discord
from discord import app_commands

from bot.core.models import Bank

MAX_CHOICES = 25
CHOICE_TEXT = 100
DAY_SUGGESTIONS = ("weekdays", "daily", "weekends", "mon,wed,fri", "tue,thu")
SCOPES = [
    app_commands.Choice(name="this channel", value="here"),
    app_commands.Choice(name="the whole server", value="workspace"),
]
Time = app_commands.Range[str, 4, 5]
Words = app_commands.Range[str, 1, 200]


class CommandRunner(Protocol):
    async def run_command(self, interaction: discord.Interaction, text: str, *, subscribing: bool = False) -> None:
        """Answer the interaction with the core's reply to `text`; `subscribing` marks `daily on`."""


def topic_choices(bank: Bank) -> list[tuple[str, str]]:
    """(label, value) pairs: services, then domains, then task statements."""
    tax = bank.taxonomy
    pairs = [(f"{slug}: {tax.services[slug]}", slug) for slug in sorted(tax.in_scope) if slug in tax.services]
    pairs += [(f"domain {d.id}: {d.name}", str(d.id)) for d in tax.domains]
    pairs += [(f"task {t.id}: {t.title}", t.id) for t in tax.tasks]
    return [(label[:CHOICE_TEXT], value[:CHOICE_TEXT]) for label, value in pairs]


def matching(pairs: list[tuple[str, str]], current: str) -> list[app_commands.Choice[str]]:
    needle = current.strip().lower()
    starts = [p for p in pairs if p[1].lower().startswith(needle)]
    contains = [p for p in pairs if needle in p[0].lower() and p not in starts]
    return [app_commands.Choice(name=label, value=value) for label, value in (starts + contains)[:MAX_CHOICES]]


def build_dva_group(runner: CommandRunner, *, bank: Bank) -> app_commands.Group:
    topics = topic_choices(bank)
    zones = [(z, z) for z in sorted(available_timezones()) if "/" in z or z == "UTC"]

    async def topic_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return matching(topics, current)

    async def zone_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return matching(zones, current)

    async def days_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        typed = [(current, current)] if current and current not in DAY_SUGGESTIONS else []
        return matching(typed + [(d, d) for d in DAY_SUGGESTIONS], current)

    dva = app_commands.Group(
        name="dva", description="AWS DVA-C02 practice: daily questions, quizzes, lookups, streaks", guild_only=True,
        allowed_contexts=app_commands.AppCommandContext(guild=True),
        allowed_installs=app_commands.AppInstallationType(guild=True),
    )

    @dva.command(name="help", description="What studybot can do")
    async def help_(interaction: discord.Interaction) -> None:
        await runner.run_command(interaction, "help")

    @dva.command(name="quiz", description="A practice question, privately")
    @app_commands.describe(topic="A service (lambda, dynamodb), a domain 1-4 or a task such as 2.1")
    @app_commands.autocomplete(topic=topic_autocomplete)
    async def quiz(interaction: discord.Interaction, topic: Words | None = None) -> None:
        await runner.run_command(interaction, f"quiz {topic or ''}".strip())

    @dva.command(name="scenario", description="The fix for a symptom, e.g. cors error, 504, cold start")
    @app_commands.describe(words="The symptom in a few words")
    async def scenario(interaction: discord.Interaction, words: Words) -> None:
        await runner.run_command(interaction, f"scenario {words}")

    @dva.command(name="fact", description="Exam numbers and rules, e.g. lambda timeout")
    @app_commands.describe(words="A service and what you want to know")
    async def fact(interaction: discord.Interaction, words: Words) -> None:
        await runner.run_command(interaction, f"fact {words}")

    @dva.command(name="streak", description="Your streak and freezes")
    async def streak(interaction: discord.Interaction) -> None:
        await runner.run_command(interaction, "streak")

    @dva.command(name="stats", description="Your points, streak and readiness by domain (in your DMs)")
    @app_commands.describe(
        scope="yours (default) or the group's in this channel", member="Another member's (Manage Server)",
    )
    async def stats(
        interaction: discord.Interaction, scope: Literal["mine", "group"] | None = None,
        member: discord.Member | None = None,
    ) -> None:
        if member is not None:
            await runner.run_command(interaction, f"stats <@{member.id}>")
        else:
            await runner.run_command(interaction, "stats group" if scope == "group" else "stats")

    review = app_commands.Group(name="review", description="Spaced review of the questions you missed", parent=dva)

    @review.command(name="next", description="The most overdue question you missed, in your DMs")
    async def review_next(interaction: discord.Interaction) -> None:
        await runner.run_command(interaction, "review")

    @review.command(name="remind", description="One DM a day when reviews are due (or off)")
    @app_commands.describe(state="on or off", time="HH:MM in your time zone (with on)")
    async def review_remind(
        interaction: discord.Interaction, state: Literal["on", "off"], time: Time | None = None,
    ) -> None:
        words = ["review", "remind", state] + ([time] if state == "on" and time else [])
        await runner.run_command(interaction, " ".join(words))

    # The mock exam (bot/core/exam.py) runs in the member's DMs; its navigation is buttons.
    @dva.command(name="exam", description="A timed mock exam in your DMs: full (65 questions) or short (20)")
    @app_commands.describe(action="full or short starts one; status, stop, history, report, review; empty: the choice")
    async def exam(
        interaction: discord.Interaction,
        action: Literal["full", "short", "status", "stop", "history", "report", "review"] | None = None,
    ) -> None:
        await runner.run_command(interaction, f"exam {action}" if action else "exam")

    @dva.command(name="leaderboard", description="The rankings; you always see your own")
    @app_commands.describe(period="Which points count (default: this week)", scope="Where (default: this channel)")
    @app_commands.choices(scope=SCOPES)
    async def leaderboard(
        interaction: discord.Interaction, period: Literal["week", "month", "all"] | None = None,
        scope: app_commands.Choice[str] | None = None,
    ) -> None:
        words = ["leaderboard"] + ([period] if period else []) + ([scope.value] if scope else [])
        await runner.run_command(interaction, " ".join(words))

    @dva.command(name="timezone", description="Your time zone for streak days (leave empty to see it)")
    @app_commands.describe(name="An IANA time zone such as Europe/Berlin")
    @app_commands.autocomplete(name=zone_autocomplete)
    async def timezone(interaction: discord.Interaction, name: app_commands.Range[str, 1, 64] | None = None) -> None:
        await runner.run_command(interaction, f"timezone {name or ''}".strip())

    # Discord ignores default permissions on subcommands, so `daily` cannot hide itself from members;
    # the core checks is_admin (Manage Server) on every change instead, and `status` is open to all.
    daily = app_commands.Group(name="daily", description="This channel's daily question", parent=dva)

    @daily.command(name="on", description="Schedule the daily question here (Manage Server)")
    @app_commands.describe(
        time="Post time, HH:MM", timezone="IANA time zone of that time", days="daily, weekdays or mon,wed,fri",
        reveal="Reveal time, HH:MM (default: 8 hours later)",
    )
    @app_commands.autocomplete(timezone=zone_autocomplete, days=days_autocomplete)
    async def daily_on(
        interaction: discord.Interaction, time: Time, timezone: app_commands.Range[str, 1, 64],
        days: app_commands.Range[str, 1, 40] | None = None, reveal: Time | None = None,
    ) -> None:
        words = ["daily", "on", time, timezone]
        if days:
            words.append(days.replace(" ", ""))
        if reveal:
            words += ["reveal", reveal]
        await runner.run_command(interaction, " ".join(words), subscribing=True)

    @daily.command(name="off", description="Stop the daily question here (Manage Server)")
    async def daily_off(interaction: discord.Interaction) -> None:
        await runner.run_command(interaction, "daily off")

    @daily.command(name="status", description="The schedule of this channel")
    async def daily_status(interaction: discord.Interaction) -> None:
        await runner.run_command(interaction, "daily status")

    @daily.command(name="digest", description="Turn the weekly digest on or off (Manage Server)")
    async def daily_digest(interaction: discord.Interaction, state: Literal["on", "off"]) -> None:
        await runner.run_command(interaction, f"daily digest {state}")

    @daily.command(name="ping", description="Whom the daily post notifies: a role, @here, or nobody (Manage Server)")
    @app_commands.describe(role="The role to mention", everyone_here="here: @here; off: nobody")
    async def daily_ping(
        interaction: discord.Interaction, role: discord.Role | None = None,
        everyone_here: Literal["here", "off"] | None = None,
    ) -> None:
        target = f"<@&{role.id}>" if role is not None else (everyone_here or "")
        await runner.run_command(interaction, f"daily ping {target}".strip())

    @dva.command(name="report", description="Report a question: wrong key, unclear, outdated or typo")
    @app_commands.describe(question="The question id (in the feedback and the reveal)", reason="What is wrong",
                           details="In your words")
    async def report(
        interaction: discord.Interaction, question: app_commands.Range[str, 1, 60],
        reason: Literal["wrong-key", "unclear", "outdated", "typo"], details: Words,
    ) -> None:
        await runner.run_command(interaction, f"report {question} {reason} {details}")

    @dva.command(name="reports", description="Open question reports; close them (Manage Server)")
    @app_commands.describe(close="A question id to close its reports", status="fixed or dismissed (with close)")
    async def reports(
        interaction: discord.Interaction, close: app_commands.Range[str, 1, 60] | None = None,
        status: Literal["fixed", "dismissed"] | None = None,
    ) -> None:
        words = ["reports"] + (["close", close, status or "fixed"] if close else [])
        await runner.run_command(interaction, " ".join(words))

    return dva
