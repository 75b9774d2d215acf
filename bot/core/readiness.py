"""Readiness by domain and task: accuracy of recent first answers beside the exam's weights, the
weakest tasks, and an exam-weighted estimate against the 72 % pass mark. Pure functions."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.models import Bank
from bot.core.ports import Attempt

PASS_MARK = 72
MIN_ANSWERS = 20  # below this, readiness is "too little to tell"
RECENT_DAYS = 30


@dataclass(frozen=True, slots=True)
class Row:
    id: str  # "1" for a domain, "1.2" for a task
    name: str
    weight: int  # exam weight of the domain (percent); a task carries its domain's
    answered: int
    right: int

    @property
    def accuracy(self) -> float | None:
        return self.right / self.answered if self.answered else None


@dataclass(frozen=True, slots=True)
class Readiness:
    domains: tuple[Row, ...]
    tasks: tuple[Row, ...]
    answers: int
    estimate: float | None  # exam-weighted accuracy 0..1; None below MIN_ANSWERS
    weakest: tuple[Row, ...]


def readiness(bank: Bank, attempts: list[Attempt]) -> Readiness:
    """Tally attempts (of questions still in the bank) by domain and task."""
    by_task: dict[str, list[int]] = {t.id: [0, 0] for t in bank.taxonomy.tasks}
    by_domain: dict[int, list[int]] = {d.id: [0, 0] for d in bank.taxonomy.domains}
    counted = 0
    for a in attempts:
        q = bank.question(a.question_id)
        if q is None:
            continue
        counted += 1
        for tally in (by_task.setdefault(q.task, [0, 0]), by_domain.setdefault(q.domain, [0, 0])):
            tally[0] += 1
            tally[1] += int(a.correct)
    weights = {d.id: d.weight for d in bank.taxonomy.domains}
    domains = tuple(
        Row(str(d.id), d.name, d.weight, *by_domain[d.id]) for d in bank.taxonomy.domains
    )
    tasks = tuple(
        Row(t.id, t.title, weights.get(t.domain, 0), *by_task[t.id]) for t in bank.taxonomy.tasks
    )
    estimate = None
    if counted >= MIN_ANSWERS:
        # Weighted over the domains the member has answered in; an unpractised domain is named
        # in the message rather than guessed.
        seen = [r for r in domains if r.answered]
        total = sum(r.weight for r in seen)
        estimate = sum(r.weight * (r.accuracy or 0.0) for r in seen) / total if total else None
    return Readiness(domains, tasks, counted, estimate, weakest_tasks(tasks))


def weakest_tasks(tasks: tuple[Row, ...], n: int = 3) -> tuple[Row, ...]:
    """Lowest accuracy first; a task never answered counts as weakest (0 %), then fewer answers."""
    return tuple(sorted(tasks, key=lambda r: (r.accuracy or 0.0, r.answered, r.id))[:n])


def pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f} %"


def table(rows: tuple[Row, ...], *, label: str) -> list[str]:
    """Monospace table lines: id and name, answered, right, accuracy, and the exam weight of the
    domain (a task's own weight is not published: its row names its domain's)."""
    tasks = any("." in r.id for r in rows)
    out = [f"{label:<34} {'ans':>4} {'right':>5} {'acc':>5} {'domain weight' if tasks else 'weight':>6}"]
    for r in rows:
        name = f"{r.id} {r.name}"
        name = name if len(name) <= 34 else name[:33] + "…"
        weight = f"D{r.id.split('.')[0]} {r.weight} %" if tasks else f"{r.weight} %"
        out.append(f"{name:<34} {r.answered:>4} {r.right:>5} {pct(r.accuracy):>5} {weight:>6}")
    return out


def summary(r: Readiness) -> str:
    if r.estimate is None:
        need = MIN_ANSWERS - r.answers
        return (f"Readiness: too little to tell yet - {r.answers} answer{'s' if r.answers != 1 else ''} in the "
                f"last {RECENT_DAYS} days; answer {need} more for an estimate.")
    verdict = "above" if 100 * r.estimate >= PASS_MARK else "below"
    missing = [d.id for d in r.domains if not d.answered]
    gap = f" Domain{'s' if len(missing) > 1 else ''} {', '.join(missing)} not practised yet." if missing else ""
    return (f"Readiness estimate: *{pct(r.estimate)}* exam-weighted accuracy, {verdict} the {PASS_MARK} % pass mark "
            f"(an estimate from {r.answers} answers in the last {RECENT_DAYS} days, not a prediction of your "
            f"score).{gap}")
