"""The daily loop as a study group lives it (issue 13), in the core and the scheduler: reveals that
leave time to answer (also past midnight), late answers, errors kept out of posts, catch-up across
midnight, reveal steps finished once after a crash, a graceful stop, reports and words."""

from __future__ import annotations

import asyncio
import contextlib
import io
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.core import texts
from bot.core.clock import FakeClock
from bot.core.grading import parse_choice
from bot.core.models import ChannelRef
from bot.core.ports import PostError, Subscription
from bot.core.service import StudyService
from bot.core.timeutil import (
    UsageError,
    canonical_zone,
    default_reveal,
    describe_days,
    parse_daily_on,
    reveal_instant,
)
from bot.scheduler import DailyScheduler
from storage.sqlite.store import SQLiteStore
from tests.conftest import member
from tests.sched_harness import FakePoster, patch_apscheduler_clock, run_until, settle

EVERY_DAY = "mon,tue,wed,thu,fri,sat,sun"
LATE = Subscription(channel=ChannelRef("fake", "W1", "late"), time="23:59", timezone="Europe/Berlin",
                    days=EVERY_DAY, reveal=default_reveal("23:59"))


@pytest.fixture
def sim(monkeypatch):
    clock = FakeClock(datetime(2026, 3, 2, 0, 0, tzinfo=UTC))
    patch_apscheduler_clock(monkeypatch, clock)
    return clock


def make(bank, store, clock, poster, **kw) -> DailyScheduler:
    service = StudyService(bank=bank, store=store, clock=clock)
    return DailyScheduler(service=service, posters={"fake": poster}, clock=clock, sweep_minutes=1, **kw)


# ----- the reveal leaves time to answer -----------------------------------------------------------
def test_default_reveal_is_eight_hours_later_also_past_midnight():
    assert default_reveal("09:00") == "17:00"
    assert default_reveal("16:30") == "00:30"
    assert default_reveal("23:59") == "07:59"
    spec = parse_daily_on(["23:59", "europe/berlin"])  # time zones match case-insensitively
    assert (spec.timezone, spec.reveal, spec.explicit_reveal) == ("Europe/Berlin", "07:59", False)
    # The reveal of a 23:59 post is on the next local day, 8 hours later, before the next post.
    at = reveal_instant(date(2026, 3, 2), "23:59", "07:59", "Europe/Berlin")
    assert at == datetime(2026, 3, 3, 6, 59, tzinfo=UTC)
    with pytest.raises(UsageError, match="cannot be at the post time"):
        parse_daily_on(["09:00", "UTC", "reveal", "09:00"])


async def test_daily_on_says_when_the_reveal_is_next_day_or_short(service, channel):
    admin = member("admin")
    late = await service.handle_command(member=admin, channel=channel, text="/dva daily on 23:59 Europe/Berlin",
                                        is_admin=True)
    assert late.text.startswith("Daily question scheduled at 23:59 Europe/Berlin on weekdays; "
                                 "the answer is revealed at 07:59 the next day.")
    short = await service.handle_command(member=admin, channel=channel,
                                         text="/dva daily on 09:00 UTC daily reveal 09:30", is_admin=True)
    assert "every day" in short.text and "only 30 minutes to answer" in short.text
    fixed = await service.handle_command(member=admin, channel=channel, text="/dva daily on 09:00 EST", is_admin=True)
    assert "EST has a fixed offset" in fixed.text and "America/New_York" in fixed.text
    sub = await service.store.get_subscription(channel)
    assert sub.timezone == "EST" and sub.active


async def test_status_shows_next_post_and_reveal_in_local_time_digest_and_ping(service, channel, clock):
    admin = member("admin")
    await service.handle_command(member=admin, channel=channel, text="/dva daily on 23:59 Europe/Berlin daily",
                                 is_admin=True)
    await service.handle_command(member=admin, channel=channel, text="/dva daily ping here", is_admin=True)
    status = (await service.handle_command(member=admin, channel=channel, text="/dva daily status")).text
    # The clock is Monday 2026-03-02 10:00 UTC (11:00 in Berlin).
    assert "Next post: Mon 02 Mar 23:59; its reveal: Tue 03 Mar 07:59 (Europe/Berlin)" in status
    assert "Weekly digest: on. Ping: @here." in status


# ----- late answers ------------------------------------------------------------------------------
async def test_a_late_answer_is_practice_and_a_wrong_one_shows_no_zero_points(service, channel):
    post, _ = await service.claim_daily(channel, "UTC")
    q = service.bank.by_id[post.question_id]
    await service.reveal(post.id)
    wrong = next(x for x in q.letters if x not in q.key)
    if len(q.key) > 1:
        wrong = "".join(sorted([x for x in q.letters if x not in q.key][: len(q.key)]))
    msg = await service.answer(member=member("late"), post_id=post.id, raw_choice=wrong)
    assert texts.AFTER_REVEAL in msg.text and "+0" not in msg.text and "Streak: 1 day." in msg.text
    assert any(b.action == "report" for b in msg.buttons)


@pytest.mark.parametrize("typed", ["A.", "(a)", "a)", "answer a", "Answer: A", "my answer is a", " a "])
def test_answers_are_parsed_leniently(bank, typed):
    assert parse_choice(bank.by_id["t-d1-one"], typed) == "A"


def test_multiple_answers_are_parsed_leniently(bank):
    multi = next(q for q in bank.questions if len(q.key) == 2)
    assert parse_choice(multi, "b e".replace("b", multi.letters[1]).replace("e", multi.letters[3])) == (
        multi.letters[1] + multi.letters[3])
    assert parse_choice(multi, f"({multi.letters[0]}) and ({multi.letters[2]})") == multi.letters[0] + multi.letters[2]


# ----- words ------------------------------------------------------------------------------------
def test_day_sets_read_as_words():
    assert describe_days(EVERY_DAY) == "every day"
    assert describe_days("mon,tue,wed,thu,fri") == "on weekdays"
    assert describe_days("tue") == "on Tuesdays"
    assert describe_days("mon,wed,fri") == "on Mon, Wed, Fri"


async def test_did_you_mean_for_commands_topics_and_time_zones(service, channel):
    said = (await service.handle_command(member=member(), channel=channel, text="/dva quizz")).text
    assert said.startswith("Unknown command 'quizz'. Did you mean `/dva quiz`?")
    topic = (await service.handle_command(member=member(), channel=channel, text="/dva quiz lamda")).text
    assert "Did you mean `/dva quiz lambda`?" in topic
    tz = (await service.handle_command(member=member(), channel=channel, text="/dva timezone Berlin")).text
    assert "Unknown time zone 'Berlin'. Did you mean `Europe/Berlin`?" in tz
    ok = (await service.handle_command(member=member(), channel=channel, text="/dva timezone europe/berlin")).text
    assert ok.startswith("Your time zone is now Europe/Berlin.")
    assert await service.store.get_member_timezone(member()) == "Europe/Berlin"


def test_fixed_offset_zones_are_warned_about_and_city_zones_are_not():
    assert canonical_zone("Europe/Berlin") == ("Europe/Berlin", None)
    assert canonical_zone("UTC") == ("UTC", None)
    for name, city in (("EST", "America/New_York"), ("MST", "America/Denver"), ("HST", "Pacific/Honolulu"),
                       ("Etc/GMT+5", "America/New_York")):
        found, warning = canonical_zone(name)
        assert found == name and warning is not None and city in warning


# ----- errors stay out of posts; a delivered post clears them ----------------------------------------
async def test_an_error_recorded_before_a_restart_is_cleared_by_the_next_post_and_never_shown(bank, store, sim):
    sub = Subscription(channel=ChannelRef("fake", "W1", "c"), time="09:00", timezone="UTC", days=EVERY_DAY,
                       reveal="17:00", last_error="posting failed: AttributeError: 'NoneType' has no attribute")
    await store.put_subscription(sub)
    sim.set(datetime(2026, 3, 2, 8, 59, tzinfo=UTC))
    poster = FakePoster(sim)
    sched = make(bank, store, sim, poster)
    await sched.start()
    await run_until(sim, [sched], datetime(2026, 3, 2, 9, 1, tzinfo=UTC))
    await sched.aclose()
    [(_, msg, _, _)] = poster.daily_posts()
    assert "AttributeError" not in msg.plain() and "Note" not in msg.plain()
    assert (await store.get_subscription(sub.channel)).last_error is None


async def test_a_retry_that_delivers_clears_the_error_in_the_same_process(bank, store, sim):
    sub = Subscription(channel=ChannelRef("fake", "W1", "c"), time="09:00", timezone="UTC", days=EVERY_DAY,
                       reveal="17:00")
    await store.put_subscription(sub)
    sim.set(datetime(2026, 3, 2, 8, 59, tzinfo=UTC))
    poster = FakePoster(sim)
    poster.fail_times = 1  # the first attempt meets a rate limit
    sched = make(bank, store, sim, poster, retry_after=60)
    await sched.start()
    await run_until(sim, [sched], datetime(2026, 3, 2, 9, 0, 30, tzinfo=UTC))
    assert "rate limited" in (await store.get_subscription(sub.channel)).last_error
    await run_until(sim, [sched], datetime(2026, 3, 2, 9, 5, tzinfo=UTC))
    await sched.aclose()
    assert len(poster.daily_posts()) == 1
    assert (await store.get_subscription(sub.channel)).last_error is None


# ----- the reveal of a late post falls on the next day, before the next post ----------------------
async def test_a_2359_post_is_revealed_8_hours_later_and_before_the_next_post(bank, store, sim):
    await store.put_subscription(LATE)
    sim.set(datetime(2026, 3, 2, 22, 50, tzinfo=UTC))  # 23:50 in Berlin
    poster = FakePoster(sim)
    sched = make(bank, store, sim, poster)
    await sched.start()
    await run_until(sim, [sched], datetime(2026, 3, 3, 6, 58, tzinfo=UTC))
    assert len(poster.daily_posts()) == 1 and poster.updates == []  # not revealed 60 s after the post
    await run_until(sim, [sched], datetime(2026, 3, 3, 7, 0, tzinfo=UTC))
    assert len(poster.updates) == 1 and len(poster.replies) == 1
    await run_until(sim, [sched], datetime(2026, 3, 4, 7, 0, tzinfo=UTC))
    await sched.aclose()
    assert len(poster.daily_posts()) == 2 and len(poster.updates) == 2


# ----- catch-up across midnight --------------------------------------------------------------------
async def test_a_2359_post_missed_while_down_across_midnight_is_caught_up(bank, store, sim):
    await store.put_subscription(LATE)
    # Down from 23:30 to 00:30 Berlin (22:30-23:30 UTC): the post due at 23:59 is sent at 00:30.
    sim.set(datetime(2026, 3, 2, 23, 30, tzinfo=UTC))
    poster = FakePoster(sim)
    sched = make(bank, store, sim, poster)
    await sched.start()
    await settle([sched])
    await sched.aclose()
    [(_, msg, at, _)] = poster.daily_posts()
    assert msg.title.startswith("Daily question, 2026-03-02") and at == datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
    assert (await store.get_daily(LATE.channel, "2026-03-02")).message_id is not None
    # Past the catch-up window (3 hours) it is skipped, as on the same day.
    store2 = SQLiteStore(store.path.with_name("other.db"))
    await store2.start()
    await store2.put_subscription(LATE)
    sim.set(datetime(2026, 3, 3, 3, 30, tzinfo=UTC))
    poster2 = FakePoster(sim)
    sched2 = make(bank, store2, sim, poster2)
    await sched2.start()
    await settle([sched2])
    await sched2.aclose()
    await store2.aclose()
    assert poster2.daily_posts() == []


# ----- reveal steps: finished once after a crash ------------------------------------------------
class CrashingPoster(FakePoster):
    """The reply of a reveal "dies": the process is gone before the platform sees it."""

    def __init__(self, clock) -> None:
        super().__init__(clock)
        self.crash_reply = True

    async def reply(self, channel, message_id, message, *, thread=None) -> str:
        if self.crash_reply and message.title == "Why":
            raise PostError("connection reset", permanent=False)
        return await super().reply(channel, message_id, message, thread=thread)


async def test_a_reveal_cut_after_the_update_finishes_the_reply_once_after_a_restart(bank, tmp_path, sim):
    sub = Subscription(channel=ChannelRef("fake", "W1", "c"), time="09:00", timezone="UTC", days=EVERY_DAY,
                       reveal="17:00")
    stores = [SQLiteStore(tmp_path / "r.db"), SQLiteStore(tmp_path / "r.db")]
    for s in stores:
        await s.start()
    await stores[0].put_subscription(sub)
    sim.set(datetime(2026, 3, 2, 8, 59, tzinfo=UTC))
    poster = CrashingPoster(sim)
    first = make(bank, stores[0], sim, poster, reveal_lease=120)
    await first.start()
    await run_until(sim, [first], datetime(2026, 3, 2, 17, 0, 30, tzinfo=UTC))
    await first.aclose()
    [post] = await stores[0].unfinished_reveals(since=0)
    assert post.reveal_face_at is not None and post.reveal_reply_at is None
    assert len(poster.updates) == 1 and [r for r in poster.replies if r[2].title == "Why"] == []
    # Two processes restart; the one that takes the expired reveal lease sends the reply, once.
    poster.crash_reply = False
    scheds = [make(bank, s, sim, poster) for s in stores]
    for s in scheds:
        await s.start()
    await run_until(sim, scheds, datetime(2026, 3, 2, 17, 10, tzinfo=UTC))
    for s in scheds:
        await s.aclose()
    for s in stores:
        await s.aclose()
    assert len(poster.updates) == 1  # the face is not replaced twice
    assert len([r for r in poster.replies if r[2].title == "Why"]) == 1


async def test_a_reveal_marked_but_never_sent_is_done_whole_after_a_restart(bank, store, sim):
    sub = Subscription(channel=ChannelRef("fake", "W1", "c"), time="09:00", timezone="UTC", days=EVERY_DAY,
                       reveal="17:00")
    await store.put_subscription(sub)
    sim.set(datetime(2026, 3, 2, 8, 59, tzinfo=UTC))
    poster = FakePoster(sim)
    sched = make(bank, store, sim, poster)
    await sched.start()
    await run_until(sim, [sched], datetime(2026, 3, 2, 9, 1, tzinfo=UTC))
    await sched.aclose()
    [(_, msg, _, _)] = poster.daily_posts()
    sim.set(datetime(2026, 3, 2, 17, 0, tzinfo=UTC))
    assert await sched.service.reveal(msg.post_id) is not None  # then SIGKILL: no update, no reply
    sim.set(datetime(2026, 3, 2, 17, 5, tzinfo=UTC))  # the lease (120 s) has expired
    again = make(bank, store, sim, poster)
    await again.start()
    await settle([again])
    await again.aclose()
    assert len(poster.updates) == 1 and len([r for r in poster.replies if r[2].title == "Why"]) == 1
    assert await store.unfinished_reveals(since=0) == []


# ----- a graceful stop lets in-flight work finish ---------------------------------------------------
class SlowPoster(FakePoster):
    """Each post takes `delay` seconds; `started` counts the posts begun, `cancelled` those stopped
    part way (the platform never got them)."""

    def __init__(self, clock, delay: float) -> None:
        super().__init__(clock)
        self.delay = delay
        self.started = 0
        self.cancelled = 0
        self.in_flight = asyncio.Event()  # set when a post begins

    async def post(self, channel, message) -> str:
        self.started += 1
        self.in_flight.set()
        try:
            await asyncio.sleep(self.delay)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        return await super().post(channel, message)


async def test_sigterm_during_a_post_lets_it_finish_and_record_its_message(bank, store, sim):
    sub = Subscription(channel=ChannelRef("fake", "W1", "c"), time="09:00", timezone="UTC", days=EVERY_DAY,
                       reveal="17:00")
    await store.put_subscription(sub)
    sim.set(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    poster = SlowPoster(sim, delay=0.3)
    sched = make(bank, store, sim, poster, grace=5)
    await sched.start()  # the catch-up sweep posts at once
    post = await store.get_daily(sub.channel, "2026-03-02")
    assert post is not None and post.message_id is not None
    # Now a scheduled post in flight when the stop comes.
    other = Subscription(channel=ChannelRef("fake", "W1", "d"), time="09:01", timezone="UTC", days=EVERY_DAY,
                         reveal="17:00")
    await store.put_subscription(other)
    await sched.reload()
    sim.set(datetime(2026, 3, 2, 9, 1, tzinfo=UTC))
    sched.aps._process_jobs()
    await asyncio.sleep(0.05)  # the post is in flight
    await sched.aclose()  # as on SIGTERM
    delivered = await store.get_daily(other.channel, "2026-03-02")
    assert delivered is not None and delivered.message_id is not None
    assert len(poster.daily_posts("d")) == 1


async def test_the_stop_is_bounded(bank, store, sim):
    sub = Subscription(channel=ChannelRef("fake", "W1", "c"), time="09:00", timezone="UTC", days=EVERY_DAY,
                       reveal="17:00")
    await store.put_subscription(sub)
    sim.set(datetime(2026, 3, 2, 8, 59, tzinfo=UTC))
    poster = SlowPoster(sim, delay=30)
    sched = make(bank, store, sim, poster, grace=0.2)
    await sched.start()
    sim.set(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    sched.aps._process_jobs()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(poster.in_flight.wait(), timeout=2)
    assert poster.started == 1  # the 30 s post is in flight when the stop comes
    started = loop.time()
    await sched.aclose()
    assert loop.time() - started < 2
    # The post in flight was stopped, not left running: nothing reaches the platform afterwards,
    # and the claimed post stays without a message for the next start to deliver.
    assert poster.cancelled == 1
    await asyncio.sleep(0.1)
    assert poster.started == 1 and poster.posts == []
    post = await store.get_daily(sub.channel, "2026-03-02")
    assert post is not None and post.message_id is None


# ----- looking for an earlier delivery before posting again ------------------------------------------
class LookingPoster(FakePoster):
    """A platform where studybot can read the channel: find_post matches the post id."""

    async def find_post(self, channel, post) -> str | None:
        for ch, msg, _, mid in self.posts:
            if ch == channel and msg.post_id == post.id:
                return mid
        return None


async def test_a_post_delivered_before_a_crash_is_adopted_not_posted_again(bank, store, sim):
    sub = Subscription(channel=ChannelRef("fake", "W1", "c"), time="09:00", timezone="UTC", days=EVERY_DAY,
                       reveal="17:00")
    await store.put_subscription(sub)
    sim.set(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    service = StudyService(bank=bank, store=store, clock=sim)
    post, _ = await service.claim_daily(sub.channel, "UTC")
    poster = LookingPoster(sim)
    # The platform accepted the post; the process died before the store recorded its id.
    mid = await poster.post(sub.channel, service.daily_message(post))
    sim.set(datetime(2026, 3, 2, 9, 10, tzinfo=UTC))  # the delivery lease (300 s) has expired
    sched = make(bank, store, sim, poster)
    await sched.start()
    await settle([sched])
    await run_until(sim, [sched], datetime(2026, 3, 2, 17, 1, tzinfo=UTC))
    await sched.aclose()
    assert len(poster.daily_posts()) == 1  # adopted, not posted again
    assert (await store.get_post(post.id)).message_id == mid
    assert [u[1] for u in poster.updates] == [mid]  # and revealed


# ----- reports ------------------------------------------------------------------------------------
async def test_reports_are_stored_once_listed_closed_and_disputed_questions_leave_the_daily_pick(
    service, store, channel, clock,
):
    qid = "t-d1-one"
    ok = await service.handle_command(member=member("a"), channel=channel, text=f"/dva report {qid} wrong-key B fits")
    assert ok.text.startswith(f"Thank you: your report of question {qid} (wrong key)")
    again = await service.handle_command(member=member("a"), channel=channel, text=f"/dva report {qid} typo also")
    assert again.text.startswith("You have already reported")
    bad = await service.handle_command(member=member("a"), channel=channel, text="/dva report nope-1 unclear x")
    assert "There is no question 'nope-1'" in bad.text
    assert len(await store.list_reports()) == 1
    denied = await service.handle_command(member=member("a"), channel=channel, text="/dva reports")
    assert denied.text.startswith("Only ")
    for who in ("b", "c"):
        await service.handle_command(member=member(who), channel=channel, text=f"/dva report {qid} wrong key! {who}")
    listed = await service.handle_command(member=member("admin"), channel=channel, text="/dva reports", is_admin=True)
    assert f"*{qid}*: 3 reports (wrong key 3)" in listed.text and "B fits" in listed.text
    assert await store.disputed_questions(reason="wrong-key", min_members=3) == {qid}
    # t-d1-one is no longer picked for new daily posts, in any channel, while the reports are open.
    picks = set()
    for i in range(12):
        clock.set(datetime(2026, 3, 2, 10, tzinfo=UTC) + timedelta(days=i))
        post, _ = await service.claim_daily(ChannelRef("console", "ws1", "pick"), "UTC")
        picks.add(post.question_id)
    assert qid not in picks
    closed = await service.handle_command(member=member("admin"), channel=channel,
                                          text=f"/dva reports close {qid} fixed", is_admin=True)
    assert closed.text == f"Closed 3 reports as fixed for question {qid}."
    assert await store.disputed_questions(reason="wrong-key", min_members=3) == set()
    assert [r.status for r in await store.list_reports(status=None)] == ["fixed"] * 3
    # After closing, the member may report it again (a new open report).
    _, created = await store.add_report(member=member("a"), question_id=qid, reason="typo", text="", at=1.0)
    assert created


async def test_the_console_report_button_says_how_to_report(bank, store, clock):
    from bot.adapters.console import ConsoleAdapter

    service = StudyService(bank=bank, store=store, clock=clock)
    out = io.StringIO()
    console = ConsoleAdapter(service=service, out=out)
    await console.post_today()
    q = bank.by_id[(await store.get_post(console.current_post)).question_id]
    await console.handle_line(" ".join(sorted(q.key)))
    assert "[Report]" in out.getvalue()
    await console.handle_line("report")
    assert f"Report question {q.id}: Usage: `/dva report <question id>" in out.getvalue()
    await console.handle_line(f"/dva report {q.id} typo 'bucket' is misspelled")
    assert f"your report of question {q.id} (typo) is stored" in out.getvalue()


def test_console_renders_the_cores_markup():
    from bot.adapters.console import render
    from bot.core.messages import Message

    shown = render(Message(text="*Bold* and _italic_ with `code_name` and snake_case and <@ann>"))
    assert shown == "Bold and italic with `code_name` and snake_case and @ann"


def test_lookups_rank_the_named_service_first(real_bank):
    from bot.core.lookup import LookupIndex

    index = LookupIndex(real_bank)
    assert index.search("lambda timeout", kind="fact", limit=1)[0].id == "f-lambda-timeout"
    top = index.search("step functions max duration", kind="fact", limit=1)[0].id
    assert top.startswith("f-sfn-") and "duration" in top
    assert index.search("not authorized to perform sts:AssumeRole", kind="scenario", limit=1)[0].id.startswith(
        "s-sts-assumerole")


async def test_help_lists_every_command_for_each_platform(service, channel):
    from bot.core.commands import SUBCOMMANDS

    slack_help = (await service.handle_command(member=member(), channel=ChannelRef("slack", "T", "C"),
                                               text="help")).text
    for name in set(SUBCOMMANDS) - {"exam", "lookup", "help"}:  # exam: its branch adds its own line
        assert f"`/dva {name}" in slack_help, name
    for sub in ("daily digest", "daily ping", "daily on", "daily off", "daily status", "reports"):
        assert f"`/dva {sub}" in slack_help
    discord_help = (await service.handle_command(member=member(), channel=ChannelRef("discord", "G", "C"),
                                                 text="help")).text
    assert "`/dva quiz topic:<topic>`" in discord_help and "`/dva quiz [topic]`" not in discord_help


def test_messages_start_with_a_capital_letter():
    import string

    from bot.core import texts as t

    for name in dir(t):
        value = getattr(t, name)
        if name.isupper() and isinstance(value, str) and value and value[0] in string.ascii_letters:
            assert value[0].isupper(), name


def test_content_stats_piped_into_head_exits_quietly():
    import subprocess
    import sys
    from pathlib import Path

    # The reader is gone before studybot writes (as `| head -1` after its line): no BrokenPipeError.
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "content", "stats"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=Path(__file__).resolve().parent.parent)
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and b"BrokenPipe" not in err and b"Traceback" not in err, err
