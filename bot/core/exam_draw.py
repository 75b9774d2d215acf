"""Which questions a mock exam asks: the exam's domain weights, spread over the task statements,
about one in five multiple response, the member's unseen questions first and none of their
previous exam's questions when the bank allows. Pure and deterministic given the seed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bot.core.models import Bank, Question

MR_SHARE = 0.2  # the real exam: about one question in five asks for two or more options


@dataclass(frozen=True, slots=True)
class ExamFormat:
    mode: str
    minutes: int
    per_domain: tuple[tuple[int, int], ...]  # (domain, questions)

    @property
    def size(self) -> int:
        return sum(n for _, n in self.per_domain)

    def seconds_for(self, questions: int) -> float:
        """The time allowed: the format's own, or the same time per question for a shorter exam
        (a bank too small for the full count)."""
        return self.minutes * 60 * min(questions, self.size) / self.size


# 65 questions in 130 minutes like the real exam (32/26/24/18 % by domain); the short one keeps the
# weights and the two minutes a question.
FORMATS = {
    "full": ExamFormat("full", 130, ((1, 21), (2, 17), (3, 16), (4, 11))),
    "short": ExamFormat("short", 40, ((1, 6), (2, 5), (3, 5), (4, 4))),
}


def _hash(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def spread(n: int, room: dict, order: list) -> dict:
    """Share `n` among the keys of `room` as evenly as possible, never more than a key's room;
    ties go to the keys earliest in `order`."""
    out = {k: 0 for k in order}
    left = min(n, sum(room.values()))
    while left > 0:
        open_keys = [k for k in order if out[k] < room[k]]
        low = min(out[k] for k in open_keys)
        for k in open_keys:
            if left and out[k] == low:
                out[k] += 1
                left -= 1
    return out


def _largest_remainder(total: int, weights: dict[int, int], caps: dict[int, int]) -> dict[int, int]:
    """`total` shared in proportion to `weights`, each at most its cap (the rest to those with room)."""
    whole = sum(weights.values()) or 1
    exact = {d: total * w / whole for d, w in weights.items()}
    out = {d: min(int(exact[d]), caps[d]) for d in weights}
    by_remainder = sorted(weights, key=lambda d: (-(exact[d] - int(exact[d])), d))
    while sum(out.values()) < total:
        open_d = [d for d in by_remainder if out[d] < caps[d]]
        if not open_d:
            break
        # The domain furthest below its exact share first.
        d = max(open_d, key=lambda x: (exact[x] - out[x], -x))
        out[d] += 1
    return out


def draw(
    bank: Bank, fmt: ExamFormat, *, seed: str, seen: Iterable[str] = (), previous: Iterable[str] = ()
) -> list[str]:
    """The question ids of a new exam, in the order asked. `seen`: questions the member has
    answered before (their review cards); `previous`: their last exam's questions."""
    seen, previous = set(seen), set(previous)

    def tier(q: Question) -> int:
        return 2 if q.id in previous else 1 if q.id in seen else 0

    def rank(q: Question) -> tuple[int, str]:
        return tier(q), _hash(seed, q.id)

    weights = dict(fmt.per_domain)
    pools = {d: [q for q in bank.practice_questions if q.domain == d] for d in weights}  # never a retired one
    counts = _largest_remainder(
        min(fmt.size, sum(len(p) for p in pools.values())), weights, {d: len(p) for d, p in pools.items()}
    )
    mr_caps = {d: sum(q.multiple for q in pools[d]) for d in weights}
    mr_counts = _largest_remainder(round(sum(counts.values()) * MR_SHARE), counts, {
        d: min(mr_caps[d], counts[d]) for d in weights
    })
    chosen: list[Question] = []
    for d in sorted(weights):
        chosen += _pick_domain(pools[d], counts[d], mr_counts[d], rank=rank, seed=f"{seed}|{d}")
    return [q.id for q in sorted(chosen, key=lambda q: _hash(seed, "order", q.id))]


def _pick_domain(
    pool: list[Question], n: int, mr: int, *, rank: Callable[[Question], tuple], seed: str
) -> list[Question]:
    """`n` questions of one domain spread over its tasks, `mr` of them multiple response."""
    tasks = sorted({q.task for q in pool}, key=lambda t: _hash(seed, t))
    by_task = {t: sorted((q for q in pool if q.task == t), key=rank) for t in tasks}
    quota = spread(n, {t: len(by_task[t]) for t in tasks}, tasks)
    taken: dict[str, list[Question]] = {t: [] for t in tasks}
    # Repeating the previous exam is worse than missing the share of multiple response, unless
    # this domain cannot avoid repeats anyway.
    fresh = sum(rank(q)[0] < 2 for q in pool)
    worst_tier = 2 if fresh < n else 1
    picked_mr = 0
    progress = True
    while picked_mr < mr and progress:
        progress = False
        for t in tasks:
            if picked_mr >= mr or len(taken[t]) >= quota[t]:
                continue
            q = next((q for q in by_task[t] if q.multiple and q not in taken[t] and rank(q)[0] <= worst_tier), None)
            if q is not None:
                taken[t].append(q)
                picked_mr += 1
                progress = True
    for t in tasks:
        rest = [q for q in by_task[t] if q not in taken[t]]
        # Single-answer questions fill the rest (multiple response only when a task has no more),
        # each kind best-ranked first.
        rest.sort(key=lambda q: (rank(q)[0], q.multiple, rank(q)[1]))
        taken[t] += rest[: quota[t] - len(taken[t])]
    return [q for t in tasks for q in taken[t]]
