"""The study service: the one entry point adapters call. Commands in, platform-neutral messages out.

Adapters translate a platform event into `handle_command`, `answer`, `post_daily` or `reveal`
and render the returned `Message`. No platform, database or scheduler code lives here.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING

from bot.core import texts
from bot.core.clock import Clock
from bot.core.commands import Command, parse, parse_leaderboard
from bot.core.daily import pick_daily
from bot.core.grading import grade, parse_choice
from bot.core.lookup import Hit, LookupIndex
from bot.core.messages import ACTION_ANSWER, ACTION_REPORT, Button, Message, answer_value, valid_action
from bot.core.models import Bank, ChannelRef, MemberRef, Question
from bot.core.ports import AnswerIn, Post, Store, StoreError, Subscription
from bot.core.streaks import Streak, compute_streak
from bot.core.timeutil import (
    DAY_NAMES,
    UsageError,
    at_local,
    canonical_zone,
    describe_days,
    local_date,
    parse_daily_on,
    period_key,
    period_start,
    reveal_day,
    reveal_gap,
    reveal_instant,
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
# Open "wrong key" reports from this many members keep a question out of new daily posts.
DISPUTED_MEMBERS = 3

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


def mention(user: str) -> str:
    return f"<@{user}>"


class StudyService:
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

    async def answer(self, *, member: MemberRef, post_id: int, raw_choice: str) -> Message:
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
        tz, _ = await self.member_timezone(member, post.channel)
        day = streak_day(now, tz).isoformat()
        practice = post.kind != "daily" or post.revealed_at is not None
        practice_today = await self.store.practice_points_on(member, day) if practice else 0
        g = grade(question, choice, practice=practice, practice_today=practice_today)
        try:
            outcome = await self.store.record_answer(
                AnswerIn(
                    post_id=post.id, member=member, channel=post.channel, choice=choice, correct=g.correct,
                    points=g.points, practice=practice, answered_at=now.timestamp(), local_day=day,
                    question_id=question.id,
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

    async def daily_command(
        self, *, channel: ChannelRef, args: tuple[str, ...], is_admin: bool, member: MemberRef
    ) -> Message:
        action = args[0].lower() if args else "status"
        if action == "status":
            return await self.daily_status(channel)
        if action not in ("on", "off", "digest", "ping"):
            raise UsageError(texts.DAILY_USAGE)
        if not (is_admin or member.user in self.admins):
            who = texts.ADMINS_BY_PLATFORM.get(channel.platform, "admins")
            return Message(text=texts.ADMIN_ONLY.format(who=f"{who} and the members listed in STUDYBOT_ADMINS"))
        current = await self.store.get_subscription(channel)
        if action == "off":
            if current is None or not current.active:
                return Message(text=texts.NO_DAILY_HERE)
            sub = replace(current, active=False)
            await self._save_subscription(sub)
            return Message(text=texts.DAILY_OFF, ephemeral=False)
        if action == "digest":
            if current is None or len(args) != 2 or args[1].lower() not in ("on", "off"):
                raise UsageError("Usage: `/dva daily digest on|off` (after `/dva daily on ...`).")
            await self._save_subscription(replace(current, digest=args[1].lower() == "on"))
            return Message(text=f"Weekly digest {args[1].lower()}.")
        if action == "ping":
            if current is None:
                return Message(text=texts.NO_DAILY_HERE)
            ping = parse_ping(args[1:])
            await self._save_subscription(replace(current, ping=ping))
            if ping is None:
                return Message(text=texts.DAILY_PING_OFF)
            return Message(text=texts.DAILY_PING_SET.format(who=describe_ping(ping)))
        spec = parse_daily_on(list(args[1:]))
        sub = Subscription(
            channel=channel, time=spec.time, timezone=spec.timezone, days=spec.days, reveal=spec.reveal,
            active=True, digest=current.digest if current else True, last_error=None,
            ping=current.ping if current else None,
        )
        await self._save_subscription(sub)
        lines = [texts.DAILY_SET.format(
            time=sub.time, tz=sub.timezone, days=describe_days(sub.days), reveal=sub.reveal,
            next_day=" the next day" if reveal_day(date.min, sub.time, sub.reveal) != date.min else "",
        )]
        gap = reveal_gap(sub.time, sub.reveal)
        if spec.explicit_reveal and gap < 60:
            lines.append(texts.REVEAL_SOON.format(gap=plural(gap, "minute")))
        if spec.warning:
            lines.append(spec.warning)
        return Message(text="\n".join(lines), ephemeral=False)

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

    async def daily_status(self, channel: ChannelRef) -> Message:
        sub = await self.store.get_subscription(channel)
        if sub is None:
            return Message(text=texts.NO_DAILY_HERE)
        error = f"\nLast problem: {sub.last_error}" if sub.last_error else ""
        upcoming = ""
        if sub.active:
            post_at = self.next_post_at(sub)
            if post_at is not None:
                tz = zone(sub.timezone)
                reveal_at = reveal_instant(post_at.astimezone(tz).date(), sub.time, sub.reveal, sub.timezone)
                fmt = "%a %d %b %H:%M"
                upcoming = texts.DAILY_NEXT.format(
                    post=post_at.astimezone(tz).strftime(fmt), reveal=reveal_at.astimezone(tz).strftime(fmt),
                    tz=sub.timezone,
                )
        return Message(text=texts.DAILY_STATUS.format(
            state="on" if sub.active else "off (paused)", time=sub.time, tz=sub.timezone,
            days=describe_days(sub.days), reveal=sub.reveal,
            next_day=" the next day" if reveal_day(date.min, sub.time, sub.reveal) != date.min else "",
            next=upcoming, digest="on" if sub.digest else "off",
            ping=describe_ping(sub.ping) if sub.ping else "off", error=error,
        ))

    def next_post_at(self, sub: Subscription):
        """The instant of the channel's next scheduled post after now (None without a post day)."""
        now = self.clock.now()
        today = local_date(now, sub.timezone)
        for ahead in range(8):
            day = today + timedelta(days=ahead)
            if DAY_NAMES[day.weekday()] in sub.days.split(","):
                at = at_local(day, sub.time, sub.timezone)
                if at > now:
                    return at
        return None

    # ----- daily posts and reveals (driven by the scheduler or the console) ---------------
    async def claim_daily(self, channel: ChannelRef, tz: str, *, day: date | None = None) -> tuple[Post, bool]:
        """Claim the channel's daily post of a local date (default today); created is False when it
        already exists. Questions with open "wrong key" reports from several members are skipped."""
        today = day or local_date(self.clock.now(), tz)
        existing = await self.store.get_daily(channel, today.isoformat())
        if existing:
            return existing, False
        history = await self.store.daily_history(channel)
        disputed = await self.store.disputed_questions(reason="wrong-key", min_members=DISPUTED_MEMBERS)
        question = pick_daily(self.bank, channel, today, history, exclude=frozenset(disputed))
        return await self.store.claim_daily(
            channel=channel, local_date=today.isoformat(), question_id=question.id,
            created_at=self.clock.now().timestamp(),
        )

    def daily_message(
        self, post: Post, *, answered: int | None = None, ping: str | None = None, reveal_at: str | None = None,
    ) -> Message:
        question = self.bank.question(post.question_id)
        if question is None:
            return Message(text=texts.EXPIRED, ephemeral=False)
        title = f"Daily question, {post.local_date}: {question.task} {self.task_title(question.task)}"
        msg = self.question_message(question, post, title=title, ephemeral=False)
        if reveal_at:
            msg = replace(msg, footer=f"{msg.footer} The answer is revealed at {reveal_at}.")
        if answered is not None:
            msg = replace(msg, footer=f"{msg.footer} {answered} answered so far.")
        if ping:
            msg = replace(msg, mention=ping)
        return msg

    def discussion_message(self, sub: Subscription, post: Post) -> Message:
        """The first reply under a daily post (a Discord thread's name is the title): where to discuss it."""
        return Message(title=f"Daily question {post.local_date}", text=texts.DISCUSS.format(reveal=sub.reveal),
                       ephemeral=False)

    async def daily_view(self, post_id: int) -> tuple[Post, Message] | None:
        """The current face of a daily post: the question with its live answered count, or the
        reveal once revealed. None for an unknown post. Adapters use it to refresh the post."""
        post = await self.store.get_post(post_id)
        if post is None or post.kind != "daily":
            return None
        if post.revealed_at is not None:
            return post, await self.reveal_message(post)
        sub = await self.store.get_subscription(post.channel)
        return post, self.daily_message(
            post, answered=await self.store.answered_count(post.id), ping=sub.ping if sub else None,
            reveal_at=self.reveal_label(sub, post) if sub else None,
        )

    def reveal_label(self, sub: Subscription, post: Post) -> str | None:
        """When the post is revealed, as the channel reads it: '17:00', or '07:59 tomorrow'."""
        if not post.local_date:
            return None
        day = date.fromisoformat(post.local_date)
        at = reveal_instant(day, sub.time, sub.reveal, sub.timezone).astimezone(zone(sub.timezone))
        return at.strftime("%H:%M") + (" tomorrow" if at.date() != day else "")

    async def reveal(self, post_id: int) -> tuple[Message, Message] | None:
        """Reveal a post once: (the post's new face, the explanation to reply under it); None
        when it was revealed already (by this or another process)."""
        post = await self.store.get_post(post_id)
        if post is None or not await self.store.mark_revealed(post_id, self.clock.now().timestamp()):
            return None
        return await self.reveal_message(post), self.reveal_reply(post)

    async def reveal_message(self, post: Post) -> Message:
        """The revealed post: stem, options, each option's share of the votes and the key. The
        answer buttons stay (labelled late): a late answer is graded as practice, privately."""
        question = self.bank.question(post.question_id)
        if question is None:
            return Message(text=texts.EXPIRED, ephemeral=False)
        counts = await self.store.answer_counts(post.id)
        total = sum(counts.values())
        per_letter = {letter: 0 for letter in question.letters}
        for choice, n in counts.items():
            for letter in choice:
                if letter in per_letter:
                    per_letter[letter] += n
        right = sum(n for choice, n in counts.items() if set(choice) == set(question.key))
        shares = []
        for letter in question.letters:
            pct = 100 * per_letter[letter] / total if total else 0
            mark = "✅" if letter in question.key else "▫️"
            shares.append(f"{mark} {letter}: {plural(per_letter[letter], 'vote')} ({pct:.0f} %)")
        buttons = tuple(
            Button(label=texts.LATE_LABEL.format(letter=letter), action=ACTION_ANSWER,
                   value=answer_value(post.id, letter))
            for letter in question.letters
        ) if len(question.key) == 1 else ()
        return Message(
            title=f"Revealed: daily question {post.local_date}", text=question.stem, options=question.options,
            lines=tuple(shares),
            footer=texts.REVEALED_FOOTER.format(key=and_list(sorted(question.key)), right=right, total=total),
            ephemeral=False, post_id=post.id, buttons=(*buttons, self.report_button(question)),
            choose=len(question.key),
        )

    def reveal_reply(self, post: Post) -> Message:
        question = self.bank.question(post.question_id)
        if question is None:
            return Message(text=texts.EXPIRED, ephemeral=False)
        body = [f"*The answer is {and_list(sorted(question.key))}.* {question.explanation}"]
        body += [f"{letter}: {why}" for letter, why in question.wrong]
        body.append(f"Read more: {question.references[0]}")
        return Message(title="Why", text="\n".join(body), ephemeral=False, post_id=post.id,
                       buttons=(self.report_button(question),))

    @staticmethod
    def report_button(question: Question) -> Button:
        return Button(label="Report", action=ACTION_REPORT, value=question.id)

    async def weekly_digest(self, channel: ChannelRef, tz: str) -> Message | None:
        """Last week's top 5 of the channel and the longest current streaks; None if nobody played."""
        now = self.clock.now()
        this_week = period_start(now, "week", tz)
        last_week = this_week - timedelta(days=7)
        top = await self.store.leaderboard(
            platform=channel.platform, workspace=channel.workspace, channel=channel.channel,
            since=last_week.timestamp(), until=this_week.timestamp(), limit=5,
        )
        users = await self.store.channel_members(channel, since=(now - timedelta(days=14)).timestamp())
        streaks = []
        for user in users:
            m = MemberRef(channel.platform, channel.workspace, user)
            mtz, _ = await self.member_timezone(m, channel)
            s = await self.streak(m, mtz)
            if s.current > 0:
                streaks.append((s.current, user))
        streaks.sort(key=lambda x: (-x[0], x[1]))
        if not top and not streaks:
            return None
        lines = ["*Last week's top 5*"] + [f"{r.rank}. {mention(r.user)}: {r.points}" for r in top]
        if not top:
            lines.append("Nobody scored last week.")
        lines.append("*Longest current streaks*")
        lines += [f"{mention(user)}: {n} day(s)" for n, user in streaks[:5]] or ["No streaks yet."]
        return Message(title="Weekly digest", text="\n".join(lines), ephemeral=False)


def parse_ping(args: tuple[str, ...]) -> str | None:
    """`<@&role>` (Discord), `<!subteam^ID|@name>` (Slack), `here`/`@here`, or `off` -> the stored
    ping ('role:<id>', 'group:<id>', 'here') or None; UsageError for anything else."""
    if len(args) != 1:
        raise UsageError(texts.DAILY_PING_USAGE)
    word = args[0].strip()
    low = word.lower()
    if low in ("off", "none", "no"):
        return None
    if low in ("here", "@here", "<!here>", "<!here|here>", "<!here|@here>"):
        return "here"
    m = re.fullmatch(r"<@&(\d{1,20})>", word)
    if m:
        return f"role:{m.group(1)}"
    m = re.fullmatch(r"<!subteam\^([A-Z0-9]{2,20})(?:\|[^>]*)?>", word)
    if m:
        return f"group:{m.group(1)}"
    raise UsageError(texts.DAILY_PING_USAGE)


def describe_ping(ping: str) -> str:
    if ping == "here":
        return "@here"
    kind, _, ident = ping.partition(":")
    return f"<@&{ident}>" if kind == "role" else f"<!subteam^{ident}>"
