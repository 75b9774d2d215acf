"""Question reports: members flag a question (wrong key, unclear, outdated, typo); admins list and
close them; the bank's maintainers read them with `studybot content reports`.

`/dva report <question id> [reason] <text>` works everywhere (the console's way); Slack and Discord
open a form from the Report button under feedback and reveals and call `report_question`.
Questions with open "wrong key" reports from several members leave the daily rotation (see
StudyService.claim_daily) until their reports are closed.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from bot.core import texts
from bot.core.messages import ACTION_REPORT, Message
from bot.core.models import MemberRef
from bot.core.ports import Report
from bot.core.timeutil import UsageError
from bot.core.words import plural

if TYPE_CHECKING:
    from bot.core.service import Request, StudyService

REASONS = tuple(texts.REPORT_REASONS)  # wrong-key, unclear, outdated, typo
MAX_TEXT = 1000
_ALIASES = {"wrong": "wrong-key", "key": "wrong-key", "wrongkey": "wrong-key", "wrong_key": "wrong-key",
            "old": "outdated", "spelling": "typo"}


def parse_reason(word: str) -> str | None:
    w = word.strip().lower().rstrip("!.").replace(" ", "-")
    return w if w in REASONS else _ALIASES.get(w)


class Reports:
    def __init__(self, service: StudyService) -> None:
        self.service = service

    async def report_question(self, member: MemberRef, question_id: str, reason: str, text: str) -> Message:
        """Store a member's report (once per member and question); the reply says what happened."""
        question = self.service.bank.question(question_id.strip())
        if question is None:
            raise UsageError(texts.REPORT_UNKNOWN_QUESTION.format(qid=question_id.strip()[:40]))
        canonical = parse_reason(reason)
        if canonical is None:
            raise UsageError(texts.REPORT_USAGE)
        _, created = await self.service.store.add_report(
            member=member, question_id=question.id, reason=canonical, text=text.strip()[:MAX_TEXT],
            at=self.service.clock.now().timestamp(),
        )
        if not created:
            return Message(text=texts.REPORT_ALREADY.format(qid=question.id))
        return Message(text=texts.REPORT_THANKS.format(qid=question.id, reason=texts.REPORT_REASONS[canonical]))

    async def report_command(self, request: Request, args: tuple[str, ...]) -> Message:
        if not args:
            raise UsageError(texts.REPORT_USAGE)
        qid, rest = args[0], list(args[1:])
        reason = parse_reason(rest[0]) if rest else None
        if reason is not None:
            rest = rest[1:]
        if not rest:
            raise UsageError(texts.REPORT_USAGE)
        return await self.report_question(request.member, qid, reason or "unclear", " ".join(rest))

    async def report_action(self, request: Request, value: str, picked: str) -> Message:
        """The Report button where no form can be shown (the console): how to report by command."""
        return Message(text=texts.REPORT_PROMPT.format(qid=value, usage=texts.REPORT_USAGE))

    async def reports_command(self, request: Request, args: tuple[str, ...]) -> Message:
        if not (request.is_admin or request.member.user in self.service.admins):
            who = texts.ADMINS_BY_PLATFORM.get(request.channel.platform, "admins")
            return Message(text=texts.REPORTS_ADMIN_ONLY.format(who=f"{who} and the members listed in STUDYBOT_ADMINS"))
        where = {"platform": request.channel.platform, "workspace": request.channel.workspace}
        if not args:
            reports = await self.service.store.list_reports(**where)
            if not reports:
                return Message(text=texts.REPORTS_NONE)
            return Message(title="Open question reports", text="\n\n".join(summarise(reports)),
                           footer="Close them with `/dva reports close <question id> fixed|dismissed`.")
        if args[0].lower() != "close" or len(args) != 3 or args[2].lower() not in ("fixed", "dismissed"):
            raise UsageError(texts.REPORTS_USAGE)
        qid, status = args[1], args[2].lower()
        n = await self.service.store.close_reports(
            question_id=qid, status=status, at=self.service.clock.now().timestamp(), **where,
        )
        if not n:
            return Message(text=texts.REPORTS_NOTHING_OPEN.format(qid=qid[:40]))
        return Message(text=texts.REPORTS_CLOSED.format(n=plural(n, "report"), status=status, qid=qid))


def summarise(reports: list[Report]) -> list[str]:
    """One paragraph per question, most reported first: counts by reason and the members' words."""
    by_question: dict[str, list[Report]] = defaultdict(list)
    for r in reports:
        by_question[r.question_id].append(r)
    out = []
    for qid, items in sorted(by_question.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        reasons: dict[str, int] = defaultdict(int)
        for r in items:
            reasons[r.reason] += 1
        counts = ", ".join(f"{texts.REPORT_REASONS.get(k, k)} {n}" for k, n in sorted(reasons.items()))
        words = "\n".join(f"  • {r.text[:200]}" for r in items if r.text)
        out.append(f"*{qid}*: {plural(len(items), 'report')} ({counts})" + (f"\n{words}" if words else ""))
    return out


def install(service: StudyService) -> None:
    reports = Reports(service)
    service.reports = reports
    service.register_command("report", reports.report_command)
    service.register_command("reports", reports.reports_command)
    service.register_action(ACTION_REPORT, reports.report_action)
