"""The content model (questions, scenarios, facts) and the identities of members and channels."""

from __future__ import annotations

from dataclasses import dataclass, field

LETTERS = "ABCDEFGH"


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    domain: int
    task: str
    services: tuple[str, ...]
    difficulty: int
    stem: str
    options: tuple[tuple[str, str], ...]  # (letter, text) in display order
    key: frozenset[str]
    explanation: str
    wrong: tuple[tuple[str, str], ...]  # (letter, why it is wrong)
    references: tuple[str, ...]
    retired: str | None = None  # "<date> <reason>": kept for history, never served again

    @property
    def multiple(self) -> bool:
        return len(self.key) > 1

    @property
    def letters(self) -> tuple[str, ...]:
        return tuple(letter for letter, _ in self.options)

    def option_text(self, letter: str) -> str:
        return dict(self.options)[letter]

    @property
    def key_text(self) -> str:
        return ", ".join(sorted(self.key))


@dataclass(frozen=True, slots=True)
class Scenario:
    id: str
    services: tuple[str, ...]
    situation: str
    solution: str
    why: str
    keywords: tuple[str, ...]
    references: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Fact:
    id: str
    service: str
    statement: str
    value: str
    unit: str
    keywords: tuple[str, ...]
    references: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Task:
    id: str
    domain: int
    title: str


@dataclass(frozen=True, slots=True)
class Domain:
    id: int
    name: str
    weight: int  # percent of the exam


@dataclass(frozen=True, slots=True)
class Taxonomy:
    domains: tuple[Domain, ...]
    tasks: tuple[Task, ...]
    services: dict[str, str]  # slug -> display name (in scope and legacy)
    in_scope: frozenset[str]


@dataclass(frozen=True, slots=True)
class Bank:
    """Everything members study, validated and immutable once loaded."""

    taxonomy: Taxonomy
    questions: tuple[Question, ...]
    scenarios: tuple[Scenario, ...]
    facts: tuple[Fact, ...]
    by_id: dict[str, Question] = field(default_factory=dict, compare=False)
    # The questions that may be served (daily, quiz, review, exam): every one not retired.
    practice_questions: tuple[Question, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        self.by_id.update({q.id: q for q in self.questions})
        if not self.practice_questions:
            object.__setattr__(self, "practice_questions", tuple(q for q in self.questions if not q.retired))

    def question(self, qid: str) -> Question | None:
        return self.by_id.get(qid)


@dataclass(frozen=True, slots=True)
class MemberRef:
    platform: str
    workspace: str
    user: str


@dataclass(frozen=True, slots=True)
class ChannelRef:
    platform: str
    workspace: str
    channel: str
