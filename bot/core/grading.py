"""Grading and points: pure functions."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.core import texts
from bot.core.models import Question
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


def grade(question: Question, choice: str, *, practice: bool, practice_today: int) -> Grade:
    """A multiple-response answer is right only when the chosen set equals the key."""
    correct = set(choice) == set(question.key)
    if not practice:
        return Grade(correct, POINTS_RIGHT if correct else POINTS_WRONG, False)
    earned = POINTS_PRACTICE if correct and practice_today + POINTS_PRACTICE <= PRACTICE_CAP else 0
    return Grade(correct, earned, True)
