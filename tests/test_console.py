"""The console end to end, through a real subprocess with piped stdin and a real SQLite file."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def isolated_env(tmp: Path, **extra: str) -> dict[str, str]:
    """The environment without the developer's SLACK_, DISCORD_ and STUDYBOT_ settings, with the data
    folder (the console's charts/ and the default database) under the test's `tmp` folder."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(("SLACK_", "DISCORD_", "STUDYBOT_"))}
    env["STUDYBOT_DATA_DIR"] = str(tmp / "data")
    env["STUDYBOT_DATABASE_URL"] = f"sqlite:///{tmp / 'data' / 'studybot.db'}"
    return {**env, **extra}


def run_console(db, lines: list[str], content_dir=None) -> subprocess.CompletedProcess:
    """`studybot console` on the SQLite file `db`, with its data folder beside it (the tests' tmp_path)."""
    env = isolated_env(Path(db).parent, STUDYBOT_DATABASE_URL=f"sqlite:///{db}")
    if content_dir:
        env["STUDYBOT_CONTENT_DIR"] = str(content_dir)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "console"], input="\n".join(lines) + "\n", capture_output=True,
        text=True, env=env, cwd=ROOT, timeout=60,
    )


def daily_key(db) -> tuple[int, str]:
    from content.loader import load_bank

    with sqlite3.connect(db) as conn:
        post_id, qid = conn.execute("SELECT id, question_id FROM posts WHERE kind='daily'").fetchone()
    return post_id, " ".join(sorted(load_bank().by_id[qid].key))


def test_console_help_lookup_answer_and_streak(tmp_path):
    db = tmp_path / "c.db"
    first = run_console(db, ["/dva help"])
    assert first.returncode == 0, first.stderr
    assert "Daily question" in first.stdout and "/dva scenario" in first.stdout
    _, key = daily_key(db)
    out = run_console(db, ["/dva scenario cors eror", key, key, "/dva streak"])
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "Access-Control-Allow-Origin" in text
    keys = key.split()
    verb = "are" if len(keys) > 1 else "is"
    assert f"Right! {' and '.join(keys)} {verb} correct." in text
    assert "You already answered" in text
    assert "Current streak: 1 day (you have answered today)" in text
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*), SUM(points) FROM answers").fetchone() == (1, 10)
        assert conn.execute("SELECT COUNT(*) FROM posts WHERE kind='daily'").fetchone()[0] == 1


def test_console_bad_input_changes_nothing(tmp_path):
    db = tmp_path / "bad.db"
    out = run_console(db, [
        "/dva daily on 25:00 Mars/Phobos", "/dva daily on 09:00 Mars/Phobos", "/dva fact " + "x" * 600,
        "/dva scenario", "/dva frobnicate", "Z", "/dva timezone Nowhere/City", "/dva quiz klingon",
    ])
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "The time must be HH:MM, 00:00-23:59" in text
    assert "Unknown time zone 'Mars/Phobos'. Use an IANA name such as Europe/Berlin" in text
    assert "keep a command under 500 characters" in text
    assert "Tell me what to look up" in text
    assert "Unknown command 'frobnicate'" in text
    assert "'Z' is not an option" in text
    assert "Unknown time zone 'Nowhere/City'" in text
    assert "Unknown topic 'klingon'" in text
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM subscriptions").fetchone()[0] == 0
        assert conn.execute("SELECT COUNT(*) FROM members").fetchone()[0] == 0
        assert conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == 0


def test_console_refuses_a_broken_bank(tmp_path):
    bank = tmp_path / "bank"
    (bank / "questions").mkdir(parents=True)
    (bank / "questions" / "x.yaml").write_text("questions:\n  - id: broken\n")
    out = run_console(tmp_path / "b.db", ["/dva help"], content_dir=bank)
    assert out.returncode == 1
    assert "refusing to start" in out.stderr and "[broken]" in out.stderr


def test_run_without_platforms_points_to_console(tmp_path):
    env = isolated_env(tmp_path, STUDYBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'r.db'}")
    out = subprocess.run([sys.executable, "-m", "bot.cli", "run"], capture_output=True, text=True, env=env,
                         cwd=ROOT, timeout=60)
    assert out.returncode == 2 and "studybot console" in out.stderr


def test_invalid_setting_is_one_clear_line(tmp_path):
    env = isolated_env(tmp_path, STUDYBOT_CATCHUP_HOURS="lots")
    out = subprocess.run([sys.executable, "-m", "bot.cli", "console"], capture_output=True, text=True, env=env,
                         cwd=ROOT, timeout=60, input="")
    assert out.returncode == 2
    assert out.stderr.strip() == "studybot: invalid setting STUDYBOT_CATCHUP_HOURS: expected a number of hours between 0 and 24"


def test_lookup_cli_json(tmp_path):
    import json

    out = subprocess.run([sys.executable, "-m", "bot.cli", "lookup", "cors error", "--json", "--kind", "scenario"],
                         capture_output=True, text=True, cwd=ROOT, timeout=60, env=isolated_env(tmp_path))
    hits = json.loads(out.stdout)
    assert hits and {"kind", "id", "title", "text", "score"} <= set(hits[0])
    assert all(h["kind"] == "scenario" for h in hits)
    assert "CORS" in hits[0]["text"] or "Access-Control" in hits[0]["title"]
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)


def test_health_command_reports_the_database(tmp_path):
    env = isolated_env(tmp_path)
    ok = subprocess.run([sys.executable, "-m", "bot.cli", "health"], capture_output=True, text=True, cwd=ROOT,
                        timeout=60, env={**env, "STUDYBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'h.db'}"})
    assert ok.returncode == 0 and ok.stdout.strip() == "healthy"
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    bad = subprocess.run([sys.executable, "-m", "bot.cli", "health"], capture_output=True, text=True, cwd=ROOT,
                         timeout=60, env={**env, "STUDYBOT_DATABASE_URL": f"sqlite:///{blocker / 'h.db'}"})
    assert bad.returncode == 1 and bad.stderr.startswith("unhealthy: database")


def test_console_short_exam_by_commands_to_the_report(tmp_path):
    """The small fixture bank: an exam of its 8 questions, navigated with `/dva exam ...` lines;
    submit asks to confirm while some are unanswered, the report and the history follow."""
    from tests.conftest import FIXTURE_BANK

    db = tmp_path / "exam.db"
    out = run_console(db, [
        "/dva exam short", "/dva exam answer A", "/dva exam flag", "/dva exam back", "/dva exam next",
        "/dva exam submit", "/dva exam submit now", "/dva exam next", "/dva exam history",
    ], content_dir=FIXTURE_BANK)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "== Question 1 of 8 - 0:16:00 left ==" in text and "[Flag] [Next] [Submit exam]" in text
    assert "[A]" not in text  # letters are typed, not pressed
    assert "== Submit your exam? ==" in text and "Or type `/dva exam submit now`." in text
    assert "== Mock exam report: short exam, 8 questions ==" in text and "Review answers" in text
    assert "You have no exam running." in text
    assert "short: " in text.split("== Your mock exams ==")[1]
    # The report's chart is written under the test's data folder, never the developer's.
    charts = tmp_path / "data" / "charts"
    assert f"Chart: {charts / 'exam_report.png'}" in text and (charts / "exam_report.png").is_file()
    report = text.split("== Mock exam report")[1]
    before = text.split("== Mock exam report")[0]
    from content.loader import load_bank

    for q in load_bank(FIXTURE_BANK).questions:
        assert q.explanation not in before and q.explanation not in report
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT state, total FROM exams").fetchall() == [("submitted", 8)]
        assert conn.execute("SELECT COUNT(*) FROM review_cards").fetchone()[0] == 8
        assert conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == 0


async def test_console_buttons_are_typed_labels_and_next_continues(service, store, bank):
    import io

    from bot.adapters.console import ConsoleAdapter

    out = io.StringIO()
    console = ConsoleAdapter(service=service, out=out, user="you", workspace="ws1")
    await console.handle_line("/dva quiz 3")
    first = (await store.served_questions(console.member, limit=1))[0][0]
    await console.handle_line(" ".join(sorted(bank.question(first).key)))
    shown = out.getvalue()
    assert "Right!" in shown and "[Next question]" in shown and "comes back for review in" in shown
    await console.handle_line("next")  # a unique start of the label presses it
    second = (await store.served_questions(console.member, limit=1))[0][0]
    assert second != first
    assert console.button_for("[Next question]") is None  # the new question has no Next yet
    await console.handle_line("B")  # wrong for both domain-3 questions of the fixture bank
    await console.handle_line("[Next question]")
    assert len(await store.served_questions(console.member, limit=10)) == 3
    service.clock.advance(minutes=11)
    await console.handle_line("/dva review")
    assert "Review (1 due)" in out.getvalue()
    assert (await store.served_questions(console.member, limit=1))[0][0] == second


async def test_console_prints_a_reminder_like_a_dm(service):
    import io

    from bot.adapters.console import ConsoleAdapter
    from bot.core.messages import Message

    out = io.StringIO()
    console = ConsoleAdapter(service=service, out=out)
    await console.send_private(console.member, Message(text="You have 3 review cards due."))
    assert "You have 3 review cards due." in out.getvalue()


def test_console_survives_bytes_that_are_not_utf8(tmp_path):
    db = tmp_path / "c.db"
    env = isolated_env(tmp_path, STUDYBOT_DATABASE_URL=f"sqlite:///{db}", PYTHONIOENCODING="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "bot.cli", "console"], input=b"/dva \xff\xfe\xc3(\n/dva fact lambda timeout\n",
        capture_output=True, env=env, cwd=ROOT, timeout=60,
    )
    stdout = out.stdout.decode("utf-8", errors="replace")
    assert out.returncode == 0, out.stderr.decode(errors="replace")[-800:]
    assert "Traceback" not in out.stderr.decode(errors="replace")
    assert "Unknown command" in stdout and "Exam facts: lambda timeout" in stdout


def test_console_exam_by_typed_letters_and_button_labels(tmp_path):
    """Typed letters answer the exam's question on screen and move on; typed labels press its
    buttons; a wrong count of letters leaves the question on screen with the reason."""
    from content.loader import load_bank
    from tests.conftest import FIXTURE_BANK

    db = tmp_path / "typed.db"
    lines = ["/dva exam short"] + ["A B", "A"] * 8 + ["back", "Flag", "Submit exam", "Submit now", "Review answers"]
    out = run_console(db, lines, content_dir=FIXTURE_BANK)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    before, _, after = text.partition("== Mock exam report: short exam, 8 questions ==")
    assert after, text[-2000:]
    assert "This question has one answer" in before  # "A B" on a single-answer question
    assert "== End of the exam - " in before and "== Submit your exam? ==" in before
    assert "0 unanswered (they count as wrong) and 1 flagged" in before
    assert "== Review answers, page 1 of" in after
    bank = load_bank(FIXTURE_BANK)
    assert not any(q.explanation in before for q in bank.questions)
    assert any(q.explanation in after for q in bank.questions)
    with sqlite3.connect(db) as conn:
        states = conn.execute("SELECT state FROM exams").fetchall()
        answered = conn.execute("SELECT COUNT(*) FROM exam_answers WHERE choice IS NOT NULL").fetchone()[0]
    assert states == [("submitted",)] and answered == 8
