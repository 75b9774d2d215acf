"""Block Kit rendering: Slack's limits hold for the longest question in the bank and for absurd
content, text is escaped but mentions survive, and nothing a member should read is lost."""

from __future__ import annotations

import pytest

from bot.adapters.slack.fake import validate_blocks
from bot.adapters.slack.render import (
    MAX_BLOCKS,
    MAX_FALLBACK,
    MAX_TEXT,
    SHORTENED,
    escape,
    picked_letters,
    render,
    split_text,
)
from bot.core.messages import ACTION_ANSWER, Button, Message, answer_value
from bot.core.models import ChannelRef, MemberRef
from bot.core.service import StudyService

CHANNEL = ChannelRef("slack", "T1", "C1")


def sections(blocks: list[dict]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "section"]


def question_size(q) -> int:
    return len(q.stem) + sum(len(t) for _, t in q.options) + len(q.explanation) + sum(len(t) for _, t in q.wrong)


@pytest.fixture
def real_service(real_bank, store, clock):
    return StudyService(bank=real_bank, store=store, clock=clock)


@pytest.mark.parametrize("kind", ["single", "multiple"])
async def test_the_longest_question_in_the_bank_fits_every_limit(real_service, store, clock, kind):
    bank = real_service.bank
    pool = [q for q in bank.questions if q.multiple == (kind == "multiple")]
    longest = max(pool, key=question_size)
    post, _ = await store.claim_daily(
        channel=CHANNEL, local_date="2026-03-02", question_id=longest.id, created_at=clock.now().timestamp()
    )
    alice = MemberRef("slack", "T1", "U1")
    wrong = "".join([x for x in longest.letters if x not in longest.key][: len(longest.key)])
    answer = await real_service.answer(member=alice, post_id=post.id, raw_choice=wrong)
    assert "Not quite" in answer.text
    face, why = await real_service.reveal(post.id)
    messages = {
        "daily": real_service.daily_message(post, answered=123),
        "quiz": real_service.question_message(longest, post, title="Practice: 1.1 x", ephemeral=True),
        "answer": answer, "reveal": face, "why": why,
    }
    for name, message in messages.items():
        rendered = render(message)
        assert validate_blocks(rendered.blocks) == [], name
        assert 0 < len(rendered.text) <= MAX_FALLBACK
        shown = "\n".join(sections(rendered.blocks))
        assert SHORTENED not in shown, name
        assert escape(message.text).split("\n")[0][:500] in shown, name
    daily = render(messages["daily"]).blocks
    shown = "\n".join(sections(daily))
    for letter, text in longest.options:
        assert f"*{letter}.* {escape(text)}" in shown
    if kind == "multiple":
        [pick] = [b for b in daily if b.get("block_id", "").startswith("pick:")]
        assert [o["value"] for o in pick["elements"][0]["options"]] == list(longest.letters)
    else:
        [row] = [b for b in daily if b["type"] == "actions"]
        assert [e["value"] for e in row["elements"]] == [answer_value(post.id, x) for x in longest.letters]


def test_long_text_is_split_into_sections_and_nothing_is_lost():
    paragraph = "word " * 700  # 3,500 characters on one line, so it must be cut inside the line
    text = "\n".join(f"{i}: {paragraph}" for i in range(3))
    message = Message(
        title="T" * 400, text=text, options=(("A", "x" * 4000), ("B", "y")),
        buttons=(Button(label="L" * 200, action=ACTION_ANSWER, value="1:A"),), footer="f" * 5000,
    )
    rendered = render(message)
    assert validate_blocks(rendered.blocks) == []
    parts = sections(rendered.blocks)
    assert all(len(p) <= MAX_TEXT for p in parts) and len(parts) >= 5
    assert "".join(parts).replace(" ", "").replace("\n", "") == (text + "*A.* " + "x" * 4000 + "*B.* y").replace(" ", "").replace("\n", "")
    assert rendered.blocks[0]["type"] == "header" and len(rendered.blocks[0]["text"]["text"]) <= 150


def test_absurd_content_is_shortened_visibly_but_never_rejected():
    message = Message(text="line of text\n" * 20000, lines=tuple(f"{i}. <@U{i}>: {i}" for i in range(9000)),
                      buttons=tuple(Button(label=str(i), action=ACTION_ANSWER, value=f"1:{i}") for i in range(30)))
    rendered = render(message)
    assert validate_blocks(rendered.blocks) == []
    assert len(rendered.blocks) == MAX_BLOCKS
    assert sections(rendered.blocks)[-1].endswith(SHORTENED)
    buttons = [e for b in rendered.blocks if b["type"] == "actions" for e in b["elements"]]
    assert len(buttons) == 30  # the interactive part survives; only text is shortened


def test_escaping_keeps_mentions_and_code_markup():
    assert escape("if x < 5 && y > 2 then <@U123> and <#C42|general> `a->b`") == (
        "if x &lt; 5 &amp;&amp; y &gt; 2 then <@U123> and <#C42|general> `a-&gt;b`"
    )


@pytest.mark.parametrize("text", ["x" + "&" * 2999, "y" * 2995 + "<@U123456> tail" + "z" * 10])
def test_split_never_cuts_an_entity_or_a_mention(text):
    escaped = escape(text)
    chunks = split_text(escaped)
    assert len(chunks) >= 2 and all(len(c) <= MAX_TEXT for c in chunks)
    assert all(c.count("&") == c.count(";") for c in chunks)
    assert all(c.count("<") == c.count(">") for c in chunks)
    assert "".join(chunks).replace(" ", "") == escaped.replace(" ", "")


def test_disabled_buttons_are_left_out_and_checkboxes_need_options():
    closed = Message(text="Revealed", buttons=(Button(label="A", action=ACTION_ANSWER, value="1:A", disabled=True),),
                     choose=2, post_id=1)
    assert [b["type"] for b in render(closed).blocks] == ["section"]


def test_picked_letters_reads_the_checkbox_state():
    state = {"pick:7": {"pick": {"type": "checkboxes", "selected_options": [{"value": "A"}, {"value": "C"}]}},
             "pick:8": {"pick": {"type": "checkboxes", "selected_options": [{"value": "B"}]}}}
    assert picked_letters(state, 7) == "AC"
    assert picked_letters(state, 9) == ""
    assert picked_letters({"pick:7": {"pick": {"type": "checkboxes", "selected_options": None}}}, 7) == ""
