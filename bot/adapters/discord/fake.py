"""A local stand-in for Discord's REST API and gateway, shipped beside the adapter for tests and
offline runs (like httpx's MockTransport). It answers the routes studybot uses with payloads in
Discord's shapes, records every request, and builds raw interaction payloads to deliver over its
gateway, so real discord.py objects are exercised end to end without the internet.

Point discord.py at it with `discord.http.Route.BASE = fake.api_base`; GET /gateway/bot returns its
websocket URL, so an AutoShardedClient without DISCORD_SHARD_COUNT connects to it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from aiohttp import WSMsgType, web

APPLICATION_ID = 710000000000000001
BOT_ID = 710000000000000002
TIMESTAMP = "2026-03-02T10:00:00.000000+00:00"
EPHEMERAL = 64


@dataclass
class Recorded:
    method: str
    path: str  # after /api/v10
    query: dict[str, str]
    body: Any  # parsed JSON (a multipart message's payload_json), or None
    headers: dict[str, str] = field(repr=False, default_factory=dict)
    # A multipart message's files: {"field", "filename", "content_type", "data"} each, in order.
    files: list[dict[str, Any]] = field(repr=False, default_factory=list)


def _json(data: Any, *, status: int = 200) -> web.Response:
    # discord.py only parses a body whose content type is exactly application/json (no charset).
    return web.Response(body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"})


def _multipart(content_type: str, raw: bytes) -> tuple[Any, list[dict[str, Any]]]:
    """(payload_json, files) of a multipart/form-data body, as discord.py sends a message with files."""
    parsed = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw)
    body: Any = None
    files = []
    for part in parsed.iter_parts():
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True) or b""
        if name == "payload_json":
            body = json.loads(data)
        else:
            files.append({"field": name, "filename": part.get_filename(), "content_type": part.get_content_type(),
                          "data": data})
    return body, files


def user(user_id: int, name: str, *, bot: bool = False) -> dict:
    return {"id": str(user_id), "username": name, "discriminator": "0", "avatar": None, "global_name": name,
            "bot": bot, "public_flags": 0}


class FakeDiscord:
    def __init__(self, *, application_id: int = APPLICATION_ID, bot_id: int = BOT_ID) -> None:
        self.dm_channels: dict[str, str] = {}  # user id -> the id of their DM channel with the bot
        self.closed_dms: set[str] = set()  # users who do not accept DMs (Discord code 50007)
        self.application_id = application_id
        self.bot = user(bot_id, "studybot", bot=True)
        self.requests: list[Recorded] = []
        self.gateway_ops: list[int] = []
        self.messages: dict[str, dict] = {}
        self.forbidden_channels: set[str] = set()  # POST/PATCH there answer 403 Missing Permissions
        self.unknown_channels: set[str] = set()  # ... 404 Unknown Channel
        self.broken_channels: set[str] = set()  # ... 400 Invalid Form Body
        self.no_attach_channels: set[str] = set()  # a message with files there answers 403 (no Attach Files)
        self.forbidden_guilds: set[str] = set()  # command sync there answers 403 Missing Access
        self.no_threads: set[str] = set()  # channels where starting a thread answers 403 Missing Permissions
        self.no_history: set[str] = set()  # channels whose history answers 403 Missing Access
        self.rejected_tokens: set[str] = set()  # GET /users/@me with one of these answers 401
        self._ids = itertools.count(900000000000000001)
        self.threads: dict[str, dict] = {}  # thread id (= its message's id) -> parent channel and name
        self.clicked: dict[str, str] = {}  # a component interaction's id and token -> the clicked message's id
        self._sockets: list[web.WebSocketResponse] = []
        self._seq = itertools.count(1)
        self._changed = asyncio.Condition()
        self._identified = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ----- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def aclose(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    def next_id(self) -> str:
        return str(next(self._ids))

    # ----- inspection ---------------------------------------------------------------------
    def calls(self, method: str, prefix: str = "") -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path.startswith(prefix)]

    async def wait_for(self, method: str, prefix: str = "", *, count: int = 1, seconds: float = 5.0) -> list[Recorded]:
        """Wait until at least `count` matching requests were recorded; returns them all."""
        async def enough() -> list[Recorded]:
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.calls(method, prefix)) >= count)
                return self.calls(method, prefix)

        return await asyncio.wait_for(enough(), seconds)

    async def _record(self, request: web.Request) -> Recorded:
        raw = await request.read()
        body = json.loads(raw) if raw and request.content_type == "application/json" else None
        files: list[dict[str, Any]] = []
        if raw and request.content_type == "multipart/form-data":
            body, files = _multipart(request.headers["Content-Type"], raw)
        rec = Recorded(request.method, "/" + request.match_info["tail"], dict(request.query), body,
                       dict(request.headers), files)
        async with self._changed:
            self.requests.append(rec)
            self._changed.notify_all()
        return rec

    # ----- REST ---------------------------------------------------------------------------
    def message(
        self, channel_id: str, body: dict, *, message_id: str | None = None, flags: int = 0,
        files: list[dict[str, Any]] | None = None,
    ) -> dict:
        described = body.get("attachments") or []  # discord.py lists each file's name and description
        attachments = []
        for i, f in enumerate(files or []):
            about = described[i] if i < len(described) else {}
            attachments.append({
                "id": self.next_id(), "filename": f["filename"], "size": len(f["data"]),
                "content_type": f["content_type"], "url": f"https://cdn.example/{f['filename']}",
                "proxy_url": f"https://media.example/{f['filename']}",
                **({"description": about["description"]} if about.get("description") else {}),
            })
        payload = {
            "id": message_id or self.next_id(), "channel_id": str(channel_id), "type": 0,
            "content": body.get("content") or "", "author": self.bot, "attachments": attachments,
            "embeds": body.get("embeds") or [], "mentions": [], "mention_roles": [], "mention_everyone": False,
            "pinned": False, "tts": False, "timestamp": TIMESTAMP, "edited_timestamp": None,
            "flags": flags | int(body.get("flags") or 0), "components": body.get("components") or [],
        }
        if "message_reference" in body:
            payload["type"] = 19
        self.messages[payload["id"]] = payload
        return payload

    def edit(self, message_id: str, body: dict, *, files: list[dict[str, Any]] | None = None) -> dict:
        """An edit of a stored message as Discord applies it: the fields given replace the old ones;
        its attachments stay unless the edit lists `attachments` (those kept, by id, then new files)."""
        old = self.messages[message_id]
        kept = old["attachments"]
        listed = body.get("attachments")
        if listed is not None:
            ids = {str(a.get("id")) for a in listed}
            kept = [a for a in old["attachments"] if a["id"] in ids]
            listed = [a for a in listed if str(a.get("id")) not in {k["id"] for k in kept}]  # new files
        payload = self.message(old["channel_id"], {**old, **body, "attachments": listed or []},
                               message_id=message_id, files=files)
        payload["attachments"] = kept + payload["attachments"]
        payload["type"], payload["edited_timestamp"] = old["type"], TIMESTAMP
        return payload

    def _error(self, status: int, code: int, message: str) -> web.Response:
        return _json({"message": message, "code": code}, status=status)

    def _refused(self, channel_id: str) -> web.Response | None:
        if channel_id in self.unknown_channels:
            return self._error(404, 10003, "Unknown Channel")
        if channel_id in self.forbidden_channels:
            return self._error(403, 50013, "Missing Permissions")
        if channel_id in self.broken_channels:
            return self._error(400, 50035, "Invalid Form Body")
        return None

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        rec = await self._record(request)
        parts = rec.path.strip("/").split("/")
        method, body = rec.method, rec.body if isinstance(rec.body, dict | list) else {}
        match method, parts:
            case "GET", ["users", "@me"]:
                if rec.headers.get("Authorization", "").removeprefix("Bot ") in self.rejected_tokens:
                    return self._error(401, 0, "401: Unauthorized")
                return _json(self.bot)
            case "GET", ["oauth2", "applications", "@me"]:
                return _json({
                    "id": str(self.application_id), "name": "studybot", "icon": None, "description": "",
                    "bot_public": True, "bot_require_code_grant": False, "owner": user(1, "owner"),
                    "verify_key": "0" * 64, "flags": 0, "team": None,
                })
            case "GET", ["gateway", "bot"]:
                return _json({"url": self.gateway_url, "shards": 1, "session_start_limit": {
                    "total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}})
            case "PUT", ["applications", _, "commands"] | ["applications", _, "guilds", _, "commands"]:
                guild = parts[3] if len(parts) == 5 else None
                if guild in self.forbidden_guilds:
                    return self._error(403, 50001, "Missing Access")
                return _json([
                    {**cmd, "id": self.next_id(), "application_id": str(self.application_id), "version": "1",
                     "type": cmd.get("type", 1), **({"guild_id": guild} if guild else {})}
                    for cmd in body
                ])
            case "POST", ["users", "@me", "channels"]:
                recipient = str(body.get("recipient_id"))
                channel = self.dm_channels.setdefault(recipient, self.next_id())
                return _json({"id": channel, "type": 1, "last_message_id": None, "flags": 0,
                              "recipients": [user(int(recipient), f"member{recipient}")]})
            case "POST", ["channels", channel, "messages"]:
                if any(channel == dm and who in self.closed_dms for who, dm in self.dm_channels.items()):
                    return self._error(403, 50007, "Cannot send messages to this user")
                if rec.files and channel in self.no_attach_channels:
                    return self._error(403, 50013, "Missing Permissions")
                return self._refused(channel) or _json(self.message(channel, body, files=rec.files))
            case "PATCH", ["channels", channel, "messages", message_id]:
                refused = self._refused(channel)
                if refused:
                    return refused
                if message_id not in self.messages:
                    return self._error(404, 10008, "Unknown Message")
                return _json(self.message(channel, {**self.messages[message_id], **body},
                                                      message_id=message_id))
            case "GET", ["channels", channel, "messages"]:
                if channel in self.no_history:
                    return self._error(403, 50001, "Missing Access")
                after = int(rec.query.get("after") or 0)
                found = [m for m in self.messages.values() if m["channel_id"] == channel and int(m["id"]) > after]
                found.sort(key=lambda m: int(m["id"]), reverse=True)
                return _json(found[: int(rec.query.get("limit") or 50)])
            case "POST", ["channels", channel, "messages", message_id, "threads"]:
                if channel in self.no_threads:
                    return self._error(403, 50013, "Missing Permissions")
                if message_id not in self.messages:
                    return self._error(404, 10008, "Unknown Message")
                # A thread started from a message has the message's id.
                self.threads[message_id] = {"parent": channel, "name": body.get("name")}
                return _json({"id": message_id, "type": 11, "guild_id": None, "parent_id": channel,
                              "name": body.get("name") or "thread", "owner_id": self.bot["id"], "flags": 0,
                              "thread_metadata": {"archived": False, "auto_archive_duration": 1440,
                                                  "archive_timestamp": TIMESTAMP, "locked": False},
                              "message_count": 0, "member_count": 1, "rate_limit_per_user": 0})
            case "POST", ["interactions", interaction_id, _token, "callback"]:
                return _json(self._callback(interaction_id, body, files=rec.files))
            case "POST", ["webhooks", _, _token]:
                return _json(self.message("0", body, files=rec.files))
            case "PATCH", ["webhooks", _, token, "messages", "@original"] if self.clicked.get(token) in self.messages:
                # After a deferred update (type 6) the original response is the clicked message.
                return _json(self.edit(self.clicked[token], body, files=rec.files))
            case "PATCH", ["webhooks", _, _token, "messages", _]:
                return _json(self.message("0", body, files=rec.files))
        return self._error(404, 0, "404: Not Found")

    def _callback(self, interaction_id: str, body: dict, *, files: list[dict[str, Any]] | None = None) -> dict:
        kind = body.get("type")
        data = body.get("data") or {}
        flags = int(data.get("flags") or 0)
        out: dict[str, Any] = {"interaction": {
            "id": interaction_id, "type": 2, "response_message_loading": kind == 5,
            "response_message_ephemeral": bool(flags & EPHEMERAL),
        }, "resource": {"type": kind}}
        if kind == 7 and self.clicked.get(interaction_id) in self.messages:  # UPDATE_MESSAGE: the clicked one
            msg = self.edit(self.clicked[interaction_id], data, files=files)
            out["interaction"]["response_message_id"] = msg["id"]
            out["resource"]["message"] = msg
        elif kind in (4, 7):
            msg = self.message("0", data, files=files)
            out["interaction"]["response_message_id"] = msg["id"]
            out["resource"]["message"] = msg
        return out

    # ----- gateway --------------------------------------------------------------------------
    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._identified.clear()  # events wait for this connection's IDENTIFY (or RESUME)
        self._sockets.append(ws)
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": 41250}, "s": None, "t": None})
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                op = frame.get("op")
                self.gateway_ops.append(op)
                if op == 1:
                    await ws.send_json({"op": 11, "d": None, "s": None, "t": None})
                elif op == 2:
                    shard = frame["d"].get("shard") or [0, 1]
                    await self._send(ws, "READY", {
                        "v": 10, "user": self.bot, "guilds": [], "session_id": "fake-session",
                        "resume_gateway_url": self.gateway_url, "shard": shard,
                        "application": {"id": str(self.application_id), "flags": 0},
                    })
                    self._identified.set()
                elif op == 6:
                    await self._send(ws, "RESUMED", {})
                    self._identified.set()
        finally:
            if ws in self._sockets:
                self._sockets.remove(ws)
            if not self._sockets:
                self._identified.clear()
        return ws

    async def _send(self, ws: web.WebSocketResponse, event: str, data: dict) -> None:
        await ws.send_json({"op": 0, "t": event, "s": next(self._seq), "d": data})

    async def wait_identified(self, seconds: float = 5.0) -> None:
        await asyncio.wait_for(self._identified.wait(), seconds)

    async def dispatch(self, event: str, data: dict) -> None:
        """Send a gateway event to every connected shard (there is one in tests)."""
        await self.wait_identified()
        for ws in list(self._sockets):
            await self._send(ws, event, data)

    async def ask_to_reconnect(self) -> None:
        """Gateway opcode 7: the client must reconnect and resume, as after a Discord restart."""
        self._identified.clear()
        for ws in list(self._sockets):
            await ws.send_json({"op": 7, "d": None, "s": None, "t": None})

    # ----- interaction payloads ---------------------------------------------------------------
    def _interaction(
        self, *, kind: int, data: dict, guild_id: str, channel_id: str, user_id: str, permissions: int,
        app_permissions: int, channel_type: int, message: dict | None = None,
    ) -> dict:
        payload = {
            "id": self.next_id(), "application_id": str(self.application_id), "type": kind, "data": data,
            "guild_id": guild_id, "channel_id": channel_id, "token": f"token-{self.next_id()}", "version": 1,
            "app_permissions": str(app_permissions), "locale": "en-US", "guild_locale": "en-US",
            "attachment_size_limit": 8 * 1024 * 1024, "entitlements": [], "authorizing_integration_owners": {},
            "context": 0,
            "channel": {"id": channel_id, "type": channel_type, "guild_id": guild_id, "name": "study", "position": 0,
                        "permission_overwrites": [], "nsfw": False, "parent_id": None, "flags": 0},
            "member": {"user": user(int(user_id), f"member{user_id}"), "roles": [], "joined_at": TIMESTAMP,
                       "deaf": False, "mute": False, "flags": 0, "permissions": str(permissions)},
        }
        if message is not None:
            payload["message"] = message
        return payload

    def command(
        self, path: tuple[str, ...], options: dict[str, str] | None = None, *, guild_id: str, channel_id: str,
        user_id: str, permissions: int = 0, app_permissions: int = 0, channel_type: int = 0,
        command_guild_id: str | None = None, focused: str | None = None,
    ) -> dict:
        """A /dva interaction: path such as ("quiz",) or ("daily", "on"); string options; `focused`
        makes it an autocomplete request (type 4) for that option."""
        leaf = [{"type": 3, "name": k, "value": v, **({"focused": True} if k == focused else {})}
                for k, v in (options or {}).items()]
        node: dict = {"type": 1, "name": path[-1], "options": leaf}
        for group in reversed(path[:-1]):
            node = {"type": 2, "name": group, "options": [node]}
        data = {"id": self.next_id(), "name": "dva", "type": 1, "options": [node]}
        if command_guild_id:
            data["guild_id"] = command_guild_id
        return self._interaction(kind=4 if focused else 2, data=data, guild_id=guild_id, channel_id=channel_id,
                                 user_id=user_id, permissions=permissions, app_permissions=app_permissions,
                                 channel_type=channel_type)

    def modal_submit(
        self, custom_id: str, values: dict[str, str], *, guild_id: str, channel_id: str, user_id: str,
    ) -> dict:
        """A submitted modal (interaction type 5): text inputs by custom id."""
        data = {"custom_id": custom_id, "components": [
            {"type": 1, "components": [{"type": 4, "custom_id": k, "value": v}]} for k, v in values.items()
        ]}
        return self._interaction(kind=5, data=data, guild_id=guild_id, channel_id=channel_id, user_id=user_id,
                                 permissions=0, app_permissions=0, channel_type=0)

    def component(
        self, message: dict, custom_id: str, *, values: list[str] | None = None, guild_id: str | None,
        user_id: str, permissions: int = 0, app_permissions: int = 0,
    ) -> dict:
        """A click on a button (or a select submit when `values` is given) of a message studybot sent;
        `guild_id` None: a click in the member's DM with the bot (no server, no member object)."""
        data = {"custom_id": custom_id, "component_type": 3 if values is not None else 2}
        if values is not None:
            data["values"] = values
        payload = self._interaction(kind=3, data=data, guild_id=guild_id or "0", channel_id=message["channel_id"],
                                    user_id=user_id, permissions=permissions, app_permissions=app_permissions,
                                    channel_type=0 if guild_id else 1, message=message)
        self.clicked[payload["id"]] = self.clicked[payload["token"]] = message["id"]
        if guild_id is None:
            payload.pop("guild_id")
            payload["user"] = payload.pop("member")["user"]
            payload["context"] = 1
            payload["channel"] = {"id": message["channel_id"], "type": 1, "flags": 0,
                                  "recipients": [user(int(user_id), f"member{user_id}")]}
        return payload
