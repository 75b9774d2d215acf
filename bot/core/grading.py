"""Grading and points: pure functions."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.core import texts
from bot.core.models import MemberRef, Question
from bot.core.timeutil import UsageError

POINTS_RIGHT = 10
POINTS_WRONG = 3
POINTS_PRACTICE = 1
PRACTICE_CAP = 20  # practice points a member can earn per streak day
NUMBER_WORDS = {2: "TWO", 3: "THREE", 4: "FOUR"}
_LEAD = re.compile(r"^(?:MY\s+)?(?:ANSWERS?|OPTIONS?|CHOICES?)(?:\s+(?:IS|ARE))?\s*:?\s*")


def parse_choice(question: Question, raw: str) -> str:
    """Member input ('b', 'A,C', 'a c', 'AC') -> canonical sorted letters; UsageError if invalid."""
    # Lenient: "B.", "(c)", "c)", "answer c", "my answer is B and E", "b e".
    upper = _LEAD.sub("", raw.strip().upper()).replace(" AND ", " ")
    cleaned = re.sub(r"[\s,;/+&.()\[\]:!]", "", upper)
    letters = question.letters
    if not cleaned or len(cleaned) > len(letters) or any(c not in letters for c in cleaned):
        raise UsageError(texts.NOT_AN_OPTION.format(given=raw.strip()[:20], letters=", ".join(letters)))
    chosen = sorted(set(cleaned))
    n = len(question.key)
    if len(chosen) != n:
        if n == 1:
            raise UsageError(f"This question has one answer; pick one of {', '.join(letters)}.")
        raise UsageError(texts.CHOOSE_N.format(n=NUMBER_WORDS.get(n, n), example=" ".join(letters[:n])))
    return "".join(chosen)


@dataclass(frozen=True, slots=True)
class Grade:
    correct: bool
    points: int
    practice: bool


def points_for(
    correct: bool, *, practice: bool, practice_today: int, right: int = POINTS_RIGHT, wrong: int = POINTS_WRONG,
    practice_right: int = POINTS_PRACTICE, cap: int = PRACTICE_CAP,
) -> int:
    """The points rule: a counted answer earns `right` or `wrong`; a right practice answer earns
    `practice_right` while the member's practice points of that streak day (`practice_today`, before
    this answer) stay within `cap`, else 0."""
    if not practice:
        return right if correct else wrong
    return practice_right if correct and practice_today + practice_right <= cap else 0


def grade(question: Question, choice: str, *, practice: bool, practice_today: int) -> Grade:
    """A multiple-response answer is right only when the chosen set equals the key."""
    correct = set(choice) == set(question.key)
    return Grade(correct, points_for(correct, practice=practice, practice_today=practice_today), practice)


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """An answer as stored, for re-grading (`regrade`)."""

    id: int
    question_id: str
    choice: str
    correct: bool
    points: int
    practice: bool
    member: MemberRef
    local_day: str  # the member's streak day of the answer
    answered_at: float


def regrade(
    answers: Iterable[StoredAnswer], keys: Mapping[str, str], *, right: int = POINTS_RIGHT,
    wrong: int = POINTS_WRONG, practice_right: int = POINTS_PRACTICE, cap: int = PRACTICE_CAP,
) -> dict[int, tuple[bool, int]]:
    """Grade again the answers to the questions of `keys` (question id -> the new key, sorted
    letters); answer id -> its new (correct, points), for the answers whose grade changes.

    `answers` holds every answer to those questions and, for the practice cap, every other practice
    answer of the same members on the same streak days (those are not re-graded). The cap works as
    in `grade()`: a re-graded practice answer is graded as if it came in now, against the day's
    practice points already held. So the points of the answers not re-graded stand (members were
    told them) and count first; the re-graded answers of a member's day then take what room the cap
    leaves, in the order they were given. The day never ends above the cap."""
    ordered = sorted(answers, key=lambda a: (a.answered_at, a.id))
    practice_today: dict[tuple[MemberRef, str], int] = {}
    for a in ordered:
        if a.practice and a.question_id not in keys:
            practice_today[a.member, a.local_day] = practice_today.get((a.member, a.local_day), 0) + a.points
    changed: dict[int, tuple[bool, int]] = {}
    for a in ordered:
        key = keys.get(a.question_id)
        if key is None:
            continue
        day = (a.member, a.local_day)
        correct = "".join(sorted(a.choice)) == key
        points = points_for(correct, practice=a.practice, practice_today=practice_today.get(day, 0), right=right,
                            wrong=wrong, practice_right=practice_right, cap=cap)
        if a.practice:
            practice_today[day] = practice_today.get(day, 0) + points
        if (a.correct, a.points) != (correct, points):
            changed[a.id] = (correct, points)
    return changed
