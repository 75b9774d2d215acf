"""The study service: the one entry point adapters call. Commands in, platform-neutral messages out.

Adapters translate a platform event into `handle_command`, `answer`, `post_daily` or `reveal`
and render the returned `Message`. No platform, database or scheduler code lives here.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING

from bot.core import texts
from bot.core.clock import Clock
from bot.core.commands import Command, parse, parse_leaderboard
from bot.core.daily_loop import DailyLoop, mention
from bot.core.grading import grade, parse_choice
from bot.core.lookup import Hit, LookupIndex
from bot.core.messages import ACTION_ANSWER, Button, Message, answer_value, valid_action
from bot.core.models import Bank, ChannelRef, MemberRef, Question
from bot.core.ports import AnswerIn, Post, Store, StoreError, Subscription
from bot.core.streaks import Streak, compute_streak
from bot.core.timeutil import (
    UsageError,
    canonical_zone,
    period_key,
    period_start,
    streak_day,
    zone,
)
from bot.core.words import and_list, did_you_mean, plural

if TYPE_CHECKING:
    from bot.core.practice import Practice
    from bot.core.reports import Reports

log = logging.getLogger(__name__)
LEADERBOARD_SIZE = 10
MEDALS = {1: "🥇", 2: "🥈", 3: "🥉"}

SubscriptionListener = Callable[[Subscription], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Request:
    """Who asks and where: what a command or action handler of a feature module receives."""

    member: MemberRef
    channel: ChannelRef
    is_admin: bool = False


# A feature module's handlers: `/dva <name> args...` and button actions (see messages.ACTION_*).
CommandHandler = Callable[[Request, tuple[str, ...]], Awaitable[Message]]
ActionHandler = Callable[[Request, str, str], Awaitable[Message]]  # (request, value, picked letters)


@dataclass(frozen=True, slots=True)
class AnswerRecorded:
    """Emitted after an answer is durably stored."""

    member: MemberRef
    post_id: int
    correct: bool
    points: int
    practice: bool


class StudyService(DailyLoop):
    def __init__(
        self, *, bank: Bank, store: Store, clock: Clock, lookup: LookupIndex | None = None,
        admins: frozenset[str] = frozenset(),
    ) -> None:
        self.bank = bank
        self.store = store
        self.clock = clock
        self.lookup = lookup or LookupIndex(bank)
        self.admins = admins
        self._subscription_listeners: list[SubscriptionListener] = []
        self._answer_listeners: list[Callable[[AnswerRecorded], Awaitable[None]]] = []
        self._commands: dict[str, CommandHandler] = {}
        self._actions: dict[str, ActionHandler] = {}
        self.practice: Practice | None = None  # set by bot/core/practice.py's install
        self.reports: Reports | None = None  # set by bot/core/reports.py's install
        from bot.core import features

        features.install(self)

    # ----- feature modules (practice, exam) plug in their commands and button actions -------
    def register_command(self, name: str, handler: CommandHandler) -> None:
        self._commands[name] = handler

    async def run_feature_command(self, req: Request, name: str, args: tuple[str, ...] = ()) -> Message:
        """A feature module's command on behalf of a button (the App Home's Mock exam)."""
        handler = self._commands.get(name)
        return await handler(req, args) if handler else Message(text=texts.EXPIRED)

    def register_action(self, action: str, handler: ActionHandler) -> None:
        self._actions[action] = handler

    async def handle_action(
        self, *, member: MemberRef, channel: ChannelRef, action: str, value: str, picked: str = "",
        is_admin: bool = False,
    ) -> Message:
        """A click on a button of a feature module (anything but an answer to a post)."""
        handler = self._actions.get(action)
        if handler is None or not valid_action(action, value) or len(picked) > 40:
            return Message(text=texts.EXPIRED)
        try:
            return await handler(Request(member, channel, is_admin), value, picked)
        except UsageError as exc:
            return Message(text=str(exc))
        except StoreError:
            log.exception("store failure on action", extra={"channel": channel.channel})
            return Message(text=texts.NOT_RECORDED)

    # ----- events -------------------------------------------------------------------------
    def on_subscription_changed(self, listener: SubscriptionListener) -> None:
        self._subscription_listeners.append(listener)

    def on_answer(self, listener: Callable[[AnswerRecorded], Awaitable[None]]) -> None:
        self._answer_listeners.append(listener)

    # ----- commands -----------------------------------------------------------------------
    async def handle_command(
        self, *, member: MemberRef, channel: ChannelRef, text: str, is_admin: bool = False
    ) -> Message:
        try:
            command = parse(text)
            return await self._dispatch(command, member=member, channel=channel, is_admin=is_admin)
        except UsageError as exc:
            return Message(text=str(exc))
        except StoreError:
            log.exception("store failure on command", extra={"channel": channel.channel})
            return Message(text="studybot could not reach its database; please try again in a moment.")

    async def _dispatch(self, cmd: Command, *, member: MemberRef, channel: ChannelRef, is_admin: bool) -> Message:
        handler = self._commands.get(cmd.name)
        if handler is not None:
            return await handler(Request(member, channel, is_admin), cmd.args)
        match cmd.name:
            case "help":
                return Message(text=texts.help_text(channel.platform))
            case "scenario" | "fact" | "lookup":
                kind = None if cmd.name == "lookup" else cmd.name
                return self.lookup_message(cmd.rest, kind=kind)
            case "streak":
                return await self.streak_message(member=member, channel=channel)
            case "leaderboard":
                period, scope = parse_leaderboard(cmd.args)
                return await self.leaderboard_message(member=member, channel=channel, period=period, scope=scope)
            case "timezone":
                return await self.timezone_command(member=member, channel=channel, args=cmd.args)
            case "daily":
                return await self.daily_command(channel=channel, args=cmd.args, is_admin=is_admin, member=member)
        raise UsageError(texts.HELP)  # pragma: no cover - parse() only returns known names

    async def home(self, member: MemberRef) -> Message:
        """The member's home screen (Slack's App Home): see bot/core/practice.py."""
        assert self.practice is not None
        return await self.practice.home(member)

    # ----- lookups ------------------------------------------------------------------------
    def search(self, query: str, *, kind: str | None = None, limit: int = 5) -> list[Hit]:
        return self.lookup.search(query, kind=kind, limit=limit)

    def lookup_message(self, query: str, *, kind: str | None) -> Message:
        if not query.strip():
            example = {"scenario": "cors error", "fact": "lambda timeout"}.get(kind or "", "dynamodb ttl")
            return Message(text=texts.EMPTY_LOOKUP.format(kind=kind or "lookup", example=example))
        hits = self.search(query, kind=kind, limit=3)
        if not hits:
            return Message(text=texts.NO_MATCH.format(query=query[:80]))
        lines = []
        for hit in hits:
            if hit.kind == "scenario":
                sc = next(s for s in self.bank.scenarios if s.id == hit.id)
                lines.append(f"*{sc.situation}*\n→ {sc.solution}\n_{sc.why}_\n{sc.references[0]}")
            elif hit.kind == "fact":
                f = next(x for x in self.bank.facts if x.id == hit.id)
                lines.append(f"*{f.value} {f.unit}*: {f.statement}\n{f.references[0]}")
            else:
                q = self.bank.by_id[hit.id]
                lines.append(f"*Question {q.id}*: {q.stem[:200]}… Try it with `/dva quiz {q.services[0]}`.")
        title = {"scenario": "Scenarios", "fact": "Exam facts"}.get(kind or "", "Lookup")
        return Message(title=f"{title}: {query[:80]}", text="\n\n".join(lines))

    # ----- questions ----------------------------------------------------------------------
    def topic_questions(self, topic: str) -> list[Question]:
        """The servable questions of a topic: a domain 1-4, a task such as 2.1, or a service."""
        t = topic.strip().lower().removeprefix("domain").strip()
        qs = self.bank.practice_questions
        if not t:
            return list(qs)
        if t in {"1", "2", "3", "4"} or any(task.id == t for task in self.bank.taxonomy.tasks):
            # A domain or task whose questions are all retired has nothing to serve.
            found = [q for q in qs if (q.domain == int(t) if len(t) == 1 else q.task == t)]
            if not found:
                raise UsageError(texts.NO_QUESTION_FOR_TOPIC.format(topic=topic.strip()[:40]))
            return found
        slugs = self.bank.taxonomy.services
        wanted = {s for s in slugs if s == t or s.replace("-", "") == t.replace("-", "").replace(" ", "")}
        if not wanted:
            wanted = {s for s in slugs if s.startswith(t) and len(t) >= 3}
        if not wanted:
            wanted = {s for s, name in slugs.items() if t in name.lower() and len(t) >= 3}
        if not wanted:
            hint = did_you_mean(t, slugs, example="/dva quiz {}", cutoff=0.7)
            raise UsageError(texts.UNKNOWN_TOPIC.format(topic=topic.strip()[:40], hint=hint))
        found = [q for q in qs if wanted & set(q.services)]
        if not found:
            raise UsageError(texts.NO_QUESTION_FOR_TOPIC.format(topic=topic.strip()[:40]))
        return found

    def question_message(self, question: Question, post: Post, *, title: str, ephemeral: bool) -> Message:
        n = len(question.key)
        stem = question.stem
        buttons = () if n > 1 else tuple(
            Button(label=letter, action=ACTION_ANSWER, value=answer_value(post.id, letter))
            for letter in question.letters
        )
        footer = texts.PICK_N.format(n=n) if n > 1 else texts.ANSWER_WITH_BUTTONS
        return Message(
            title=title, text=stem, options=question.options, buttons=buttons, choose=n, post_id=post.id,
            ephemeral=ephemeral, footer=footer,
        )

    def task_title(self, task_id: str) -> str:
        return next((t.title for t in self.bank.taxonomy.tasks if t.id == task_id), "")

    async def has_own_timezone(self, member: MemberRef) -> bool:
        """True when the member's own time zone is stored (set by them, or adopted from their
        platform profile on an earlier answer): a platform time zone would not be used."""
        return bool(await self.store.get_member_timezone(member))

    async def member_timezone(self, member: MemberRef, channel: ChannelRef | None) -> tuple[str, str]:
        """(tz, source): the member's own, else the channel schedule's, else UTC."""
        own = await self.store.get_member_timezone(member)
        if own:
            return own, "your setting"
        if channel is not None:
            sub = await self.store.get_subscription(channel)
            if sub:
                return sub.timezone, "this channel's schedule"
        return "UTC", "the default"

    async def answer(
        self, *, member: MemberRef, post_id: int, raw_choice: str, platform_tz: str | None = None,
    ) -> Message:
        """Grade and record a click on a post. `platform_tz`: the member's profile time zone, used
        (and stored with the answer) when they never set one of their own."""
        post = await self.store.get_post(post_id)
        question = self.bank.question(post.question_id) if post else None
        if post is None or question is None:
            return Message(text=texts.EXPIRED)
        if post.channel.platform != member.platform or post.channel.workspace != member.workspace:
            return Message(text=texts.EXPIRED)
        try:
            choice = parse_choice(question, raw_choice)
        except UsageError as exc:
            return Message(text=str(exc))
        now = self.clock.now()
        tz, source = await self.member_timezone(member, post.channel)
        adopt = None
        if platform_tz and source != "your setting":
            try:
                zone(platform_tz)
                tz = adopt = platform_tz
            except UsageError:
                pass
        day = streak_day(now, tz).isoformat()
        practice = post.kind != "daily" or post.revealed_at is not None
        practice_today = await self.store.practice_points_on(member, day) if practice else 0
        g = grade(question, choice, practice=practice, practice_today=practice_today)
        try:
            outcome = await self.store.record_answer(
                AnswerIn(
                    post_id=post.id, member=member, channel=post.channel, choice=choice, correct=g.correct,
                    points=g.points, practice=practice, answered_at=now.timestamp(), local_day=day,
                    question_id=question.id, timezone=adopt,
                )
            )
        except StoreError:
            log.exception("answer not recorded", extra={"channel": post.channel.channel})
            return Message(text=texts.NOT_RECORDED)
        if not outcome.recorded:
            return Message(text=texts.ALREADY.format(choice=", ".join(outcome.choice)))
        event = AnswerRecorded(member=member, post_id=post.id, correct=g.correct, points=g.points, practice=practice)
        for listener in self._answer_listeners:
            await listener(event)
        streak = await self.streak(member, tz, days=outcome.days)
        key = and_list(sorted(question.key))
        head = texts.RIGHT.format(key=key, verb="are" if len(question.key) > 1 else "is") if g.correct else (
            texts.WRONG.format(choice=and_list(choice), key=key)
        )
        lines = [head]
        if practice and post.kind == "daily":
            lines.append(texts.AFTER_REVEAL)
        lines.append(question.explanation)
        lines += [f"{letter}: {why}" for letter, why in question.wrong]
        lines.append(f"Read more: {question.references[0]}")
        freezes = f", {plural(streak.freezes, 'freeze')} held" if streak.freezes else ""
        days = plural(streak.current, "day")
        if g.points:
            lines.append(texts.EARNED.format(
                points=plural(g.points, "point"), practice=" (practice)" if practice else "", streak=days,
                freezes=freezes,
            ))
        else:  # no "+0 points" line after a wrong practice answer
            lines.append(texts.STREAK_ONLY.format(streak=days, freezes=freezes))
        message = Message(text="\n".join(lines), post_id=post.id, buttons=(self.report_button(question),),
                          tone="right" if g.correct else "wrong")
        if self.practice is not None:
            message = await self.practice.after_answer(member, post, outcome, message)
        return message

    # ----- streaks, stats, leaderboards ---------------------------------------------------
    async def streak(self, member: MemberRef, tz: str, *, days: tuple[str, ...] | None = None) -> Streak:
        """The member's streak; `days` when the caller already holds their streak days."""
        listed = days if days is not None else await self.store.member_days(member)
        return compute_streak([date.fromisoformat(d) for d in listed], streak_day(self.clock.now(), tz))

    async def streak_message(self, *, member: MemberRef, channel: ChannelRef) -> Message:
        tz, _ = await self.member_timezone(member, channel)
        s = await self.streak(member, tz)
        today = "you have answered today" if s.active_today else "answer a question today to keep it"
        return Message(
            title="Your streak",
            text=f"Current streak: *{plural(s.current, 'day')}* ({today}). Best: {plural(s.best, 'day')}. "
            f"Freezes held: {s.freezes}/2.\n"
            f"Days run from 04:00 to 04:00 in {tz}.",
        )

    async def leaderboard_message(
        self, *, member: MemberRef, channel: ChannelRef, period: str, scope: str
    ) -> Message:
        tz, _ = await self.member_timezone(member, channel)
        start = period_start(self.clock.now(), period, tz)
        since = start.timestamp() if start else None
        # Answers count in the period of their streak day; so does the asker's "this week".
        key = period_key(streak_day(self.clock.now(), tz), period)
        chan = channel.channel if scope == "here" else None
        top = await self.store.leaderboard(
            platform=channel.platform, workspace=channel.workspace, channel=chan, since=since, limit=LEADERBOARD_SIZE,
            period=key,
        )
        label = {"week": "this week", "month": "this month", "all": "all time"}[period]
        where = "this channel" if scope == "here" else "the workspace"
        if not top:
            return Message(title=f"Leaderboard, {where}, {label}", text="No points yet. Answer a question to get on the board!")
        lines = [
            f"{MEDALS.get(r.rank, f'{r.rank}.')} {mention(r.user)}{' (you)' if r.user == member.user else ''}: "
            f"{plural(r.points, 'point')}"
            for r in top
        ]
        if all(r.user != member.user for r in top):
            mine = await self.store.rank_of(member=member, channel=chan, since=since, period=key)
            lines.append(f"…\n{mine.rank}. {mention(member.user)} (you): {plural(mine.points, 'point')}" if mine
                         else "You have no points here yet.")
        return Message(title=f"Leaderboard, {where}, {label}", text="\n".join(lines))

    # ----- settings -----------------------------------------------------------------------
    async def timezone_command(self, *, member: MemberRef, channel: ChannelRef, args: tuple[str, ...]) -> Message:
        if not args:
            tz, source = await self.member_timezone(member, channel)
            return Message(text=texts.TIMEZONE_IS.format(tz=tz, source=f" ({source})"))
        if len(args) != 1:
            raise UsageError(texts.TIMEZONE_USAGE)
        tz, warning = canonical_zone(args[0])
        await self.store.set_member_timezone(member, tz)
        return Message(text="\n".join(filter(None, [texts.TIMEZONE_SET.format(tz=tz), warning])))

    async def remember_platform_timezone(self, member: MemberRef, tz: str | None) -> None:
        """Adopt the member's platform profile time zone when they never set one themselves."""
        if not tz or await self.store.get_member_timezone(member):
            return
        try:
            zone(tz)
        except UsageError:
            return
        await self.store.set_member_timezone(member, tz)

    async def subscription_failed(self, channel: ChannelRef, reason: str) -> None:
        """Record that the channel cannot receive posts (bot not invited, permission missing):
        the schedule stays saved but inactive, with the reason shown in `/dva daily status`."""
        sub = await self.store.get_subscription(channel)
        if sub is None:
            return
        await self._save_subscription(replace(sub, active=False, last_error=reason[:300]))

    async def _save_subscription(self, sub: Subscription) -> None:
        await self.store.put_subscription(sub)
        for listener in self._subscription_listeners:
            await listener(sub)
