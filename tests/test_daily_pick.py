"""The daily pick: deterministic, weighted by domain, no repeats until the bank is exhausted."""

from collections import Counter
from datetime import date, timedelta

from bot.core.daily import next_domain, pick_daily
from bot.core.models import ChannelRef

CH = ChannelRef("slack", "T1", "C1")


def run_days(bank, channel, n, start=date(2026, 1, 1)):
    history: list[str] = []
    for i in range(n):
        history.append(pick_daily(bank, channel, start + timedelta(days=i), history).id)
    return history


def test_same_inputs_give_the_same_question(bank):
    h = ["t-d1-one"]
    assert pick_daily(bank, CH, date(2026, 5, 5), h).id == pick_daily(bank, CH, date(2026, 5, 5), list(h)).id


def test_no_repeat_until_every_question_was_asked(bank):
    n = len(bank.questions)
    history = run_days(bank, CH, n * 2)
    assert sorted(history[:n]) == sorted(q.id for q in bank.questions)
    assert sorted(history[n:]) == sorted(q.id for q in bank.questions)


def test_different_channels_get_different_orders(bank):
    a = run_days(bank, CH, len(bank.questions))
    b = run_days(bank, ChannelRef("slack", "T1", "C2"), len(bank.questions))
    c = run_days(bank, ChannelRef("discord", "G9", "C77"), len(bank.questions))
    assert len({tuple(a), tuple(b), tuple(c)}) > 1


def test_domain_rotation_follows_the_exam_weights():
    weights = {1: 32, 2: 26, 3: 24, 4: 18}
    history: list[int] = []
    for _ in range(100):
        history.append(next_domain(history, weights, {1, 2, 3, 4}))
    counts = Counter(history)
    assert counts == {1: 32, 2: 26, 3: 24, 4: 18}
    # Every window of 20 posts stays close to the weights (smooth, not blocks of one domain).
    for start in range(0, 80, 10):
        window = Counter(history[start : start + 20])
        assert all(abs(window[d] - weights[d] / 5) <= 1.5 for d in weights)


def test_rotation_on_the_real_bank_tracks_weights(real_bank):
    history = run_days(real_bank, CH, 100)
    assert len(set(history)) == 100
    counts = Counter(real_bank.by_id[q].domain for q in history)
    for d, w in {1: 32, 2: 26, 3: 24, 4: 18}.items():
        assert abs(counts[d] - w) <= 1, counts
