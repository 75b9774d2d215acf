"""The Discord adapter: slash commands and answer clicks in, one StudyService call, embeds out.

It also implements the Poster port the scheduler uses (post, update, reply). Connection: an
AutoShardedClient with default intents, so one process serves any number of servers and several
processes can split the shards (DISCORD_SHARD_COUNT, DISCORD_SHARD_IDS).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import logging
from collections.abc import AsyncIterator, Awaitable
from dataclasses import replace

import aiohttp
import discord
from discord import app_commands

from bot.adapters.common import Coalescer
from bot.adapters.discord import texts
from bot.adapters.discord.commands import build_dva_group
from bot.adapters.discord.components import (
    ActionButton,
    ActionSelect,
    AnswerButton,
    AnswerSelect,
    answer_post_of,
)
from bot.adapters.discord.permissions import missing_permissions
from bot.adapters.discord.render import render
from bot.adapters.discord.report import ReportModal
from bot.config import ConfigError, Settings
from bot.core import texts as core_texts
from bot.core.messages import ACTION_REPORT, Message
from bot.core.models import ChannelRef, MemberRef
from bot.core.ports import PostError, StudybotError
from bot.core.reports import parse_reason
from bot.core.service import AnswerRecorded, StudyService
from bot.core.timeutil import UsageError
from bot.render.charts import ChartError, ChartRenderer

log = logging.getLogger(__name__)
PLATFORM = "discord"
# Discord drops an interaction that gets no response within 3 seconds; past this, defer first.
DEFER_AFTER = 2.0
THREADS = (discord.ChannelType.public_thread, discord.ChannelType.private_thread, discord.ChannelType.news_thread)
NO_MENTIONS = discord.AllowedMentions.none()
HISTORY_LOOKBACK = 100  # recent messages searched for a daily post delivered before a crash


def _ids(value: str) -> list[int]:
    return [int(p) for p in value.split(",") if p.strip()]


def sharding(settings: Settings) -> tuple[int | None, list[int] | None]:
    """(shard_count, shard_ids) from the settings; None lets Discord recommend the count."""
    ids = _ids(settings.discord_shard_ids) or None
    count = settings.discord_shard_count
    if ids is not None and count is None:
        raise ConfigError("invalid setting DISCORD_SHARD_IDS: expected DISCORD_SHARD_COUNT to be set as well")
    if ids is not None and count is not None and any(i >= count for i in ids):
        raise ConfigError(f"invalid setting DISCORD_SHARD_IDS: expected shard numbers below {count}")
    return count, ids


def refs(interaction: discord.Interaction) -> tuple[MemberRef, ChannelRef] | None:
    if interaction.guild_id is None or interaction.channel_id is None:
        return None
    guild = str(interaction.guild_id)
    return MemberRef(PLATFORM, guild, str(interaction.user.id)), ChannelRef(PLATFORM, guild, str(interaction.channel_id))


def _where(channel: ChannelRef) -> dict[str, str]:
    return {"platform": PLATFORM, "workspace": channel.workspace, "channel": channel.channel}


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


class StudyClient(discord.AutoShardedClient):
    """The discord.py client: default intents, the /dva tree, the persistent answer components."""

    def __init__(self, *, study: DiscordAdapter, shard_count: int | None, shard_ids: list[int] | None) -> None:
        # studybot never joins voice; without this discord.py warns at every start that voice is off.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        super().__init__(intents=discord.Intents.default(), shard_count=shard_count, shard_ids=shard_ids,
                         allowed_mentions=NO_MENTIONS)
        self.study = study
        self.tree = app_commands.CommandTree(self)

    async def setup_hook(self) -> None:
        self.add_dynamic_items(AnswerButton, AnswerSelect, ActionButton, ActionSelect)


class DiscordAdapter:
    """Discord in and out for the StudyService; also the scheduler's Poster for Discord."""

    platform = PLATFORM

    def __init__(
        self, *, service: StudyService, settings: Settings, refresh_interval: float = 10.0,
        defer_after: float = DEFER_AFTER, charts: ChartRenderer | None = None,
    ) -> None:
        if settings.discord_token is None:
            raise ConfigError("invalid setting DISCORD_TOKEN: expected the bot token from the Discord Developer Portal")
        self.service = service
        self.settings = settings
        self.defer_after = defer_after
        self.guild_ids = _ids(settings.discord_guild_ids)
        self.shard_count, self.shard_ids = sharding(settings)
        self.client: StudyClient | None = None
        self._gateway: asyncio.Task | None = None
        self._coalescer = Coalescer(self.refresh_post, interval=refresh_interval)
        self._told_dm_closed: set[MemberRef] = set()
        self._charts = charts  # None: messages go out without their charts
        service.on_answer(self._answer_recorded)

    # ----- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        """Log in, sync the commands if they changed, and connect the gateway in a background task.
        Raises ConfigError for a rejected token and StudybotError when Discord cannot be reached."""
        client = StudyClient(study=self, shard_count=self.shard_count, shard_ids=self.shard_ids)
        group = build_dva_group(self, bank=self.service.bank)
        if self.guild_ids:
            client.tree.add_command(group, guilds=[discord.Object(g) for g in self.guild_ids])
        else:
            client.tree.add_command(group)
        self.client = client
        assert self.settings.discord_token is not None
        try:
            await client.login(self.settings.discord_token.get_secret_value())
        except discord.LoginFailure as exc:
            await client.close()
            raise ConfigError("invalid setting DISCORD_TOKEN: Discord rejected it; reset the token in the "
                              "Developer Portal (Bot > Reset Token) and set it again") from exc
        except (discord.HTTPException, aiohttp.ClientError, OSError) as exc:
            await client.close()
            raise StudybotError(f"could not log in to Discord ({type(exc).__name__}); check the network and retry") from exc
        await self.sync_commands()
        self._gateway = asyncio.create_task(client.connect(reconnect=True), name="discord-gateway")
        self._gateway.add_done_callback(self._gateway_ended)

    def _gateway_ended(self, task: asyncio.Task) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("the Discord gateway connection stopped: %s", task.exception(), extra={"platform": PLATFORM})

    async def aclose(self) -> None:
        await self._coalescer.aclose()
        if self.client is not None:
            await self.client.close()
        if self._gateway is not None:
            done, _ = await asyncio.wait({self._gateway}, timeout=5)
            if not done:
                self._gateway.cancel()
        self.client = None
        self._gateway = None

    async def wait_until_ready(self) -> None:
        await self._require_client().wait_until_ready()

    def _require_client(self) -> StudyClient:
        if self.client is None or self.client.is_closed():
            raise PostError("the Discord adapter is not started", permanent=False)
        return self.client

    # ----- command sync ---------------------------------------------------------------------
    async def sync_commands(self) -> list[str]:
        """Upload the /dva commands to each scope (the DISCORD_GUILD_IDS servers, else global) whose
        payload changed since the last sync here; returns the scopes uploaded. A hash of the payload
        is kept in the store, so restarts and reconnects do not re-upload an unchanged tree."""
        client = self._require_client()
        scopes: list[discord.Object | None] = [discord.Object(g) for g in self.guild_ids] or [None]
        synced = []
        for guild in scopes:
            payload = [command.to_dict(client.tree) for command in client.tree.get_commands(guild=guild)]
            digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
            scope = f"guild {guild.id}" if guild else "global"
            key = f"discord:commands:{client.application_id}:{scope}"
            if await self.service.store.get_kv(key) == digest:
                continue
            try:
                await client.tree.sync(guild=guild)
            except discord.Forbidden:
                log.warning("cannot register commands in %s: add studybot with the applications.commands scope "
                            "(studybot discord invite-url)", scope, extra={"platform": PLATFORM})
                continue
            except discord.HTTPException as exc:
                log.warning("command sync to %s failed: %s %s", scope, exc.status, exc.text, extra={"platform": PLATFORM})
                continue
            await self.service.store.set_kv(key, digest)
            log.info("synced /dva commands to %s", scope, extra={"platform": PLATFORM})
            synced.append(scope)
        return synced

    # ----- the Poster port ------------------------------------------------------------------
    def _messageable(self, channel: ChannelRef) -> discord.PartialMessageable:
        return self._require_client().get_partial_messageable(int(channel.channel), guild_id=int(channel.workspace))

    @contextlib.asynccontextmanager
    async def _edge(self, action: str, channel: ChannelRef) -> AsyncIterator[None]:
        """Discord and network errors become PostError, logged with the guild, channel and reason."""
        try:
            yield
        except (discord.Forbidden, discord.NotFound) as exc:
            reason = f"{exc.text or exc.response.reason} (Discord code {exc.code})"
            log.warning("discord %s refused in guild %s channel %s: %s", action, channel.workspace, channel.channel,
                        reason, extra=_where(channel))
            raise PostError(reason, permanent=True) from exc
        except discord.HTTPException as exc:
            reason = f"{exc.text or exc.response.reason} (HTTP {exc.status})"
            log.warning("discord %s failed in guild %s channel %s: %s", action, channel.workspace, channel.channel,
                        reason, extra=_where(channel))
            raise PostError(reason, permanent=False) from exc
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            reason = f"network error: {type(exc).__name__}"
            log.warning("discord %s failed in guild %s channel %s: %s", action, channel.workspace, channel.channel,
                        reason, extra=_where(channel))
            raise PostError(reason, permanent=False) from exc

    async def _chart_file(self, message: Message, embed: discord.Embed) -> dict:
        """The message's chart as a PNG attachment shown as the embed's image (the text stays in the
        description), as send() keyword arguments; {} without a chart or when it cannot be drawn."""
        chart = message.chart
        if chart is None or self._charts is None:
            return {}
        try:
            data = await self._charts.png(chart)
        except ChartError as exc:
            log.warning("%s chart not sent: %s", chart.kind, exc, extra={"platform": PLATFORM})
            return {}
        embed.set_image(url=f"attachment://{chart.filename}")
        return {"file": discord.File(io.BytesIO(data), filename=chart.filename, description=chart.alt)}

    async def post(self, channel: ChannelRef, message: Message) -> str:
        embed, view = render(message, guild=channel.workspace)
        extra = {"view": view} if view is not None else {}
        # Mentions inside embeds never notify: a ping (`/dva daily ping`) goes in the content, and
        # only that mention is allowed.
        content, mentions = ping_of(message.mention)
        chart = await self._chart_file(message, embed)
        if chart:
            try:
                async with self._edge("post", channel):
                    sent = await self._messageable(channel).send(content=content, embed=embed,
                                                                 allowed_mentions=mentions, **extra, **chart)
                return str(sent.id)
            except PostError as exc:
                if not exc.permanent:
                    raise
                # Most likely no Attach Files in this channel: the text version alone, as before charts.
                log.warning("chart not attached in channel %s (%s); posting the text alone. Grant studybot "
                            "Attach Files there for charts", channel.channel, exc.reason, extra=_where(channel))
                embed, view = render(message, guild=channel.workspace)
                extra = {"view": view} if view is not None else {}
        async with self._edge("post", channel):
            sent = await self._messageable(channel).send(content=content, embed=embed, allowed_mentions=mentions,
                                                         **extra)
        return str(sent.id)

    async def update(self, channel: ChannelRef, message_id: str, message: Message) -> None:
        embed, view = render(message, guild=channel.workspace)
        async with self._edge("update", channel):
            # view=None removes components, which is what an update without buttons means.
            await self._messageable(channel).get_partial_message(int(message_id)).edit(embed=embed, view=view)

    async def reply(self, channel: ChannelRef, message_id: str, message: Message, *, thread: str | None = None) -> str:
        embed, view = render(message, guild=channel.workspace)
        extra = {"view": view} if view is not None else {}
        if thread:  # the post's discussion thread: the explanation goes where the group talks
            where = ChannelRef(PLATFORM, channel.workspace, thread)
            try:
                async with self._edge("reply", where):
                    sent = await self._messageable(where).send(embed=embed, allowed_mentions=NO_MENTIONS, **extra)
                return str(sent.id)
            except PostError as exc:
                if not exc.permanent:  # the thread is likely still there: the scheduler retries it
                    raise
                # The thread was deleted (or closed to studybot): reply to the post in the channel.
        reference = discord.MessageReference(
            message_id=int(message_id), channel_id=int(channel.channel), guild_id=int(channel.workspace),
            fail_if_not_exists=False,
        )
        async with self._edge("reply", channel):
            sent = await self._messageable(channel).send(
                embed=embed, reference=reference, allowed_mentions=NO_MENTIONS, **extra
            )
        return str(sent.id)

    async def open_discussion(self, channel: ChannelRef, message_id: str, message: Message) -> str | None:
        """A public thread on the daily post (its id is the post's) when studybot may create one;
        None without the Create Public Threads permission or where Discord refuses."""
        client = self._require_client()
        guild = client.get_guild(int(channel.workspace))
        where = guild.get_channel(int(channel.channel)) if guild is not None else None
        if where is not None and guild is not None and guild.me is not None:
            if not where.permissions_for(guild.me).create_public_threads:
                return None
        name = (message.title or "Discussion")[:90]
        try:
            async with self._edge("thread", channel):
                # The REST call itself: a partial message has no guild to build a Thread object from.
                data = await client.http.start_thread_with_message(
                    int(channel.channel), int(message_id), name=name, auto_archive_duration=1440,
                    rate_limit_per_user=None,
                )
        except PostError:
            return None
        thread = str(data.get("id") or "")
        if thread and message.text:
            try:
                await self.post(ChannelRef(PLATFORM, channel.workspace, thread), message)
            except PostError:
                pass  # the thread is open; the opener line is a nicety
        return thread or None

    async def find_post(self, channel: ChannelRef, post) -> str | None:
        """An earlier delivery of `post` among the channel's recent messages: a message of the bot
        whose buttons or select carry the post id. PostError when the history cannot be read."""
        client = self._require_client()
        # The newest messages: a retry comes minutes after the lost delivery, so it is among them.
        async with self._edge("history", channel):
            async for found in self._messageable(channel).history(limit=HISTORY_LOOKBACK):
                if client.user is not None and found.author.id != client.user.id:
                    continue
                ids = [getattr(child, "custom_id", None) or "" for row in found.components
                       for child in getattr(row, "children", [])]
                if any(answer_post_of(i) == post.id for i in ids):
                    return str(found.id)
        return None

    # ----- the "N answered" count -----------------------------------------------------------
    async def _answer_recorded(self, event: AnswerRecorded) -> None:
        if event.member.platform == PLATFORM and self.client is not None:
            self._coalescer.poke(event.post_id)

    async def refresh_post(self, post_id: int) -> None:
        """Edit a daily post to its current face (the answered count, or the reveal)."""
        view = await self.service.daily_view(post_id)
        if view is None:
            return
        post, message = view
        if post.channel.platform != PLATFORM or not post.message_id:
            return
        await self.update(post.channel, post.message_id, message)

    # ----- interactions ---------------------------------------------------------------------
    async def run_command(self, interaction: discord.Interaction, text: str, *, subscribing: bool = False) -> None:
        found = refs(interaction)
        if found is None:
            await self._reply(interaction, Message(text=texts.SERVER_ONLY))
            return
        member, channel = found
        perms = interaction.permissions
        is_admin = perms.manage_guild or perms.administrator

        async def work() -> Message:
            message = await self.service.handle_command(member=member, channel=channel, text=text, is_admin=is_admin)
            if message.private:
                return await self._to_dm(interaction, member, message)
            if message.ephemeral:
                return message
            return await self._publish(interaction, channel=channel, message=message, subscribing=subscribing)

        await self._respond(interaction, work(), channel=channel)

    async def answer_clicked(self, interaction: discord.Interaction, *, post_id: int, raw_choice: str) -> None:
        found = refs(interaction)
        if found is None:
            # A click in the member's DM: the post says whose practice it is and in which server.
            post = await self.service.store.get_post(post_id) if interaction.guild_id is None else None
            if post is None or post.user != str(interaction.user.id) or post.channel.platform != PLATFORM:
                await self._reply(interaction, Message(text=texts.SERVER_ONLY))
                return
            found = MemberRef(PLATFORM, post.channel.workspace, post.user), post.channel
        member, channel = found
        # Acknowledged means recorded: the interaction is answered once the answer is committed (or
        # refused in time, see storage/batching.py), never deferred while it may still be lost.
        await self._respond(
            interaction, self.service.answer(member=member, post_id=post_id, raw_choice=raw_choice), channel=channel,
            defer=False,
        )

    async def action_clicked(
        self, interaction: discord.Interaction, *, action: str, guild: str, value: str, picked: str
    ) -> None:
        """A feature module's button or select (Next, Review, the exam), in a server or in the DM."""
        if interaction.guild_id is not None and str(interaction.guild_id) != guild:
            await self._reply(interaction, Message(text=core_texts.EXPIRED))
            return
        member = MemberRef(PLATFORM, guild, str(interaction.user.id))
        channel = ChannelRef(PLATFORM, guild, str(interaction.channel_id or ""))
        if action == ACTION_REPORT:
            await self._open_report(interaction, member=member, channel=channel, question_id=value)
            return
        await self._respond(interaction, self.service.handle_action(
            member=member, channel=channel, action=action, value=value, picked=picked,
        ), channel=channel, defer=not picked)  # picked letters are an answer: acknowledged once recorded

    async def _open_report(
        self, interaction: discord.Interaction, *, member: MemberRef, channel: ChannelRef, question_id: str
    ) -> None:
        """The Report button: a form; its submission is stored through the core."""
        async def submit(modal_interaction: discord.Interaction, reason: str, details: str) -> None:
            assert self.service.reports is not None

            async def work() -> Message:
                # The reason is typed: one that is none of the four keeps the member's words as
                # "unclear" rather than losing the report.
                typed, text = reason, details
                if parse_reason(typed) is None:
                    typed, text = "unclear", f"{reason.strip()}: {details}".strip(": ")
                try:
                    return await self.service.reports.report_question(member, question_id, typed, text)
                except UsageError as exc:
                    return Message(text=str(exc))

            await self._respond(modal_interaction, work(), channel=channel)

        try:
            await interaction.response.send_modal(ReportModal(question_id, submit=submit))
        except discord.HTTPException as exc:
            log.warning("could not open the report form: %s %s", exc.status, exc.text, extra=_where(channel))

    # ----- the member's direct messages -----------------------------------------------------
    async def send_private(self, member: MemberRef, message: Message) -> str:
        """Send a message to the member's DMs; PostError (permanent for closed DMs, code 50007)."""
        client = self._require_client()
        where = ChannelRef(PLATFORM, member.workspace, f"dm:{member.user}")
        embed, view = render(message, guild=member.workspace)
        extra = {"view": view} if view is not None else {}
        extra.update(await self._chart_file(message, embed))
        async with self._edge("dm", where):
            dm = await client.create_dm(discord.Object(id=int(member.user)))
            sent = await dm.send(embed=embed, allowed_mentions=NO_MENTIONS, **extra)
        return str(sent.id)

    async def _to_dm(self, interaction: discord.Interaction, member: MemberRef, message: Message) -> Message:
        """Deliver a private session's message in the member's DMs, answering the interaction with a
        pointer; with DMs closed, the message itself comes back as the ephemeral reply, and the
        member is told why once (per process)."""
        try:
            await self.send_private(member, message)
        except PostError as exc:
            if member in self._told_dm_closed:
                return message
            self._told_dm_closed.add(member)
            note = texts.DM_CLOSED if "50007" in exc.reason else texts.DM_FAILED.format(reason=exc.reason)
            return replace(message, footer=" ".join(filter(None, [message.footer, note])))
        return Message(text=texts.SENT_TO_DM)

    async def _publish(
        self, interaction: discord.Interaction, *, channel: ChannelRef, message: Message, subscribing: bool
    ) -> Message:
        """Post a public confirmation in the channel; when studybot cannot post there, say which
        permission is missing and, after `daily on`, mark the schedule as not working."""
        thread = interaction.channel is not None and getattr(interaction.channel, "type", None) in THREADS
        missing = missing_permissions(interaction.app_permissions, thread=thread)
        if missing:
            problem = texts.MISSING_PERMISSIONS.format(channel=channel.channel, missing=_and(missing))
        else:
            try:
                await self.post(channel, message)
                return Message(text=texts.POSTED)
            except PostError as exc:
                if not exc.permanent:  # Discord hiccup: the change stands, only the announcement is lost
                    return Message(text=f"{message.text}\n\n{texts.NOT_POSTED_NOW.format(reason=exc.reason)}")
                problem = texts.CANNOT_POST.format(channel=channel.channel, reason=exc.reason)
        if subscribing:
            await self.service.subscription_failed(channel, problem)
            return Message(text=f"{problem}\n{texts.NOT_SAVED}")
        return Message(text=f"{message.text}\n\n{problem}")

    async def _respond(
        self, interaction: discord.Interaction, work: Awaitable[Message], *, channel: ChannelRef, defer: bool = True,
    ) -> None:
        """Answer within Discord's 3 seconds: reply at once when the work is quick, else defer first
        (unless `defer` is False: an answer's interaction waits for its commit). A chart is drawn
        within the same window, see _reply."""
        deadline = asyncio.get_running_loop().time() + self.defer_after
        task = asyncio.ensure_future(work)
        done, _ = await asyncio.wait({task}, timeout=self.defer_after if defer else None)
        if not done:
            try:
                await interaction.response.defer(ephemeral=True, thinking=True)
            except discord.HTTPException as exc:
                log.warning("could not defer a Discord interaction: %s", exc.text, extra=_where(channel))
        try:
            message = await task
        except Exception:
            log.exception("a Discord interaction failed", extra=_where(channel))
            message = Message(text=texts.FAILED)
        await self._reply(interaction, message, channel=channel, deadline=deadline)

    async def _chart_in_time(
        self, interaction: discord.Interaction, message: Message, embed: discord.Embed, *, deadline: float | None,
        editing: bool, ephemeral: bool, channel: ChannelRef | None,
    ) -> dict:
        """_chart_file for an interaction's answer: drawing can take seconds (the renderer's queue,
        matplotlib's first import), so when it is not done by `deadline` (by default defer_after from
        now) while the interaction is unanswered, the interaction is deferred first: as an update of
        the clicked message when `editing`, else as a "thinking" reply."""
        if message.chart is None or self._charts is None:
            return {}
        drawing = asyncio.ensure_future(self._chart_file(message, embed))
        if not interaction.response.is_done():
            loop = asyncio.get_running_loop()
            left = self.defer_after if deadline is None else max(0.0, deadline - loop.time())
            done, _ = await asyncio.wait({drawing}, timeout=left)
            if not done:
                try:
                    await interaction.response.defer(ephemeral=ephemeral, thinking=not editing)
                except discord.HTTPException as exc:
                    log.warning("could not defer a Discord interaction: %s", exc.text,
                                extra=_where(channel) if channel else {"platform": PLATFORM})
        return await drawing

    async def _reply(
        self, interaction: discord.Interaction, message: Message, *, channel: ChannelRef | None = None,
        deadline: float | None = None,
    ) -> None:
        guild = channel.workspace if channel is not None else None
        embed, view = render(message, guild=guild)
        # In the member's DM a session's messages stay (not ephemeral); in a server they are private.
        in_dm = interaction.guild_id is None and message.private
        kwargs: dict = {"embed": embed, "ephemeral": not in_dm, "allowed_mentions": NO_MENTIONS}
        if view is not None:
            kwargs["view"] = view
        editing = message.replace and not interaction.response.is_done() and interaction.message is not None
        chart = await self._chart_in_time(interaction, message, embed, deadline=deadline, editing=editing,
                                          ephemeral=not in_dm, channel=channel)
        kwargs.update(chart)
        try:
            if editing:
                # The clicked message becomes this one, its attachments the chart or none (Discord keeps
                # a message's attachments when an edit does not list them: an earlier chart would stay).
                files = [chart["file"]] if chart else []
                if interaction.response.is_done():  # deferred while the chart was drawn
                    await interaction.edit_original_response(embed=embed, view=view, attachments=files)
                else:
                    await interaction.response.edit_message(embed=embed, view=view, attachments=files)
            elif interaction.response.is_done():
                await interaction.followup.send(**kwargs)
            else:
                await interaction.response.send_message(**kwargs)
        except discord.HTTPException as exc:
            log.warning("could not answer a Discord interaction: %s %s", exc.status, exc.text,
                        extra=_where(channel) if channel else {"platform": PLATFORM})


def ping_of(mention: str) -> tuple[str | None, discord.AllowedMentions]:
    """(message content, allowed mentions) for a core mention: 'here' -> @here, 'role:<id>' -> the role."""
    if mention == "here":
        return "@here", discord.AllowedMentions(everyone=True, users=False, roles=False, replied_user=False)
    kind, _, ident = mention.partition(":")
    if kind == "role" and ident.isdigit():
        return f"<@&{ident}>", discord.AllowedMentions(everyone=False, users=False, roles=[discord.Object(int(ident))],
                                                       replied_user=False)
    return None, NO_MENTIONS
