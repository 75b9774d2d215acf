"""Words that read right: plurals, lists joined with "and", and "did you mean" suggestions."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 day', '2 days', '0 votes'; `many` for irregular plurals."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def and_list(items: Iterable[str]) -> str:
    """'B', 'B and E', 'A, C and E'."""
    names = list(items)
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def capital(text: str) -> str:
    """The text with its first letter in capitals (member-facing messages start with one)."""
    return text[:1].upper() + text[1:] if text else text


def closest(word: str, candidates: Iterable[str], *, cutoff: float = 0.75) -> str | None:
    """The candidate closest to a mistyped word (case-insensitive), or None."""
    pool = {c.lower(): c for c in candidates}
    found = difflib.get_close_matches(word.lower(), list(pool), n=1, cutoff=cutoff)
    return pool[found[0]] if found else None


def did_you_mean(word: str, candidates: Iterable[str], *, example: str = "{}", cutoff: float = 0.75) -> str:
    """' Did you mean `quiz`?' for a near miss, else ''. `example` formats the suggestion."""
    found = closest(word, candidates, cutoff=cutoff)
    return f" Did you mean `{example.format(found)}`?" if found else ""
