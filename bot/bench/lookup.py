"""lookup: varied queries over the whole bank through LookupIndex.search (what `/dva scenario`,
`/dva fact` and `studybot lookup` run). Baseline: a plain rapidfuzz scan (WRatio) over the raw
texts of every scenario, fact and question."""

from __future__ import annotations

import random
import time

from rapidfuzz import fuzz, process

from bot.bench.report import Row, fmt, percentile
from bot.core.lookup import LookupIndex
from bot.core.models import Bank
from bot.runtime import freeze_heap


def queries(bank: Bank, n: int, *, seed: int = 3) -> list[str]:
    """Queries of the shapes members type: keywords, a service and a symptom, prefixes, typos,
    long sentences, and words the bank does not hold."""
    rng = random.Random(seed)
    words = sorted({w for s in bank.scenarios for k in s.keywords for w in k.split()}
                   | {w for f in bank.facts for k in f.keywords for w in k.split()})
    services = sorted(bank.taxonomy.services)
    out: list[str] = []
    while len(out) < n:
        shape = len(out) % 6
        if shape == 0:
            q = " ".join(rng.sample(words, 2))
        elif shape == 1:
            q = f"{rng.choice(services)} {rng.choice(words)}"
        elif shape == 2:
            w = rng.choice([w for w in words if len(w) >= 5] or words)
            i = rng.randrange(len(w))
            q = w[:i] + w[i + 1:] + " " + rng.choice(words)  # a typo
        elif shape == 3:
            q = rng.choice(words)[:4]  # a prefix
        elif shape == 4:
            q = rng.choice(bank.questions).stem[:120]  # a pasted sentence
        else:
            q = f"zzqx {rng.choice(['flurble', 'quantum toaster', 'kubernetes helm'])}"
        out.append(q)
    return out


async def run(*, bank: Bank, count: int = 200, **_: object) -> list[Row]:
    index = LookupIndex(bank)
    freeze_heap()  # as `studybot run` does once started
    qs = queries(bank, count)
    took = []
    for q in qs:
        t = time.perf_counter()
        index.search(q, limit=5)
        took.append(time.perf_counter() - t)
    texts = [s.situation + " " + s.solution for s in bank.scenarios] + [f.statement for f in bank.facts] + [
        q.stem for q in bank.questions]
    raw = []
    for q in qs:
        t = time.perf_counter()
        process.extract(q, texts, scorer=fuzz.WRatio, limit=5)
        raw.append(time.perf_counter() - t)
    note = f"{count} queries over {len(index):,} documents"
    base = f"rapidfuzz scan: p50 {fmt(1000 * percentile(raw, 50))} ms, p99 {fmt(1000 * percentile(raw, 99))} ms"
    p50, p99 = 1000 * percentile(took, 50), 1000 * percentile(took, 99)
    return [
        Row("lookup", "p50 ms per lookup", p50, "", "", None, note),
        Row("lookup", "p99 ms per lookup", p99, "<= 2", base, p99 <= 2, note),
    ]
