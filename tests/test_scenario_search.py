"""Members find scenarios by typing what they see: one natural query per scenario in the bank.

tests/data/scenario_queries.yaml holds a short, member-style query for every scenario (written
as a stuck developer would type it, not copied from the keywords). At least 95 % of them must
return the intended scenario first; when this fails, improve the scenarios' keywords, not the
queries.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.core.lookup import LookupIndex

QUERIES = Path(__file__).parent / "data" / "scenario_queries.yaml"
MIN_HIT_RATE = 0.95


@pytest.fixture(scope="module")
def rows():
    data = yaml.safe_load(QUERIES.read_text(encoding="utf-8"))
    assert isinstance(data, list) and data, "scenario_queries.yaml must be a non-empty list"
    return data


@pytest.fixture(scope="module")
def index(real_bank):
    return LookupIndex(real_bank)


def test_every_query_names_an_existing_scenario(rows, real_bank):
    ids = {s.id for s in real_bank.scenarios}
    unknown = [r["id"] for r in rows if r["id"] not in ids]
    assert not unknown, f"queries point at scenarios that do not exist: {unknown}"


def test_every_scenario_has_a_query(rows, real_bank):
    covered = {r["id"] for r in rows}
    missing = sorted(s.id for s in real_bank.scenarios if s.id not in covered)
    assert not missing, f"scenarios without a query in {QUERIES.name}: {missing}"


def test_queries_are_not_copies_of_keywords(rows, real_bank):
    keywords = {s.id: {k.lower() for k in s.keywords} for s in real_bank.scenarios}
    copies = [r["query"] for r in rows if r["query"].strip().lower() in keywords.get(r["id"], set())]
    assert not copies, f"queries identical to a keyword: {copies}"


def test_scenario_search_hit_rate(rows, index):
    misses = []
    for row in rows:
        hits = index.search(row["query"], kind="scenario", limit=1)
        got = hits[0].id if hits else None
        if got != row["id"]:
            misses.append(f"{row['query']!r}: expected {row['id']}, got {got}")
    rate = 1 - len(misses) / len(rows)
    assert rate >= MIN_HIT_RATE, (
        f"top-1 hit rate {rate:.1%} < {MIN_HIT_RATE:.0%} ({len(misses)} misses of {len(rows)}):\n"
        + "\n".join(misses)
    )
