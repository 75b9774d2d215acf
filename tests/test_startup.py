"""Start-up failures are one line naming what to fix, exit code 2, no traceback (--debug shows it);
a database URL that cannot be parsed never echoes its password; a database that is still starting
is waited for (issue 13, sections 4 and 6)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.adapters.slack import SlackAdapter
from bot.adapters.slack.fake import FakeSlack, Reply
from bot.adapters.slack.testing import http_settings
from bot.config import ConfigError
from bot.core.ports import StoreConfigError, StoreError, StudybotError
from bot.runtime import start_store
from storage import open_store

ROOT = Path(__file__).resolve().parent.parent
SECRET = "p/ss#w@rd"


def studybot(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_", "STUDYBOT_"))}
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True,
                          env={**clean, **env}, cwd=ROOT, timeout=60, input="")


@pytest.mark.parametrize("url", [
    f"postgresql://studybot:{SECRET}@db:5432/studybot",  # pasted unencoded, as compose.yaml did
    f"postgresql://studybot:{SECRET}@db:notaport/studybot",
    "mysql://root@db/studybot",
])
def test_a_bad_database_url_is_one_line_exit_2_without_the_password(tmp_path, url):
    out = studybot("console", STUDYBOT_DATABASE_URL=url)
    assert out.returncode == 2, out.stderr
    lines = [x for x in out.stderr.splitlines() if x.strip() and not x.startswith("studybot: database ")]
    assert len(lines) == 1 and lines[0].startswith("studybot: ") and "STUDYBOT_DATABASE_URL" in lines[0]
    assert "Traceback" not in out.stderr and "ss#w" not in out.stderr and "ss#w" not in out.stdout


def test_socket_mode_without_an_app_token_names_it_and_debug_shows_the_traceback(tmp_path):
    env = {"STUDYBOT_DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}", "SLACK_BOT_TOKEN": "xoxb-1-2-abc",
           "SLACK_API_URL": "http://127.0.0.1:9/api/"}
    out = studybot("run", **env)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    [line] = [x for x in out.stderr.splitlines() if "SLACK_APP_TOKEN" in x]
    assert "SLACK_APP_TOKEN is not set" in line and "signing secret" not in line.lower().split("http mode")[0]
    debug = studybot("--debug", "run", **env)
    assert debug.returncode != 0 and "Traceback" in debug.stderr


async def test_slack_unavailable_at_start_is_not_called_a_wrong_token(service):
    fake = FakeSlack()
    await fake.start()
    try:
        fake.script("auth.test", Reply({"ok": False, "error": "service_unavailable"}, status=503))
        with pytest.raises(StudybotError) as unavailable:
            await SlackAdapter(service=service, settings=http_settings(fake), http_host="127.0.0.1").start()
        assert not isinstance(unavailable.value, ConfigError)
        assert "Slack is unavailable" in str(unavailable.value) and "refused" not in str(unavailable.value)
    finally:
        await fake.aclose()


async def test_a_database_still_starting_is_waited_for_and_a_bad_url_is_not():
    class Flaky:
        RETRY_ON_START = True

        def __init__(self) -> None:
            self.tries = 0

        async def start(self) -> None:
            self.tries += 1
            if self.tries < 3:
                raise StoreError("cannot open the PostgreSQL database: Connection refused")

    flaky = Flaky()
    await start_store(flaky, wait=5, interval=0.01)
    assert flaky.tries == 3
    never = Flaky()
    never.tries = -100
    with pytest.raises(StoreError):
        await start_store(never, wait=0.05, interval=0.01)
    with pytest.raises(StoreConfigError):
        open_store(f"postgresql://u:{SECRET}@h:5432/d")


async def test_memory_is_released_after_each_burst_and_failures_do_not_stop_the_task(monkeypatch):
    from bot import runtime

    released = []

    class Store:
        answers = [True, False, RuntimeError("boom"), True]

        async def release_memory(self, *, quiet: float) -> bool:
            outcome = self.answers.pop(0) if self.answers else False
            if isinstance(outcome, Exception):
                raise outcome
            return outcome

    monkeypatch.setattr(runtime, "release_process_memory", lambda: released.append(1))
    task = asyncio.create_task(runtime.release_memory_after_bursts(Store(), every=0.01, quiet=0))
    await asyncio.sleep(0.2)
    task.cancel()
    assert released == [1, 1]  # the two bursts; the failing check was logged and the task went on


def test_release_process_memory_finds_malloc_trim_on_glibc():
    import platform

    from bot import runtime

    runtime.release_process_memory()
    if platform.libc_ver()[0] == "glibc":  # this machine and CI: the trim is really called
        assert callable(runtime._malloc_trim)  # noqa: SLF001
    else:
        assert runtime._malloc_trim is False  # noqa: SLF001 - elsewhere only the collection runs


def test_freeze_heap_freezes_start_up_and_collects_the_young_less_often():
    import gc

    from bot import runtime

    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        kept = [{"start-up": i} for i in range(1000)]
        runtime.freeze_heap()
        assert gc.get_freeze_count() >= len(kept)
        assert gc.get_threshold() == (runtime.YOUNG_GC, 10, 10) and runtime.YOUNG_GC >= 10 * 700
        # Short-lived containers, 2,000 alive at a time as in a burst: collections of the young
        # generation come every YOUNG_GC allocations, not every 700.
        young = gc.get_stats()[0]["collections"]
        window: list = []
        for i in range(60_000):
            window.append({"request": i})
            if len(window) > 2000:
                window.pop(0)
        assert gc.get_stats()[0]["collections"] - young <= 60_000 // runtime.YOUNG_GC + 1
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_content_reports_lists_the_open_ones_and_with_all_the_closed_ones_too(tmp_path, real_bank):
    from bot.core.models import MemberRef

    db = tmp_path / "r.db"
    ids = [q.id for q in real_bank.practice_questions[:2]]

    async def seed() -> None:
        store = open_store(f"sqlite:///{db}")
        await store.start()
        for qid in ids:
            await store.add_report(member=MemberRef("slack", "T1", "U1"), question_id=qid, reason="wrong-key",
                                   text=f"about {qid}", at=1.0)
        await store.close_reports(question_id=ids[1], status="fixed", at=2.0)
        await store.aclose()

    asyncio.run(seed())
    open_only = studybot("content", "reports", STUDYBOT_DATABASE_URL=f"sqlite:///{db}")
    everything = studybot("content", "reports", "--all", STUDYBOT_DATABASE_URL=f"sqlite:///{db}")
    assert open_only.returncode == everything.returncode == 0, open_only.stderr + everything.stderr
    assert ids[0] in open_only.stdout and ids[1] not in open_only.stdout
    assert ids[0] in everything.stdout and ids[1] in everything.stdout


async def test_a_failing_regrade_at_start_closes_the_store_it_opened(tmp_path, monkeypatch):
    import bot.core.regrade as regrade
    from bot import runtime
    from bot.config import Settings

    opened = []

    def open_and_keep(url: str):
        opened.append(open_store(url))
        return opened[-1]

    async def failing(bank, store) -> None:
        raise StoreError("database is locked")

    monkeypatch.setattr(runtime, "open_store", open_and_keep)
    monkeypatch.setattr(regrade, "regrade_changed_keys", failing)
    settings = Settings(_env_file=None, studybot_database_url=f"sqlite:///{tmp_path / 'g.db'}")
    with pytest.raises(StoreError):
        await runtime.start_runtime(settings, announce=False)
    [store] = opened
    assert store._reader is None and store._batch_thread is None  # noqa: SLF001 - closed
