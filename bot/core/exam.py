"""Mock exams: `/dva exam` and the exam's buttons. A timed, domain-weighted exam, one question at
a time, answers changeable until submit, scored at submit or at the deadline.

All state is in the store (exam row + one row per question), so a restart continues an exam and
any process can serve the next click. The clock is the server's: the deadline is fixed at the
start; after it every click or command closes the exam (unanswered count as wrong), and the
scheduler's sweep (`close_expired`) closes exams whose members are away.

Every change goes through one conditional store call (the exam must be active, before its
deadline, and on the question the click was made on), so doubled clicks, clicks on an old
question message and clicks after the end change nothing and get a clear private reply. Nothing
before submission carries a key or an explanation: the report module alone shows them.

Button values (action "exam"): `new:<mode>`, and `<exam id>:<index>:<verb>[:<arg>]` where index is
the question on screen when the button was drawn; verbs: ans (letters in arg, or the picked
letters), back, next, flag, unflag, goto, submit, confirm, resume, review (page in arg).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from bot.core import texts
from bot.core.exam_draw import FORMATS, draw
from bot.core.exam_report import (
    ACTION,
    clock_text,
    history_message,
    local_time,
    report_message,
    review_message,
)
from bot.core.exam_views import confirm_view, question_view
from bot.core.grading import parse_choice
from bot.core.messages import Button, Message
from bot.core.models import MemberRef
from bot.core.ports import Exam, StoreError
from bot.core.timeutil import UsageError

if TYPE_CHECKING:
    from bot.core.service import Request, StudyService

log = logging.getLogger(__name__)
NAV_VERBS = ("ans", "back", "next", "flag", "unflag", "goto")
HISTORY_SIZE = 10


def private(text: str, **kw) -> Message:
    return Message(text=text, private=True, **kw)


class ExamFlow:
    """The exam's commands and button actions on top of the service's bank, store and clock."""

    def __init__(self, service: StudyService) -> None:
        self.service = service
        self.bank = service.bank
        self.store = service.store

    def _now(self) -> float:
        return self.service.clock.now().timestamp()

    async def _tz(self, request: Request) -> str:
        tz, _ = await self.service.member_timezone(request.member, request.channel)
        return tz

    # ----- entry points -------------------------------------------------------------------
    async def command(self, request: Request, args: tuple[str, ...]) -> Message:
        try:
            return await self._command(request, args)
        except StoreError:
            log.exception("exam command failed in the store")
            return private(texts.EXAM_NOT_SAVED)

    async def action(self, request: Request, value: str, picked: str) -> Message:
        try:
            return await self._action(request, value, picked)
        except StoreError:
            log.exception("exam click failed in the store")
            return private(texts.EXAM_NOT_SAVED)

    async def _command(self, request: Request, args: tuple[str, ...]) -> Message:
        verb = args[0].lower() if args else ""
        if verb in ("", "full", "short"):
            return await self._start(request, verb) if verb else await self._home(request)
        if verb == "status":
            return await self._status(request)
        if verb == "stop":
            return await self._stop(request)
        if verb == "history":
            exams = await self.store.member_exams(request.member, limit=HISTORY_SIZE)
            return history_message(exams, self.bank, await self._tz(request))
        if verb in ("report", "review"):
            return await self._last_scored(request, verb, args[1:])
        if verb in ("back", "next", "flag", "unflag", "submit", "answer"):
            exam, note = await self._active(request)
            if exam is None:
                return note or private(texts.EXAM_NONE)
            if verb == "submit":
                rest = " ".join(args[1:]).lower()
                return await self._act(request, exam, exam.position, "confirm" if rest == "now" else "submit", "", "")
            if verb == "answer":
                return await self._act(request, exam, exam.position, "ans", "".join(args[1:]), "")
            return await self._act(request, exam, exam.position, verb, "", "")
        raise UsageError(texts.EXAM_USAGE)

    async def _action(self, request: Request, value: str, picked: str) -> Message:
        parts = value.split(":")
        if parts[0] == "new" and len(parts) == 2 and parts[1] in FORMATS:
            return await self._start(request, parts[1])
        if len(parts) not in (3, 4) or not parts[0].isdigit() or not parts[1].isdigit():
            return private(texts.EXAM_GONE)
        exam = await self.store.get_exam(int(parts[0]))
        if exam is None or exam.member != request.member:
            return private(texts.EXAM_GONE)
        verb, arg = parts[2], parts[3] if len(parts) == 4 else ""
        return await self._act(request, exam, int(parts[1]), verb, arg, picked)

    # ----- the state machine --------------------------------------------------------------
    async def _act(self, request: Request, exam: Exam, at: int, verb: str, arg: str, picked: str) -> Message:
        if verb == "review":
            if exam.state == "active":
                return private(texts.EXAM_REVIEW_WHILE_ACTIVE)
            return self._review(exam, arg)
        if exam.state != "active":
            return self._over(exam)
        now = self._now()
        if now >= exam.deadline:
            return await self._expire(exam, request, late=True)
        if verb == "confirm":
            return await self._submit(exam, request)
        if verb == "submit":
            return confirm_view(exam, now) if self._pending(exam) else await self._submit(exam, request)
        if verb == "resume":
            return question_view(exam, self.bank, now)
        if verb not in NAV_VERBS:
            return private(texts.EXAM_GONE)
        if at != exam.position:
            return question_view(exam, self.bank, now, note=texts.EXAM_STALE.format(clicked=at + 1))
        try:
            to, choice, flagged = self._step(exam, at, verb, arg or picked)
        except UsageError as exc:
            return question_view(exam, self.bank, now, note=str(exc))
        if not await self.store.exam_step(exam.id, at=at, now=now, to=to, choice=choice, flagged=flagged):
            # Another click, the sweep or the deadline got there first: say where things stand.
            fresh = await self.store.get_exam(exam.id)
            if fresh is None:
                return private(texts.EXAM_GONE)
            if fresh.state != "active":
                return self._over(fresh)
            if self._now() >= fresh.deadline:
                return await self._expire(fresh, request, late=True)
            return question_view(fresh, self.bank, self._now(), note=texts.EXAM_STALE.format(clicked=at + 1))
        items = list(exam.items)
        if at < exam.total and (choice is not None or flagged is not None):
            item = items[at]
            items[at] = replace(item, choice=choice if choice is not None else item.choice,
                                flagged=flagged if flagged is not None else item.flagged)
        return question_view(replace(exam, position=to, items=tuple(items)), self.bank, now)

    def _step(self, exam: Exam, at: int, verb: str, arg: str) -> tuple[int, str | None, bool | None]:
        """(the position to move to, the choice to store, the flag to store) for a click at `at`."""
        total = exam.total
        if verb == "back":
            return max(at - 1, 0), None, None
        if verb == "next":
            return min(at + 1, total), None, None
        if verb == "goto":
            if not arg.isdigit():
                raise UsageError(texts.EXAM_USAGE)
            return min(int(arg), total), None, None
        if at >= total:
            raise UsageError(texts.EXAM_AT_END)
        if verb in ("flag", "unflag"):
            return at, None, verb == "flag"
        question = self.bank.question(exam.items[at].question_id)
        if question is None:
            return min(at + 1, total), None, None
        return min(at + 1, total), parse_choice(question, arg), None

    @staticmethod
    def _pending(exam: Exam) -> bool:
        return any(i.choice is None or i.flagged for i in exam.items)

    async def _submit(self, exam: Exam, request: Request) -> Message:
        closed = await self.store.close_exam(exam.id, now=self._now(), keys=self._keys(exam))
        if closed is not None:
            if closed.state == "expired":  # the deadline passed between the click and the close
                return report_message(closed, self.bank, note=await self._time_up(closed, request, late=True))
            return report_message(closed, self.bank)
        fresh = await self.store.get_exam(exam.id)
        if fresh is None or fresh.state == "abandoned":
            return self._over(fresh) if fresh else private(texts.EXAM_GONE)
        return report_message(fresh, self.bank, note=texts.EXAM_ALREADY_SUBMITTED)

    async def _expire(self, exam: Exam, request: Request, *, late: bool) -> Message:
        """Close an exam whose deadline passed (if nobody did yet) and show its report."""
        closed = await self.store.close_exam(exam.id, now=self._now(), keys=self._keys(exam))
        if closed is None:
            closed = await self.store.get_exam(exam.id)
            if closed is None or closed.state == "abandoned":
                return private(texts.EXAM_GONE)
        return report_message(closed, self.bank, note=await self._time_up(closed, request, late=late))

    async def _time_up(self, exam: Exam, request: Request, *, late: bool) -> str:
        note = texts.EXAM_TIME_UP.format(deadline=local_time(exam.deadline, await self._tz(request)))
        return f"{note} {texts.EXAM_TIME_UP_LATE}" if late else note

    def _keys(self, exam: Exam) -> dict[str, str]:
        keys = {}
        for item in exam.items:
            q = self.bank.question(item.question_id)
            if q is not None:
                keys[q.id] = "".join(sorted(q.key))
        return keys

    async def _active(self, request: Request) -> tuple[Exam | None, Message | None]:
        """The member's running exam; one past its deadline is closed first (None, its report)."""
        exam = await self.store.active_exam(request.member)
        if exam is not None and self._now() >= exam.deadline:
            return None, await self._expire(exam, request, late=False)
        return exam, None

    # ----- commands -----------------------------------------------------------------------
    async def _home(self, request: Request) -> Message:
        exam, closed = await self._active(request)
        if closed is not None:
            return closed
        if exam is not None:
            return question_view(exam, self.bank, self._now(), note=self._running(exam))
        full, short = FORMATS["full"], FORMATS["short"]
        return Message(
            title="Mock exam",
            text=texts.EXAM_CHOOSE.format(
                full_n=full.size, full_time=f"{full.minutes} minutes", short_n=short.size,
                short_time=f"{short.minutes} minutes",
            ),
            buttons=(
                Button(f"Full: {full.size} questions, {full.minutes} min", ACTION, "new:full"),
                Button(f"Short: {short.size} questions, {short.minutes} min", ACTION, "new:short"),
            ),
            footer=texts.EXAM_NO_POINTS, private=True,
        )

    def _running(self, exam: Exam) -> str:
        return texts.EXAM_RUNNING.format(mode=exam.mode, left=clock_text(exam.deadline - self._now()))

    async def _start(self, request: Request, mode: str) -> Message:
        member = request.member
        exam, closed = await self._active(request)
        if exam is not None:
            return question_view(exam, self.bank, self._now(), note=self._running(exam))
        fmt = FORMATS[mode]
        seen = await self.store.member_cards(member)
        last = await self.store.member_exams(member, limit=1)
        now = self._now()
        ids = draw(self.bank, fmt, seed=self._seed(member, now, mode), seen=seen,
                   previous=[i.question_id for i in last[0].items] if last else ())
        if not ids:
            return private(texts.EXAM_GONE)
        exam, created = await self.store.create_exam(
            member=member, mode=mode, question_ids=ids, started_at=now, deadline=now + fmt.seconds_for(len(ids)),
        )
        if not created:  # another click started one a moment ago
            return question_view(exam, self.bank, now, note=self._running(exam))
        notes = []
        if closed is not None:
            notes.append(texts.EXAM_PREVIOUS_SCORED)
        notes.append(texts.EXAM_STARTED.format(
            mode=mode, total=exam.total, time=clock_text(exam.deadline - exam.started_at),
            deadline=local_time(exam.deadline, await self._tz(request)),
        ))
        if exam.total < fmt.size:
            notes.append(texts.EXAM_SMALL_BANK.format(n=exam.total))
        return question_view(exam, self.bank, now, note=" ".join(notes))

    @staticmethod
    def _seed(member: MemberRef, now: float, mode: str) -> str:
        return f"{member.platform}|{member.workspace}|{member.user}|{now:.3f}|{mode}"

    async def _status(self, request: Request) -> Message:
        exam, closed = await self._active(request)
        if closed is not None:
            return closed
        if exam is None:
            return private(texts.EXAM_NONE)
        return private(
            texts.EXAM_STATUS.format(
                mode=exam.mode, n=min(exam.position + 1, exam.total), total=exam.total,
                answered=sum(i.choice is not None for i in exam.items), flagged=sum(i.flagged for i in exam.items),
                left=clock_text(exam.deadline - self._now()),
                deadline=local_time(exam.deadline, await self._tz(request)),
            ),
            buttons=(Button("Continue", ACTION, f"{exam.id}:{exam.position}:resume"),),
        )

    async def _stop(self, request: Request) -> Message:
        exam, closed = await self._active(request)
        if closed is not None:
            return closed
        if exam is None or not await self.store.abandon_exam(exam.id, now=self._now()):
            return private(texts.EXAM_NONE)
        return private(texts.EXAM_STOPPED, replace=True)

    async def _last_scored(self, request: Request, verb: str, rest: tuple[str, ...]) -> Message:
        exam, closed = await self._active(request)
        if closed is not None:
            return closed
        if exam is not None:
            return private(texts.EXAM_REVIEW_WHILE_ACTIVE)
        scored = next(
            (e for e in await self.store.member_exams(request.member, limit=HISTORY_SIZE) if e.state != "abandoned"),
            None,
        )
        if scored is None:
            return private(texts.EXAM_NO_REPORT)
        if verb == "report":
            return report_message(scored, self.bank)
        page = rest[0] if rest else "1"
        return self._review(scored, str(int(page) - 1) if page.isdigit() and int(page) > 0 else "0")

    def _review(self, exam: Exam, arg: str) -> Message:
        return review_message(exam, self.bank, int(arg) if arg.isdigit() else 0)

    def _over(self, exam: Exam) -> Message:
        return private(texts.EXAM_OVER.format(how=texts.EXAM_OVER_HOW.get(exam.state, exam.state)))

    # ----- the scheduler's sweep ----------------------------------------------------------
    async def close_expired(self) -> list[tuple[Exam, Message]]:
        """Score every active exam whose deadline has passed: the exams this call closed, each with
        the report to send to its member (who may be away)."""
        now = self._now()
        closed: list[tuple[Exam, Message]] = []
        for exam_id in await self.store.expired_exams(now=now):
            exam = await self.store.get_exam(exam_id)
            if exam is None:
                continue
            done = await self.store.close_exam(exam_id, now=now, keys=self._keys(exam))
            if done is not None:
                tz, _ = await self.service.member_timezone(done.member, None)
                note = texts.EXAM_TIME_UP.format(deadline=local_time(done.deadline, tz))
                closed.append((done, replace(report_message(done, self.bank, note=note), replace=False)))
        return closed


async def close_expired(service: StudyService) -> list[tuple[Exam, Message]]:
    """For the scheduler: close and score every exam past its deadline; (exam, report) of each."""
    return await ExamFlow(service).close_expired()


def install(service: StudyService) -> None:
    flow = ExamFlow(service)
    service.register_command("exam", flow.command)
    service.register_action(ACTION, flow.action)
