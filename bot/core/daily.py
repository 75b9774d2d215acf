"""Which question a channel gets on a given local date.

Deterministic from (channel, date, history): two processes with the same store pick the same
question. Domains rotate by the exam weights (smooth weighted round robin over the channel's
history), and no question repeats in a channel until every question has been asked there.
Retired questions are never picked.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from datetime import date

from bot.core import texts
from bot.core.models import Bank, ChannelRef, Question
from bot.core.timeutil import UsageError


def current_cycle(history: list[str], all_ids: set[str]) -> set[str]:
    """Ids asked in the current cycle: the history since the bank was last exhausted."""
    asked: set[str] = set()
    for qid in history:
        if qid not in all_ids:
            continue
        asked.add(qid)
        if asked >= all_ids:
            asked = set()
    return asked


def next_domain(history_domains: list[int], weights: dict[int, int], available: set[int]) -> int:
    """The domain furthest below its share of the channel's posts so far."""
    n = len(history_domains) + 1
    counts = Counter(history_domains)
    total = sum(weights.values())

    def deficit(d: int) -> tuple[float, int]:
        return (weights[d] * n / total - counts.get(d, 0), -d)

    return max(sorted(available), key=deficit)


def _rank(channel: ChannelRef, day: date, qid: str) -> str:
    seed = f"{channel.platform}|{channel.workspace}|{channel.channel}|{day.isoformat()}|{qid}"
    return hashlib.sha256(seed.encode()).hexdigest()


def pick_daily(
    bank: Bank, channel: ChannelRef, day: date, history: list[str], *, exclude: frozenset[str] = frozenset()
) -> Question:
    """Only questions that may be served (not retired, not in `exclude`: disputed by reports); a
    retired question in the history still counts for the domain rotation but not for the cycle."""
    pool = tuple(q for q in bank.practice_questions if q.id not in exclude) or bank.practice_questions
    if not pool:
        raise LookupError("the bank has no questions to serve")
    all_ids = {q.id for q in pool}
    asked = current_cycle(history, all_ids)
    remaining = [q for q in pool if q.id not in asked]
    weights = {d.id: d.weight for d in bank.taxonomy.domains}
    history_domains = [bank.by_id[qid].domain for qid in history if qid in bank.by_id]
    available = {q.domain for q in remaining if q.domain in weights}
    if available:
        domain = next_domain(history_domains, weights, available)
        remaining = [q for q in remaining if q.domain == domain]
    return min(remaining, key=lambda q: _rank(channel, day, q.id))


def parse_ping(args: tuple[str, ...]) -> str | None:
    """`<@&role>` (Discord), `<!subteam^ID|@name>` (Slack), `here`/`@here`, or `off` -> the stored
    ping ('role:<id>', 'group:<id>', 'here') or None; UsageError for anything else."""
    if len(args) != 1:
        raise UsageError(texts.DAILY_PING_USAGE)
    word = args[0].strip()
    low = word.lower()
    if low in ("off", "none", "no"):
        return None
    if low in ("here", "@here", "<!here>", "<!here|here>", "<!here|@here>"):
        return "here"
    m = re.fullmatch(r"<@&(\d{1,20})>", word)
    if m:
        return f"role:{m.group(1)}"
    m = re.fullmatch(r"<!subteam\^([A-Z0-9]{2,20})(?:\|[^>]*)?>", word)
    if m:
        return f"group:{m.group(1)}"
    raise UsageError(texts.DAILY_PING_USAGE)


def describe_ping(ping: str) -> str:
    if ping == "here":
        return "@here"
    kind, _, ident = ping.partition(":")
    return f"<@&{ident}>" if kind == "role" else f"<!subteam^{ident}>"
