"""The Slack adapter: a Bolt AsyncApp whose handlers translate Slack events into StudyService calls.

Acknowledged means recorded: an answer click is acknowledged (HTTP 200, or the socket ack) only
once its answer is committed, and the reply follows through the payload's response_url; when the
store cannot take the answer in time the member is told so in the same interaction. /dva commands
are acknowledged at once and answered after. Bolt runs with process_before_response, so the ack
goes out when a handler returns; the work after it runs in tasks bounded by a semaphore, and the
requests themselves are bounded before their body is read (inbound.Gate): past the bounds Slack
sees slower acknowledgements, never lost work. Replies go over kept-alive connections (hooks.py),
Web API calls over one pooled session; an answer click in HTTP mode skips Bolt's dispatch.
Socket Mode (connect_async, plus a watchdog) and HTTP mode (an aiohttp runner) both run in the
caller's event loop, next to Discord and the scheduler. Also the Poster port for scheduled posts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from types import SimpleNamespace

import aiohttp
from aiohttp import web
from pydantic import SecretStr
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.app.async_server import AsyncSlackAppServer
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.internals import extract_enterprise_id, extract_team_id, extract_user_id
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.common import Coalescer
from bot.adapters.slack import texts
from bot.adapters.slack.charts import SlackCharts
from bot.adapters.slack.hooks import HookClient
from bot.adapters.slack.inbound import IN_FLIGHT, Gate
from bot.adapters.slack.oauth import INSTALL_PATH, StoreInstallationStore, check_oauth_settings, oauth_flow
from bot.adapters.slack.outbound import Profile, ProfileCache, ResponseUrl
from bot.adapters.slack.poster import (
    PLATFORM,
    SlackPoster,
    api_error_code,
    api_session,
    transient,
    web_client,
)
from bot.adapters.slack.render import (
    GENERIC_SUBMIT,
    PICK_ACTION,
    SUBMIT_ACTION,
    picked_letters,
    render,
    ticked_letters,
)
from bot.adapters.slack.report import REPORT_VIEW, done_view, report_view, submitted
from bot.config import ConfigError, Settings
from bot.core import texts as core_texts
from bot.core.commands import needs_profile
from bot.core.messages import ACTION_ANSWER, ACTION_REPORT, Message, parse_answer_value, parse_post_id
from bot.core.models import ChannelRef, MemberRef
from bot.core.ports import PostError, StudybotError
from bot.core.service import AnswerRecorded, StudyService
from bot.core.timeutil import UsageError
from bot.render.charts import ChartRenderer

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
REPLY_TIMEOUT = 10.0  # seconds for one POST to response_url
PROFILE_TIMEOUT = 1.0  # seconds a member's first click may wait for their profile (the ack waits too)
COMMAND_PROFILE_TIMEOUT = 10.0  # a command may wait longer (response_url stays valid 30 min)
NETWORK_ERRORS = (SlackClientError, aiohttp.ClientError, TimeoutError, OSError)
HOME_BLOCKS = 100  # Slack's limit for a Home tab view
DM_CACHE = 10_000  # members whose DM channel id is remembered
SEEN_COMMANDS = 2_000  # trigger ids of recent commands, so a retried delivery runs once
PROFILES = 50_000  # members' profiles kept (the ProfileCache's size)
DIRECTORY_PAGE = 1000  # members per users.list call (its largest page)
# Pages read at most: half the cache, so that one large workspace's directory does not evict every
# other workspace's profiles, nor its own first pages (the members waiting in the burst). A larger
# workspace's other members are looked up one by one.
DIRECTORY_PAGES = PROFILES // 2 // DIRECTORY_PAGE
ANSWER_ACTION = re.compile(rf"^{re.escape(ACTION_ANSWER)}:\d+$")

# Bolt also reads SLACK_BOT_TOKEN from the environment and then warns that it is unused, because the
# app gets our configured client; that warning is noise, every other Bolt log passes.
_BOLT_LOG = logging.getLogger("slack_bolt.studybot")
_BOLT_LOG.addFilter(lambda record: "`token` will be unused" not in record.getMessage())


def unescape(text: str) -> str:
    """Slack sends &, < and > in command text as entities; the core wants the characters."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _channel_id(body: dict) -> str | None:
    """Where a click happened: the channel (or DM) of the message; None for the App Home tab."""
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
    return str(channel) if isinstance(channel, str) and channel else None


def _state(body: dict) -> dict:
    """The values of a message's inputs (ticked boxes) sent with a click."""
    values = (body.get("state") or {}).get("values")
    return values if isinstance(values, dict) else {}


def _in_dm(body: dict) -> bool:
    return (_channel_id(body) or "").startswith("D")


def _profile_of(user: dict, workspace: str) -> Profile:
    """A users.info / users.list user object as a Profile. Admin rights count only in the member's
    own workspace: a member of another workspace in a shared channel is an admin of theirs, not
    of this one."""
    enterprise = user.get("enterprise_user")
    home = {user.get("team_id"), enterprise.get("enterprise_id") if isinstance(enterprise, dict) else None} - {None}
    own = not home or workspace in home
    tz = user.get("tz") if isinstance(user.get("tz"), str) else None
    return Profile(is_admin=own and bool(user.get("is_admin") or user.get("is_owner")), tz=tz)


class SlackCallFailed(Exception):
    pass


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value().strip() if value is not None else ""


class SlackAdapter:
    """Implements the Poster protocol (post, update, reply) once started."""

    platform = PLATFORM

    def __init__(
        self, *, service: StudyService, settings: Settings, http_host: str = "0.0.0.0",
        refresh_interval: float = 10.0, watchdog_interval: float = 30.0, in_flight: int = IN_FLIGHT,
        charts: ChartRenderer | None = None,
    ) -> None:
        self.service = service
        self.settings = settings
        self.http_host = http_host
        self.http_port: int | None = None  # the bound port in HTTP mode, once started
        self.bot_name = "studybot"
        self._watchdog_interval = watchdog_interval
        # Set by the process that runs every adapter: store answers and all platforms connected.
        self.health_check: Callable[[], Awaitable[bool]] | None = None
        self._coalescer = Coalescer(self._refresh_post, interval=refresh_interval)
        self._session: aiohttp.ClientSession | None = None
        self._hooks: HookClient | None = None  # response_url replies
        self._client: AsyncWebClient | None = None
        self._poster: SlackPoster | None = None  # one workspace (SLACK_BOT_TOKEN)
        self._installations: StoreInstallationStore | None = None  # many workspaces (OAuth)
        self._app: AsyncApp | None = None
        self._runner: web.AppRunner | None = None
        self._gate: Gate | None = None  # HTTP mode's request gate
        self._socket: AsyncSocketModeHandler | None = None
        self._watchdog: asyncio.Task | None = None
        self._inflight: set[asyncio.Task] = set()
        self._in_flight = in_flight
        self._after_ack = asyncio.Semaphore(in_flight)  # work running after its ack (replies, commands)
        self._profiles = ProfileCache(size=PROFILES)
        self._update_locks: OrderedDict[str, asyncio.Lock] = OrderedDict()
        self._dm_channels: OrderedDict[MemberRef, str] = OrderedDict()
        self._seen_commands: OrderedDict[str, None] = OrderedDict()
        # Charts go out beside the text when a renderer is given (None: text only).
        self._charts = SlackCharts(renderer=charts, store=service.store, admins=settings.admins) if charts else None
        service.on_answer(self._on_answer_recorded)

    @property
    def mode(self) -> str:
        return self.settings.slack_mode or ("socket" if self.settings.slack_app_token else "http")

    @property
    def app(self) -> AsyncApp:
        if self._app is None:
            raise StudybotError("the Slack adapter is not started")
        return self._app

    # ----- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        """Connect (Socket Mode) or listen (HTTP mode); returns once running. Raises ConfigError for
        a missing or refused token or secret, StudybotError when Slack cannot be reached."""
        multi = self.settings.slack_multi_workspace
        token = _secret(self.settings.slack_bot_token)
        if multi:
            check_oauth_settings(self.settings)
        elif not token:
            raise ConfigError("SLACK_BOT_TOKEN is not set: copy the Bot User OAuth Token (xoxb-...) of your Slack app")
        mode = self.mode
        app_token = _secret(self.settings.slack_app_token)
        signing_secret = _secret(self.settings.slack_signing_secret)
        if multi and mode != "http":
            raise ConfigError("SLACK_MODE must be http for many workspaces (SLACK_CLIENT_ID is set): Slack sends the "
                              "install redirect and the requests of every workspace to studybot's public URL")
        if not self.settings.slack_mode and not app_token and not signing_secret:
            raise ConfigError("SLACK_APP_TOKEN is not set: Socket Mode needs an app-level token (xapp-...) with "
                              "connections:write; for HTTP mode set SLACK_MODE=http and SLACK_SIGNING_SECRET")
        if mode == "socket" and not app_token:
            raise ConfigError("SLACK_APP_TOKEN is not set: Socket Mode needs an app-level token (xapp-...) "
                              "with connections:write, or set SLACK_MODE=http")
        if mode == "http" and not signing_secret:
            raise ConfigError("SLACK_SIGNING_SECRET is not set: HTTP mode needs the app's signing secret")
        self._session = api_session()
        self._hooks = HookClient(timeout=REPLY_TIMEOUT)
        # Many workspaces: the app's client has no token; Bolt sets the installation's per request.
        self._client = web_client(token=None if multi else token, base_url=self.settings.slack_api_url,
                                  session=self._session)
        try:
            if multi:
                self._installations = StoreInstallationStore(self.service.store)
            else:
                self._poster = SlackPoster(self._client)
                try:
                    auth = await self._client.auth_test()
                except SlackApiError as exc:
                    code = api_error_code(exc)
                    status = getattr(exc.response, "status_code", None) or getattr(exc.response, "status", None) or 200
                    if transient(code) or status >= 500 or status == 429:
                        raise StudybotError(f"Slack is unavailable right now ({code}); studybot could not check "
                                            "SLACK_BOT_TOKEN. Try again in a minute (status.slack.com)") from exc
                    raise ConfigError(f"Slack refused SLACK_BOT_TOKEN ({code}): "
                                      "copy the Bot User OAuth Token of your Slack app again") from exc
                self.bot_name = str(auth.get("user") or self.bot_name)
            self._app = self._build_app(signing_secret)
            if mode == "socket":
                await self._start_socket(app_token)
            else:
                await self._start_http()
        except NETWORK_ERRORS as exc:
            await self.aclose()
            raise StudybotError(f"could not reach the Slack API at {self.settings.slack_api_url} "
                                f"({type(exc).__name__}); check SLACK_API_URL and the network") from exc
        except BaseException:
            await self.aclose()
            raise
        if multi:
            log.info("Slack adapter running in %s mode for many workspaces (install at %s)", mode, INSTALL_PATH,
                     extra={"platform": PLATFORM})
        else:
            log.info("Slack adapter running in %s mode as @%s", mode, self.bot_name, extra={"platform": PLATFORM})

    async def connected(self) -> bool:
        """True while Slack can reach us (HTTP mode: listening) or we hold a live socket."""
        if self._socket is not None:
            return bool(await self._socket.client.is_connected())
        return self._runner is not None and self.http_port is not None

    async def _healthz(self, _request: web.Request) -> web.Response:
        check = self.health_check or self.connected
        try:
            ok = await asyncio.wait_for(check(), timeout=3)
        except Exception:  # noqa: BLE001 - any failure is "unhealthy", never a 500
            ok = False
        return web.Response(status=200 if ok else 503, text="ok\n" if ok else "unavailable\n")

    async def _start_http(self) -> None:
        port = self.settings.slack_http_port
        web_app = AsyncSlackAppServer(port=port, path=EVENTS_PATH, app=self.app).web_app
        gate = Gate(path=EVENTS_PATH, secret=_secret(self.settings.slack_signing_secret), in_flight=self._in_flight,
                    dispatch=self.app.async_dispatch,
                    # Many workspaces: every click goes through Bolt (its authorization finds the
                    # token), so the payload is not parsed a first time for nothing.
                    fast=self._fast_click if self._installations is None else None)
        web_app.middlewares.append(gate.middleware)
        self._gate = gate
        # For load balancers and container health checks (the whole process, see bot/app.py).
        web_app.router.add_get(HEALTH_PATH, self._healthz)
        self._runner = web.AppRunner(web_app, access_log=None)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, self.http_host, port).start()
        except OSError as exc:
            raise StudybotError(f"cannot listen on {self.http_host}:{port} ({exc.strerror or exc}); "
                                "set SLACK_HTTP_PORT to a free port") from exc
        self.http_port = self._runner.addresses[0][1]

    async def _start_socket(self, app_token: str) -> None:
        assert self._client is not None
        # Opening the first connection URL here makes a refused app token fail start() at once
        # (the SDK's own connect() would retry it forever).
        try:
            opened = await self._client.apps_connections_open(app_token=app_token)
        except SlackApiError as exc:
            raise ConfigError(f"Slack refused SLACK_APP_TOKEN ({api_error_code(exc)}): create an app-level "
                              "token with the connections:write scope") from exc
        self._socket = AsyncSocketModeHandler(
            self.app, app_token, web_client=self._client, logger=logging.getLogger("slack_sdk.socket_mode"),
        )
        self._socket.client.wss_uri = opened["url"]
        await self._socket.connect_async()
        self._watchdog = asyncio.create_task(self._watch_socket())

    async def _watch_socket(self) -> None:
        """Reconnect a dropped socket. The SDK's monitor usually does it first; this is the backstop for
        the cases it misses (its monitor task gone, a receive loop stuck on a closed session)."""
        misses = 0
        while True:
            await asyncio.sleep(self._watchdog_interval)
            client = self._socket.client if self._socket else None
            if client is None or client.closed:
                return
            if await client.is_connected():
                misses = 0
                continue
            misses += 1
            if misses < 2:
                continue
            log.warning("Slack Socket Mode connection is down; reconnecting", extra={"platform": PLATFORM})
            try:
                await client.connect_to_new_endpoint()
            except Exception as exc:  # noqa: BLE001 - keep watching whatever the reconnect raised
                log.warning("Slack reconnect failed (%s); retrying", type(exc).__name__, extra={"platform": PLATFORM})
            misses = 0

    async def aclose(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
            self._watchdog = None
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._inflight:
            await asyncio.wait(list(self._inflight), timeout=5)
        await self._coalescer.aclose()
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._hooks is not None:
            await self._hooks.aclose()
            self._hooks = None
        self._poster = None
        self._installations = None

    # ----- the Poster port ----------------------------------------------------------------
    async def _poster_for(self, channel: ChannelRef) -> SlackPoster:
        """The poster with the bot token of the channel's workspace."""
        if self._poster is not None:
            return self._poster
        if self._installations is None or self._session is None:
            raise PostError("the Slack adapter is not started", permanent=False)
        token = await self._installations.bot_token(channel.workspace)
        if token is None:
            # Uninstalled (or never installed): a person has to install studybot there again.
            raise PostError("not_installed", permanent=True)
        return SlackPoster(web_client(token=token, base_url=self.settings.slack_api_url, session=self._session))

    async def post(self, channel: ChannelRef, message: Message) -> str:
        return await self._post(channel, message, member=None)

    async def _post(self, channel: ChannelRef, message: Message, *, member: MemberRef | None) -> str:
        """Post in the channel, then its chart (when the message has one) below it."""
        poster = await self._poster_for(channel)
        ts = await poster.post(channel, message)
        await self._attach_chart(client=poster.client, team=channel.workspace, channel_id=channel.channel,
                                 message=message, member=member)
        return ts

    async def _attach_chart(
        self, *, client: AsyncWebClient, team: str, channel_id: str, message: Message, member: MemberRef | None,
    ) -> None:
        if message.chart is None or self._charts is None or not channel_id:
            return
        await self._charts.attach(client=client, team=team, channel_id=channel_id, chart=message.chart,
                                  member=member, send_private=self._send_text_private)

    async def update(self, channel: ChannelRef, message_id: str, message: Message) -> None:
        async with self._update_lock(message_id):
            await (await self._poster_for(channel)).update(channel, message_id, message)

    async def reply(self, channel: ChannelRef, message_id: str, message: Message, *, thread: str | None = None) -> str:
        return await (await self._poster_for(channel)).reply(channel, message_id, message)

    async def open_discussion(self, channel: ChannelRef, message_id: str, message: Message) -> str | None:
        return await (await self._poster_for(channel)).open_discussion(channel, message_id, message)

    async def find_post(self, channel: ChannelRef, post) -> str | None:
        return await (await self._poster_for(channel)).find_post(channel, post)

    def _update_lock(self, message_id: str) -> asyncio.Lock:
        # One update of a message at a time, so a late "N answered" refresh cannot land after the reveal.
        lock = self._update_locks.get(message_id)
        if lock is None:
            lock = self._update_locks[message_id] = asyncio.Lock()
            while len(self._update_locks) > 500:
                oldest, old = next(iter(self._update_locks.items()))
                if old.locked():
                    break
                del self._update_locks[oldest]
        return lock

    # ----- the live "N answered" count ------------------------------------------------------
    async def _on_answer_recorded(self, event: AnswerRecorded) -> None:
        if event.member.platform == PLATFORM and not event.practice:
            self._coalescer.poke(event.post_id)

    async def _refresh_post(self, post_id: int) -> None:
        view = await self.service.daily_view(post_id)
        if view is None or view[0].channel.platform != PLATFORM or not view[0].message_id:
            return
        post = view[0]
        async with self._update_lock(post.message_id):
            # Read the view again under the lock: once revealed, the reveal's own update wins.
            view = await self.service.daily_view(post_id)
            if view is None or view[0].revealed_at is not None:
                return
            await (await self._poster_for(post.channel)).update(post.channel, post.message_id, view[1])

    # ----- Bolt handlers --------------------------------------------------------------------
    def _build_app(self, signing_secret: str) -> AsyncApp:
        flow = None
        if self._installations is not None:
            assert self._session is not None
            flow = oauth_flow(settings=self.settings, installations=self._installations, clock=self.service.clock,
                              session=self._session, logger=_BOLT_LOG)
        app = AsyncApp(
            name="studybot", client=self._client, signing_secret=signing_secret, logger=_BOLT_LOG, oauth_flow=flow,
            user_facing_authorize_error_message=texts.NOT_INSTALLED,
            # The ack goes out when a handler returns: a click's after its answer is committed.
            process_before_response=True,
        )
        if flow is not None:
            # app_uninstalled / tokens_revoked events (when subscribed) delete the workspace's installation.
            app.enable_token_revocation_listeners()
        app.command("/dva")(self._on_command)
        app.action(ANSWER_ACTION)(self._on_answer_click)
        app.action(SUBMIT_ACTION)(self._on_submit)
        app.action(PICK_ACTION)(self._on_pick)
        # The Report button opens a form (before the generic handler: Bolt runs the first match).
        app.action(re.compile(rf"^{ACTION_REPORT}:\d{{1,3}}$"))(self._on_report_click)
        app.view(REPORT_VIEW)(self._on_report_submit)
        # Every other button: a feature module's action (Next, Review, the exam's navigation).
        app.action(re.compile(rf"^(?!{re.escape(ACTION_ANSWER)}:)[a-z]{{2,12}}:(\d{{1,3}}|{GENERIC_SUBMIT})$"))(
            self._on_action
        )
        app.event("app_home_opened")(self._on_home_opened)
        return app

    # ----- work after the ack ---------------------------------------------------------------
    async def _after(self, work: Awaitable[None], respond: ResponseUrl | None) -> None:
        """Run `work` once the handler has acknowledged, in a task that aclose waits for. Waits for a
        slot first: when replies back up, acknowledgements slow down instead of tasks piling up."""
        await self._after_ack.acquire()
        task = asyncio.create_task(self._run_after(work, respond))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)

    async def _run_after(self, work: Awaitable[None], respond: ResponseUrl | None) -> None:
        try:
            await work
        except Exception:
            log.exception("Slack request failed", extra={"platform": PLATFORM})
            await self._respond(respond, Message(text=texts.SOMETHING_WRONG))
        finally:
            self._after_ack.release()

    def _responder(self, body: dict) -> ResponseUrl | None:
        url = body.get("response_url")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")) or self._hooks is None:
            return None
        return ResponseUrl(url, self._hooks)

    def _first_delivery(self, command: dict, request) -> bool:
        """False for a retry (X-Slack-Retry-Num: Slack resends a request when our acknowledgement
        was late) of a command already received here: it runs once, so `daily on` confirms once.
        A retry whose first delivery never arrived runs."""
        trigger = str(command.get("trigger_id") or "")
        if not trigger:
            return True
        headers = getattr(request, "headers", None) or {}
        if headers.get("x-slack-retry-num") and trigger in self._seen_commands:
            return False
        self._seen_commands[trigger] = None
        while len(self._seen_commands) > SEEN_COMMANDS:
            self._seen_commands.popitem(last=False)
        return True

    # ----- Bolt handlers --------------------------------------------------------------------
    async def _on_command(self, ack, command: dict, context, client, request) -> None:
        await ack()
        if not self._first_delivery(command, request):
            log.info("ignored a repeated delivery of a /dva command", extra={"platform": PLATFORM})
            return
        respond = self._responder(command)
        await self._after(self._command(command=command, context=context, client=client, respond=respond), respond)

    async def _command(self, *, command: dict, context, client: AsyncWebClient, respond: ResponseUrl | None) -> None:
        team = context.team_id or context.enterprise_id or command.get("team_id", "")
        member = MemberRef(PLATFORM, team, command["user_id"])
        channel = ChannelRef(PLATFORM, team, command["channel_id"])
        text = unescape(command.get("text") or "")
        if needs_profile(text):
            profile = await self._profile(member, client=client, wait=COMMAND_PROFILE_TIMEOUT)
            await self.service.remember_platform_timezone(member, profile.tz)
        else:
            # Lookups, help, quiz... never wait for users.info; the profile (and its time zone)
            # arrives in the background for the member's next request.
            profile = self._profiles.peek(member) or Profile()
            self._profiles.start(member, lambda: self._fetch_profile(member, client),
                                 lambda: self._directory(member.workspace, client))
        message = await self.service.handle_command(member=member, channel=channel, text=text, is_admin=profile.is_admin)
        if message.private:
            await self._deliver_private(respond=respond, client=client, member=member, channel=channel, message=message)
            return
        await self._deliver(respond=respond, channel=channel, message=message, command=text.strip() or "help",
                            member=member)

    async def _fast_click(self, payload: dict) -> web.StreamResponse | None:
        """An answer button's click in HTTP mode, handled without Bolt's dispatch (its middleware,
        listener matching and argument injection cost about a fifth of a click's CPU in a burst):
        the same handler, with the context Bolt would build from the payload. None (Bolt's turn)
        for every other request, and for many workspaces, where Bolt's authorization finds the
        installation's token. The Gate has verified the signature and checked the payload."""
        if self._installations is not None or self._client is None or payload.get("type") != "block_actions":
            return None
        actions = payload["actions"]
        if len(actions) != 1 or not ANSWER_ACTION.match(actions[0]["action_id"]):
            return None
        context = SimpleNamespace(team_id=extract_team_id(payload), enterprise_id=extract_enterprise_id(payload),
                                  user_id=extract_user_id(payload))

        async def ack() -> None:  # the HTTP 200 below is the acknowledgement
            pass

        try:
            await self._on_answer_click(ack, payload, actions[0], context, self._client)
        except Exception:
            log.exception("Slack answer click failed", extra={"platform": PLATFORM})
            return web.Response(status=500)
        return web.Response(status=200)

    async def _on_answer_click(self, ack, body: dict, action: dict, context, client) -> None:
        parsed = parse_answer_value(str(action.get("value", "")))
        if parsed is None:
            await self._acked_reply(ack, body, Message(text=core_texts.EXPIRED))
            return
        await self._answer(ack=ack, body=body, client=client, member=self._member(body, context), post_id=parsed[0],
                           raw=parsed[1])

    async def _on_submit(self, ack, body: dict, action: dict, context, client) -> None:
        value = str(action.get("value", ""))
        post_id = parse_post_id(value)
        if post_id is None:
            await self._acked_reply(ack, body, Message(text=core_texts.EXPIRED))
            return
        letters = picked_letters(_state(body), post_id)
        if not letters:
            await self._acked_reply(ack, body, Message(text=texts.NOTHING_TICKED))
            return
        await self._answer(ack=ack, body=body, client=client, member=self._member(body, context), post_id=post_id,
                           raw=letters)

    async def _on_pick(self, ack) -> None:
        await ack()  # ticking a box only changes the state sent with Submit

    async def _acked_reply(self, ack, body: dict, message: Message) -> None:
        await ack()
        respond = self._responder(body)
        await self._after(self._respond(respond, message), respond)

    def _member(self, body: dict, context) -> MemberRef:
        team = context.team_id or context.enterprise_id or str((body.get("team") or {}).get("id") or "")
        return MemberRef(PLATFORM, team, context.user_id or str(body["user"]["id"]))

    async def _answer(self, *, ack, body: dict, client: AsyncWebClient, member: MemberRef, post_id: int, raw: str) -> None:
        """Record the answer, then acknowledge, then reply: a click Slack saw acknowledged is stored
        (or the member is told it was not), whatever happens to this process after the ack."""
        try:
            # Only a member whose time zone is not stored yet asks Slack, for the profile time zone
            # (users.info, or the workspace's directory in a burst); the store adopts it in the
            # answer's own transaction, so their later clicks ask nothing.
            tz = None
            if not await self.service.has_own_timezone(member):
                tz = (await self._profile(member, client=client, wait=PROFILE_TIMEOUT)).tz
            message = await self.service.answer(member=member, post_id=post_id, raw_choice=raw, platform_tz=tz)
        except Exception:
            log.exception("Slack answer failed", extra={"platform": PLATFORM})
            message = Message(text=texts.SOMETHING_WRONG)
        await ack()
        respond = self._responder(body)
        # In the member's DM the feedback stays (a lasting session); in a channel it is private.
        await self._after(self._respond(respond, message, lasting=_in_dm(body) and message.private), respond)

    async def _on_action(self, ack, body: dict, action: dict, context, client) -> None:
        """A feature module's button: Next, App Home's Review/Quiz/Stats, the exam's navigation. The
        core call runs before the ack (a quiz answer is recorded like any other); delivery after."""
        member = self._member(body, context)
        name, _, suffix = str(action.get("action_id", "")).partition(":")
        value = str(action.get("value") or "")
        picked = ""
        if suffix == GENERIC_SUBMIT:
            picked = ticked_letters(_state(body), value)
            if not picked:
                await self._acked_reply(ack, body, Message(text=texts.NOTHING_TICKED))
                return
        where = _channel_id(body)
        channel = ChannelRef(PLATFORM, member.workspace, where or "")
        try:
            message = await self.service.handle_action(
                member=member, channel=channel, action=name, value=value, picked=picked,
            )
        except Exception:
            log.exception("Slack action failed", extra={"platform": PLATFORM})
            message = Message(text=texts.SOMETHING_WRONG)
        await ack()
        respond = self._responder(body)
        if where is None or respond is None:
            # From the App Home tab: no message to answer under; the session goes on in the DM.
            await self._after(self._deliver_private(respond=None, client=client, member=member, channel=channel,
                                                    message=message), None)
            return
        await self._after(self._action_reply(respond=respond, client=client, member=member, where=where, body=body,
                                             message=message), respond)

    async def _action_reply(self, *, respond: ResponseUrl, client: AsyncWebClient, member: MemberRef, where: str,
                            body: dict, message: Message) -> None:
        lasting = _in_dm(body) and message.private
        await self._respond(respond, message, lasting=lasting)
        if lasting:  # a chart goes below a lasting message in the DM (also one that replaced the clicked one)
            await self._attach_chart(client=client, team=member.workspace, channel_id=where, message=message,
                                     member=member)

    async def _on_report_click(self, ack, body: dict, action: dict, context, client) -> None:
        """The Report button: a form for the reason and the member's words (views.open)."""
        await ack()
        respond = self._responder(body)
        await self._after(self._report_form(body=body, action=action, context=context, client=client,
                                            respond=respond), respond)

    async def _report_form(self, *, body: dict, action: dict, context, client: AsyncWebClient,
                           respond: ResponseUrl | None) -> None:
        question = str(action.get("value") or "")
        try:
            await client.views_open(trigger_id=body.get("trigger_id"),
                                    view=report_view(question, channel=_channel_id(body) or ""))
        except (SlackApiError, *NETWORK_ERRORS) as exc:
            # No form (scope, expired trigger): say how to report by command instead.
            log.warning("views.open failed: %s", type(exc).__name__, extra={"platform": PLATFORM})
            member = self._member(body, context)
            await self._respond(respond, await self.service.handle_action(
                member=member, channel=ChannelRef(PLATFORM, member.workspace, _channel_id(body) or ""),
                action=ACTION_REPORT, value=question,
            ))

    async def _on_report_submit(self, ack, body: dict, view: dict, context) -> None:
        """The form sent: stored through the core, then the form shows the answer (or the error)."""
        question, reason, text = submitted(view)
        member = self._member(body, context)
        assert self.service.reports is not None
        try:
            message = await self.service.reports.report_question(member, question, reason, text)
        except UsageError as exc:
            await ack(response_action="errors", errors={"reason": str(exc)[:150]})
            return
        except StudybotError:
            log.exception("report not stored", extra={"platform": PLATFORM})
            await ack(response_action="errors", errors={"reason": core_texts.NOT_RECORDED[:150]})
            return
        await ack(response_action="update", view=done_view(message.text))

    async def _on_home_opened(self, ack, event: dict, context, client) -> None:
        await ack()
        if event.get("tab") not in (None, "home"):
            return
        team = context.team_id or context.enterprise_id or ""
        member = MemberRef(PLATFORM, team, str(event.get("user") or context.user_id or ""))
        if member.user:
            await self._after(self._publish_home(member, client), None)

    async def _publish_home(self, member: MemberRef, client: AsyncWebClient) -> None:
        try:
            message = await self.service.home(member)
            blocks = render(message).blocks[:HOME_BLOCKS]
            await client.views_publish(user_id=member.user, view={"type": "home", "blocks": blocks})
        except SlackApiError as exc:
            log.warning("views.publish failed: %s", api_error_code(exc), extra={"platform": PLATFORM})
        except (*NETWORK_ERRORS, StudybotError) as exc:
            log.warning("App Home not published: %s", type(exc).__name__, extra={"platform": PLATFORM})

    # ----- the member's direct messages ---------------------------------------------------
    async def _dm_channel(self, member: MemberRef, client: AsyncWebClient) -> str:
        """The id of the member's DM with the bot (conversations.open, scope im:write), cached."""
        cached = self._dm_channels.get(member)
        if cached:
            self._dm_channels.move_to_end(member)
            return cached
        response = await client.conversations_open(users=member.user)
        channel = str((response.get("channel") or {}).get("id") or "")
        if not channel:
            raise PostError("conversations.open returned no channel", permanent=False)
        self._dm_channels[member] = channel
        while len(self._dm_channels) > DM_CACHE:
            self._dm_channels.popitem(last=False)
        return channel

    async def send_private(self, member: MemberRef, message: Message, *, client: AsyncWebClient | None = None) -> str:
        """Post a message in the member's DM with the bot; PostError when Slack refuses."""
        if client is None:
            poster = await self._poster_for(ChannelRef(PLATFORM, member.workspace, ""))
            client = poster.client
        try:
            dm = await self._dm_channel(member, client)
        except SlackApiError as exc:
            code = api_error_code(exc)
            log.warning("conversations.open failed: %s", code, extra={"platform": PLATFORM})
            raise PostError(code, permanent=not transient(code)) from exc
        except NETWORK_ERRORS as exc:
            raise PostError(f"network error ({type(exc).__name__})", permanent=False) from exc
        ts = await SlackPoster(client).post(ChannelRef(PLATFORM, member.workspace, dm), message)
        await self._attach_chart(client=client, team=member.workspace, channel_id=dm, message=message, member=member)
        return ts

    async def _send_text_private(self, member: MemberRef, message: Message, *, client: AsyncWebClient) -> str:
        return await self.send_private(member, replace(message, chart=None), client=client)

    async def _deliver_private(
        self, *, respond, client: AsyncWebClient, member: MemberRef, channel: ChannelRef, message: Message
    ) -> None:
        """A private session's message: in the DM it stays; from a channel it goes to the DM with a
        one-line pointer, or, when the DM cannot be used, ephemerally with the reason."""
        if channel.channel.startswith("D") and respond is not None:
            await self._respond(respond, message, lasting=True)
            await self._attach_chart(client=client, team=member.workspace, channel_id=channel.channel, message=message,
                                     member=member)
            return
        try:
            await self.send_private(member, message, client=client)
        except PostError as exc:
            if respond is not None:
                await self._respond(respond, replace(
                    message, footer=" ".join(filter(None, [message.footer, texts.NO_DM.format(reason=exc.reason)]))
                ))
            return
        if respond is not None:
            await self._respond(respond, Message(text=texts.SENT_TO_DM.format(bot=self.bot_name)))

    # ----- Slack calls ----------------------------------------------------------------------
    async def _profile(self, member: MemberRef, *, client: AsyncWebClient, wait: float | None) -> Profile:
        """The member's admin flag and profile time zone, cached (outbound.ProfileCache); a plain
        member when Slack does not answer within `wait` seconds."""
        return await self._profiles.get(member, lambda: self._fetch_profile(member, client), wait=wait,
                                        directory=lambda: self._directory(member.workspace, client))

    async def _slack_call(self, client: AsyncWebClient, method: str, args: dict[str, str]) -> dict:
        """A read-only Web API call over the shared session, without slack-sdk's request machinery
        (on a member's first click it cost as much CPU as the rest of the click), with the token of
        the request's client (the member's workspace). SlackCallFailed when Slack fails, whatever
        the body."""
        if self._session is None:
            raise SlackCallFailed("no session")
        try:
            async with self._session.post(f"{client.base_url}{method}", data=args,
                                          headers={"Authorization": f"Bearer {client.token}"}) as response:
                data = await response.json(content_type=None)
        except (*NETWORK_ERRORS, ValueError) as exc:
            raise SlackCallFailed(type(exc).__name__) from exc
        if not isinstance(data, dict) or not data.get("ok"):
            code = data.get("error") if isinstance(data, dict) else None
            raise SlackCallFailed(str(code or f"http_{response.status}"))
        return data

    async def _fetch_profile(self, member: MemberRef, client: AsyncWebClient) -> Profile | None:
        """users.info; None when Slack fails."""
        try:
            data = await self._slack_call(client, "users.info", {"user": member.user})
        except SlackCallFailed as exc:
            log.warning("users.info failed: %s", exc, extra={"platform": PLATFORM})
            return None
        user = data.get("user")
        return _profile_of(user, member.workspace) if isinstance(user, dict) else None

    async def _directory(self, workspace: str, client: AsyncWebClient) -> AsyncIterator[dict[MemberRef, Profile]]:
        """The workspace's members (users.list, scope users:read), a page at a time; raises
        SlackCallFailed when Slack fails (ProfileCache then asks users.info member by member)."""
        cursor = ""
        for _ in range(DIRECTORY_PAGES):
            args = {"limit": str(DIRECTORY_PAGE), **({"cursor": cursor} if cursor else {})}
            try:
                data = await self._slack_call(client, "users.list", args)
            except SlackCallFailed as exc:
                log.warning("users.list failed: %s", exc, extra={"platform": PLATFORM})
                raise
            members = data.get("members")
            yield {
                MemberRef(PLATFORM, workspace, user["id"]): _profile_of(user, workspace)
                for user in (members if isinstance(members, list) else [])
                if isinstance(user, dict) and isinstance(user.get("id"), str) and not user.get("deleted")
                and not user.get("is_bot")
            }
            metadata = data.get("response_metadata")
            cursor = str(metadata.get("next_cursor") or "") if isinstance(metadata, dict) else ""
            if not cursor:
                return

    async def _deliver(
        self, *, respond, channel: ChannelRef, message: Message, command: str, member: MemberRef | None = None,
    ) -> None:
        """Ephemeral results go back to the member; channel messages are posted with chat.postMessage,
        so a channel studybot cannot post in is noticed, reported, and its schedule paused."""
        if message.ephemeral:
            await self._respond(respond, message)
            return
        try:
            await self._post(channel, message, member=member)
        except PostError as exc:
            if not exc.permanent:
                await self._respond(respond, Message(text=texts.NOT_POSTED_YET.format(reason=exc.reason, text=message.text)))
                return
            fix = texts.fix_for(exc.reason, bot=self.bot_name, command=command)
            await self.service.subscription_failed(channel, texts.PAUSED_REASON.format(reason=exc.reason, fix=fix))
            await self._respond(respond, Message(text=texts.CANNOT_POST_HERE.format(reason=exc.reason, fix=fix)))

    async def _respond(self, respond: ResponseUrl | None, message: Message, *, lasting: bool = False) -> None:
        """Answer through response_url: ephemeral unless the core says otherwise or `lasting` (in the
        member's DM, where a session's messages should stay)."""
        if respond is None:
            log.warning("no response_url to answer through", extra={"platform": PLATFORM})
            return
        rendered = render(message)
        try:
            result = await respond(
                text=rendered.text, blocks=rendered.blocks, replace_original=message.replace,
                response_type="in_channel" if lasting or not message.ephemeral else "ephemeral",
            )
        except (*NETWORK_ERRORS, ValueError) as exc:
            log.warning("could not answer through response_url: %s", type(exc).__name__, extra={"platform": PLATFORM})
            return
        if result.status_code != 200:
            log.warning("response_url refused the answer: %s %s", result.status_code, str(result.body)[:200],
                        extra={"platform": PLATFORM})
