"""The daily loop on Slack (issue 13), the real Bolt app against the local fake: the discussion
thread and the reveal in it, the ping, a retried `/dva daily on`, a 503 while confirming it, the
Report form, and a crashed post found again with conversations.history."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.adapters.slack.fake import Reply
from bot.adapters.slack.testing import elements, text_of
from bot.core.ports import Subscription
from bot.scheduler import DailyScheduler
from tests import test_slack_adapter as shared

TEAM, CHANNEL = shared.TEAM, shared.CHANNEL
fake = shared.fake
adapter = shared.adapter
slack = shared.slack
EVERY_DAY = "mon,tue,wed,thu,fri,sat,sun"


def scheduler(service, adapter) -> DailyScheduler:
    return DailyScheduler(service=service, posters={"slack": adapter}, clock=service.clock)


async def subscribe(service, **kw) -> Subscription:
    sub = Subscription(channel=CHANNEL, time="09:00", timezone="UTC", days=EVERY_DAY, reveal="17:00", **kw)
    await service.store.put_subscription(sub)
    return sub


def top_level_posts(fake) -> list[dict]:
    return [c.args for c in fake.calls_to("chat.postMessage") if not c.args.get("thread_ts")]


async def test_the_post_opens_a_discussion_thread_and_the_reveal_explains_in_it(fake, adapter, service, clock):
    await subscribe(service)
    sched = scheduler(service, adapter)
    await sched.reload(schedule=False)
    await sched.sweep()  # 10:00 UTC: the 09:00 post is caught up
    [post] = top_level_posts(fake)
    ts = fake.calls_to("chat.postMessage")[0]
    assert "The answer is revealed at 17:00" in text_of(post)
    assert post["metadata"]["event_payload"]["post_id"] == 1  # for finding it again after a crash
    [opener] = [c.args for c in fake.calls_to("chat.postMessage") if c.args.get("thread_ts")]
    assert text_of(opener) == "Discuss here - no spoilers until the reveal at 17:00."
    stored = await service.store.get_daily(CHANNEL, "2026-03-02")
    assert opener["thread_ts"] == stored.message_id == stored.thread_id
    clock.set(datetime(2026, 3, 2, 17, 1, tzinfo=UTC))
    await sched.sweep()
    [update] = fake.calls_to("chat.update")
    assert update.args["ts"] == stored.message_id and "Revealed" in text_of(update.args)
    why = [c.args for c in fake.calls_to("chat.postMessage") if c.args.get("thread_ts")][-1]
    assert why["thread_ts"] == stored.message_id and "The answer is" in text_of(why)
    assert any(b["action_id"].startswith("report:") for b in elements(why, "button"))
    assert ts.args["channel"] == "C1"


async def test_a_ping_mentions_here_in_the_post(slack, fake, adapter, service):
    await slack.command("daily on 09:00 UTC daily", name="on")
    await fake.wait_for(lambda: fake.calls_to("chat.postMessage"))  # the confirmation, in the channel
    await slack.command("daily ping here", name="ping")
    assert "will now notify @here" in text_of(await slack.reply("ping"))
    sched = scheduler(service, adapter)
    await sched.reload(schedule=False)
    await sched.sweep()
    post = [p for p in top_level_posts(fake) if "Daily question" in text_of(p)][-1]
    assert post["blocks"][0]["text"]["text"] == "<!here>" and post["text"].startswith("<!here> ")
    await slack.command("daily ping off", name="off")
    assert "will not notify anyone" in text_of(await slack.reply("off"))
    assert (await service.store.get_subscription(CHANNEL)).ping is None


async def test_slack_retries_of_daily_on_confirm_once(slack, fake, service):
    form = slack.command_form("daily on 09:00 Europe/Berlin", name="on")
    await slack.send(form)
    for n in (1, 2):
        status, _, _ = await slack.send(form, headers={"X-Slack-Retry-Num": str(n), "X-Slack-Retry-Reason": "timeout"})
        assert status == 200
    await fake.wait_for(lambda: fake.calls_to("chat.postMessage"))
    await slack.command("daily status", name="status")  # a later command: the earlier ones are done
    await slack.reply("status")
    assert len(fake.calls_to("chat.postMessage")) == 1


async def test_a_503_while_confirming_daily_on_does_not_pause_the_schedule(slack, fake, service):
    fake.script("chat.postMessage", Reply({"ok": False}, status=503))  # a bare 503, no Slack error code
    await slack.command("daily on 09:00 Europe/Berlin", name="on")
    said = text_of(await slack.reply("on"))
    assert "could not post this in the channel just now" in said and "it is saved" in said
    sub = await service.store.get_subscription(CHANNEL)
    assert sub.active and sub.last_error is None
    fake.script("chat.postMessage", Reply({"ok": False, "error": "channel_not_found"}))
    await slack.command("daily on 10:00 Europe/Berlin", name="gone")
    said = text_of(await slack.reply("gone"))
    assert "channel_not_found" in said and "paused" in said
    assert not (await service.store.get_subscription(CHANNEL)).active


async def test_report_button_opens_a_form_and_the_submission_is_stored_once(slack, fake, service):
    post, _ = await service.claim_daily(CHANNEL, "UTC")
    q = service.bank.by_id[post.question_id]
    await slack.click(elements({"blocks": [{"type": "actions", "block_id": "b", "elements": [
        {"type": "button", "action_id": "answer:0", "text": {"type": "plain_text", "text": "A"},
         "value": f"{post.id}:{''.join(sorted(q.key))}"}]}]}, "button")[0], name="ans")
    feedback = await slack.reply("ans")
    [report] = [b for b in elements(feedback, "button") if b["action_id"].startswith("report:")]
    assert report["value"] == q.id
    await slack.click(report, name="rep")
    view = (await fake.wait_for(lambda: fake.views))[-1]
    assert view["callback_id"] == "report" and q.id in view["private_metadata"]
    values = {"reason": {"reason": {"type": "static_select", "selected_option": {"value": "wrong-key"}}},
              "text": {"text": {"type": "plain_text_input", "value": "C is right: TTL is free"}}}
    status, body, _ = await slack.view_submission(view, values)
    assert status == 200 and '"response_action":"update"' in body.replace(" ", "")
    assert "stored for the maintainers" in body
    status, body, _ = await slack.view_submission(view, values)
    assert "already reported" in body
    [stored] = await service.store.list_reports()
    assert (stored.question_id, stored.reason, stored.text, stored.member.user) == (
        q.id, "wrong-key", "C is right: TTL is free", "U1")


async def test_a_post_accepted_before_a_crash_is_found_in_the_history_and_adopted(fake, adapter, service, clock):
    await subscribe(service)
    post, _ = await service.claim_daily(CHANNEL, "UTC")
    ts = await adapter.post(CHANNEL, service.daily_message(post))  # then SIGKILL before the store saw it
    clock.set(datetime(2026, 3, 2, 10, 10, tzinfo=UTC))  # the delivery lease expired
    sched = scheduler(service, adapter)
    await sched.reload(schedule=False)
    await sched.sweep()
    assert len(top_level_posts(fake)) == 1
    assert (await service.store.get_post(post.id)).message_id == ts
    assert fake.calls_to("conversations.history")[0].args["include_all_metadata"] in ("true", True)


async def test_without_the_history_scope_the_retry_posts_again(fake, adapter, service, clock):
    fake.history_scope = False
    await subscribe(service)
    post, _ = await service.claim_daily(CHANNEL, "UTC")
    await adapter.post(CHANNEL, service.daily_message(post))
    clock.set(datetime(2026, 3, 2, 10, 10, tzinfo=UTC))
    sched = scheduler(service, adapter)
    await sched.reload(schedule=False)
    await sched.sweep()
    assert len(top_level_posts(fake)) == 2  # the documented window where Slack cannot be read


async def test_the_live_count_keeps_the_reveal_time_and_the_ping(slack, fake, adapter, service):
    await subscribe(service, ping="here")
    sched = scheduler(service, adapter)
    await sched.reload(schedule=False)
    await sched.sweep()
    [post] = top_level_posts(fake)
    button = elements(post, "button")[0]
    await slack.click(button, ts=post.get("ts", "1.1"), name="a")
    await slack.reply("a")
    [update] = await fake.wait_for(lambda: fake.calls_to("chat.update"))
    shown = text_of(update.args)
    assert "The answer is revealed at 17:00. 1 answered so far." in shown
    assert update.args["blocks"][0]["text"]["text"] == "<!here>"


async def test_when_the_form_cannot_open_the_member_is_told_how_to_report_by_command(slack, fake, service):
    post, _ = await service.claim_daily(CHANNEL, "UTC")
    face = await service.reveal_message(post)
    from bot.adapters.slack.render import render

    [report] = [b for b in elements({"blocks": render(face).blocks}, "button") if b["action_id"].startswith("report:")]
    fake.script("views.open", Reply({"ok": False, "error": "expired_trigger_id"}))
    await slack.click(report, name="rep")
    said = text_of(await slack.reply("rep"))
    assert said.startswith(f"Report question {post.question_id}: Usage: `/dva report")
