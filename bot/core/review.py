"""Spaced review: every first answer of a member to a question moves that member's card for the
question with FSRS (the `fsrs` library, 6.x). Right -> Rating.Good, wrong -> Rating.Again.

The card is plain data (`CardState`): the stores keep its fields as columns and call `schedule`
inside the transaction that records the answer, so an answer never exists without its card.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fsrs import Card, Rating, Scheduler, State

DESIRED_RETENTION = 0.9
# One learning step of 10 minutes (the library's default is 1 and 10 minutes): a question answered
# right the first time graduates to days at once, a wrong one comes back in 10 minutes, then days.
# No fuzzing: the same answers give the same due dates on every process (and in tests).
_SCHEDULER = Scheduler(
    desired_retention=DESIRED_RETENTION, learning_steps=(timedelta(minutes=10),), enable_fuzzing=False
)


@dataclass(frozen=True, slots=True)
class CardState:
    """A member's card for one question. Times are epoch seconds."""

    question_id: str
    state: int  # fsrs State: 1 learning, 2 review, 3 relearning
    step: int | None
    stability: float | None
    difficulty: float | None
    due: float
    last_review: float
    reps: int = 0
    lapses: int = 0
    last_correct: bool = False


def _dt(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def schedule(prev: CardState | None, *, question_id: str, correct: bool, at: float) -> CardState:
    """The card after one answer at `at` (epoch seconds). `prev` None: the first answer."""
    if prev is None:
        card = Card(card_id=1)
    else:
        card = Card(
            card_id=1, state=State(prev.state), step=prev.step, stability=prev.stability,
            difficulty=prev.difficulty, due=_dt(prev.due), last_review=_dt(prev.last_review),
        )
    card, _ = _SCHEDULER.review_card(card, Rating.Good if correct else Rating.Again, review_datetime=_dt(at))
    return CardState(
        question_id=question_id, state=int(card.state), step=card.step, stability=card.stability,
        difficulty=card.difficulty, due=card.due.timestamp(), last_review=at,
        reps=(prev.reps if prev else 0) + 1,
        lapses=(prev.lapses if prev else 0) + (0 if correct else 1),
        last_correct=correct,
    )


def schedule_many(
    existing: dict[str, CardState], reviews: list[tuple[str, bool, float]]
) -> dict[str, CardState]:
    """Apply (question_id, correct, at) reviews in order over `existing` cards of one member;
    returns the cards that changed (the last state of each)."""
    changed: dict[str, CardState] = {}
    for qid, correct, at in reviews:
        prev = changed.get(qid) or existing.get(qid)
        changed[qid] = schedule(prev, question_id=qid, correct=correct, at=at)
    return changed


def describe_interval(seconds: float) -> str:
    """'in 10 minutes', 'in 1 day', 'in 4 days', 'in 3 months' - for 'comes back ...'."""
    seconds = max(0.0, seconds)
    if seconds < 3600:
        n = max(1, round(seconds / 60))
        return f"in {n} minute{'s' if n != 1 else ''}"
    if seconds < 86400:
        n = max(1, round(seconds / 3600))
        return f"in {n} hour{'s' if n != 1 else ''}"
    days = round(seconds / 86400)
    if days < 60:
        return f"in {days} day{'s' if days != 1 else ''}"
    months = round(days / 30)
    return f"in {months} months"


def due_label(due: float, now: float) -> str:
    return "now" if due <= now else describe_interval(due - now)

