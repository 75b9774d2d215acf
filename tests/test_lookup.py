"""Lookup tolerates typos and word order, ranks the right entry first, and stays fast."""

import pytest

from bot.core.lookup import LookupIndex


@pytest.fixture(scope="module")
def index(real_bank):
    return LookupIndex(real_bank)


@pytest.mark.parametrize(
    ("query", "kind", "expect"),
    [
        ("dynamo ttl", None, "ttl"),
        ("ttl dynamo", None, "ttl"),
        ("cors eror", "scenario", "access-control-allow-origin"),
        ("lambda tmp storage", None, "/tmp"),
        ("storage tmp lambda", None, "/tmp"),
        ("unable to import module", "scenario", "import"),
        ("kms encrypt limit", "fact", "4"),
        ("sqs visibilty timout", "fact", "visibility timeout"),
        ("decode authorization message", None, "decode"),
    ],
)
def test_queries_find_the_right_entry_first(index, query, kind, expect):
    hits = index.search(query, kind=kind, limit=3)
    assert hits, query
    top = (hits[0].title + " " + hits[0].text).lower()
    assert expect in top, [h.title for h in hits]


def test_kind_filter_and_order(index):
    hits = index.search("lambda timeout", kind="fact", limit=5)
    assert hits and all(h.kind == "fact" for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert any("900" in h.text for h in hits[:3])


def test_nonsense_and_empty_find_nothing(index):
    assert index.search("") == []
    assert index.search("the and of") == []
    assert index.search("zzqxj wqpvk") == []


def test_fixture_bank_lookup(bank):
    ix = LookupIndex(bank)
    assert ix.search("cors eror")[0].id == "s-test-cors"
    assert ix.search("timeout lambda", kind="fact")[0].id == "f-test-lambda-timeout"
