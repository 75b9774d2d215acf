"""The scheduler on a fake clock and the real APScheduler: exactly one post and one reveal per
scheduled day through DST, restarts, two instances, crashes, downtime and failing channels."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core.clock import FakeClock
from bot.core.models import ChannelRef
from bot.core.ports import Subscription
from bot.core.service import StudyService
from bot.core.timeutil import DAY_NAMES
from bot.scheduler import DailyScheduler
from storage.sqlite.store import SQLiteStore
from tests.sched_harness import FakePoster, patch_apscheduler_clock, run_until, settle

WEEKDAYS = "mon,tue,wed,thu,fri"
EVERY_DAY = ",".join(DAY_NAMES)


def sub(channel: str, hhmm: str, tz: str, days: str, reveal: str) -> Subscription:
    return Subscription(channel=ChannelRef("fake", "W1", channel), time=hhmm, timezone=tz, days=days, reveal=reveal)


SUBS = [
    sub("berlin", "09:00", "Europe/Berlin", WEEKDAYS, "17:00"),
    sub("newyork", "02:30", "America/New_York", EVERY_DAY, "12:00"),  # in the spring-forward gap on Mar 8
    sub("sydney", "02:30", "Australia/Sydney", EVERY_DAY, "12:00"),  # repeated on the fall-back night of Apr 5
    sub("kolkata", "09:00", "Asia/Kolkata", "mon,wed,fri", "18:00"),
]


@pytest.fixture
def sim(monkeypatch, bank, tmp_path):
    clock = FakeClock(datetime(2026, 3, 1, 0, 0, tzinfo=UTC))
    patch_apscheduler_clock(monkeypatch, clock)
    return clock


def make(bank, store, clock, poster, **kw) -> DailyScheduler:
    service = StudyService(bank=bank, store=store, clock=clock)
    return DailyScheduler(service=service, posters={"fake": poster}, clock=clock, sweep_minutes=kw.pop("sweep", 15), **kw)


def expected_days(s: Subscription, start: datetime, end: datetime) -> set[date]:
    tz = ZoneInfo(s.timezone)
    out = set()
    d = start.astimezone(tz).date()
    while d <= end.astimezone(tz).date():
        h, m = map(int, s.time.split(":"))
        due = datetime.combine(d, time(h, m), tzinfo=tz)
        if DAY_NAMES[d.weekday()] in s.days and start <= due.astimezone(UTC) and due.astimezone(UTC) + timedelta(hours=1) <= end:
            out.add(d)
        d += timedelta(days=1)
    return out


async def simulate(bank, tmp_path, clock, start, days, restarts=4, seed=7):
    clock.set(start)
    end = start + timedelta(days=days)
    store = SQLiteStore(tmp_path / "sim.db")
    await store.start()
    for s in SUBS:
        await store.put_subscription(s)
    poster = FakePoster(clock)
    rng = random.Random(seed)
    cuts = sorted(start + timedelta(minutes=rng.randrange(0, days * 1440)) for _ in range(restarts)) + [end]
    for cut in cuts:
        sched = make(bank, store, clock, poster)
        await sched.start()
        await settle([sched])
        await run_until(clock, [sched], cut)
        await sched.aclose()
        clock.advance(minutes=rng.choice([1, 7, 30]))  # a short restart gap
    await store.aclose()
    return poster, end


def check_exactly_once(poster: FakePoster, start, end):
    for s in SUBS:
        posts = poster.daily_posts(s.channel.channel)
        tz = ZoneInfo(s.timezone)
        days = [p[2].astimezone(tz).date() for p in posts]
        assert Counter(days).most_common(1)[0][1] == 1, f"{s.channel.channel} posted twice on a day"
        assert set(days) == expected_days(s, start, end), s.channel.channel
        ids = {p[3] for p in posts}
        reveals = [u for u in poster.updates if u[1] in ids]
        assert len(reveals) == len({u[1] for u in reveals}), "a post was revealed twice"
        # Every post but possibly the last is revealed.
        assert len({u[1] for u in reveals}) >= len(posts) - 1


async def test_sixty_days_spring_forward_and_sydney_fall_back_with_restarts(bank, tmp_path, sim):
    start = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
    poster, end = await simulate(bank, tmp_path, sim, start, 60)
    check_exactly_once(poster, start, end)
    ny = {p[2].astimezone(ZoneInfo("America/New_York")).date(): p[2].astimezone(ZoneInfo("America/New_York"))
          for p in poster.daily_posts("newyork")}
    # 02:30 does not exist on 2026-03-08 in New York: posted once at the first valid minute, 03:00.
    assert ny[date(2026, 3, 8)].time() == time(3, 0)
    assert ny[date(2026, 3, 9)].time() == time(2, 30)
    syd = [p[2].astimezone(ZoneInfo("Australia/Sydney")) for p in poster.daily_posts("sydney")]
    assert sum(1 for t in syd if t.date() == date(2026, 4, 5)) == 1


async def test_sixty_days_autumn_changes_with_restarts(bank, tmp_path, sim):
    start = datetime(2026, 9, 20, 0, 0, tzinfo=UTC)
    poster, end = await simulate(bank, tmp_path, sim, start, 60, seed=11)
    check_exactly_once(poster, start, end)
    berlin = [p[2].astimezone(ZoneInfo("Europe/Berlin")) for p in poster.daily_posts("berlin")]
    assert all(t.time() == time(9, 0) for t in berlin)  # 09:00 local on both sides of Oct 25


async def test_two_instances_on_one_sqlite_file_post_once(bank, tmp_path, sim):
    sim.set(datetime(2026, 3, 2, 0, 0, tzinfo=UTC))
    s1, s2 = SQLiteStore(tmp_path / "two.db"), SQLiteStore(tmp_path / "two.db")
    await s1.start()
    await s2.start()
    for s in SUBS:
        await s1.put_subscription(s)
    poster = FakePoster(sim)
    a, b = make(bank, s1, sim, poster), make(bank, s2, sim, poster)
    await a.start()
    await b.start()
    await run_until(sim, [a, b], datetime(2026, 3, 9, 0, 0, tzinfo=UTC))
    await a.aclose()
    await b.aclose()
    per_day = Counter((p[0].channel, p[2].date()) for p in poster.daily_posts())
    assert per_day and max(per_day.values()) == 1
    assert len(poster.daily_posts("berlin")) == 5
    assert len(poster.updates) == len({u[1] for u in poster.updates})
    await s1.aclose()
    await s2.aclose()


async def test_crash_after_claim_is_retried_once(bank, store, tmp_path, sim):
    sim.set(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))  # 09:00 Berlin
    berlin = SUBS[0]
    await store.put_subscription(berlin)
    service = StudyService(bank=bank, store=store, clock=sim)
    post, created = await service.claim_daily(berlin.channel, berlin.timezone)  # then the process "dies"
    assert created
    poster = FakePoster(sim)
    sched = make(bank, store, sim, poster, sweep=1)
    await sched.start()
    await settle([sched])
    assert poster.daily_posts() == []  # the lease of the crashed claimer has not expired yet
    await run_until(sim, [sched], datetime(2026, 3, 2, 8, 20, tzinfo=UTC))
    await sched.aclose()
    assert len(poster.daily_posts()) == 1
    assert (await store.get_post(post.id)).message_id == poster.daily_posts()[0][3]


async def test_retries_back_off_and_give_up_then_report(bank, store, sim):
    sim.set(datetime(2026, 3, 2, 7, 59, tzinfo=UTC))
    berlin = SUBS[0]
    await store.put_subscription(berlin)
    poster = FakePoster(sim)
    poster.failing["berlin"] = "not_in_channel"
    sched = make(bank, store, sim, poster, sweep=1)
    await sched.start()
    await run_until(sim, [sched], datetime(2026, 3, 3, 7, 0, tzinfo=UTC))
    post = await store.get_daily(berlin.channel, "2026-03-02")
    assert post.failed and post.attempts == 6  # the first try plus 5 retries, the last one marking it failed
    status = await sched.service.daily_status(berlin.channel)
    assert "could not be posted after 5 attempts" in status.text
    del poster.failing["berlin"]
    await run_until(sim, [sched], datetime(2026, 3, 3, 9, 0, tzinfo=UTC))
    await sched.aclose()
    [(_, msg, _, _)] = poster.daily_posts()
    # Errors are for `/dva daily status` and the admins, never shown to the channel; the delivered
    # post clears it.
    assert "could not be posted" not in msg.plain() and "Note" not in msg.plain()
    assert (await store.get_subscription(berlin.channel)).last_error is None


@pytest.mark.parametrize(("back_at", "posted"), [(datetime(2026, 3, 2, 9, 30, tzinfo=UTC), True),
                                                 (datetime(2026, 3, 2, 11, 30, tzinfo=UTC), False)])
async def test_downtime_caught_up_within_grace_and_skipped_after(bank, store, sim, back_at, posted):
    berlin = SUBS[0]  # due 08:00 UTC on 2026-03-02; catch-up window 3 hours
    await store.put_subscription(berlin)
    sim.set(back_at)
    poster = FakePoster(sim)
    sched = make(bank, store, sim, poster)
    await sched.start()
    await settle([sched])
    await sched.aclose()
    assert len(poster.daily_posts()) == (1 if posted else 0)
    assert (await store.get_daily(berlin.channel, "2026-03-02") is not None) == posted


async def test_one_failing_channel_does_not_delay_the_others(bank, store, sim):
    sim.set(datetime(2026, 3, 2, 7, 0, tzinfo=UTC))
    channels = [sub(f"c{i:02d}", "09:00", "Europe/Berlin", WEEKDAYS, "17:00") for i in range(30)]
    for s in channels:
        await store.put_subscription(s)
    poster = FakePoster(sim)
    poster.failing["c07"] = "channel_not_found"
    sched = make(bank, store, sim, poster, sweep=1)
    await sched.start()
    await run_until(sim, [sched], datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    await sched.aclose()
    times = defaultdict(list)
    for ch, _, at, _ in poster.daily_posts():
        times[ch.channel].append(at)
    assert len(times) == 29 and "c07" not in times
    assert all(ts == [datetime(2026, 3, 2, 8, 0, tzinfo=UTC)] for ts in times.values())
    assert "channel_not_found" in (await store.get_subscription(channels[7].channel)).last_error


async def test_reveal_once_at_its_time_with_vote_shares(bank, store, sim):
    from tests.conftest import member

    sim.set(datetime(2026, 3, 2, 7, 59, tzinfo=UTC))
    berlin = SUBS[0]
    await store.put_subscription(berlin)
    poster = FakePoster(sim)
    sched = make(bank, store, sim, poster, sweep=1)
    await sched.start()
    await run_until(sim, [sched], datetime(2026, 3, 2, 8, 1, tzinfo=UTC))
    [(_, msg, _, mid)] = poster.daily_posts()
    q = bank.by_id[(await store.get_post(msg.post_id)).question_id]
    await sched.service.answer(member=member("ann", "W1").__class__("fake", "W1", "ann"), post_id=msg.post_id,
                               raw_choice="".join(sorted(q.key)))
    await run_until(sim, [sched], datetime(2026, 3, 2, 15, 59, tzinfo=UTC))
    assert poster.updates == []
    await run_until(sim, [sched], datetime(2026, 3, 2, 16, 1, tzinfo=UTC))
    await sched.aclose()
    [(_, upd_id, face)] = poster.updates
    assert upd_id == mid and "1 of 1 answered right" in face.footer
    assert len(poster.replies) == 1 and q.explanation in poster.replies[0][2].text


async def test_a_post_delivered_after_its_reveal_time_is_revealed_once_delivered(bank, store, sim):
    """An outage from the post time (09:00) until after the reveal time (10:00): the retry that
    finally delivers the question (10:20, by the backoff) is followed by its reveal, the face
    replaced and the explanation posted, each once."""
    s = sub("late", "09:00", "UTC", EVERY_DAY, "10:00")
    await store.put_subscription(s)
    sim.set(datetime(2026, 3, 2, 8, 59, tzinfo=UTC))
    poster = FakePoster(sim)
    poster.fail_times = 1000  # every post attempt meets a passing failure until the outage ends
    sched = make(bank, store, sim, poster, sweep=1)
    await sched.start()
    await run_until(sim, [sched], datetime(2026, 3, 2, 10, 5, tzinfo=UTC))
    post = await store.get_daily(s.channel, "2026-03-02")
    assert poster.posts == [] and post.revealed_at is not None and not post.failed  # revealed while undelivered
    poster.fail_times = 0  # the outage ends; the next retry (10:20) delivers the post
    await run_until(sim, [sched], datetime(2026, 3, 2, 10, 30, tzinfo=UTC))
    [(_, msg, at, mid)] = poster.daily_posts()
    assert at == datetime(2026, 3, 2, 10, 20, tzinfo=UTC)
    q = bank.by_id[post.question_id]
    [(_, upd_id, face)] = poster.updates
    assert upd_id == mid and face.title == "Revealed: daily question 2026-03-02"
    [(_, reply_to, why)] = poster.replies
    assert reply_to == mid and q.explanation in why.text
    done = await store.get_post(post.id)
    assert done.reveal_face_at is not None and done.reveal_reply_at is not None
    await run_until(sim, [sched], datetime(2026, 3, 2, 20, 0, tzinfo=UTC))  # many more sweeps
    await sched.aclose()
    assert len(poster.daily_posts()) == 1 and len(poster.updates) == 1 and len(poster.replies) == 1


async def test_a_post_that_failed_for_good_finishes_its_reveal_with_nothing_to_reveal(bank, store, sim):
    """A post revealed while undelivered whose retries then run out: its reveal steps are recorded
    as done (nothing in the channel to update), so no sweep keeps coming back to it."""
    s = sub("gone", "09:00", "UTC", EVERY_DAY, "10:00")
    await store.put_subscription(s)
    sim.set(datetime(2026, 3, 2, 8, 59, tzinfo=UTC))
    poster = FakePoster(sim)
    poster.failing["gone"] = "channel_not_found"
    sched = make(bank, store, sim, poster, sweep=1)
    await sched.start()
    await run_until(sim, [sched], datetime(2026, 3, 2, 13, 0, tzinfo=UTC))
    await sched.aclose()
    post = await store.get_daily(s.channel, "2026-03-02")
    assert post.failed and post.message_id is None
    assert post.reveal_face_at is not None and post.reveal_reply_at is not None
    assert await store.unfinished_reveals(since=0) == []
    assert poster.posts == [] and poster.updates == [] and poster.replies == []


async def test_console_shows_the_daily_post_and_the_reveal(bank, store, sim):
    import io

    from bot.adapters.console import ConsoleAdapter

    sim.set(datetime(2026, 3, 2, 9, 58, 30, tzinfo=UTC))
    service = StudyService(bank=bank, store=store, clock=sim)
    out = io.StringIO()
    console = ConsoleAdapter(service=service, out=out)
    sched = DailyScheduler(service=service, posters={"console": console}, clock=sim)
    await sched.start()
    await console.handle_line("/dva daily on 10:59 Europe/Berlin daily reveal 11:01")
    assert "Daily question scheduled at 10:59 Europe/Berlin every day" in out.getvalue()
    assert "only 2 minutes to answer" in out.getvalue()  # an explicit short reveal is allowed, and said
    await run_until(sim, [sched], datetime(2026, 3, 2, 9, 59, 30, tzinfo=UTC))
    shown = out.getvalue()
    assert "== Daily question, 2026-03-02" in shown and "(Type " in shown
    q = bank.by_id[(await store.get_post(console.current_post)).question_id]
    await console.handle_line(" ".join(sorted(q.key)))
    assert "Streak: 1 day." in out.getvalue()
    await run_until(sim, [sched], datetime(2026, 3, 2, 10, 1, 30, tzinfo=UTC))
    await sched.aclose()
    text = out.getvalue()
    assert "== Revealed: daily question 2026-03-02 ==" in text and "1 vote (100 %)" in text
    assert "== Why ==" in text and text.count("== Daily question, 2026-03-02") == 1


async def test_weekly_digest_precedes_the_first_post_of_the_week(bank, store, sim):
    from bot.core.models import MemberRef

    berlin = SUBS[0]
    await store.put_subscription(berlin)
    poster = FakePoster(sim)
    sim.set(datetime(2026, 3, 4, 7, 59, tzinfo=UTC))  # Wednesday of the week before
    sched = make(bank, store, sim, poster, sweep=1)
    await sched.start()
    await run_until(sim, [sched], datetime(2026, 3, 4, 8, 1, tzinfo=UTC))
    [(_, msg, _, _)] = poster.daily_posts()
    q = bank.by_id[(await store.get_post(msg.post_id)).question_id]
    for user in ("ann", "bob"):
        await sched.service.answer(member=MemberRef("fake", "W1", user), post_id=msg.post_id,
                                   raw_choice="".join(sorted(q.key)) if user == "ann" else
                                   "".join(x for x in q.letters if x not in q.key)[: len(q.key)])
    await run_until(sim, [sched], datetime(2026, 3, 9, 8, 1, tzinfo=UTC))  # through Monday's post
    titles = [p[1].title for p in poster.posts]
    digest_at = titles.index("Weekly digest")
    assert titles[digest_at + 1].startswith("Daily question, 2026-03-09")  # it precedes Monday's post
    assert titles.count("Weekly digest") == 1  # Thursday and Friday of the first week get none
    digest = poster.posts[digest_at][1].text
    assert digest.index("<@ann>: 10") < digest.index("<@bob>: 3")
    await store.put_subscription(replace(berlin, digest=False))
    await sched.reload()
    await run_until(sim, [sched], datetime(2026, 3, 16, 8, 1, tzinfo=UTC))
    await sched.aclose()
    assert [p[1].title for p in poster.posts].count("Weekly digest") == 1


async def test_the_sweep_scores_mock_exams_at_their_deadline(bank, store, sim):
    """An exam left running is closed by the minute sweep once its deadline passes, even with no
    subscription at all, and a failing close does not stop the daily posts."""
    from bot.core.models import MemberRef

    sim.set(datetime(2026, 3, 2, 7, 0, tzinfo=UTC))
    poster = FakePoster(sim)
    sched = make(bank, store, sim, poster, sweep=1)
    who = MemberRef("fake", "W1", "U1")
    await sched.service.handle_command(member=who, channel=ChannelRef("fake", "W1", "D1"), text="/dva exam short")
    exam = await store.active_exam(who)
    await sched.start()
    await run_until(sim, [sched], datetime(2026, 3, 2, 7, 15, tzinfo=UTC))
    assert (await store.get_exam(exam.id)).state == "active"  # 16 minutes for the small bank
    await run_until(sim, [sched], datetime(2026, 3, 2, 7, 17, 30, tzinfo=UTC))
    closed = await store.get_exam(exam.id)
    assert closed.state == "expired" and closed.right == 0 and closed.closed_at == datetime(
        2026, 3, 2, 7, 16, tzinfo=UTC).timestamp()  # the sweep on the deadline minute
    # The member, away, gets the report in their DMs once.
    [(to, report, _)] = poster.private
    assert to == who and report.title.startswith("Mock exam report") and "Time is up" in report.text
    # A member whose DMs are closed: the exam is scored all the same, the report waits for them.
    poster.closed_dms.add("U2")
    other = MemberRef("fake", "W1", "U2")
    await sched.service.handle_command(member=other, channel=ChannelRef("fake", "W1", "D2"), text="/dva exam short")
    await run_until(sim, [sched], datetime(2026, 3, 2, 7, 40, tzinfo=UTC))
    assert (await store.member_exams(other, limit=1))[0].state == "expired" and len(poster.private) == 1
    back = await sched.service.handle_command(member=other, channel=ChannelRef("fake", "W1", "D2"), text="/dva exam report")
    assert back.title.startswith("Mock exam report")
    await sched.aclose()


async def test_a_failing_exam_sweep_does_not_stop_the_daily_post(bank, store, sim, monkeypatch):
    from bot.core import exam

    async def broken(service):
        raise RuntimeError("exam store down")

    monkeypatch.setattr(exam, "close_expired", broken)
    sim.set(datetime(2026, 3, 2, 7, 59, tzinfo=UTC))
    berlin = SUBS[0]
    await store.put_subscription(berlin)
    poster = FakePoster(sim)
    sched = make(bank, store, sim, poster, sweep=1)
    await sched.start()
    await run_until(sim, [sched], datetime(2026, 3, 2, 8, 5, tzinfo=UTC))
    await sched.aclose()
    assert len(poster.daily_posts()) == 1


async def test_review_reminders_are_sent_once_a_day_by_the_sweep_even_with_two_instances(bank, tmp_path, sim):
    """A member with cards due gets one private reminder a day at their time, across two processes
    on one database; a member with nothing due or closed DMs is skipped without stopping the sweep."""
    from bot.core.models import MemberRef

    clock = sim
    stores = [SQLiteStore(tmp_path / "r.db"), SQLiteStore(tmp_path / "r.db")]
    for s in stores:
        await s.start()
    posters = [FakePoster(clock), FakePoster(clock)]
    scheds = [make(bank, s, clock, p, sweep=1) for s, p in zip(stores, posters, strict=True)]
    due_member, idle_member, closed = (MemberRef("fake", "W1", u) for u in ("ann", "ben", "cid"))
    for m in (due_member, idle_member, closed):
        await stores[0].set_member_timezone(m, "Europe/Berlin")
        await stores[0].set_reminder(m, "08:00")
    # ann and cid missed a question a day before: due now; ben has nothing.
    t0 = clock.now().timestamp() - 86400
    for m in (due_member, closed):
        await stores[0].apply_reviews(m, [("t-d1-one", False, t0)])
    posters[1].closed_dms.add("cid")
    for s in scheds:
        await s.start()
    try:
        await run_until(clock, scheds, datetime(2026, 3, 3, 12, 0, tzinfo=UTC))
    finally:
        for s in scheds:
            await s.aclose()
        for s in stores:
            await s.aclose()
    sent = [(m.user, at) for p in posters for m, _, at in p.private]
    ann = sorted(at for user, at in sent if user == "ann")
    # 08:00 in Berlin is 07:00 UTC in March: Mar 1, 2 and 3, once each, within the sweep minute.
    assert [a.date().isoformat() for a in ann] == ["2026-03-01", "2026-03-02", "2026-03-03"]
    assert all(a.hour == 7 and a.minute == 0 for a in ann)
    assert all(user != "ben" for user, _ in sent)


async def test_the_sweep_posts_what_is_due_before_it_closes_expired_exams(bank, store, sim, monkeypatch):
    from bot.core import exam

    posts_seen = []
    poster = FakePoster(sim)

    async def closing(service):
        posts_seen.append((service.clock.now(), len(poster.daily_posts())))
        return []

    monkeypatch.setattr(exam, "close_expired", closing)
    sim.set(datetime(2026, 3, 2, 7, 59, tzinfo=UTC))
    await store.put_subscription(SUBS[0])
    sched = make(bank, store, sim, poster, sweep=1)
    await sched.start()
    await run_until(sim, [sched], datetime(2026, 3, 2, 8, 1, tzinfo=UTC))
    await sched.aclose()
    due = [n for at, n in posts_seen if at >= datetime(2026, 3, 2, 8, 0, tzinfo=UTC)]
    assert due and all(n == 1 for n in due) and len(poster.daily_posts()) == 1
