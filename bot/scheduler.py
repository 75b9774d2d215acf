"""Daily posts and reveals on APScheduler 3.11: exactly once per channel per day.

Subscriptions in the store are the source of truth. Each active one gets two cron jobs (post and
reveal, days by name, in the subscription's time zone); a sweep every minute catches what cron
cannot: a post time inside a spring-forward gap (posted at the first valid minute after it), posts
missed during downtime (within STUDYBOT_CATCHUP_HOURS), deliveries that did not finish (retried
with backoff under a lease, at most `max_attempts`), reveals that are due, and mock exams whose
deadline passed while their members were away (scored, unanswered questions wrong).

Exactly once comes from the store, not from the process: a post is claimed per (channel, local
date) under a unique key, and a retry needs the post's expired delivery lease. So a cron job that
fires twice on a fall-back day, a retry, and a second bot process on the same database all post
once. The window left for a duplicate: the process dies after the platform accepted the post and
before the store recorded its message id. A retry first looks for that earlier message where the
platform lets it (a poster's `find_post`: Discord's channel history, Slack's conversations.history
with the history scopes) and adopts it; only where it cannot look does the retry post again.

A reveal is three recorded steps (marked revealed, the post's face replaced, the explanation
replied), each under the reveal's lease; a restart finishes the missing ones, once each.

Stopping (SIGTERM): `aclose` stops taking new work, lets posts and reveals in flight finish for up
to `grace` seconds, and only then shuts APScheduler down (whose executor cancels what still runs).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.core import exam
from bot.core.clock import Clock
from bot.core.models import ChannelRef
from bot.core.ports import Post, Poster, PostError, Subscription
from bot.core.service import StudyService
from bot.core.timeutil import DAY_NAMES, at_local, local_date, reveal_instant

log = logging.getLogger(__name__)


def _key(channel: ChannelRef) -> str:
    return f"{channel.platform}:{channel.workspace}:{channel.channel}"


class DailyScheduler:
    def __init__(
        self, *, service: StudyService, posters: dict[str, Poster], clock: Clock, catchup_hours: float = 3.0,
        concurrency: int = 50, retry_after: float = 300.0, max_attempts: int = 5, sweep_minutes: int = 1,
        reload_seconds: float = 600.0, grace: float = 10.0, reveal_lease: float = 120.0,
    ) -> None:
        self.service = service
        self.store = service.store
        self.posters = posters
        self.clock = clock
        self.catchup = timedelta(hours=catchup_hours)
        self.retry_after = retry_after
        self.max_attempts = max_attempts
        self.sweep_minutes = sweep_minutes
        self.reload_seconds = reload_seconds
        self.concurrency = concurrency
        self._limits = {platform: asyncio.Semaphore(concurrency) for platform in posters}
        self._subs: dict[str, Subscription] = {}
        self._done: set[tuple[str, str]] = set()  # (channel key, local date) known to be claimed
        self._inflight: set[asyncio.Task] = set()
        self._last_reload = 0.0
        self.grace = grace
        self.reveal_lease = reveal_lease
        self._closing = False
        self.aps: AsyncIOScheduler | None = None

    # ----- life cycle ---------------------------------------------------------------------
    async def start(self) -> None:
        """Start inside the running loop; rebuild jobs from the store and catch up at once."""
        self.aps = AsyncIOScheduler(
            timezone=UTC,
            # Many jobs share 09:00: never drop one because the loop was busy for a second.
            job_defaults={"coalesce": True, "misfire_grace_time": max(60, int(self.catchup.total_seconds())),
                          "max_instances": 2},
        )
        self.aps.start()
        # What is due now goes out first: building thousands of cron jobs takes seconds.
        await self.reload(schedule=False)
        await self._tracked(self.sweep)
        for sub in list(self._subs.values()):
            self._schedule(sub)
        # On whole minutes, so a post time in a spring-forward gap goes out at the first valid minute.
        self.aps.add_job(self._tracked, CronTrigger(minute=f"*/{self.sweep_minutes}", second=0, timezone=UTC),
                         args=[self.sweep], id="sweep", replace_existing=True)
        self.service.on_subscription_changed(self.subscription_changed)

    async def aclose(self) -> None:
        """Stop taking new work, let posts and reveals in flight finish (up to `grace` seconds),
        then stop APScheduler: its executor cancels whatever still runs at that point."""
        self._closing = True
        if self.aps is not None:
            self.aps.pause()
        if self._inflight:
            _, late = await asyncio.wait(list(self._inflight), timeout=self.grace)
            if late:
                log.warning("stopping with %d daily job(s) unfinished after %.0f s; a restart finishes them",
                            len(late), self.grace)
        if self.aps is not None:
            self.aps.shutdown(wait=False)
            self.aps = None
        await self.drain()

    async def drain(self) -> None:
        """Wait for every job started so far (tests and shutdown)."""
        while self._inflight:
            await asyncio.gather(*list(self._inflight), return_exceptions=True)

    async def _tracked(self, fn, *args) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
        try:
            await fn(*args)
        finally:
            if task is not None:
                self._inflight.discard(task)

    # ----- jobs ---------------------------------------------------------------------------
    async def reload(self, *, schedule: bool = True) -> None:
        subs = await self.store.list_subscriptions(active_only=False)
        self._last_reload = self.clock.now().timestamp()
        for sub in subs:
            key = _key(sub.channel)
            if sub.channel.platform not in self.posters:
                continue
            old = self._subs.get(key)
            self._subs[key] = sub
            # Rebuild the cron jobs only when the schedule itself changed (in another process).
            if schedule and (old is None or (old.time, old.timezone, old.days, old.reveal, old.active) != (
                sub.time, sub.timezone, sub.days, sub.reveal, sub.active
            )):
                self._schedule(sub)

    async def subscription_changed(self, sub: Subscription) -> None:
        if sub.channel.platform not in self.posters:
            return
        self._subs[_key(sub.channel)] = sub
        self._schedule(sub)

    def _schedule(self, sub: Subscription) -> None:
        assert self.aps is not None
        key = _key(sub.channel)
        for kind in ("post", "reveal"):
            if not sub.active and self.aps.get_job(f"{kind}:{key}"):
                self.aps.remove_job(f"{kind}:{key}")
        if not sub.active:
            return
        for kind, hhmm in (("post", sub.time), ("reveal", sub.reveal)):
            hour, minute = (int(x) for x in hhmm.split(":"))
            # A reveal may fall on the day after a post day: its job runs daily and reveals what is due.
            days = sub.days if kind == "post" else "*"
            trigger = CronTrigger(day_of_week=days, hour=hour, minute=minute, timezone=sub.timezone)
            fn = self.post_due if kind == "post" else self.reveal_due
            self.aps.add_job(self._tracked, trigger, args=[self._guarded, fn, key], id=f"{kind}:{key}",
                             replace_existing=True)

    async def _guarded(self, fn, key: str, *args) -> None:
        """One channel's failure is logged and recorded, and never stops the others."""
        sub = self._subs.get(key)
        if sub is None or not sub.active:
            return
        try:
            await fn(sub, *args)
        except Exception as exc:  # noqa: BLE001 - isolate channels from each other
            log.exception("daily job failed", extra={"platform": sub.channel.platform,
                                                      "workspace": sub.channel.workspace, "channel": sub.channel.channel})
            try:
                await self.store.set_subscription_error(sub.channel, f"{type(exc).__name__}: {exc}"[:300])
            except Exception:  # noqa: BLE001
                log.exception("could not record the failure")

    async def sweep(self) -> None:
        now = self.clock.now()
        if now.timestamp() - self._last_reload >= self.reload_seconds:
            await self.reload()
            # Forget claims older than two days so a long-running process does not grow forever.
            cutoff = (now - timedelta(days=2)).date().isoformat()
            self._done = {marker for marker in self._done if marker[1] >= cutoff}
        subs = [s for s in self._subs.values() if s.active]
        # A few channels at a time, so the first ones are posted while the rest are still claimed
        # (all of them at once would make every channel wait for every other's queries).
        slots = asyncio.Semaphore(self.concurrency)

        async def due(key: str) -> None:
            async with slots:
                await self._guarded(self.post_due, key)

        await asyncio.gather(*[due(_key(s.channel)) for s in subs])
        # One query for every unrevealed post, not one per channel.
        pending: dict[str, list[Post]] = {}
        for post in await self.store.posts_to_reveal(before=now.timestamp()):
            pending.setdefault(_key(post.channel), []).append(post)
        await asyncio.gather(*[
            self._guarded(self._reveal_if_due, key, posts) for key, posts in pending.items() if key in self._subs
        ])
        await self.finish_reveals()
        await self.retry_undelivered()
        # After the posts (up to 500 exams a sweep, each a few queries and a DM): after a downtime
        # what is due in the channels goes out first.
        await self.close_exams()
        await self.send_reminders()

    async def send_reminders(self) -> None:
        """Members' review reminders due now, one private message each per local day (claimed in the
        store first, so two processes never send the same reminder)."""
        practice = self.service.practice
        if practice is None:
            return
        try:
            due = await practice.due_reminders()
        except Exception:  # noqa: BLE001 - reminders must never stop the sweep
            log.exception("could not read review reminders")
            return
        for member, message in due:
            poster = self.posters.get(member.platform)
            if poster is None:
                continue
            try:
                await poster.send_private(member, message)
            except PostError as exc:
                log.warning("review reminder not delivered: %s", exc.reason,
                            extra={"platform": member.platform, "workspace": member.workspace})

    async def close_exams(self) -> None:
        """Score the exams past their deadline and send each member the report in their DMs; a
        failure is logged and never stops the sweep (the member also sees the report on their
        next exam command or click)."""
        try:
            closed = await exam.close_expired(self.service)
        except Exception:  # noqa: BLE001 - the daily posts must go out regardless
            log.exception("closing expired exams failed")
            return
        if closed:
            log.info("closed %d mock exam(s) at their deadline", len(closed))
        for done, report in closed:
            poster = self.posters.get(done.member.platform)
            if poster is None:
                continue
            try:
                await poster.send_private(done.member, report)
            except PostError as exc:
                log.warning("exam report not delivered: %s", exc.reason,
                            extra={"platform": done.member.platform, "workspace": done.member.workspace})

    # ----- posting ------------------------------------------------------------------------
    def due_at(self, sub: Subscription, day: date) -> datetime | None:
        if DAY_NAMES[day.weekday()] not in sub.days.split(","):
            return None
        return at_local(day, sub.time, sub.timezone)

    async def post_due(self, sub: Subscription) -> None:
        """Post the channel's question of today, or of yesterday when a downtime crossed local
        midnight, if its time has come (within the catch-up window) and nobody claimed it yet."""
        if self._closing:
            return
        today = local_date(self.clock.now(), sub.timezone)
        for day in (today - timedelta(days=1), today):
            await self._post_day(sub, day, today)

    async def _post_day(self, sub: Subscription, day: date, today: date) -> None:
        now = self.clock.now()
        marker = (_key(sub.channel), day.isoformat())
        if marker in self._done:
            return
        due = self.due_at(sub, day)
        if due is None or now < due:
            if due is None:
                self._done.add(marker)
            return
        if now > due + self.catchup:
            if day == today and await self.store.get_daily(sub.channel, day.isoformat()) is None:
                log.warning("daily post of %s skipped: more than %s late", day, self.catchup,
                            extra={"platform": sub.channel.platform, "channel": sub.channel.channel})
            self._done.add(marker)
            return
        await self._reveal_older(sub, day)
        post, created = await self.service.claim_daily(sub.channel, sub.timezone, day=day)
        self._done.add(marker)
        if not created:
            return
        await self._digest_if_first_of_week(sub, day)
        await self._deliver(sub, post)

    async def _deliver(self, sub: Subscription, post: Post) -> None:
        poster = self.posters[sub.channel.platform]
        message = self.service.daily_message(post, answered=0, ping=sub.ping,
                                             reveal_at=self.service.reveal_label(sub, post))
        # Errors are for `/dva daily status` and the admins, never for the whole channel.
        message_id = await self._adopt_earlier(sub, post) if post.attempts else None
        if message_id is None:
            try:
                async with self._limits[sub.channel.platform]:
                    message_id = await poster.post(sub.channel, message)
            except PostError as exc:
                log.warning("daily post failed: %s", exc.reason,
                            extra={"platform": sub.channel.platform, "channel": sub.channel.channel})
                error = f"posting failed: {exc.reason}"
                await self.store.set_subscription_error(sub.channel, error)
                self._subs[_key(sub.channel)] = replace(sub, last_error=error)
                return
        await self.store.set_post_message(post.id, message_id)
        # A delivered post clears the channel's last error, also one recorded by another process
        # or before a restart (so read the store, not this process's copy).
        stored = await self.store.get_subscription(sub.channel)
        if sub.last_error or (stored is not None and stored.last_error):
            await self.store.set_subscription_error(sub.channel, None)
            self._subs[_key(sub.channel)] = replace(stored or sub, last_error=None)
        await self._open_discussion(sub, post, message_id)

    async def _adopt_earlier(self, sub: Subscription, post: Post) -> str | None:
        """A retry of a post whose earlier attempt may have reached the platform: the message id of
        that earlier message when the platform lets us look and it is there, else None."""
        find = getattr(self.posters[sub.channel.platform], "find_post", None)
        if find is None:
            return None
        try:
            found = await find(sub.channel, post)
        except PostError as exc:
            log.info("could not look for an earlier daily post: %s", exc.reason,
                     extra={"platform": sub.channel.platform, "channel": sub.channel.channel})
            return None
        if found:
            log.info("adopted the daily post of %s found in the channel instead of posting again", post.local_date,
                     extra={"platform": sub.channel.platform, "channel": sub.channel.channel})
        return found

    async def _open_discussion(self, sub: Subscription, post: Post, message_id: str) -> None:
        """The discussion under a new post (Slack: a first thread reply; Discord: a thread when the
        bot may create one). Best effort: the post stands without it."""
        opener = getattr(self.posters[sub.channel.platform], "open_discussion", None)
        if opener is None:
            return
        try:
            async with self._limits[sub.channel.platform]:
                thread = await opener(sub.channel, message_id, self.service.discussion_message(sub, post))
        except PostError as exc:
            log.info("no discussion thread: %s", exc.reason,
                     extra={"platform": sub.channel.platform, "channel": sub.channel.channel})
            return
        if thread:
            await self.store.set_post_thread(post.id, thread)

    async def retry_undelivered(self) -> None:
        now = self.clock.now()
        for post in await self.store.undelivered_posts(since=(now - timedelta(days=2)).timestamp()):
            sub = self._subs.get(_key(post.channel))
            if sub is None or post.channel.platform not in self.posters:
                continue
            if self._closing:
                return
            backoff = self.retry_after * (2 ** post.attempts)
            leased = await self.store.lease_post(post.id, now=now.timestamp(), seconds=backoff)
            if leased is None:
                continue
            if leased.attempts > self.max_attempts:
                await self.store.mark_post_failed(post.id)
                error = f"the daily question of {post.local_date} could not be posted after {self.max_attempts} attempts"
                await self.store.set_subscription_error(post.channel, error)
                self._subs[_key(post.channel)] = replace(sub, last_error=error)
                continue
            await self._deliver(self._subs.get(_key(post.channel), sub), leased)

    async def _digest_if_first_of_week(self, sub: Subscription, today: date) -> None:
        if not sub.digest:
            return
        monday = today - timedelta(days=today.weekday())
        for i in range((today - monday).days):
            if await self.store.get_daily(sub.channel, (monday + timedelta(days=i)).isoformat()):
                return
        digest = await self.service.weekly_digest(sub.channel, sub.timezone)
        if digest is None:
            return
        try:
            async with self._limits[sub.channel.platform]:
                await self.posters[sub.channel.platform].post(sub.channel, digest)
        except PostError as exc:
            log.warning("weekly digest failed: %s", exc.reason, extra={"channel": sub.channel.channel})

    # ----- reveals ------------------------------------------------------------------------
    async def reveal_due(self, sub: Subscription) -> None:
        posts = await self.store.posts_to_reveal(before=self.clock.now().timestamp())
        await self._reveal_if_due(sub, [p for p in posts if p.channel == sub.channel])

    async def _reveal_if_due(self, sub: Subscription, posts: list[Post]) -> None:
        now = self.clock.now()
        for post in posts:
            if post.local_date is None:
                continue
            reveal_at = reveal_instant(date.fromisoformat(post.local_date), sub.time, sub.reveal, sub.timezone)
            if now >= reveal_at:
                await self._reveal(sub, post)

    async def _reveal_older(self, sub: Subscription, today: date) -> None:
        """Always reveal the previous question before the next one is posted."""
        for post in await self.store.posts_to_reveal(before=self.clock.now().timestamp()):
            if post.channel == sub.channel and post.local_date and post.local_date < today.isoformat():
                await self._reveal(sub, post)

    async def _reveal(self, sub: Subscription, post: Post) -> None:
        if self._closing:
            return
        # Marking it revealed takes the reveal lease: this call does the steps, once.
        if await self.service.reveal(post.id) is None:
            return
        fresh = await self.store.get_post(post.id)
        await self._finish_reveal(sub, fresh or post)

    async def finish_reveals(self) -> None:
        """Reveals whose steps did not all happen (a crash, a stop, a failed call): the one process
        that takes the expired reveal lease does what is missing."""
        now = self.clock.now()
        for post in await self.store.unfinished_reveals(since=(now - timedelta(days=2)).timestamp()):
            if self._closing:
                return
            sub = self._subs.get(_key(post.channel))
            if sub is None or post.channel.platform not in self.posters:
                continue
            leased = await self.store.lease_reveal(post.id, now=now.timestamp(), seconds=self.reveal_lease)
            if leased is not None:
                await self._guarded(self._finish_reveal, _key(post.channel), leased)

    async def _finish_reveal(self, sub: Subscription, post: Post) -> None:
        """The reveal's steps not recorded yet: the post's face, then the explanation in the
        discussion thread (or under the post). Each is recorded once done; a permanent refusal
        is recorded as done too (retrying cannot help), a passing one is left for the lease.

        A post not delivered yet has nothing in the channel to reveal. If it failed for good, its
        steps are recorded as done; if it is still being retried, they are left undone, so that
        once a retry delivers it (late, as a plain question), a later sweep's `finish_reveals`
        takes the expired reveal lease and replaces its face and posts the explanation."""
        poster = self.posters[sub.channel.platform]
        if post.message_id is None:
            if post.failed:
                for step in ("face", "reply"):
                    await self.store.mark_reveal_step(post.id, step, self.clock.now().timestamp())
            return
        steps = []
        if post.reveal_face_at is None:
            steps.append("face")
        if post.reveal_reply_at is None:
            steps.append("reply")
        for step in steps:
            try:
                async with self._limits[sub.channel.platform]:
                    if step == "face":
                        await poster.update(sub.channel, post.message_id, await self.service.reveal_message(post))
                    else:
                        await poster.reply(sub.channel, post.message_id, self.service.reveal_reply(post),
                                           thread=post.thread_id)
            except PostError as exc:
                log.warning("reveal %s failed: %s", step, exc.reason, extra={"channel": sub.channel.channel})
                await self.store.set_subscription_error(sub.channel, f"reveal failed: {exc.reason}")
                if not exc.permanent:
                    return
            await self.store.mark_reveal_step(post.id, step, self.clock.now().timestamp())
