"""The daily loop of a channel, mixed into StudyService: the schedule (`/dva daily ...`), the
daily post and its discussion opener, the reveal (the post's face with the votes and late
buttons, and the explanation), and the weekly digest. The scheduler and the adapters call these
through the service; nothing here knows a platform.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import TYPE_CHECKING

from bot.core import texts
from bot.core.chart_data import channel_chart
from bot.core.daily import describe_ping, parse_ping, pick_daily
from bot.core.messages import ACTION_ANSWER, ACTION_REPORT, Button, Message, answer_value
from bot.core.models import ChannelRef, MemberRef, Question
from bot.core.ports import Post, Subscription
from bot.core.timeutil import (
    DAY_NAMES,
    SOON_REVEAL_MINUTES,
    UsageError,
    at_local,
    describe_days,
    local_date,
    parse_daily_on,
    period_start,
    reveal_day,
    reveal_gap,
    reveal_instant,
    zone,
)
from bot.core.words import and_list, plural

if TYPE_CHECKING:
    from bot.core.clock import Clock
    from bot.core.models import Bank
    from bot.core.ports import Store

# Open "wrong key" reports from this many members keep a question out of new daily posts.
DISPUTED_MEMBERS = 3


def mention(user: str) -> str:
    return f"<@{user}>"


class DailyLoop:
    """StudyService's daily-loop half (see the module docstring)."""

    # Provided by StudyService.
    bank: Bank
    store: Store
    clock: Clock
    admins: frozenset[str]

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
        if spec.explicit_reveal and gap < SOON_REVEAL_MINUTES:
            lines.append(texts.REVEAL_SOON.format(gap=plural(gap, "minute")))
        if spec.warning:
            lines.append(spec.warning)
        return Message(text="\n".join(lines), ephemeral=False)

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
        chart, _ = await channel_chart(self, channel, tz=tz, title="Weekly digest")
        return Message(title="Weekly digest", text="\n".join(lines), ephemeral=False, chart=chart)
