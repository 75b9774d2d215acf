"""Practice that learns: `/dva review` (spaced review of the member's cards), `/dva quiz` without
repeats and biased to the weakest task, `/dva stats` with readiness, and review reminders.

Registered into StudyService by `install`; every message here is part of the member's private
session (`Message.private`), which adapters deliver in the member's DM with the bot.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from bot.core import texts
from bot.core.chart_data import channel_chart, member_chart
from bot.core.messages import ACTION_NEXT, ACTION_OPEN, VALUE_RE, Button, Message
from bot.core.models import MemberRef, Question
from bot.core.ports import AnswerOutcome, Post
from bot.core.readiness import RECENT_DAYS, Readiness, pct, readiness, summary, table, weakest_tasks
from bot.core.review import CardState, describe_interval, due_label
from bot.core.streaks import Streak
from bot.core.timeutil import UsageError, local_date, parse_hhmm, zone

if TYPE_CHECKING:
    from bot.core.service import Request, StudyService

log = logging.getLogger(__name__)
SERVED_MEMORY = 2000  # how many of a member's latest practice posts a quiz looks back on
DUE_PAGE = 100
REVIEW = "review"
QUIZ = "quiz"
_MENTION = re.compile(r"^<@!?([A-Za-z0-9]+)(?:\|[^>]*)?>$")


def quiz_mode(topic: str) -> str:
    """The mode a quiz post remembers, so Next keeps the topic: 'quiz:<topic>' or 'quiz:-'."""
    slug = "_".join(topic.split()).lower()[:40]
    value = f"{QUIZ}:{slug or '-'}"
    return value if VALUE_RE.match(value) else f"{QUIZ}:-"


def mode_topic(mode: str) -> str:
    topic = mode.partition(":")[2]
    return "" if topic == "-" else topic.replace("_", " ")


def _rank_seed(seed: str, qid: str) -> str:
    return hashlib.sha256(f"{seed}|{qid}".encode()).hexdigest()


class Practice:
    def __init__(self, service: StudyService) -> None:
        self.service = service

    @property
    def store(self):
        return self.service.store

    @property
    def bank(self):
        return self.service.bank

    def _now(self) -> float:
        return self.service.clock.now().timestamp()

    # ----- picking questions ---------------------------------------------------------------
    async def _blocked(self, member: MemberRef) -> set[str]:
        """Questions of the workspace's daily posts not yet revealed: never served as practice."""
        return await self.store.unrevealed_questions(member.platform, member.workspace)

    async def pick_quiz(self, member: MemberRef, questions: list[Question], blocked: set[str]) -> Question:
        """Never the question served last; unseen questions first (in a member-specific shuffle),
        then the ones seen longest ago, then the ones last answered wrong."""
        cards = await self.store.member_cards(member)
        served = await self.store.served_questions(member, limit=SERVED_MEMORY)
        served_at: dict[str, float] = {}
        for qid, at in served:
            served_at.setdefault(qid, at)
        pool = [q for q in questions if q.id not in blocked] or questions
        if served and len(pool) > 1:
            pool = [q for q in pool if q.id != served[0][0]]
        seed = f"{member.platform}|{member.workspace}|{member.user}|{len(served)}"

        def rank(q: Question) -> tuple:
            card = cards.get(q.id)
            if card is None and q.id not in served_at:
                return (0, 0.0, _rank_seed(seed, q.id))
            seen = max(card.last_review if card else 0.0, served_at.get(q.id, 0.0))
            wrong = card is not None and not card.last_correct
            return (2 if wrong else 1, seen, _rank_seed(seed, q.id))

        return min(pool, key=rank)

    async def weakest_questions(self, member: MemberRef, blocked: set[str]) -> tuple[list[Question], str]:
        """The questions of one of the member's three weakest tasks (unpractised counts as weakest),
        among the tasks that have a question to serve."""
        servable: dict[str, list[Question]] = {}
        for q in self.bank.practice_questions:
            if q.id not in blocked:
                servable.setdefault(q.task, []).append(q)
        if not servable:
            return list(self.bank.practice_questions), ""
        r = await self.readiness_of(member)
        weakest = weakest_tasks(tuple(row for row in r.tasks if row.id in servable))
        floor = weakest[0].accuracy or 0.0
        # The weakest, and those of the three within 10 points of it (an unpractised task is 0 %).
        choices = [row for row in weakest if (row.accuracy or 0.0) <= floor + 0.1]
        served = await self.store.served_questions(member, limit=1)
        # Rotate through the weakest three so a run of quizzes is not one task only.
        seed = f"{member.user}|{served[0][1] if served else 0}"
        task = min(choices, key=lambda row: _rank_seed(seed, row.id))
        return servable[task.id], task.id

    # ----- quiz ------------------------------------------------------------------------------
    async def quiz_command(self, req: Request, args: tuple[str, ...]) -> Message:
        return await self.serve_quiz(req, " ".join(args))

    async def serve_quiz(self, req: Request, topic: str) -> Message:
        blocked = await self._blocked(req.member)
        if topic.strip():
            questions = self.service.topic_questions(topic)
            label = ""
        else:
            questions, task = await self.weakest_questions(req.member, blocked)
            label = f" (your weakest area: {task})" if task else ""
        question = await self.pick_quiz(req.member, questions, blocked)
        post = await self.store.create_quiz(
            channel=req.channel, question_id=question.id, created_at=self._now(), user=req.member.user,
            mode=quiz_mode(topic),
        )
        title = f"Practice{label}: {question.task} {self.service.task_title(question.task)}"
        return replace(self.service.question_message(question, post, title=title, ephemeral=True), private=True)

    # ----- review ----------------------------------------------------------------------------
    async def review_command(self, req: Request, args: tuple[str, ...]) -> Message:
        if args and args[0].lower() == "remind":
            return await self.remind_command(req, args[1:])
        if args:
            raise UsageError(texts.REVIEW_USAGE)
        return await self.serve_review(req)

    async def _due(self, member: MemberRef) -> list[CardState]:
        cards = await self.store.due_cards(member, now=self._now(), limit=DUE_PAGE)
        live = {q.id for q in self.bank.practice_questions}
        return [c for c in cards if c.question_id in live]

    async def serve_review(self, req: Request) -> Message:
        due = await self._due(req.member)
        if not due:
            return await self.nothing_due(req.member)
        served = await self.store.served_questions(req.member, limit=1)
        if served and len(due) > 1 and due[0].question_id == served[0][0]:
            due = due[1:] + due[:1]  # a double click on Next does not serve the same card twice
        card = due[0]
        question = self.bank.question(card.question_id)
        assert question is not None
        post = await self.store.create_quiz(
            channel=req.channel, question_id=question.id, created_at=self._now(), user=req.member.user, mode=REVIEW,
        )
        count = f"{len(due)}+" if len(due) >= DUE_PAGE else str(len(due))
        when = "last answered wrong" if not card.last_correct else "due for a refresher"
        title = f"Review ({count} due): {question.task} {self.service.task_title(question.task)}"
        msg = self.service.question_message(question, post, title=title, ephemeral=True)
        return replace(msg, private=True, footer=f"{msg.footer} This question was {when}.")

    async def nothing_due(self, member: MemberRef) -> Message:
        now = self._now()
        total, _, next_due = await self.store.card_summary(member, now=now)
        if total == 0:
            text = texts.REVIEW_EMPTY
        elif next_due is None:
            text = texts.REVIEW_NONE_DUE_NO_NEXT
        else:
            text = texts.REVIEW_NONE_DUE.format(when=describe_interval(next_due - now))
        return Message(
            title="Review", text=text, private=True,
            buttons=(Button("Practise my weakest task", ACTION_NEXT, "weak"),),
        )

    async def remind_command(self, req: Request, args: tuple[str, ...]) -> Message:
        if len(args) == 1 and args[0].lower() == "off":
            await self.store.set_reminder(req.member, None)
            return Message(text=texts.REMIND_OFF, private=True)
        if len(args) == 2 and args[0].lower() == "on":
            at = parse_hhmm(args[1])
            tz, _ = await self.service.member_timezone(req.member, None)
            await self.store.set_reminder(req.member, at)
            return Message(text=texts.REMIND_ON.format(time=at, tz=tz), private=True)
        if not args:
            r = await self.store.get_reminder(req.member)
            state = f"on at {r.at_time}" if r else "off"
            return Message(text=texts.REMIND_STATE.format(state=state), private=True)
        raise UsageError(texts.REVIEW_USAGE)

    async def due_reminders(self) -> list[tuple[MemberRef, Message]]:
        """The reminders to send now: members whose reminder time has passed today (in their time
        zone), who have cards due, and whose reminder of today nobody has claimed yet."""
        now = self.service.clock.now()
        out = []
        for r in await self.store.active_reminders():
            tz = r.timezone or "UTC"
            today = local_date(now, tz).isoformat()
            if r.last_sent == today or _local_hhmm(now, tz) < r.at_time:
                continue
            _, due, _ = await self.store.card_summary(r.member, now=now.timestamp())
            if not due:
                continue
            if await self.store.claim_reminder(r.member, today):
                out.append((r.member, Message(
                    title="Time to review", text=texts.REMINDER.format(n=due, s="" if due == 1 else "s"),
                    buttons=(Button("Review now", ACTION_NEXT, REVIEW),), private=True,
                )))
        return out

    # ----- after an answer -------------------------------------------------------------------
    async def after_answer(self, member: MemberRef, post: Post, outcome: AnswerOutcome, message: Message) -> Message:
        """Add when the card comes back and what Next does to the answer's feedback."""
        lines = []
        if outcome.card is not None:
            lines.append(texts.COMES_BACK.format(when=describe_interval(outcome.card.due - self._now())))
        if post.mode is None:
            return replace(message, text="\n".join([message.text, *lines])) if lines else message
        buttons: tuple[Button, ...] = ()
        if post.mode == REVIEW:
            due = await self._due(member)
            if due:
                buttons = (Button(f"Next review ({len(due)} due)", ACTION_NEXT, REVIEW),)
            else:
                _, _, next_due = await self.store.card_summary(member, now=self._now())
                when = due_label(next_due, self._now()) if next_due else None
                lines.append(texts.REVIEW_DONE.format(when=f" The next card is due {when}." if when else ""))
                buttons = (Button("Practise my weakest task", ACTION_NEXT, "weak"),)
        elif post.mode.startswith(QUIZ):
            buttons = (Button("Next question", ACTION_NEXT, post.mode),)
        return replace(message, text="\n".join([message.text, *lines]), buttons=buttons, private=True)

    # ----- buttons ---------------------------------------------------------------------------
    async def next_action(self, req: Request, value: str, picked: str) -> Message:
        if value == REVIEW:
            return await self.serve_review(req)
        if value == "weak":
            return await self.serve_quiz(req, "")
        if value.startswith(f"{QUIZ}:"):
            return await self.serve_quiz(req, mode_topic(value))
        return Message(text=texts.EXPIRED)

    async def open_action(self, req: Request, value: str, picked: str) -> Message:
        if value == REVIEW:
            return await self.serve_review(req)
        if value == QUIZ:
            return await self.serve_quiz(req, "")
        if value == "stats":
            return await self.stats_for(req.member, title="Your stats")
        if value == "exam":  # the exam module's `/dva exam`: the choice, or the running exam's status
            return replace(await self.service.run_feature_command(req, "exam"), private=True)
        return Message(text=texts.EXPIRED)

    # ----- stats and readiness ---------------------------------------------------------------
    async def readiness_of(self, member: MemberRef) -> Readiness:
        since = self._now() - RECENT_DAYS * 86400
        return readiness(self.bank, await self.store.member_attempts(member, since=since))

    async def stats_command(self, req: Request, args: tuple[str, ...]) -> Message:
        if not args:
            return await self.stats_for(req.member, title="Your stats")
        if len(args) == 1 and args[0].lower() in ("group", "channel", "here"):
            return await self.group_stats(req)
        found = _MENTION.match(args[0]) if len(args) == 1 else None
        if found:
            if not (req.is_admin or req.member.user in self.service.admins):
                who = texts.ADMINS_BY_PLATFORM.get(req.member.platform, "admins")
                return Message(text=texts.STATS_ADMIN_ONLY.format(who=who), private=True)
            other = MemberRef(req.member.platform, req.member.workspace, found.group(1))
            return await self.stats_for(other, title=f"Stats of <@{other.user}>")
        raise UsageError(texts.STATS_USAGE)

    async def snapshot(self, member: MemberRef) -> Snapshot:
        """What stats and the home screen show of a member, read once."""
        tz, _ = await self.service.member_timezone(member, None)
        points, answers, right = await self.store.member_points(member)
        now = self._now()
        cards, due, next_due = await self.store.card_summary(member, now=now)
        return Snapshot(points, answers, right, await self.service.streak(member, tz), now, cards, due, next_due,
                        await self.readiness_of(member), tz)

    async def stats_for(self, member: MemberRef, *, title: str) -> Message:
        snap = await self.snapshot(member)
        points, answers, right, streak, now = snap.points, snap.answers, snap.right, snap.streak, snap.now
        cards, due, next_due, r = snap.cards, snap.due, snap.next_due, snap.readiness
        head = [
            f"Points: *{points}*. Answers: {answers}, right: {right} "
            f"({pct(right / answers) if answers else 'n/a'}). Streak: {streak.current} "
            f"day{'s' if streak.current != 1 else ''}, best {streak.best}.",
            f"Review cards: {cards}, due now: {due}"
            + (f", next due {due_label(next_due, now)}." if next_due and not due else "."),
            summary(r),
        ]
        chart = await member_chart(self.service, member, tz=snap.tz, readiness_now=r, streak=streak.current,
                                   title=title.replace("<@", "@").replace(">", ""))
        return Message(
            title=title, text="\n".join(head), lines=self._tables(r), private=True,
            buttons=_stats_buttons(due), chart=chart,
        )

    async def home(self, member: MemberRef) -> Message:
        """The member's home (Slack's App Home tab): streak, points, due reviews, readiness by
        domain, and the ways in."""
        snap = await self.snapshot(member)
        points, answers, streak, now = snap.points, snap.answers, snap.streak, snap.now
        due, next_due, r = snap.due, snap.next_due, snap.readiness
        if due:
            reviews = f"*{due}* review card{'s' if due != 1 else ''} due now."
        elif next_due:
            reviews = f"No reviews due; the next one is due {due_label(next_due, now)}."
        else:
            reviews = "No review cards yet: answer questions and the ones you miss come back here."
        lines = tuple(
            f"Domain {d.id} {d.name} ({d.weight} % of the exam): "
            + (f"{pct(d.accuracy)} of {d.answered}" if d.answered else "not practised yet")
            for d in r.domains
        )
        return Message(
            title="Your DVA-C02 study",
            text=f"Streak: *{streak.current}* day{'s' if streak.current != 1 else ''} (best {streak.best}). "
            f"Points: *{points}* from {answers} answer{'s' if answers != 1 else ''}.\n{reviews}\n{summary(r)}",
            lines=lines, private=True,
            buttons=(Button("Review", ACTION_OPEN, REVIEW), Button("Quiz", ACTION_OPEN, QUIZ),
                     Button("Stats", ACTION_OPEN, "stats"), Button("Mock exam", ACTION_OPEN, "exam")),
        )

    async def group_stats(self, req: Request) -> Message:
        """The channel's numbers without names, posted in the channel for the group (with its chart)."""
        sub = await self.store.get_subscription(req.channel)
        chart, r = await channel_chart(self.service, req.channel, tz=sub.timezone if sub else "UTC",
                                       title="Group stats")
        text = (f"The group's first answers in this channel over the last {RECENT_DAYS} days "
                f"({r.answers} answer{'s' if r.answers != 1 else ''}, no names).")
        return Message(title="Group stats", text=text, lines=self._tables(r), ephemeral=False, chart=chart)

    def _tables(self, r: Readiness) -> tuple[str, ...]:
        weakest = ", ".join(f"{row.id} {row.name} ({pct(row.accuracy) if row.answered else 'not practised'})"
                            for row in r.weakest)
        return (
            "```", *table(r.domains, label="Domain"), "```",
            "```", *table(r.tasks, label="Task"), "```",
            f"Weakest tasks: {weakest}.",
        )


@dataclass(frozen=True, slots=True)
class Snapshot:
    points: int
    answers: int
    right: int
    streak: Streak
    now: float
    cards: int
    due: int
    next_due: float | None
    readiness: Readiness
    tz: str


def _stats_buttons(due: int) -> tuple[Button, ...]:
    out = [Button("Quiz my weakest task", ACTION_NEXT, "weak")]
    if due:
        out.insert(0, Button(f"Review ({due} due)", ACTION_NEXT, REVIEW))
    return tuple(out)


def _local_hhmm(now: datetime, tz: str) -> str:
    return now.astimezone(zone(tz)).strftime("%H:%M")


def install(service: StudyService) -> None:
    practice = Practice(service)
    service.practice = practice
    service.register_command("quiz", practice.quiz_command)
    service.register_command("review", practice.review_command)
    service.register_command("stats", practice.stats_command)
    service.register_action(ACTION_NEXT, practice.next_action)
    service.register_action(ACTION_OPEN, practice.open_action)

