"""Private sessions on Slack: quiz, review and stats in the member's DM (conversations.open), Next
buttons, the App Home tab, the fallback when the DM cannot be used, and review reminders."""

from __future__ import annotations

from bot.adapters.slack.fake import Reply, validate_blocks
from bot.adapters.slack.testing import elements, text_of
from bot.core.models import MemberRef
from tests import test_slack_adapter as shared

TEAM = shared.TEAM
fake = shared.fake
adapter = shared.adapter
slack = shared.slack


def dm_posts(fake, user: str) -> list[dict]:
    return [c.args for c in fake.calls_to("chat.postMessage") if c.args.get("channel") == f"D{user}"]


async def test_quiz_goes_to_the_dm_and_next_continues_there(slack, fake, service):
    await slack.command("quiz 1", user="U2")
    pointer = await slack.reply()
    assert pointer["response_type"] == "ephemeral" and "direct messages" in text_of(pointer)
    assert [c.args["users"] for c in fake.calls_to("conversations.open")] == ["U2"]
    question = dm_posts(fake, "U2")[-1]
    assert validate_blocks(question["blocks"]) == []
    buttons = elements(question, "button")
    post = await service.store.get_post(int(buttons[0]["value"].split(":")[0]))
    assert post.kind == "quiz" and post.user == "U2" and post.mode == "quiz:1"
    q = service.bank.by_id[post.question_id]
    assert not q.multiple
    right = q.key_text
    await slack.click(next(b for b in buttons if b["text"]["text"] == right), user="U2", name="a1", channel="DU2")
    feedback = await slack.reply("a1")
    # In the DM the feedback stays: a normal message, not an ephemeral one.
    assert feedback["response_type"] == "in_channel"
    assert f"Right! {right} is correct." in text_of(feedback)
    assert "comes back for review in" in text_of(feedback)
    nxt = next(b for b in elements(feedback, "button") if b["text"]["text"] == "Next question")
    await slack.click(nxt, user="U2", name="a2", channel="DU2")
    second = await slack.reply("a2")
    assert second["response_type"] == "in_channel"
    post2 = await service.store.get_post(int(elements(second, "button")[0]["value"].split(":")[0]))
    assert post2.question_id != post.question_id and post2.mode == "quiz:1"
    # The DM channel is opened once per member and process.
    await slack.command("stats", user="U2", name="s")
    await slack.reply("s")
    assert len(fake.calls_to("conversations.open")) == 1
    assert "Readiness" in text_of(dm_posts(fake, "U2")[-1])


async def test_review_walks_due_cards_in_the_dm(slack, fake, service, clock):
    member = MemberRef("slack", TEAM, "U1")
    missed = [q for q in service.bank.questions if not q.multiple][:2]
    await service.store.apply_reviews(member, [(q.id, False, clock.now().timestamp() - 3600) for q in missed])
    await slack.command("review", user="U1")
    await slack.reply()
    first = dm_posts(fake, "U1")[-1]
    assert "Review (2 due)" in text_of(first)
    buttons = elements(first, "button")
    post = await service.store.get_post(int(buttons[0]["value"].split(":")[0]))
    q = service.bank.by_id[post.question_id]
    await slack.click(next(b for b in buttons if b["text"]["text"] == q.key_text), name="f", channel="DU1")
    feedback = await slack.reply("f")
    nxt = next(b for b in elements(feedback, "button") if b["text"]["text"].startswith("Next review"))
    await slack.click(nxt, name="n", channel="DU1")
    second = await slack.reply("n")
    assert "Review (1 due)" in text_of(second) and second["response_type"] == "in_channel"


async def test_closed_dm_falls_back_to_an_ephemeral_with_the_reason(slack, fake):
    fake.closed_dms.add("U2")
    await slack.command("quiz", user="U2")
    reply = await slack.reply()
    assert reply["response_type"] == "ephemeral"
    shown = text_of(reply)
    assert "cannot_dm_bot" in shown and "vanish on reload" in shown
    # The question itself, answerable here: answer buttons, or tick boxes and Submit.
    assert len(elements(reply, "button")) >= 4 or elements(reply, "checkboxes")
    assert not dm_posts(fake, "U2")


async def test_dm_open_failing_with_a_server_error_degrades_only_the_dm(slack, fake):
    fake.script("conversations.open", Reply({"ok": False, "error": "internal_error"}, status=500))
    await slack.command("stats", user="U1")
    reply = await slack.reply()
    assert "Readiness" in text_of(reply) and "could not send this" in text_of(reply)
    await slack.command("fact lambda timeout", user="U1", name="f")
    assert "Exam facts" in text_of(await slack.reply("f"))


async def test_app_home_shows_the_member_and_its_buttons_open_the_dm(slack, fake, service):
    status, _, _ = await slack.event({"type": "app_home_opened", "user": "U1", "channel": "DU1", "tab": "home"})
    assert status == 200
    published = await fake.wait_for(lambda: fake.calls_to("views.publish"))
    view = published[-1].args["view"]
    view = view if isinstance(view, dict) else __import__("json").loads(view)
    assert validate_blocks(view["blocks"], limit=100) == []
    shown = text_of(view)
    assert "Streak:" in shown and "Domain 1 Development with AWS Services" in shown
    labels = [b["text"]["text"] for b in elements(view, "button")]
    assert labels == ["Review", "Quiz", "Stats", "Mock exam"]
    quiz = next(b for b in elements(view, "button") if b["text"]["text"] == "Quiz")
    status, _, _ = await slack.click(quiz, home=True)
    assert status == 200
    posted = await fake.wait_for(lambda: dm_posts(fake, "U1"))
    assert "Practice" in text_of(posted[-1])
    exam = next(b for b in elements(view, "button") if b["text"]["text"] == "Mock exam")
    await slack.click(exam, home=True)
    offered = await fake.wait_for(lambda: [m for m in dm_posts(fake, "U1") if "exam" in text_of(m).lower()])
    labels = [b["text"]["text"] for b in elements(offered[-1], "button")]
    assert any(label.startswith("Full: ") for label in labels) and any(label.startswith("Short: ") for label in labels)
    # The messages tab (tab "messages") does not republish the home view.
    await slack.event({"type": "app_home_opened", "user": "U1", "channel": "DU1", "tab": "messages"})
    assert len(fake.calls_to("views.publish")) == 1


async def test_send_private_posts_a_reminder_in_the_dm(adapter, fake):
    from bot.core.messages import Message

    ts = await adapter.send_private(MemberRef("slack", TEAM, "U2"), Message(text="You have 2 review cards due."))
    assert ts and dm_posts(fake, "U2")[-1]["text"] == "You have 2 review cards due."
