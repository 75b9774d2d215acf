"""The ports the core needs: a Store for state and a Poster for platforms. Small Protocols.

Every Store method may raise `StoreError` (storage/ maps driver errors to it at the edge).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol

from bot.core.messages import Message
from bot.core.models import ChannelRef, MemberRef
from bot.core.review import CardState


class StudybotError(Exception):
    """Base of studybot's own errors."""


class StoreError(StudybotError):
    """The store could not do what was asked (locked past its timeout, disk full, connection lost)."""


class StoreConfigError(StoreError, ValueError):
    """The database URL is wrong (unparsable, unknown scheme): a person must fix the setting;
    waiting or retrying cannot help. Its message never echoes the URL (it may hold a password)."""


@dataclass(frozen=True, slots=True)
class Subscription:
    channel: ChannelRef
    time: str  # HH:MM local
    timezone: str
    days: str  # cron day names, e.g. "mon,tue,wed,thu,fri"
    reveal: str  # HH:MM local
    active: bool = True
    digest: bool = True
    last_error: str | None = None
    ping: str | None = None  # whom a daily post mentions: "here", "role:<id>", "<!subteam^ID>"; None: nobody


@dataclass(frozen=True, slots=True)
class Post:
    id: int
    channel: ChannelRef
    kind: str  # "daily" or "quiz"
    question_id: str
    local_date: str | None  # the channel's local date of a daily post
    created_at: float  # epoch seconds
    message_id: str | None = None
    revealed_at: float | None = None
    attempts: int = 0
    failed: bool = False
    user: str | None = None  # a practice post's member
    mode: str | None = None  # a practice post's mode: "review", "quiz:<topic>" or "quiz:-"
    thread_id: str | None = None  # the discussion opened at post time (a Discord thread, a Slack reply)
    reveal_face_at: float | None = None  # the reveal's steps, each recorded when done
    reveal_reply_at: float | None = None


@dataclass(frozen=True, slots=True)
class AnswerIn:
    post_id: int
    member: MemberRef
    channel: ChannelRef
    choice: str  # sorted letters, e.g. "B" or "AC"
    correct: bool
    points: int
    practice: bool
    answered_at: float  # epoch seconds
    local_day: str  # the member's streak day, YYYY-MM-DD
    # The post's question: the store moves the member's review card for it in the answer's
    # transaction ('' leaves cards alone, e.g. for a post whose question left the bank).
    question_id: str = ""
    # The member's platform profile time zone when they never set one: stored as theirs in the
    # answer's own transaction (a first click makes no write of its own), never over a setting.
    timezone: str | None = None


@dataclass(frozen=True, slots=True)
class AnswerOutcome:
    recorded: bool  # False: the member had answered this post already
    choice: str  # the choice that counts (the earlier one when not recorded)
    # The member's streak days after this answer, when the store read them in the same
    # transaction (saves the hot path a read); None: ask `member_days`.
    days: tuple[str, ...] | None = None
    card: CardState | None = None  # the member's review card after this answer (when it moved)


@dataclass(frozen=True, slots=True)
class Attempt:
    """One graded first answer of a member to a question (a post's answer or a submitted exam's)."""

    question_id: str
    correct: bool
    at: float  # epoch seconds
    user: str = ""  # the member; filled by `channel_attempts` (members active per week)


EXAM_STATES = ("active", "submitted", "expired", "abandoned")


@dataclass(frozen=True, slots=True)
class ExamItem:
    """One question of a mock exam, in exam order: the member's choice (sorted letters, None while
    unanswered), their review flag, and once the exam is scored whether they got it right."""

    question_id: str
    choice: str | None = None
    flagged: bool = False
    correct: bool | None = None


@dataclass(frozen=True, slots=True)
class Exam:
    """A member's mock exam (bot/core/exam.py). Times are epoch seconds; `position` is the index
    of the question on screen (len(items): the end-of-exam overview). `state` is one of
    EXAM_STATES; `right` is set when the exam was scored (submitted, or expired at its deadline)."""

    id: int
    member: MemberRef
    mode: str
    started_at: float
    deadline: float
    state: str
    position: int
    items: tuple[ExamItem, ...]
    closed_at: float | None = None
    right: int | None = None

    @property
    def total(self) -> int:
        return len(self.items)


@dataclass(frozen=True, slots=True)
class Reminder:
    """A member's daily review reminder: `at_time` HH:MM in `timezone` (None: the member set none)."""

    member: MemberRef
    at_time: str
    last_sent: str | None  # the member's local date of the last reminder sent
    timezone: str | None


@dataclass(frozen=True, slots=True)
class Report:
    """A member's report of a question (wrong key, unclear, outdated, typo). One open report per
    member and question; closed ones keep their status ('fixed' or 'dismissed')."""

    id: int
    member: MemberRef
    question_id: str
    reason: str
    text: str
    created_at: float
    status: str = "open"
    closed_at: float | None = None


@dataclass(frozen=True, slots=True)
class Ranked:
    user: str
    points: int
    rank: int


@dataclass(frozen=True, slots=True)
class AppInstallation:
    """A platform app installed in a workspace (Slack's OAuth install flow), one per installer.
    `record` is the platform's own installation record as JSON and holds the bot token: a secret,
    so the repr leaves it out and nothing may log it."""

    platform: str
    enterprise_id: str  # '' outside an enterprise organisation
    team_id: str  # '' for an organisation-wide install
    user_id: str  # who installed it
    installed_at: float  # epoch seconds
    record: str = field(repr=False)


class Store(Protocol):
    async def start(self) -> None:
        """Open connections and apply migrations."""

    async def aclose(self) -> None:
        """Flush pending writes and close."""

    async def release_memory(self, *, quiet: float) -> bool:
        """After a burst: True when answers were written since the last call and none in the last
        `quiet` seconds; the store has then released what it can (SQLite: its connections' page
        caches), and the caller may release the process's own free memory."""

    async def get_member_timezone(self, member: MemberRef) -> str | None: ...

    async def set_member_timezone(self, member: MemberRef, tz: str) -> None: ...

    async def get_subscription(self, channel: ChannelRef) -> Subscription | None: ...

    async def put_subscription(self, sub: Subscription) -> None:
        """Insert or replace the channel's subscription."""

    async def list_subscriptions(self, *, active_only: bool = True) -> list[Subscription]: ...

    async def set_subscription_error(self, channel: ChannelRef, error: str | None) -> None: ...

    async def daily_history(self, channel: ChannelRef) -> list[str]:
        """Question ids of the channel's daily posts, oldest first."""

    async def claim_daily(
        self, *, channel: ChannelRef, local_date: str, question_id: str, created_at: float,
        lease_seconds: float = 300.0,
    ) -> tuple[Post, bool]:
        """Claim (channel, local_date) once; returns the post and whether this call created it.
        The claimer holds the delivery lease for `lease_seconds`."""

    async def lease_post(self, post_id: int, *, now: float, seconds: float) -> Post | None:
        """Take the expired delivery lease of an undelivered post (counting an attempt); None if
        it is delivered, failed, or leased by someone else."""

    async def mark_post_failed(self, post_id: int) -> None: ...

    async def undelivered_posts(self, *, since: float) -> list[Post]: ...

    async def channel_members(self, channel: ChannelRef, *, since: float) -> list[str]:
        """Members who answered in the channel since the instant."""

    async def create_quiz(
        self, *, channel: ChannelRef, question_id: str, created_at: float, user: str | None = None,
        mode: str | None = None,
    ) -> Post:
        """A practice post (kind 'quiz'), served to `user` in `mode` when given."""

    async def served_questions(self, member: MemberRef, *, limit: int) -> list[tuple[str, float]]:
        """(question id, served at) of the member's latest practice posts, newest first."""

    async def get_post(self, post_id: int) -> Post | None: ...

    async def get_daily(self, channel: ChannelRef, local_date: str) -> Post | None: ...

    async def set_post_message(self, post_id: int, message_id: str) -> None: ...

    async def bump_post_attempt(self, post_id: int, *, failed: bool) -> Post | None: ...

    async def mark_revealed(self, post_id: int, at: float, *, lease_seconds: float = 120.0) -> bool:
        """Mark the post revealed; True only for the one call that did it, which then holds the
        reveal lease for `lease_seconds` to do the reveal's steps (face, reply)."""

    async def set_post_thread(self, post_id: int, thread_id: str) -> None:
        """Remember the discussion thread opened under a daily post."""

    async def mark_reveal_step(self, post_id: int, step: str, at: float) -> None:
        """Record a reveal step as done: 'face' (the post updated) or 'reply' (the explanation)."""

    async def unfinished_reveals(self, *, since: float) -> list[Post]:
        """Revealed daily posts created since the instant with a reveal step not done, oldest first."""

    async def lease_reveal(self, post_id: int, *, now: float, seconds: float) -> Post | None:
        """Take the expired reveal lease of a revealed post with a step missing; None when the
        reveal is finished or someone else holds the lease."""

    async def posts_to_reveal(self, before: float) -> list[Post]: ...

    async def record_answer(self, answer: AnswerIn) -> AnswerOutcome:
        """Durably record the first answer of a member to a post; later ones change nothing."""

    async def answered_count(self, post_id: int) -> int:
        """How many members answered the post (before and after the reveal)."""

    async def answer_counts(self, post_id: int) -> dict[str, int]:
        """Choice -> count for the post's answers given before the reveal."""

    async def member_days(self, member: MemberRef) -> list[str]:
        """Distinct streak days (YYYY-MM-DD) on which the member answered, oldest first."""

    async def practice_points_on(self, member: MemberRef, local_day: str) -> int: ...

    async def member_points(self, member: MemberRef) -> tuple[int, int, int]:
        """(points, answers, right answers) of the member, all time."""

    async def leaderboard(
        self, *, platform: str, workspace: str, channel: str | None, since: float | None, limit: int,
        until: float | None = None, period: str | None = None,
    ) -> list[Ranked]:
        """Members with points > 0, best first; ties share a rank. With `period` (a key of
        `timeutil.period_key`: 'all', 'w2026-03-02', 'm2026-03') the store reads its maintained
        totals of the answers whose streak day falls in that period, and ignores since/until."""

    async def rank_of(
        self, *, member: MemberRef, channel: str | None, since: float | None, period: str | None = None
    ) -> Ranked | None:
        """The member's points and rank (1 + members with more points); None without points."""

    # Spaced review (bot/core/review.py). Cards move inside `record_answer`'s transaction.
    async def member_cards(self, member: MemberRef) -> dict[str, CardState]:
        """Every card of the member by question id."""

    async def due_cards(self, member: MemberRef, *, now: float, limit: int) -> list[CardState]:
        """The member's cards due at `now`, most overdue first."""

    async def card_summary(self, member: MemberRef, *, now: float) -> tuple[int, int, float | None]:
        """(cards, due now, the next due time after now or None)."""

    async def apply_reviews(self, member: MemberRef, reviews: list[tuple[str, bool, float]]) -> None:
        """Move the member's cards by (question, correct, at) reviews, in one transaction."""

    async def member_attempts(self, member: MemberRef, *, since: float) -> list[Attempt]:
        """The member's graded first answers since the instant (posts and submitted exams)."""

    async def channel_attempts(self, channel: ChannelRef, *, since: float) -> list[Attempt]:
        """Every member's first answers to posts of the channel since the instant, each with its
        member's user id."""

    # Mock exams (bot/core/exam.py). At most one active exam per member (a unique key decides);
    # every change is conditional on the exam being active, so late or doubled clicks change nothing.
    async def create_exam(
        self, *, member: MemberRef, mode: str, question_ids: list[str], started_at: float, deadline: float
    ) -> tuple[Exam, bool]:
        """Start an exam for the member unless one is active: (the member's active exam, whether
        this call created it)."""

    async def get_exam(self, exam_id: int) -> Exam | None:
        """The exam with its items, whatever its state; None for an unknown id."""

    async def active_exam(self, member: MemberRef) -> Exam | None: ...

    async def exam_step(
        self, exam_id: int, *, at: int, now: float, to: int, choice: str | None = None,
        flagged: bool | None = None,
    ) -> bool:
        """In one transaction, only while the exam is active, `now` is before its deadline and its
        position is `at`: set item `at`'s choice and/or flag (None leaves it) and move to `to`.
        True when it did; False (nothing changed) when a condition failed."""

    async def close_exam(self, exam_id: int, *, now: float, keys: dict[str, str]) -> Exam | None:
        """Score and close an active exam, in one transaction: 'submitted' when `now` is before
        the deadline, else 'expired'. An item is right when its choice equals its question's key
        in `keys` (sorted letters); unanswered is wrong. The same transaction moves the member's
        review cards by every item at min(now, deadline). The closed exam for the one caller that
        closed it; None when the exam was not active (closed or abandoned already)."""

    async def abandon_exam(self, exam_id: int, *, now: float) -> bool:
        """Stop an active exam without a score (no cards move); True for the call that did it."""

    async def expired_exams(self, *, now: float, limit: int = 500) -> list[int]:
        """Ids of active exams whose deadline has passed at `now`, oldest deadline first."""

    async def member_exams(self, member: MemberRef, *, limit: int) -> list[Exam]:
        """The member's exams that are no longer active, newest first."""

    async def unrevealed_questions(self, platform: str, workspace: str) -> set[str]:
        """Question ids of the workspace's daily posts not revealed yet (never served as practice)."""

    async def set_reminder(self, member: MemberRef, at_time: str | None) -> None:
        """Turn the member's review reminder on at HH:MM, or off with None."""

    async def get_reminder(self, member: MemberRef) -> Reminder | None: ...

    async def active_reminders(self) -> list[Reminder]: ...

    async def claim_reminder(self, member: MemberRef, local_day: str) -> bool:
        """True for the one call that claims the member's reminder of that local day."""

    async def regrade_answers(self, keys: dict[str, str], *, right: int, wrong: int, practice_right: int) -> int:
        """Grade again every answer to posts of these questions (question id -> the new key, sorted
        letters): `correct` and `points` by `bot.core.grading.regrade` (`right`/`wrong` for counted
        answers, `practice_right`/0 for practice ones within the day's practice cap), and rebuild the
        leaderboards of the workspaces concerned, all in one transaction. Returns how many answers
        changed."""

    # Question reports (`/dva report`, the Report button; `studybot content reports`).
    async def add_report(
        self, *, member: MemberRef, question_id: str, reason: str, text: str, at: float
    ) -> tuple[Report, bool]:
        """Store a report; (the member's open report of the question, whether this call created it).
        A second report of the same question by the same member changes nothing."""

    async def list_reports(
        self, *, platform: str | None = None, workspace: str | None = None, status: str | None = "open"
    ) -> list[Report]:
        """Reports (of one workspace when given; of every status with None), oldest first."""

    async def close_reports(
        self, *, question_id: str, status: str, at: float, platform: str | None = None, workspace: str | None = None,
    ) -> int:
        """Close the open reports of a question (of one workspace when given) as 'fixed' or
        'dismissed'; how many were closed."""

    async def disputed_questions(self, *, reason: str, min_members: int) -> set[str]:
        """Questions with open reports of `reason` by at least `min_members` members."""

    async def get_kv(self, key: str) -> str | None: ...

    async def set_kv(self, key: str, value: str) -> None: ...

    # App installations and OAuth states (Slack for many workspaces, bot/adapters/slack/oauth.py).
    async def save_installation(self, installation: AppInstallation) -> None:
        """Insert or replace the installation of (platform, enterprise, team, installer)."""

    async def find_installation(
        self, *, platform: str, enterprise_id: str | None, team_id: str, user_id: str | None = None
    ) -> AppInstallation | None:
        """The latest installation in the team ('' for an organisation-wide one); of that installer
        when `user_id` is given; in any enterprise when `enterprise_id` is None."""

    async def delete_installations(
        self, *, platform: str, enterprise_id: str, team_id: str, user_id: str | None = None
    ) -> int:
        """Delete the team's installations (only that installer's with `user_id`); how many."""

    async def issue_oauth_state(self, state: str, *, expires_at: float, now: float) -> None:
        """Remember an OAuth state until `expires_at`, dropping the states expired at `now`."""

    async def consume_oauth_state(self, state: str, *, now: float) -> bool:
        """True once for a state issued and not expired at `now`; it is gone afterwards."""

    # Export and import (storage/export.py builds `studybot db export/import` on these alone).
    async def applied_migrations(self) -> list[int]:
        """Versions of the schema migrations applied to this database, in order."""

    async def data_tables(self) -> dict[str, list[str]]:
        """Every table holding data (not schema bookkeeping) -> the tables it references by
        foreign key, so rows can be imported parents first."""

    def export_table(self, name: str) -> AsyncIterator[dict[str, object]]:
        """The table's rows as column -> value (str, int, float or None), in primary key order,
        streamed. Raises StoreError for an unknown table."""

    async def import_rows(self, name: str, rows: list[dict[str, object]]) -> int:
        """Insert rows as exported (ids included) in one transaction; returns how many. Raises
        StoreError for an unknown table or column, or a row that conflicts with one stored."""


class PostError(StudybotError):
    """A platform refused or failed a post. `permanent` errors (channel gone, permission missing,
    bot not in channel) need a person to act; others (rate limit, network) may succeed on retry."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class Poster(Protocol):
    """What the scheduler needs from a platform adapter. Each method raises PostError."""

    platform: str

    async def post(self, channel: ChannelRef, message: Message) -> str:
        """Post `message` in the channel; returns the platform's message id."""

    async def update(self, channel: ChannelRef, message_id: str, message: Message) -> None:
        """Replace the content of an earlier post (e.g. the reveal, the answered count)."""

    async def reply(self, channel: ChannelRef, message_id: str, message: Message, *, thread: str | None = None) -> str:
        """Reply under an earlier post (a thread on Slack, a reply on Discord), or in its discussion
        `thread` when one was opened (see `open_discussion` below)."""

    async def send_private(self, member: MemberRef, message: Message) -> str:
        """Send a message to the member's DMs with the bot (review reminders)."""

    # Optional, looked up with getattr by the scheduler:
    # async def open_discussion(self, channel, message_id, message) -> str | None:
    #     Open the discussion under a new daily post; the thread's id, or None where there is none.
    # async def find_post(self, channel, post) -> str | None:
    #     The message id of an earlier delivery of `post` in the channel, found by looking (after a
    #     crash between the platform accepting a post and the store recording it), or None.
