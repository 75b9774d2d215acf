"""What a running mock exam shows: the question on screen with its clock line and buttons, the
end-of-exam overview, and the submit confirmation. Never a key or an explanation: those are the
report's (bot/core/exam_report.py), shown only once the exam is scored.
"""

from __future__ import annotations

from bot.core import texts
from bot.core.exam_report import ACTION, clock_text
from bot.core.grading import NUMBER_WORDS
from bot.core.messages import Button, Message
from bot.core.models import Bank
from bot.core.ports import Exam


def question_view(exam: Exam, bank: Bank, now: float, *, note: str = "") -> Message:
    """The question on screen (or the end-of-exam overview past the last one)."""
    if exam.position >= exam.total:
        return end_view(exam, now, note=note)
    i = exam.position
    item = exam.items[i]
    question = bank.question(item.question_id)
    left = clock_text(exam.deadline - now)
    title = f"Question {i + 1} of {exam.total} - {left} left"
    base = f"{exam.id}:{i}"
    nav = (
        Button("Unflag" if item.flagged else "Flag", ACTION, f"{base}:{'unflag' if item.flagged else 'flag'}"),
        Button("Back", ACTION, f"{base}:back", disabled=i == 0),
        Button("Next", ACTION, f"{base}:next"),
        Button("Submit exam", ACTION, f"{base}:submit"),
    )
    head = f"{note}\n\n" if note else ""
    if question is None:
        return Message(title=title, text=head + texts.EXAM_MISSING_QUESTION, buttons=nav, private=True, replace=True)
    n = len(question.key)
    letters = () if n > 1 else tuple(Button(x, ACTION, f"{base}:ans:{x}") for x in question.letters)
    answer = f"Your answer: {', '.join(item.choice)}." if item.choice else "Not answered yet."
    pick = f" Pick {NUMBER_WORDS.get(n, n)}." if n > 1 else ""
    flag = " Flagged for review." if item.flagged else ""
    return Message(
        title=title, text=head + question.stem, options=question.options, buttons=letters + nav, choose=n,
        footer=f"{answer}{flag}{pick} You can change answers until you submit.",
        answer_to=(ACTION, f"{base}:ans"), private=True, replace=True,
    )

def end_view(exam: Exam, now: float, *, note: str = "") -> Message:
    """Past the last question: what is unanswered or flagged, Back, and Submit."""
    unanswered = [k + 1 for k, it in enumerate(exam.items) if it.choice is None]
    flagged = [k + 1 for k, it in enumerate(exam.items) if it.flagged]
    base = f"{exam.id}:{exam.position}"
    buttons = [Button("Back", ACTION, f"{base}:back")]
    if unanswered:
        buttons.append(Button(f"First unanswered ({unanswered[0]})", ACTION, f"{base}:goto:{unanswered[0] - 1}"))
    if flagged:
        buttons.append(Button(f"First flagged ({flagged[0]})", ACTION, f"{base}:goto:{flagged[0] - 1}"))
    buttons.append(Button("Submit exam", ACTION, f"{base}:submit"))
    text = texts.EXAM_END.format(answered=exam.total - len(unanswered), total=exam.total, flagged=len(flagged))
    return Message(
        title=f"End of the exam - {clock_text(exam.deadline - now)} left",
        text=f"{note}\n\n{text}" if note else text, lines=_number_lines(unanswered, flagged),
        buttons=tuple(buttons), private=True, replace=True,
    )

def confirm_view(exam: Exam, now: float) -> Message:
    """Submit asked while questions are unanswered or flagged: confirm, or back to the exam."""
    unanswered = [k + 1 for k, it in enumerate(exam.items) if it.choice is None]
    flagged = [k + 1 for k, it in enumerate(exam.items) if it.flagged]
    base = f"{exam.id}:{exam.position}"
    return Message(
        title="Submit your exam?",
        text=texts.EXAM_CONFIRM.format(unanswered=len(unanswered), flagged=len(flagged),
                                       left=clock_text(exam.deadline - now)),
        lines=_number_lines(unanswered, flagged),
        buttons=(Button("Submit now", ACTION, f"{base}:confirm"), Button("Back to the exam", ACTION, f"{base}:resume")),
        footer=texts.EXAM_CONFIRM_CONSOLE, private=True, replace=True,
    )


def _number_lines(unanswered: list[int], flagged: list[int]) -> tuple[str, ...]:
    lines = []
    if unanswered:
        lines.append("Unanswered: " + ", ".join(map(str, unanswered)))
    if flagged:
        lines.append("Flagged: " + ", ".join(map(str, flagged)))
    return tuple(lines)
