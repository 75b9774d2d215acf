"""Charts delivered: Slack uploads them with files_upload_v2 (getUploadURLExternal, the upload URL,
completeUploadExternal) into the member's DM or the channel, and falls back to text when the
workspace lacks files:write, telling the admin once; Discord attaches the PNG to the embed; the
console writes it under the data directory. All through the real clients against the local fakes."""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta

import aiohttp
import discord
import pytest

from bot.adapters.console import ConsoleAdapter
from bot.adapters.discord import DiscordAdapter
from bot.adapters.slack import SlackAdapter
from bot.adapters.slack import texts as slack_texts
from bot.adapters.slack.fake import FakeSlack
from bot.adapters.slack.testing import SlackSender, http_settings, text_of
from bot.core.models import ChannelRef, MemberRef
from bot.render.charts import ChartRenderer
from tests.test_charts import PNG_MAGIC, answer
from tests.test_discord_adapter import ALICE, CHANNEL, GUILD, command, settings

TEAM = "T1"


@pytest.fixture
async def renderer():
    r = ChartRenderer()
    yield r
    r.close()


@pytest.fixture
async def fake():
    f = FakeSlack(team=TEAM)
    f.users["U1"] = {"id": "U1", "tz": "UTC", "is_admin": False, "is_owner": False}
    await f.start()
    yield f
    await f.aclose()


async def slack_with(fake, service, renderer, **overrides):
    adapter = SlackAdapter(service=service, settings=http_settings(fake, **overrides), http_host="127.0.0.1",
                           charts=renderer)
    await adapter.start()
    return adapter


@pytest.fixture
async def seeded(service, clock):
    now = clock.now()
    who = MemberRef("slack", TEAM, "U1")
    for i, (qid, right) in enumerate([("t-d1-one", True), ("t-d2-one", False), ("t-d1-two", True)]):
        await answer(service.store, who, qid, right, now - timedelta(hours=i + 1), channel=ChannelRef("slack", TEAM, "C1"))
    return who


async def test_slack_uploads_personal_stats_into_the_dm_and_group_stats_into_the_channel(
    fake, service, renderer, seeded,
):
    adapter = await slack_with(fake, service, renderer)
    try:
        async with aiohttp.ClientSession() as session:
            slack = SlackSender(port=adapter.http_port, fake=fake, session=session)
            await slack.command("stats", user="U1", name="s")
            await slack.reply("s")
            shared = await fake.wait_for(lambda: fake.shared_files("DU1"))
            # The text version went to the DM first, then the picture beside it.
            text = [c for c in fake.calls_to("chat.postMessage") if c.args["channel"] == "DU1"]
            assert len(text) == 1 and "Readiness" in text_of(text[0].args)
            upload = shared[0]
            assert upload["filename"] == "stats.png" and upload["data"][:8] == PNG_MAGIC
            assert "domain 1 Development with AWS Services 100 % (2 of 2)" in upload["alt_txt"]
            assert upload["title"] == "Your stats"
            methods = [c.method for c in fake.calls]
            first = methods.index("files.getUploadURLExternal")
            assert methods[first:first + 3] == ["files.getUploadURLExternal", "upload", "files.completeUploadExternal"]

            await slack.command("stats group", user="U1", name="g")
            group = await fake.wait_for(lambda: fake.shared_files("C1"))
            assert group[0]["filename"] == "group.png" and "3 answers in the last 4 weeks" in group[0]["alt_txt"]
            posted = [c for c in fake.calls_to("chat.postMessage") if c.args["channel"] == "C1"]
            assert len(posted) == 1 and "Group stats" in text_of(posted[0].args)
            assert len(fake.shared_files()) == 2
    finally:
        await adapter.aclose()


async def test_slack_without_files_write_sends_text_and_tells_the_admin_once(fake, service, renderer, seeded):
    fake.missing_scopes.add("files:write")
    adapter = await slack_with(fake, service, renderer, studybot_admins="UADMIN")
    try:
        async with aiohttp.ClientSession() as session:
            slack = SlackSender(port=adapter.http_port, fake=fake, session=session)
            await slack.command("stats", user="U1", name="s")
            await slack.reply("s")
            notice = await fake.wait_for(lambda: [c for c in fake.calls_to("chat.postMessage")
                                                  if c.args["channel"] == "DUADMIN"])
            assert "`files:write`" in text_of(notice[0].args) and "reinstall" in text_of(notice[0].args)
            stats = [c for c in fake.calls_to("chat.postMessage") if c.args["channel"] == "DU1"]
            assert len(stats) == 1 and "Readiness" in text_of(stats[0].args)  # the text version, complete
            assert fake.shared_files() == [] and fake.calls_to("upload") == []
            # Once per workspace: the next chart neither uploads nor tells anyone again.
            await slack.command("stats", user="U1", name="t")
            await slack.reply("t")
            await fake.wait_for(lambda: len([c for c in fake.calls_to("chat.postMessage")
                                             if c.args["channel"] == "DU1"]) == 2)
            assert len([c for c in fake.calls_to("chat.postMessage") if c.args["channel"] == "DUADMIN"]) == 1
            assert len(fake.calls_to("files.getUploadURLExternal")) == 1
        assert await service.store.get_kv(f"slack:charts:missing_scope:{TEAM}")
    finally:
        await adapter.aclose()


async def test_slack_missing_scope_notice_failing_in_the_store_leaves_the_message_delivered(
        fake, service, renderer, seeded, monkeypatch):
    from bot.core.ports import StoreError

    fake.missing_scopes.add("files:write")
    real_get_kv = service.store.get_kv

    async def get_kv(key: str):
        if key.startswith("slack:charts:missing_scope:"):
            raise StoreError("database is locked")
        return await real_get_kv(key)

    monkeypatch.setattr(service.store, "get_kv", get_kv)
    adapter = await slack_with(fake, service, renderer, studybot_admins="UADMIN")
    try:
        async with aiohttp.ClientSession() as session:
            slack = SlackSender(port=adapter.http_port, fake=fake, session=session)
            await slack.command("stats", user="U1", name="s")
            await slack.reply("s")
            stats = await fake.wait_for(lambda: [c for c in fake.calls_to("chat.postMessage")
                                                 if c.args["channel"] == "DU1"])
            await asyncio.sleep(0.3)  # whatever the failed notice would still send
            sent = [text_of(c.args) for c in fake.calls_to("chat.postMessage") if c.args["channel"] == "DU1"]
            assert len(stats) == 1 and "Readiness" in sent[0] and len(sent) == 1
            assert not [c for c in fake.calls_to("response_url") if "went wrong" in text_of(c.args)]
    finally:
        await adapter.aclose()


async def test_slack_without_files_write_and_no_known_admin_asks_the_member(fake, service, renderer, seeded):
    fake.missing_scopes.add("files:write")
    adapter = await slack_with(fake, service, renderer)
    try:
        async with aiohttp.ClientSession() as session:
            slack = SlackSender(port=adapter.http_port, fake=fake, session=session)
            await slack.command("stats", user="U1", name="s")
            asked = await fake.wait_for(lambda: [c for c in fake.calls_to("chat.postMessage")
                                                 if c.args["channel"] == "DU1"
                                                 and "files:write" in text_of(c.args)])
            assert slack_texts.CHARTS_NEED_SCOPE_ASK.split(":")[0] in text_of(asked[0].args)
    finally:
        await adapter.aclose()


@pytest.fixture
async def discord_fake(monkeypatch):
    from bot.adapters.discord.fake import FakeDiscord

    server = FakeDiscord()
    await server.start()
    monkeypatch.setattr(discord.http.Route, "BASE", server.api_base)
    yield server
    await server.aclose()


async def test_discord_attaches_the_png_to_the_embed(discord_fake, service, renderer, clock):
    who = MemberRef("discord", GUILD, ALICE)
    await answer(service.store, who, "t-d1-one", True, clock.now() - timedelta(hours=1),
                 channel=ChannelRef("discord", GUILD, CHANNEL))
    bot = DiscordAdapter(service=service, settings=settings(), charts=renderer)
    await bot.start()
    await discord_fake.wait_identified()
    try:
        await command(discord_fake, "stats")
        dm = discord_fake.dm_channels[ALICE]
        sent = [r for r in discord_fake.calls("POST", f"/channels/{dm}/messages")]
        assert len(sent) == 1 and len(sent[0].files) == 1
        png, body = sent[0].files[0], sent[0].body
        assert png["filename"] == "stats.png" and png["data"][:8] == PNG_MAGIC
        embed = body["embeds"][0]
        assert embed["image"]["url"] == "attachment://stats.png" and "Readiness" in embed["description"]
        assert "domain 1 Development with AWS Services 100 % (1 of 1)" in body["attachments"][0]["description"]

        await command(discord_fake, "stats", options={"scope": "group"})
        posted = discord_fake.calls("POST", f"/channels/{CHANNEL}/messages")
        assert len(posted) == 1 and posted[0].files[0]["filename"] == "group.png"
        assert posted[0].body["embeds"][0]["image"]["url"] == "attachment://group.png"
    finally:
        await bot.aclose()


async def test_discord_without_a_renderer_sends_text_only(discord_fake, service):
    bot = DiscordAdapter(service=service, settings=settings())
    await bot.start()
    await discord_fake.wait_identified()
    try:
        await command(discord_fake, "stats")
        sent = discord_fake.calls("POST", f"/channels/{discord_fake.dm_channels[ALICE]}/messages")
        assert sent[0].files == [] and "image" not in sent[0].body["embeds"][0]
    finally:
        await bot.aclose()


async def test_console_writes_the_png_and_prints_its_path(service, tmp_path, renderer):
    out = io.StringIO()
    console = ConsoleAdapter(service=service, out=out, charts_dir=tmp_path / "charts", charts=renderer)
    await console.handle_line("/dva stats")
    path = tmp_path / "charts" / "stats.png"
    assert path.read_bytes()[:8] == PNG_MAGIC
    shown = out.getvalue()
    assert shown.index("Readiness") < shown.index(f"Chart: {path}")
    quiet = io.StringIO()
    await ConsoleAdapter(service=service, out=quiet).handle_line("/dva stats")  # --no-charts
    assert "Chart:" not in quiet.getvalue() and "Readiness" in quiet.getvalue()


async def test_discord_channel_without_attach_files_gets_the_text_alone(discord_fake, service, renderer):
    discord_fake.no_attach_channels.add(CHANNEL)
    bot = DiscordAdapter(service=service, settings=settings(), charts=renderer)
    await bot.start()
    await discord_fake.wait_identified()
    try:
        await command(discord_fake, "stats", options={"scope": "group"})
        posted = discord_fake.calls("POST", f"/channels/{CHANNEL}/messages")
        assert [bool(p.files) for p in posted] == [True, False]  # refused with the PNG, then the text
        assert "Group stats" in posted[1].body["embeds"][0]["title"] and "image" not in posted[1].body["embeds"][0]
    finally:
        await bot.aclose()


async def test_slack_weekly_digest_and_a_dm_click_carry_their_charts(fake, service, renderer, seeded):
    adapter = await slack_with(fake, service, renderer)
    try:
        digest = await service.weekly_digest(ChannelRef("slack", TEAM, "C1"), "UTC")
        assert digest is not None and digest.chart is not None
        await adapter.post(ChannelRef("slack", TEAM, "C1"), digest)  # as the scheduler posts it
        [shared] = fake.shared_files("C1")
        assert shared["title"] == "Weekly digest" and shared["filename"] == "group.png"
        # The Stats button (App Home, or a message in the DM) answers in the DM with the chart beside it.
        async with aiohttp.ClientSession() as session:
            slack = SlackSender(port=adapter.http_port, fake=fake, session=session)
            button = {"type": "button", "action_id": "open:0", "value": "stats", "block_id": "b"}
            await slack.click(button, user="U1", name="c", channel="DU1")
            assert "Readiness" in text_of(await slack.reply("c"))
            await fake.wait_for(lambda: fake.shared_files("DU1"))
    finally:
        await adapter.aclose()


@pytest.mark.parametrize("flags", [[], ["--no-charts"]])
def test_studybot_console_writes_charts_under_the_data_dir_unless_told_not_to(tmp_path, flags):
    import os
    import subprocess
    import sys

    from tests.conftest import FIXTURE_BANK, ROOT

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_", "STUDYBOT_"))}
    env.update(STUDYBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'c.db'}", STUDYBOT_DATA_DIR=str(tmp_path / "data"),
               STUDYBOT_CONTENT_DIR=str(FIXTURE_BANK))
    out = subprocess.run([sys.executable, "-m", "bot.cli", "console", *flags], input="/dva stats\n", env=env,
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    png = tmp_path / "data" / "charts" / "stats.png"
    if flags:
        assert "Chart:" not in out.stdout and not png.exists()
    else:
        assert f"Chart: {png}" in out.stdout and png.read_bytes()[:8] == PNG_MAGIC
    assert "Readiness" in out.stdout


async def test_slack_missing_scope_is_told_to_the_installer(fake, service, renderer, seeded, clock):
    from bot.core.ports import AppInstallation

    await service.store.save_installation(AppInstallation(
        platform="slack", enterprise_id="", team_id=TEAM, user_id="UINSTALLER", installed_at=clock.now().timestamp(),
        record="{}",
    ))
    fake.missing_scopes.add("files:write")
    adapter = await slack_with(fake, service, renderer)
    try:
        async with aiohttp.ClientSession() as session:
            slack = SlackSender(port=adapter.http_port, fake=fake, session=session)
            await slack.command("stats group", user="U1", name="g")
            told = await fake.wait_for(lambda: [c for c in fake.calls_to("chat.postMessage")
                                                if c.args["channel"] == "DUINSTALLER"])
            assert text_of(told[0].args) == slack_texts.CHARTS_NEED_SCOPE.replace("&", "&amp;")
            assert [c.args["channel"] for c in fake.calls_to("chat.postMessage")] == ["C1", "DUINSTALLER"]
    finally:
        await adapter.aclose()


async def test_discord_a_click_that_replaces_its_message_carries_the_chart(discord_fake, service, renderer):
    """The mock exam's report replaces the clicked question (Message.replace); its chart comes along."""
    from bot.adapters.discord.components import action_custom_id
    from bot.core.charts import exam_report_chart
    from bot.core.messages import Message
    from tests.test_discord_adapter import interact

    chart = exam_report_chart(domains=[("1", "Development", 3, 4)], right=3, total=4)

    async def report(request, value, picked):
        return Message(title="Report", text="3/4", private=True, replace=True, chart=chart)

    service.register_action("chartx", report)
    await renderer.png(chart)  # matplotlib imported: a first draw may take longer than the defer window
    bot = DiscordAdapter(service=service, settings=settings(), charts=renderer)
    await bot.start()
    await discord_fake.wait_identified()
    try:
        custom = action_custom_id("chartx", GUILD, "1")
        shown = discord_fake.message(CHANNEL, {"embeds": [{"title": "Question 4"}], "components": [
            {"type": 1, "components": [{"type": 2, "style": 1, "label": "Submit", "custom_id": custom}]}]})
        callback = await interact(discord_fake, discord_fake.component(shown, custom, guild_id=GUILD, user_id=ALICE))
        assert callback.body["type"] == 7  # UPDATE_MESSAGE: the clicked message becomes the report
        assert callback.files[0]["filename"] == "exam_report.png" and callback.files[0]["data"][:8] == PNG_MAGIC
        assert callback.body["data"]["embeds"][0]["image"]["url"] == "attachment://exam_report.png"
    finally:
        await bot.aclose()
