"""The schema of the content files: what an author may write in content/*/*.yaml.

Each file is a mapping with one list: `questions:`, `scenarios:` or `facts:`. The models below
check the shape of one entry; cross-entry rules (unique ids, taxonomy tags, near-duplicate stems)
live in `content.loader`.
"""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ID_RE = r"^[a-z0-9][a-z0-9.-]{2,79}$"
REFERENCE_HOSTS = ("docs.aws.amazon.com", "aws.amazon.com")
CHOOSE_WORDS = {2: "TWO", 3: "THREE", 4: "FOUR"}
CHOOSE_RE = re.compile(r"\(Choose (TWO|THREE|FOUR)\.\)\s*$")
RETIRED_RE = re.compile(r"^([0-9]{4}-[0-9]{2}-[0-9]{2}) (.+)$")
RETIRED_MIN_WORDS = 3
RETIRED_FORMAT = "'retired: <YYYY-MM-DD> <reason>', e.g. 'retired: 2026-12-07 superseded by q-t12-foo'"


def _reference(url: str) -> str:
    parsed = urlparse(url)
    if parsed.scheme != "https" or parsed.hostname not in REFERENCE_HOSTS or len(parsed.path) < 2:
        raise ValueError(
            f"reference {url!r} must be an https page on {' or '.join(REFERENCE_HOSTS)} (not a home page)"
        )
    return url


def _retired(value: object) -> str | None:
    """`retired: 2026-12-07 superseded by q-t12-foo`: an ISO date, then a reason of a few words."""
    if value is None:
        return None
    if isinstance(value, date):  # YAML reads a bare date as a date: the reason is missing
        raise ValueError(f"give a reason after the date: {RETIRED_FORMAT}")
    if not isinstance(value, str):
        raise ValueError(f"must be {RETIRED_FORMAT}")
    text = " ".join(value.split())
    match = RETIRED_RE.match(text)
    if match is None:
        raise ValueError(f"must be {RETIRED_FORMAT}, got {text[:60]!r}")
    day, reason = match.groups()
    try:
        date.fromisoformat(day)
    except ValueError:
        raise ValueError(f"{day!r} is not a calendar date (YYYY-MM-DD)") from None
    if len(reason.split()) < RETIRED_MIN_WORDS:
        raise ValueError(f"the reason {reason!r} is too short: say why in {RETIRED_MIN_WORDS} words or more")
    return text


def _text(value: str) -> str:
    value = " ".join(value.split())
    if not value:
        raise ValueError("must not be empty")
    return value


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(pattern=ID_RE)
    references: list[str] = Field(min_length=1)

    @field_validator("references")
    @classmethod
    def _refs(cls, refs: list[str]) -> list[str]:
        return [_reference(r) for r in refs]


class QuestionEntry(_Entry):
    domain: int = Field(ge=1, le=4)
    task: str = Field(pattern=r"^[1-4]\.[1-4]$")
    services: list[str] = Field(min_length=1)
    difficulty: int = Field(ge=1, le=3)
    stem: str = Field(min_length=40, max_length=1500)
    options: dict[str, str]
    key: list[str] = Field(min_length=1)
    explanation: str = Field(min_length=40, max_length=2000)
    wrong: dict[str, str]
    retired: str | None = None  # "<YYYY-MM-DD> <reason>": kept for history, never served again

    @field_validator("retired", mode="before")
    @classmethod
    def _retired_format(cls, value: object) -> object:
        return _retired(value)

    @field_validator("key", mode="before")
    @classmethod
    def _key_list(cls, key: object) -> object:
        if isinstance(key, str):
            return [k.strip() for k in key.split(",") if k.strip()]
        return key

    @field_validator("stem", "explanation")
    @classmethod
    def _clean(cls, value: str) -> str:
        return _text(value)

    @field_validator("options", "wrong")
    @classmethod
    def _clean_map(cls, value: dict[str, str]) -> dict[str, str]:
        out = {}
        for letter, text in value.items():
            if not re.fullmatch(r"[A-H]", str(letter)):
                raise ValueError(f"option letter {letter!r} must be one of A-H")
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"text for {letter} must not be empty")
            if len(text) > 400:
                raise ValueError(f"text for {letter} is {len(text)} characters, at most 400")
            out[str(letter)] = _text(text)
        return out

    @model_validator(mode="after")
    def _consistent(self) -> QuestionEntry:
        letters = list(self.options)
        expected = list("ABCDEFGH"[: len(letters)])
        if letters != expected:
            raise ValueError(f"options must be lettered {', '.join(expected)} in order, got {', '.join(letters)}")
        if len(set(self.key)) != len(self.key):
            raise ValueError("key lists a letter twice")
        missing = [k for k in self.key if k not in self.options]
        if missing:
            raise ValueError(f"key {', '.join(missing)} is not an option")
        choose = CHOOSE_RE.search(self.stem)
        if len(self.key) == 1:
            if len(letters) != 4:
                raise ValueError(f"a single-answer question has exactly 4 options, got {len(letters)}")
            if choose:
                raise ValueError("a single-answer question must not say '(Choose N.)'")
        else:
            if len(letters) < 5:
                raise ValueError(f"a multiple-response question has 5 or more options, got {len(letters)}")
            word = CHOOSE_WORDS.get(len(self.key))
            if word is None or not choose or choose.group(1) != word:
                raise ValueError(
                    f"the key has {len(self.key)} options, so the stem must end with '(Choose {word}.)'"
                )
            if len(self.key) >= len(letters) - 2:
                raise ValueError("a multiple-response question needs at least 3 wrong options")
        wrong_expected = set(letters) - set(self.key)
        if set(self.wrong) != wrong_expected:
            need = sorted(wrong_expected - set(self.wrong))
            extra = sorted(set(self.wrong) - wrong_expected)
            parts = []
            if need:
                parts.append(f"missing a line for wrong option(s) {', '.join(need)}")
            if extra:
                parts.append(f"has a line for {', '.join(extra)}, which is not a wrong option")
            raise ValueError("'wrong' " + " and ".join(parts))
        return self


class ScenarioEntry(_Entry):
    services: list[str] = Field(min_length=1)
    situation: str = Field(min_length=10, max_length=600)
    solution: str = Field(min_length=5, max_length=600)
    why: str = Field(min_length=20, max_length=900)
    keywords: list[str] = Field(min_length=2)
    source: str | None = None  # "seed" for rows of the study guide's scenario table

    @field_validator("situation", "solution", "why")
    @classmethod
    def _clean(cls, value: str) -> str:
        return _text(value)


class FactEntry(_Entry):
    service: str
    statement: str = Field(min_length=10, max_length=600)
    value: str = Field(min_length=1, max_length=80)
    unit: str = Field(min_length=1, max_length=40)
    keywords: list[str] = Field(default_factory=list)

    @field_validator("value", mode="before")
    @classmethod
    def _value_str(cls, value: object) -> object:
        return str(value) if isinstance(value, int | float) else value

    @field_validator("statement")
    @classmethod
    def _clean(cls, value: str) -> str:
        return _text(value)


KINDS: dict[str, type[_Entry]] = {
    "questions": QuestionEntry,
    "scenarios": ScenarioEntry,
    "facts": FactEntry,
}
