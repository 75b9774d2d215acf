"""The click path as members feel it, through the real Bolt app in HTTP mode against the local fake
Slack: acknowledged means recorded, bounded work in flight, cheap and bounded outside calls, and
requests from bad or failing peers answered with a 400/401 or a clear message, never a 500."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import sqlite3
import time
from urllib.parse import urlencode

import aiohttp
import pytest

from bot.adapters.slack import SlackAdapter
from bot.adapters.slack import poster as slack_poster
from bot.adapters.slack.fake import Reply
from bot.adapters.slack.testing import TEST_SECRET, SlackSender, elements, http_settings, text_of
from bot.core import texts as core_texts
from bot.core.messages import ACTION_ANSWER
from bot.core.ports import PostError, StudybotError
from tests import test_slack_adapter as shared
from tests.test_slack_answers import post_daily

TEAM, CHANNEL = shared.TEAM, shared.CHANNEL
fake = shared.fake
adapter = shared.adapter
slack = shared.slack


def stored_answers(store) -> int:
    with sqlite3.connect(store.path) as db:
        return db.execute("SELECT COUNT(*) FROM answers").fetchone()[0]


def slow_store(store, monkeypatch, delay: float) -> dict[str, int]:
    """Delay every answer's write by `delay` seconds; count the writes running at once."""
    seen = {"now": 0, "max": 0}
    record = store.record_answer

    async def slow(answer):
        seen["now"] += 1
        seen["max"] = max(seen["max"], seen["now"])
        try:
            await asyncio.sleep(delay)
            return await record(answer)
        finally:
            seen["now"] -= 1

    monkeypatch.setattr(store, "record_answer", slow)
    return seen


async def daily_buttons(service, adapter, fake):
    post, posted = await post_daily(service, adapter, fake)
    question = service.bank.by_id[post.question_id]
    buttons = elements(posted, "button")
    right = next(b for b in buttons if b["text"]["text"] == question.key_text)
    return post, right


# ----- acknowledged means recorded -------------------------------------------------------------
async def test_a_click_is_acknowledged_only_once_its_answer_is_stored(slack, fake, service, adapter, store, monkeypatch):
    post, right = await daily_buttons(service, adapter, fake)
    slow_store(store, monkeypatch, 0.4)
    status, _, took = await slack.click(right, ts=post.message_id)
    # The 200 left after the commit: the row is in the file the moment Slack hears "received".
    assert status == 200 and stored_answers(store) == 1
    assert 0.4 <= took < 3
    assert text_of(await slack.reply()).startswith("Right!")


async def test_a_store_that_cannot_commit_in_time_says_not_recorded_in_the_same_click(
    slack, fake, service, adapter, store,
):
    post, right = await daily_buttons(service, adapter, fake)
    store._answers._max_wait = 0.3  # noqa: SLF001 - the 2 s of production, shortened for the test
    store._batch_db.execute("PRAGMA busy_timeout=300")  # noqa: SLF001
    blocker = sqlite3.connect(store.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        results = await asyncio.gather(*[slack.click(right, user=f"U{i}", name=f"r{i}", ts=post.message_id)
                                         for i in range(6)])
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert [status for status, _, _ in results] == [200] * 6, results
    assert max(took for _, _, took in results) < 3, results
    for i in range(6):
        assert text_of(await slack.reply(f"r{i}")) == core_texts.NOT_RECORDED
    assert stored_answers(store) == 0
    await slack.click(right, user="U0", name="again", ts=post.message_id)
    assert text_of(await slack.reply("again")).startswith("Right!")
    assert stored_answers(store) == 1


async def test_work_in_flight_is_bounded_and_nothing_is_lost(fake, service, store, monkeypatch):
    bounded = SlackAdapter(service=service, settings=http_settings(fake), http_host="127.0.0.1", in_flight=3)
    await bounded.start()
    try:
        async with aiohttp.ClientSession() as session:
            sender = SlackSender(port=bounded.http_port, fake=fake, session=session)
            post, right = await daily_buttons(service, bounded, fake)
            seen = slow_store(store, monkeypatch, 0.05)
            results = await asyncio.gather(*[sender.click(right, user=f"U{i}", name=f"b{i}", ts=post.message_id)
                                             for i in range(30)])
    finally:
        await bounded.aclose()
    assert all(status == 200 for status, _, _ in results)
    assert seen["max"] <= 3  # no more than the bound were being handled at once
    assert stored_answers(store) == 30
    assert all(text_of(fake.responses(f"b{i}")[-1]).startswith("Right!") for i in range(30))


async def test_an_answer_click_skips_bolts_dispatch_and_other_clicks_do_not(slack, fake, service, adapter, store,
                                                                            monkeypatch):
    post, right = await daily_buttons(service, adapter, fake)
    dispatched = []
    gate = adapter._gate  # noqa: SLF001
    dispatch = gate._dispatch  # noqa: SLF001

    async def counting(request):
        dispatched.append(request.body.get("type") or request.body.get("command"))
        return await dispatch(request)

    monkeypatch.setattr(gate, "_dispatch", counting)
    status, body, _ = await slack.click(right, ts=post.message_id)
    assert (status, body) == (200, "")
    reply = await slack.reply()
    assert text_of(reply).startswith("Right!") and stored_answers(store) == 1
    assert dispatched == []  # answered before Bolt
    # Everything else still goes through Bolt: a command, and a click on another button.
    await slack.command("help", name="h")
    await slack.reply("h")
    other = next(b for b in elements(reply, "button") if not b["action_id"].startswith(f"{ACTION_ANSWER}:"))
    status, _, _ = await slack.click(other, name="other", ts=post.message_id)
    assert status == 200
    assert dispatched == ["/dva", "block_actions"]


async def test_a_member_whose_time_zone_is_stored_asks_slack_nothing_when_clicking(slack, fake, service, adapter):
    post, right = await daily_buttons(service, adapter, fake)
    await service.store.set_member_timezone(shared.MemberRef("slack", TEAM, "U2"), "Asia/Tokyo")
    before = len(fake.calls_to("users.info"))
    await slack.click(right, user="U2", ts=post.message_id)
    assert text_of(await slack.reply()).startswith("Right!")
    await slack.click(right, user="U1", name="u1", ts=post.message_id)  # never seen: asked once
    assert text_of(await slack.reply("u1")).startswith("Right!")
    assert [c.args["user"] for c in fake.calls_to("users.info")[before:]] == ["U1"]
    assert await service.store.get_member_timezone(shared.MemberRef("slack", TEAM, "U1")) == "America/New_York"


async def test_a_burst_of_unknown_members_reads_the_workspace_directory(slack, fake, service, adapter, store):
    post, right = await daily_buttons(service, adapter, fake)
    members = [f"UB{i:04d}" for i in range(1500)]  # two pages of users.list
    for i, user in enumerate(members):
        fake.users[user] = {"id": user, "team_id": TEAM, "tz": ("Asia/Kolkata", "America/Denver")[i % 2]}
    fake.users["UBOT1"] = {"id": "UBOT1", "team_id": TEAM, "tz": "UTC", "is_bot": True}
    clicking = members[:200] + ["UNEW1"]  # UNEW1 joined after the directory was read: users.info
    fake.users["UNEW1"] = {"id": "UNEW1", "team_id": TEAM, "tz": "Pacific/Auckland"}
    results = await asyncio.gather(*[slack.click(right, user=u, name=f"b{u}", ts=post.message_id) for u in clicking])
    assert all(status == 200 for status, _, _ in results)
    assert stored_answers(store) == len(clicking)
    asked = [c.args["user"] for c in fake.calls_to("users.info")]
    listed = fake.calls_to("users.list")
    assert 1 <= len(listed) <= 2 and all(c.args["limit"] == "1000" for c in listed)
    assert len(asked) <= 40, len(asked)  # the first ones, before the burst was seen; not one per member
    with sqlite3.connect(store.path) as db:
        zones = dict(db.execute("SELECT user_id, timezone FROM members"))
    missing = [u for u in clicking if u not in zones]
    assert len(missing) <= 5, missing  # at most a few later than the click's wait for their profile
    assert all(zones[u] == fake.users[u]["tz"] for u in zones if u in fake.users)


async def test_profile_cache_directory_failure_falls_back_to_one_lookup_per_member_and_is_not_retried_at_once():
    from bot.adapters.slack.outbound import Profile, ProfileCache

    now = [0.0]
    cache = ProfileCache(burst=2, ttl=100, negative_ttl=10, clock=lambda: now[0])
    asked: list[str] = []
    walks = [0]
    gate = asyncio.Event()

    def fetch(user):
        async def one():
            asked.append(user)
            await gate.wait()
            return Profile(tz=f"tz-{user}")
        return one

    def failing():
        async def pages():
            walks[0] += 1
            await asyncio.sleep(0)
            raise RuntimeError("users.list: ratelimited")
            yield {}  # pragma: no cover - an async generator that fails on its first page
        return pages()

    members = [shared.MemberRef("slack", "T9", f"U{i}") for i in range(6)]
    waits = [asyncio.create_task(cache.get(m, fetch(m.user), wait=5, directory=failing)) for m in members]
    await asyncio.sleep(0.05)
    gate.set()
    profiles = await asyncio.gather(*waits)
    assert [p.tz for p in profiles] == [f"tz-U{i}" for i in range(6)]
    assert walks == [1] and sorted(asked) == sorted(m.user for m in members)  # two first, four after the walk failed
    # Within negative_ttl a new burst does not read the directory again; after it, it does.
    more = [shared.MemberRef("slack", "T9", f"V{i}") for i in range(4)]
    await asyncio.gather(*[cache.get(m, fetch(m.user), wait=5, directory=failing) for m in more])
    assert walks == [1]
    now[0] = 11
    later = [shared.MemberRef("slack", "T9", f"W{i}") for i in range(4)]
    await asyncio.gather(*[cache.get(m, fetch(m.user), wait=5, directory=failing) for m in later])
    assert walks == [2]


# ----- cheap outside calls ------------------------------------------------------------------------
async def test_profiles_are_cached_and_failures_too(slack, fake):
    for n in range(3):
        await slack.command("streak", name=f"s{n}")
        await slack.reply(f"s{n}")
    assert len([c for c in fake.calls_to("users.info") if c.args.get("user") == "U1"]) == 1
    fake.users.pop("U2")  # users.info fails for this member: asked once, then remembered as unknown
    for n in range(3):
        await slack.command("streak", user="U2", name=f"f{n}")
        await slack.reply(f"f{n}")
    assert len([c for c in fake.calls_to("users.info") if c.args.get("user") == "U2"]) == 1


@pytest.mark.parametrize("text", ["help", "fact lambda timeout", "quiz", "scenario cors error"])
async def test_lookups_help_and_quiz_never_wait_for_users_info(slack, fake, text):
    fake.script("users.info", Reply({"ok": True, "user": {"id": "U1", "tz": "UTC"}}, delay=3.0))
    started = time.monotonic()
    await slack.command(text)
    await slack.reply()
    assert time.monotonic() - started < 1.5


async def test_admin_rights_count_only_in_the_members_own_workspace(slack, fake, service):
    fake.users["U7"] = {"id": "U7", "team_id": "T2", "tz": "UTC", "is_admin": True, "is_owner": True}
    fake.users["U8"] = {"id": "U8", "team_id": TEAM, "tz": "UTC", "is_admin": True, "is_owner": False}
    await slack.command("daily on 09:00 UTC", user="U7", name="foreign")
    assert "admin" in text_of(await slack.reply("foreign")).lower()
    assert await service.store.get_subscription(CHANNEL) is None
    await slack.command("daily on 09:00 UTC", user="U8", name="own")
    await fake.wait_for(lambda: fake.calls_to("chat.postMessage"))  # the schedule is announced in the channel
    assert (await service.store.get_subscription(CHANNEL)).active


async def test_a_hung_web_api_call_gives_up_after_the_timeout(fake, service, monkeypatch):
    monkeypatch.setattr(slack_poster, "WEB_API_TIMEOUT", 0.5)
    fake.script("auth.test", Reply({"ok": True, "user": "studybot"}, delay=4.0))
    hung = SlackAdapter(service=service, settings=http_settings(fake), http_host="127.0.0.1")
    started = time.monotonic()
    with pytest.raises(StudybotError, match="could not reach the Slack API"):
        await hung.start()
    assert time.monotonic() - started < 2.0  # one timeout, not one per retry (nor none at all)


# ----- Web API bodies that are not Slack's JSON -------------------------------------------------------
@pytest.mark.parametrize(("raw", "content_type"), [
    ("Bad Gateway", "text/plain"), ("<html>upstream error</html>", "application/json"),
    ("<html>oops</html>", "text/html"),
])
async def test_a_non_json_error_body_is_an_api_error_like_any_other(slack, fake, service, adapter, store, raw,
                                                                     content_type):
    post, right = await daily_buttons(service, adapter, fake)
    fake.script("users.info", Reply({}, status=502, raw=raw, content_type=content_type))
    status, _, _ = await slack.click(right, user="U2", ts=post.message_id)
    assert status == 200
    assert text_of(await slack.reply()).startswith("Right!")  # the first click is recorded all the same
    assert stored_answers(store) == 1
    fake.script("chat.postMessage", Reply({}, status=502, raw=raw, content_type=content_type))
    with pytest.raises(PostError) as failed:
        await adapter.post(CHANNEL, service.daily_message(post))
    assert failed.value.reason == "http_502" and not failed.value.permanent  # a proxy's 502 passes


# ----- requests from bad peers ------------------------------------------------------------------
def signed(body: bytes, *, timestamp: str | None = None, secret: str = TEST_SECRET) -> dict[str, str]:
    ts = timestamp if timestamp is not None else str(int(time.time()))
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def click_payload(fake, **changes) -> dict:
    payload = {
        "type": "block_actions", "user": {"id": "U1", "team_id": TEAM}, "team": {"id": TEAM},
        "channel": {"id": "C1"}, "container": {"type": "message", "channel_id": "C1", "message_ts": "1.1"},
        "response_url": fake.response_url("bad"), "api_app_id": "A1", "trigger_id": "1.2.3",
        "actions": [{"type": "button", "action_id": f"{ACTION_ANSWER}:1", "block_id": "b", "value": "1:A"}],
    }
    payload.update(changes)
    return payload


def form(payload) -> bytes:
    return urlencode({"payload": payload if isinstance(payload, str) else json.dumps(payload)}).encode()


BAD_BODIES = {
    "payload is not JSON": lambda fake: form("{not json"),
    "payload is a list": lambda fake: form([1, 2]),
    "no user": lambda fake: form(click_payload(fake, user=None)),
    "user without id": lambda fake: form(click_payload(fake, user={"name": "x"})),
    "user id not a string": lambda fake: form(click_payload(fake, user={"id": 42})),
    "actions not a list": lambda fake: form(click_payload(fake, actions={"a": 1})),
    "action value not a string": lambda fake: form(click_payload(fake, actions=[
        {"type": "button", "action_id": f"{ACTION_ANSWER}:1", "value": 7}])),
    "channel not an object": lambda fake: form(click_payload(fake, channel="C1")),
    "NUL in a value": lambda fake: form(click_payload(fake, user={"id": "U1\x00"})),
    "invalid UTF-8": lambda fake: b"payload=%7B%22type%22%3A%22block_actions%22%7D&x=\xff\xfe",
    "invalid UTF-8 escaped": lambda fake: b"payload=%FF%FE",
    "command without user": lambda fake: urlencode({"command": "/dva", "text": "help", "team_id": TEAM,
                                                     "channel_id": "C1"}).encode(),
}


@pytest.mark.parametrize("case", list(BAD_BODIES))
async def test_signed_but_malformed_requests_get_a_400_and_no_traceback(adapter, fake, service, case, caplog):
    body = BAD_BODIES[case](fake)
    url = f"http://127.0.0.1:{adapter.http_port}/slack/events"
    with caplog.at_level(logging.WARNING):
        async with aiohttp.ClientSession() as session, session.post(url, data=body, headers={
            "Content-Type": "application/x-www-form-urlencoded", **signed(body)}) as resp:
            status = resp.status
        await asyncio.sleep(0.1)
    assert status == 400
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert fake.responses("bad") == []
    assert stored_answers(service.store) == 0


@pytest.mark.parametrize(("timestamp", "secret", "status"), [
    ("not-a-number", TEST_SECRET, 401), ("12.5", TEST_SECRET, 401), ("١٢٣٤٥", TEST_SECRET, 401),
    ("99999999999999999999999", TEST_SECRET, 401), (None, "wrong-secret", 401), ("0", TEST_SECRET, 401),
])
async def test_bad_signatures_and_timestamps_get_a_401_and_no_traceback(adapter, fake, timestamp, secret, status,
                                                                        caplog):
    body = form(click_payload(fake))
    url = f"http://127.0.0.1:{adapter.http_port}/slack/events"
    with caplog.at_level(logging.WARNING):
        async with aiohttp.ClientSession() as session, session.post(url, data=body, headers={
            "Content-Type": "application/x-www-form-urlencoded", **signed(body, timestamp=timestamp, secret=secret)},
        ) as resp:
            got = resp.status
    assert got == status
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


async def test_repeated_refusals_are_logged_at_a_limited_rate(adapter, fake, caplog):
    url = f"http://127.0.0.1:{adapter.http_port}/slack/events"
    with caplog.at_level(logging.WARNING, logger="bot.adapters.slack.inbound"):
        async with aiohttp.ClientSession() as session:
            for _ in range(50):
                async with session.post(url, data=b"x=1", headers={"X-Slack-Request-Timestamp": "nope",
                                                                    "X-Slack-Signature": "v0=00"}) as resp:
                    assert resp.status == 401
    assert 1 <= len([r for r in caplog.records if "refused" in r.getMessage()]) <= 2


@pytest.mark.parametrize("post_value", [str(2**63), str(2**64 + 5), "٣", "1²", "0" * 30 + "1"])
async def test_button_values_with_impossible_post_ids_are_no_longer_available(slack, fake, service, post_value):
    button = {"type": "button", "action_id": f"{ACTION_ANSWER}:0", "value": f"{post_value}:A",
              "text": {"type": "plain_text", "text": "A"}}
    status, _, _ = await slack.click(button, name="big")
    assert status == 200
    assert text_of(await slack.reply("big")) == core_texts.EXPIRED
    submit = {"type": "button", "action_id": "submit", "value": post_value, "text": {"type": "plain_text", "text": "S"}}
    status, _, _ = await slack.click(submit, name="big-submit", state={"b": {"pick": {
        "type": "checkboxes", "selected_options": [{"value": "A"}]}}})
    assert status == 200
    assert text_of(await slack.reply("big-submit")) == core_texts.EXPIRED
    assert stored_answers(service.store) == 0



@pytest.mark.parametrize("body", [b"[1, 2]", b"{not json", b'{"type": 5}', b'{"type": "event_callback", "team_id": {"x": 1}, '
                                  b'"authorizations": 7}', b'{"type": "event_callback", "event": "\\u0000"}'])
async def test_signed_but_malformed_json_events_get_a_400_and_no_traceback(adapter, body, caplog):
    url = f"http://127.0.0.1:{adapter.http_port}/slack/events"
    with caplog.at_level(logging.WARNING):
        async with aiohttp.ClientSession() as session, session.post(url, data=body, headers={
            "Content-Type": "application/json", **signed(body)}) as resp:
            status = resp.status
    assert status == 400
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
