"""Re-grading after a key fix: when a question's key changed in the bank since the last start
(a fix after members reported it), every stored answer to it is graded again, and the points and
leaderboards follow, in one transaction. Members are not messaged; the change is logged. The points
follow `grading.regrade`, which keeps the daily practice cap.

The keys seen at the last start are kept in the store (kv `bank:question-keys`); the first start
with this feature only records them.
"""

from __future__ import annotations

import json
import logging

from bot.core.grading import POINTS_PRACTICE, POINTS_RIGHT, POINTS_WRONG
from bot.core.models import Bank
from bot.core.ports import Store

log = logging.getLogger(__name__)
KEYS_KV = "bank:question-keys"


def bank_keys(bank: Bank) -> dict[str, str]:
    return {q.id: "".join(sorted(q.key)) for q in bank.questions}


async def regrade_changed_keys(bank: Bank, store: Store) -> dict[str, tuple[str, str]]:
    """Grade again the answers to questions whose key changed; returns question id -> (old key,
    new key) for each change found."""
    current = bank_keys(bank)
    raw = await store.get_kv(KEYS_KV)
    try:
        before = json.loads(raw) if raw else {}
    except ValueError:
        before = {}
    changes = {qid: (before[qid], key) for qid, key in current.items() if qid in before and before[qid] != key}
    if changes:
        n = await store.regrade_answers(
            {qid: new for qid, (_, new) in changes.items()}, right=POINTS_RIGHT, wrong=POINTS_WRONG,
            practice_right=POINTS_PRACTICE,
        )
        for qid, (old, new) in sorted(changes.items()):
            log.warning("the key of question %s changed from %s to %s: its answers were graded again", qid, old, new)
        log.warning("re-grading changed %d answer(s); points and leaderboards are recomputed", n)
    encoded = json.dumps(current, sort_keys=True, separators=(",", ":"))
    if raw != encoded:
        await store.set_kv(KEYS_KV, encoded)
    return changes
