"""Retiring a question (issue #16): `retired: <date> <reason>` takes it out of daily picks, quizzes,
reviews and lookup, while its history (answers, points, review cards, stats, exports) stays readable;
content/shipped-ids.txt keeps a shipped id from being deleted."""

from __future__ import annotations

import io
import shutil
import tomllib
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.cli import main
from bot.core import texts
from bot.core.clock import FakeClock
from bot.core.daily import pick_daily
from bot.core.lookup import LookupIndex
from bot.core.models import ChannelRef
from bot.core.service import StudyService
from content.loader import (
    SHIPPED_IDS,
    BankError,
    load_bank,
    load_bank_cached,
    read_shipped,
    stats,
    unshipped_ids,
    update_shipped,
)
from storage.export import export_to
from tests.conftest import FIXTURE_BANK, ROOT, member
from tests.test_content import GOOD_Q, bank_dir, problems

RETIRED = "t-d1-one"  # the fixture bank's only task 1.2 question
REASON = "2026-03-01 superseded by t-d1-two for the test"
CH = ChannelRef("console", "ws1", "study")


def retired_bank_dir(tmp_path, qid: str = RETIRED, retired: str = REASON):
    root = tmp_path / "bank"
    shutil.copytree(FIXTURE_BANK, root)
    path = root / "questions" / "sample.yaml"
    text = path.read_text(encoding="utf-8")
    marker = f"  - id: {qid}\n"
    assert marker in text
    path.write_text(text.replace(marker, f"{marker}    retired: {retired}\n"), encoding="utf-8")
    return root


@pytest.fixture
def retired_bank(tmp_path):
    return load_bank(retired_bank_dir(tmp_path))


def right(q) -> str:
    return " ".join(sorted(q.key))


# ----- the schema -------------------------------------------------------------------------
def test_a_retired_question_loads_and_keeps_its_history_id(retired_bank, bank):
    q = retired_bank.question(RETIRED)
    assert q is not None and q.retired == REASON
    assert retired_bank.by_id[RETIRED] is q
    assert RETIRED not in {p.id for p in retired_bank.practice_questions}
    assert len(retired_bank.practice_questions) == len(bank.questions) - 1
    assert all(p.retired is None for p in bank.questions)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-12-07", "give a reason after the date"),
        ("2026-02-30 superseded by a newer question", "'2026-02-30' is not a calendar date"),
        ("12/07/2026 superseded by a newer question", "must be 'retired: <YYYY-MM-DD> <reason>'"),
        ("soon, superseded by a newer question", "must be 'retired: <YYYY-MM-DD> <reason>'"),
        ("2026-12-07 outdated", "is too short"),
        ("2026-12-07 no longer", "is too short"),
        ("[2026-12-07, superseded by a newer one]", "must be 'retired: <YYYY-MM-DD> <reason>'"),
        ("2026-12-07 superseded by q-nowhere-at-all", "names q-nowhere-at-all, which is not a question in the bank"),
    ],
)
def test_bad_retired_values_are_rejected(tmp_path, value, expected):
    body = GOOD_Q.replace("    references:", f"    retired: {value}\n    references:")
    found = problems(tmp_path, questions=body)
    assert any(expected in p for p in found), found
    assert all("[q-good-one]" in p for p in found), found


def test_a_good_retired_value_is_normalised(tmp_path):
    body = GOOD_Q.replace("    references:", "    retired: 2026-12-07   the wording was imprecise\n    references:")
    [q] = load_bank(bank_dir(tmp_path, questions=body)).questions
    assert q.retired == "2026-12-07 the wording was imprecise"


def test_a_successor_may_repeat_the_stem_of_the_question_it_retires(tmp_path):
    successor = GOOD_Q.replace("q-good-one", "q-good-two").replace("What should they change?", "What should they alter?")
    body = GOOD_Q + successor
    assert any("near-identical" in p for p in problems(tmp_path, questions=body))
    retired = GOOD_Q.replace("    references:", "    retired: 2026-12-07 superseded by q-good-two\n    references:")
    bank = load_bank(bank_dir(tmp_path, questions=retired + successor))
    assert [q.id for q in bank.practice_questions] == ["q-good-two"]


def test_stats_count_retired_questions_apart(retired_bank, bank):
    s = stats(retired_bank)
    assert s["retired"] == 1 and stats(bank)["retired"] == 0
    assert s["questions"] == len(bank.questions) - 1
    assert sum(s["by_domain"].values()) == s["questions"]
    assert s["by_task"]["1.2"] == 0 and stats(bank)["by_task"]["1.2"] == 1


def test_cli_stats_show_the_retired_count(tmp_path, capsys):
    root = retired_bank_dir(tmp_path)
    assert main(["content", "stats", "--root", str(root)]) == 0
    assert "+1 retired, not counted below" in capsys.readouterr().out


# ----- serving ----------------------------------------------------------------------------
def test_a_retired_question_is_never_picked_daily(retired_bank):
    active = sorted(q.id for q in retired_bank.practice_questions)
    for ch in (CH, ChannelRef("slack", "T1", "C9")):
        history = [RETIRED]  # it was asked before it was retired
        for i in range(3 * len(active)):
            history.append(pick_daily(retired_bank, ch, date(2026, 1, 1) + timedelta(days=i), history).id)
        picked = history[1:]
        assert RETIRED not in picked
        assert sorted(picked[: len(active)]) == active  # a cycle is every active question once


async def test_a_retired_question_is_never_served_as_a_quiz(retired_bank, store, clock):
    service = StudyService(bank=retired_bank, store=store, clock=clock)
    alice = member("alice")
    served = []
    for topic in ["", "1", "lambda", ""] * 6:
        msg = await service.handle_command(member=alice, channel=CH, text=f"/dva quiz {topic}")
        if msg.post_id is None:
            assert topic == "lambda", msg.text  # every other lambda question may be retired: fine either way
            continue
        served.append((await store.get_post(msg.post_id)).question_id)
        clock.advance(minutes=1)
    assert served and RETIRED not in served
    only_retired = await service.handle_command(member=alice, channel=CH, text="/dva quiz 1.2")
    assert only_retired.post_id is None
    assert only_retired.text == texts.NO_QUESTION_FOR_TOPIC.format(topic="1.2")


def test_lookup_does_not_offer_a_retired_question(retired_bank, bank):
    stem = bank.question(RETIRED).stem
    assert RETIRED in [h.id for h in LookupIndex(bank).search(stem, kind="question")]
    assert RETIRED not in [h.id for h in LookupIndex(retired_bank).search(stem, kind="question")]


# ----- history ----------------------------------------------------------------------------
async def test_history_of_a_retired_question_stays_readable(tmp_path, bank, store):
    clock = FakeClock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    before = StudyService(bank=bank, store=store, clock=clock)
    alice, bob = member("alice"), member("bob")
    q = bank.question(RETIRED)
    # While it was active: a daily post and a quiz, both answered.
    daily, created = await store.claim_daily(channel=CH, local_date="2026-03-02", question_id=RETIRED,
                                             created_at=clock.now().timestamp())
    assert created
    first = await before.answer(member=alice, post_id=daily.id, raw_choice=right(q))
    assert first.text.startswith("Right!"), first.text
    quiz = await before.handle_command(member=alice, channel=CH, text="/dva quiz 1.2")
    assert (await store.get_post(quiz.post_id)).question_id == RETIRED

    # The question is retired; the bot restarts with the new bank on the same database.
    after_bank = load_bank(retired_bank_dir(tmp_path))
    after = StudyService(bank=after_bank, store=store, clock=clock)
    assert after_bank.question(RETIRED) is not None

    # Its posts still render and still take answers.
    face = after.daily_message(daily, answered=1)
    assert face.text == q.stem and face.text != texts.EXPIRED and face.buttons
    late = await after.answer(member=bob, post_id=daily.id, raw_choice=right(q))
    assert late.text.startswith("Right!"), late.text
    practice = await after.answer(member=alice, post_id=quiz.post_id, raw_choice=right(q))
    assert practice.text != texts.EXPIRED and "Right!" in practice.text
    revealed = await after.reveal(daily.id)
    assert revealed is not None
    face, why = revealed
    assert face.text == q.stem and f"The answer is {q.key_text}" in why.text

    # Points, the leaderboard and stats still count its answers.
    assert (await store.member_points(alice))[1] == 2 and (await store.member_points(bob))[1] == 1
    board = await after.handle_command(member=alice, channel=CH, text="/dva leaderboard all")
    assert "<@alice>" in board.text and "<@bob>" in board.text
    mine = await after.handle_command(member=alice, channel=CH, text="/dva stats")
    assert "Answers: 2, right: 2" in mine.text
    assert any(line.startswith("1.2 ") and " 2 " in line for line in mine.lines), mine.lines
    group = await after.handle_command(member=alice, channel=CH, text="/dva stats group")
    assert "3 answers" in group.text

    # Its review card is kept but never served.
    cards = await store.member_cards(alice)
    assert RETIRED in cards
    clock.advance(days=400)
    review = await after.handle_command(member=alice, channel=CH, text="/dva review")
    if review.post_id is not None:
        assert (await store.get_post(review.post_id)).question_id != RETIRED

    # An export keeps every row about it.
    out = io.StringIO()
    await export_to(store, out)
    assert out.getvalue().count(f'"{RETIRED}"') >= 3


# ----- shipped ids ------------------------------------------------------------------------
def test_deleting_a_shipped_id_fails_the_load_with_the_fix(tmp_path):
    root = bank_dir(tmp_path)
    (root / SHIPPED_IDS).write_text("q-good-gone\nq-good-one\n", encoding="utf-8")
    with pytest.raises(BankError) as info:
        load_bank(root)
    [problem] = [str(p) for p in info.value.problems]
    assert problem == (
        f"{root.name}/{SHIPPED_IDS} [q-good-gone]: question q-good-gone shipped before; "
        "retire it with `retired: <date> <reason>` instead of deleting it"
    )
    # Checking some files cannot tell a deleted id from one in another file: no report then.
    assert load_bank(root, only=[root / "questions" / "x.yaml"]).questions
    # A retired question keeps the shipped id alive.
    (root / SHIPPED_IDS).write_text("q-good-one\n", encoding="utf-8")
    assert load_bank(root).question("q-good-one") is not None


def test_a_line_that_is_not_an_id_is_a_problem(tmp_path):
    root = bank_dir(tmp_path)
    (root / SHIPPED_IDS).write_text("# a comment\n\nq-good-one\nNot An Id!\n", encoding="utf-8")
    with pytest.raises(BankError, match=r"\[line 4\]: 'Not An Id!' is not a question id"):
        load_bank(root)


def test_cli_check_deleted_shipped_id(tmp_path, capsys):
    root = bank_dir(tmp_path)
    (root / SHIPPED_IDS).write_text("q-good-one\n", encoding="utf-8")
    assert main(["content", "check", "--root", str(root)]) == 0
    (root / "questions" / "x.yaml").write_text("questions:\n" + GOOD_Q.replace("q-good-one", "q-good-new"))
    assert main(["content", "check", "--root", str(root), "--update-shipped"]) == 1
    err = capsys.readouterr().err
    assert "question q-good-one shipped before; retire it with `retired: <date> <reason>` instead of deleting it" in err
    assert read_shipped(root) == {"q-good-one"}  # a failed check adds nothing


def test_cli_check_new_id_fails_until_update_shipped(tmp_path, capsys):
    root = bank_dir(tmp_path)
    (root / SHIPPED_IDS).write_text("q-good-one\n", encoding="utf-8")
    second = GOOD_Q.replace("q-good-one", "q-good-0-new").replace(
        "sees a Lambda function run out of scratch space while unpacking an archive",
        "finds that a nightly export job fails with no space left on device after a large download",
    )
    (root / "questions" / "x.yaml").write_text("questions:\n" + GOOD_Q + second)
    assert main(["content", "check", "--root", str(root)]) == 1
    err = capsys.readouterr().err
    assert f"1 question id(s) missing from {root.name}/{SHIPPED_IDS}: q-good-0-new" in err
    assert "studybot content check --update-shipped" in err
    assert main(["content", "check", "--root", str(root), "--update-shipped"]) == 0
    out = capsys.readouterr().out
    assert "added 1 question id(s)" in out and "q-good-0-new" in out and "content ok: 2 questions" in out
    assert (root / SHIPPED_IDS).read_text(encoding="utf-8") == "q-good-0-new\nq-good-one\n"  # sorted
    assert main(["content", "check", "--root", str(root)]) == 0
    assert main(["content", "check", "--root", str(root), "--update-shipped"]) == 0
    assert "added 0 question id(s)" in capsys.readouterr().out
    assert main(["content", "stats", "--root", str(root), "--update-shipped"]) == 2


def test_update_shipped_creates_the_file_with_its_header_and_keeps_it(tmp_path):
    root = bank_dir(tmp_path)
    bank = load_bank(root)
    assert unshipped_ids(bank, root) == ["q-good-one"]
    assert update_shipped(bank, root) == ["q-good-one"]
    text = (root / SHIPPED_IDS).read_text(encoding="utf-8")
    assert text.startswith("# Every question id that ever shipped") and text.endswith("\nq-good-one\n")
    assert unshipped_ids(bank, root) == [] and update_shipped(bank, root) == []
    assert (root / SHIPPED_IDS).read_text(encoding="utf-8") == text


def test_the_cache_notices_a_change_to_shipped_ids(tmp_path):
    (tmp_path / "bank").mkdir()
    root = bank_dir(tmp_path / "bank")
    cache = tmp_path / "cache"
    (root / SHIPPED_IDS).write_text("q-good-one\n", encoding="utf-8")
    assert load_bank_cached(root, cache_dir=cache).question("q-good-one")
    assert len(list(cache.glob("bank-*.pickle"))) == 1
    (root / SHIPPED_IDS).write_text("q-good-gone\nq-good-one\n", encoding="utf-8")
    with pytest.raises(BankError, match="question q-good-gone shipped before"):
        load_bank_cached(root, cache_dir=cache)
    (root / SHIPPED_IDS).unlink()
    assert load_bank_cached(root, cache_dir=cache).question("q-good-one")


def test_the_shipped_bank_lists_every_question_id(real_bank):
    path = ROOT / "content" / SHIPPED_IDS
    ids = [line for line in path.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    assert ids == sorted(set(ids)), "shipped-ids.txt is sorted, one id a line"
    assert unshipped_ids(real_bank) == [], "run `studybot content check --update-shipped`"
    assert set(ids) <= set(real_bank.by_id)  # load_bank also enforces this
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert SHIPPED_IDS in package_data["package-data"]["content"]
