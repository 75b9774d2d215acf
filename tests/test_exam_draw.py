"""Which questions a mock exam draws (bot/core/exam_draw.py), on the real bank and a small one."""

from collections import Counter

import pytest

from bot.core.exam_draw import FORMATS, draw, spread


def shape(bank, ids):
    qs = [bank.by_id[i] for i in ids]
    return Counter(q.domain for q in qs), Counter(q.task for q in qs), sum(q.multiple for q in qs)


@pytest.mark.parametrize(("mode", "domains", "mr"), [
    ("full", {1: 21, 2: 17, 3: 16, 4: 11}, 13),
    ("short", {1: 6, 2: 5, 3: 5, 4: 4}, 4),
])
def test_domain_weights_task_spread_and_multiple_response_share(real_bank, mode, domains, mr):
    for seed in ("a", "b", "c"):
        ids = draw(real_bank, FORMATS[mode], seed=seed)
        assert len(ids) == len(set(ids)) == sum(domains.values())
        by_domain, by_task, multiple = shape(real_bank, ids)
        assert dict(by_domain) == domains
        assert multiple == mr  # one in five
        for d in domains:
            counts = [by_task.get(t.id, 0) for t in real_bank.taxonomy.tasks if t.domain == d]
            assert max(counts) - min(counts) <= 1, (d, counts)  # spread evenly over the tasks


def test_the_same_seed_draws_the_same_exam_in_a_mixed_order(real_bank):
    a = draw(real_bank, FORMATS["full"], seed="s1")
    assert draw(real_bank, FORMATS["full"], seed="s1") == a
    assert draw(real_bank, FORMATS["full"], seed="s2") != a
    domains = [real_bank.by_id[i].domain for i in a]
    assert domains != sorted(domains)  # not domain by domain


def test_no_question_of_the_previous_exam_when_the_bank_allows(real_bank):
    previous: list[str] = []
    asked: set[str] = set()
    for n in range(4):
        ids = draw(real_bank, FORMATS["full"], seed=f"e{n}", seen=asked, previous=previous)
        assert not set(ids) & set(previous)
        asked |= set(ids)
        previous = ids
    # Short exams in a row, too.
    previous = []
    for n in range(10):
        ids = draw(real_bank, FORMATS["short"], seed=f"s{n}", previous=previous)
        assert not set(ids) & set(previous)
        previous = ids


def test_unseen_questions_come_first(real_bank):
    # Half of each task's single-answer questions were answered before; every MR one is unseen.
    seen = {q.id for k, q in enumerate(sorted(real_bank.questions, key=lambda q: q.id))
            if not q.multiple and k % 2 == 0}
    for seed in ("x", "y"):
        ids = draw(real_bank, FORMATS["full"], seed=seed, seen=seen)
        assert not set(ids) & seen
        assert shape(real_bank, ids)[2] == 13
    # When everything has been seen, the draw still fills the exam.
    everything = {q.id for q in real_bank.questions}
    assert len(draw(real_bank, FORMATS["full"], seed="z", seen=everything)) == 65


def test_a_small_bank_gives_a_shorter_exam_with_the_same_time_per_question(bank):
    ids = draw(bank, FORMATS["short"], seed="x")
    assert sorted(ids) == sorted(q.id for q in bank.questions)  # all 8 questions
    assert FORMATS["short"].seconds_for(len(ids)) == 8 * 120
    assert FORMATS["full"].seconds_for(65) == 130 * 60
    # Repeats only when they cannot be avoided: the previous exam was the whole bank.
    assert sorted(draw(bank, FORMATS["short"], seed="y", previous=ids)) == sorted(ids)


def test_spread_is_even_and_respects_room():
    assert spread(11, {"a": 9, "b": 9, "c": 9}, ["c", "a", "b"]) == {"c": 4, "a": 4, "b": 3}
    assert spread(7, {"a": 1, "b": 9}, ["a", "b"]) == {"a": 1, "b": 6}
    assert spread(50, {"a": 2, "b": 3}, ["a", "b"]) == {"a": 2, "b": 3}


def test_a_retired_question_is_never_drawn(real_bank):
    import dataclasses

    retired = {q.id for i, q in enumerate(real_bank.questions) if i % 2}
    questions = tuple(dataclasses.replace(q, retired="2026-12-07 wrong key") if q.id in retired else q
                      for q in real_bank.questions)
    bank = dataclasses.replace(real_bank, questions=questions, practice_questions=())
    for seed in ("a", "b", "c"):
        ids = draw(bank, FORMATS["short"], seed=seed)
        assert ids and not set(ids) & retired
