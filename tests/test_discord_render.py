"""Rendering core messages for Discord within its limits, the markup, the install link and its CLI."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import discord
import pytest

from bot.adapters.discord import render as r
from bot.adapters.discord.components import CUSTOM_ID_LIMIT
from bot.adapters.discord.permissions import install_permissions, invite_url, missing_permissions
from bot.core.messages import Message
from bot.core.models import ChannelRef, MemberRef
from bot.core.service import StudyService
from tests.conftest import ROOT

HERE = ChannelRef("discord", "811111111111111111", "822222222222222222")


def assert_within_limits(embed: discord.Embed, view: discord.ui.View | None) -> None:
    data = embed.to_dict()
    assert len(data.get("title", "")) <= r.EMBED_TITLE
    assert len(data.get("description", "")) <= r.EMBED_DESCRIPTION
    assert len(data.get("footer", {}).get("text", "")) <= r.EMBED_FOOTER
    assert len(data.get("fields", [])) <= r.MAX_FIELDS
    assert all(len(f["value"]) <= r.FIELD_VALUE and len(f["name"]) <= r.FIELD_NAME for f in data.get("fields", []))
    assert len(embed) <= r.EMBED_TOTAL
    for row in (view.to_components() if view else []):
        for component in row["components"]:
            assert len(component["custom_id"]) <= CUSTOM_ID_LIMIT
            if component["type"] == 2:
                assert len(component["label"]) <= r.BUTTON_LABEL
            else:
                assert len(component["options"]) <= r.SELECT_OPTIONS
                assert all(len(o["label"]) <= r.SELECT_LABEL for o in component["options"])


def size(question) -> int:
    return len(question.stem) + sum(len(text) for _, text in question.options) + len(question.explanation) + sum(
        len(why) for _, why in question.wrong)


async def test_the_longest_question_in_the_bank_fits_every_discord_limit(real_bank, store, clock):
    service = StudyService(bank=real_bank, store=store, clock=clock)
    longest = max(real_bank.questions, key=size)
    longest_option = max(real_bank.questions, key=lambda q: max(len(t) for _, t in q.options))
    for day, question in enumerate({longest.id: longest, longest_option.id: longest_option}.values(), start=2):
        post, _ = await store.claim_daily(channel=HERE, local_date=f"2026-03-0{day}", question_id=question.id,
                                          created_at=clock.now().timestamp())
        daily = service.daily_message(post, answered=12345)
        embed, view = r.render(daily)
        assert_within_limits(embed, view)
        assert view is not None and len(view.children) == (len(question.options) if len(question.key) == 1 else 1)
        for _, text in question.options:  # every option is shown whole, so it can be answered
            assert r.markup(text) in embed.description
        member = MemberRef("discord", HERE.workspace, f"m-{question.id}")
        answer = await service.answer(member=member, post_id=post.id, raw_choice=" ".join(sorted(question.key)))
        face, why = await service.reveal(post.id)
        for message in (answer, face, why):
            assert_within_limits(*r.render(message))


async def test_every_question_of_the_bank_renders_within_limits(real_bank, store, clock):
    service = StudyService(bank=real_bank, store=store, clock=clock)
    post = await store.create_quiz(channel=HERE, question_id=real_bank.questions[0].id, created_at=0)
    for question in real_bank.questions:
        message = service.question_message(question, post, title=f"Practice: {question.task}", ephemeral=True)
        assert_within_limits(*r.render(message))


def test_overlong_text_is_cut_but_the_options_stay_whole():
    options = tuple((letter, f"option {letter} " + "o" * 150) for letter in "ABCD")
    message = Message(text="stem " * 2000, title="t" * 400, options=options, footer="f" * 3000,
                      lines=tuple("l" * 1500 for _ in range(30)), post_id=7, choose=2)
    embed, view = r.render(message)
    assert_within_limits(embed, view)
    assert embed.description.endswith("**D.** option D " + "o" * 150)
    assert "…" in embed.description and embed.title.endswith("…")
    [select] = view.children
    assert select.custom_id == "dva:pick:7" and all(len(o.label) == r.SELECT_LABEL for o in select.item.options)
    assert select.item.min_values == select.item.max_values == 2


@pytest.mark.parametrize(("core", "discord_text"), [
    ("*Right!* keep going", "**Right!** keep going"),
    ("run `aws s3 cp *.txt` then *go*", "run `aws s3 cp *.txt` then **go**"),
    ("2 * 3 * 4", "2 * 3 * 4"),
    ("1. <@12345>: 40", "1. <@12345>: 40"),
    ("_italic_ stays", "_italic_ stays"),
])
def test_markup(core, discord_text):
    assert r.markup(core) == discord_text


def test_a_message_without_answer_buttons_has_no_components():
    assert r.view_for(Message(text="hello")) is None
    assert r.view_for(Message(text="x", options=(("A", "a"), ("B", "b")), choose=2)) is None  # no post to answer


def test_the_invite_asks_for_the_two_scopes_and_the_smallest_permissions():
    query = parse_qs(urlparse(invite_url(1234)).query)
    assert query["client_id"] == ["1234"]
    assert query["scope"] == ["bot applications.commands"]
    granted = discord.Permissions(int(query["permissions"][0]))
    assert granted == install_permissions()
    # View Channel, Send Messages, Embed Links, Read Message History; Create Public Threads and Send
    # Messages in Threads for the optional discussion thread; Attach Files (32768) for the charts.
    assert granted.value == 309237730304 + 32768
    assert granted.create_public_threads and granted.send_messages_in_threads and granted.attach_files
    assert granted.view_channel and granted.send_messages and granted.embed_links and granted.read_message_history
    assert missing_permissions(granted) == []
    assert missing_permissions(discord.Permissions(view_channel=True)) == [
        "Send Messages", "Embed Links", "Read Message History"]
    assert missing_permissions(discord.Permissions(view_channel=True, embed_links=True, read_message_history=True),
                               thread=True) == ["Send Messages in Threads"]
    assert missing_permissions(discord.Permissions(administrator=True)) == []


def test_invite_url_cli(capsys, monkeypatch):
    from bot.cli import main

    monkeypatch.chdir(ROOT / "tests")  # no .env file here
    monkeypatch.delenv("DISCORD_APPLICATION_ID", raising=False)
    assert main(["discord", "invite-url", "--application-id", "987"]) == 0
    assert capsys.readouterr().out.strip() == invite_url(987)
    assert main(["discord", "invite-url"]) == 2
    assert "set DISCORD_APPLICATION_ID or pass --application-id" in capsys.readouterr().err
    monkeypatch.setenv("DISCORD_APPLICATION_ID", "55")
    assert main(["discord", "invite-url"]) == 0
    assert capsys.readouterr().out.strip() == invite_url(55)
    monkeypatch.setenv("DISCORD_APPLICATION_ID", "my-bot")
    with pytest.raises(SystemExit):
        main(["discord", "invite-url"])
    assert "invalid setting DISCORD_APPLICATION_ID: expected the numeric application id" in capsys.readouterr().err
