"""Fuzzing the parsers members and content authors type into: every `/dva` subcommand parser,
the schedule spec, the answer parser, StudyService.handle_command and the content loader get
arbitrary text (unicode, control characters, 10,000 characters, YAML anchors and bombs). Each
must answer with a clear message, raise nothing unexpected, and store nothing it should not."""

from __future__ import annotations

import shutil
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.commands import MAX_COMMAND, parse, parse_leaderboard
from bot.core.grading import parse_choice
from bot.core.messages import Message
from bot.core.timeutil import UsageError, parse_daily_on, zone
from content.loader import BankError, load_bank
from tests.conftest import FIXTURE_BANK, member

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Text a member can type or paste: any unicode including control characters and surrogates'
# neighbours, sometimes very long, sometimes starting with real command words.
WORDS = st.sampled_from(["/dva", "dva", "quiz", "daily", "on", "off", "status", "digest", "leaderboard", "week",
                         "all", "here", "workspace", "timezone", "Europe/Berlin", "09:00", "25:99", "reveal",
                         "mon,wed,fri", "weekdays", "scenario", "fact", "help", "streak", "stats", "lookup"])
ANY_TEXT = st.one_of(
    st.text(max_size=200),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=50),
    st.lists(WORDS, max_size=8).map(" ".join),
    st.tuples(st.lists(WORDS, max_size=4).map(" ".join), st.text(max_size=40)).map(" ".join),
    st.integers(min_value=MAX_COMMAND - 2, max_value=10_000).map(lambda n: "x" * n),
    st.text(alphabet="\x00\x07\x1b\u200b\u202e\ufeff \t\n\r", max_size=60),
)


def clear(message: str) -> None:
    assert message.strip(), "an error must say something"
    assert "Traceback" not in message


@FUZZ
@given(text=ANY_TEXT)
def test_command_parser_answers_or_explains(text):
    try:
        command = parse(text)
    except UsageError as exc:
        clear(str(exc))
        return
    assert command.name and all(a.strip() for a in command.args)
    try:
        parse_leaderboard(command.args)
    except UsageError as exc:
        clear(str(exc))


@FUZZ
@given(args=st.lists(st.one_of(WORDS, st.text(max_size=30)), max_size=7))
def test_daily_spec_parser_answers_or_explains(args):
    try:
        spec = parse_daily_on(args)
    except UsageError as exc:
        clear(str(exc))
        return
    zone(spec.timezone)
    assert spec.time < spec.reveal or spec.time == spec.reveal == "23:59"


@FUZZ
@given(raw=ANY_TEXT)
def test_choice_parser_answers_or_explains(raw, bank):
    for question in bank.questions:
        try:
            choice = parse_choice(question, raw)
        except UsageError as exc:
            clear(str(exc))
            continue
        assert len(choice) == len(question.key) and set(choice) <= set(question.letters)


def table_counts(path) -> dict[str, int]:
    with sqlite3.connect(path) as db:
        return {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                for t in ("members", "subscriptions", "posts", "answers", "board_totals")}


@FUZZ
@given(text=ANY_TEXT)
async def test_handle_command_always_replies_and_stores_only_what_was_asked(text, service, store, channel):
    before = table_counts(store.path)
    reply = await service.handle_command(member=member("fuzzer"), channel=channel, text=text, is_admin=False)
    assert isinstance(reply, Message)
    clear(reply.text or reply.title or "")
    after = table_counts(store.path)
    try:
        command = parse(text)
    except UsageError:
        command = None
    # Only a well-formed /dva timezone may add a member row, only /dva quiz a post; a non-admin
    # never changes a schedule; nothing here answers or scores.
    allowed = set()
    if command is not None and command.name == "timezone" and len(command.args) == 1:
        allowed.add("members")
    if command is not None and command.name == "quiz":
        allowed.add("posts")
    changed = {t for t in before if before[t] != after[t]}
    assert changed <= allowed, (text, changed)


BOMBS = [
    "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b]\n",
    "- &q {id: q-x, stem: hello}\n- *q\n",
    "- id: q1\n  stem: " + "A" * 10_000 + "\n",
    "\x00\x01\x02: [",
    "!!python/object/apply:os.system ['echo pwned']",
    "- !!binary aGVsbG8=\n",
    "{" * 5_000,
    "- id: q1\n  options: {A: x, B: y}\n  key: [Z]\n",
]


@pytest.fixture
def bank_copy(tmp_path):
    root = tmp_path / "bank"
    shutil.copytree(FIXTURE_BANK, root)
    return root


def loads_or_reports(root) -> None:
    try:
        load_bank(root)
    except BankError as exc:
        report = exc.report()
        clear(report)
        assert "questions/sample.yaml" in report or "questions" in report


@pytest.mark.parametrize("text", BOMBS, ids=range(len(BOMBS)))
def test_content_loader_reports_bombs_and_junk_by_file(text, bank_copy):
    (bank_copy / "questions" / "sample.yaml").write_text(text, encoding="utf-8")
    loads_or_reports(bank_copy)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(st.text(max_size=300), st.lists(WORDS, max_size=20).map("\n- ".join)))
def test_content_loader_never_crashes_on_arbitrary_text(text, bank_copy):
    (bank_copy / "questions" / "sample.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
    loads_or_reports(bank_copy)
