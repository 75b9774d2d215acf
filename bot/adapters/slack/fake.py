"""A local fake of Slack for tests and offline trials: the Web API, response_url and a Socket Mode
WebSocket on 127.0.0.1, recording every request. It checks Block Kit limits like Slack does and
answers scripted replies (a 429, an error code) before its defaults.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from bot.adapters.slack import render as limits


@dataclass
class Call:
    method: str  # a Web API method ("chat.postMessage"), "response_url" or "socket_ack"
    args: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    path: str = ""
    at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class Reply:
    body: dict[str, Any]
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before Slack sees the call (a slow network)
    raw: str | None = None  # a body that is not Slack's JSON (a proxy's error page), sent as is
    content_type: str = "text/plain"


def validate_blocks(blocks: list[dict], *, limit: int = limits.MAX_BLOCKS) -> list[str]:
    """Problems Slack would reject a message (or, with limit=100, a Home view) for."""
    problems = []
    if len(blocks) > limit:
        problems.append(f"{len(blocks)} blocks > {limit}")
    for i, block in enumerate(blocks):
        kind = block.get("type")
        if kind == "header" and len(block["text"]["text"]) > limits.MAX_HEADER:
            problems.append(f"block {i}: header over {limits.MAX_HEADER}")
        if kind == "section" and not 0 < len(block["text"]["text"]) <= limits.MAX_TEXT:
            problems.append(f"block {i}: section text of {len(block['text']['text'])} characters")
        if kind == "context":
            problems += [f"block {i}: context text too long" for e in block["elements"] if len(e["text"]) > limits.MAX_TEXT]
        if kind == "actions":
            if len(block["elements"]) > limits.MAX_ACTION_ELEMENTS:
                problems.append(f"block {i}: {len(block['elements'])} elements")
            action_ids = [e["action_id"] for e in block["elements"]]
            if len(set(action_ids)) != len(action_ids):
                problems.append(f"block {i}: duplicate action_id")
            for e in block["elements"]:
                if e["type"] == "button" and (len(e["text"]["text"]) > limits.MAX_LABEL or len(e.get("value", "")) > limits.MAX_VALUE):
                    problems.append(f"block {i}: button label or value too long")
                if e["type"] == "checkboxes":
                    if len(e["options"]) > limits.MAX_CHECKBOXES:
                        problems.append(f"block {i}: {len(e['options'])} checkboxes")
                    problems += [f"block {i}: option text too long" for o in e["options"] if len(o["text"]["text"]) > limits.MAX_LABEL]
    return problems


class FakeSlack:
    def __init__(self, *, team: str = "T1", bot_user: str = "UBOT", bot_name: str = "studybot") -> None:
        self.team, self.bot_user, self.bot_name = team, bot_user, bot_name
        self.calls: list[Call] = []
        self.users: dict[str, dict[str, Any]] = {}  # user id -> users.info "user" object
        self.closed_dms: set[str] = set()  # users whose DM with the bot cannot be opened
        self.history_scope = True  # False: conversations.history answers missing_scope
        self.views: list[dict[str, Any]] = []  # views opened (views.open), newest last
        # Many workspaces: bot token -> team (auth.test answers for that team), and OAuth codes
        # (oauth.v2.access answers with the installation of `install`).
        self.tokens: dict[str, str] = {}
        self.oauth_codes: dict[str, dict[str, Any]] = {}
        # files_upload_v2: files.getUploadURLExternal, a POST of the bytes to the upload URL, then
        # files.completeUploadExternal shares them. file id -> what was announced, sent and shared.
        self.uploads: dict[str, dict[str, Any]] = {}
        self.missing_scopes: set[str] = set()  # e.g. {"files:write"}: an older install without it
        self._file_ids = itertools.count(1)
        self._scripted: dict[str, deque[Reply]] = defaultdict(deque)
        self._ts = itertools.count(1)
        self._posted_ts: dict[int, str] = {}  # id(Call) of a chat.postMessage -> the ts it got
        self._envelopes = itertools.count(1)
        self.sockets: list[web.WebSocketResponse] = []
        self.socket_connections = 0
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{name}", self._response_url)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/ws", self._websocket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]

    async def aclose(self) -> None:
        for ws in list(self.sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, name: str = "r") -> str:
        return f"http://127.0.0.1:{self.port}/response/{name}"

    def install(self, *, code: str, team: str, bot_token: str, installer: str = "U1") -> None:
        """Let `code` be exchanged (oauth.v2.access) for an installation in `team` with `bot_token`."""
        self.tokens[bot_token] = team
        self.oauth_codes[code] = {
            "ok": True, "app_id": "A1", "authed_user": {"id": installer}, "scope": "commands,chat:write,users:read",
            "token_type": "bot", "access_token": bot_token, "bot_user_id": self.bot_user,
            "team": {"id": team, "name": f"Team {team}"}, "enterprise": None, "is_enterprise_install": False,
        }

    def script(self, method: str, *replies: Reply) -> None:
        """Answer the next calls of `method` with these replies, then with the default again."""
        self._scripted[method].extend(replies)

    def shared_files(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Uploads completed (files.completeUploadExternal) into `channel` (any when None), in order."""
        return [u for u in self.uploads.values() if u.get("channel") and (channel is None or u["channel"] == channel)]

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def responses(self, name: str | None = None) -> list[dict[str, Any]]:
        return [c.args for c in self.calls if c.method == "response_url" and (name is None or c.path.endswith(f"/{name}"))]

    async def wait_for(self, predicate: Callable[[], Any], *, within: float = 5.0) -> Any:
        """Poll until predicate() is truthy; its value, or AssertionError after `within` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            value = predicate()
            if value:
                return value
            if loop.time() > deadline:
                raise AssertionError(f"timed out; calls so far: {[c.method for c in self.calls]}")
            await asyncio.sleep(0.01)

    # ----- the Web API ------------------------------------------------------------------------
    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                args.update(await request.json())
            else:
                args.update(await request.post())
        reply = self._scripted[method].popleft() if self._scripted[method] else None
        if reply is not None and reply.delay:
            await asyncio.sleep(reply.delay)  # a slow network: Slack sees the call only after the delay
        call = Call(method, args, dict(request.headers), request.path)
        self.calls.append(call)
        if reply is not None and reply.raw is not None:
            return web.Response(text=reply.raw, status=reply.status, headers=reply.headers,
                                content_type=reply.content_type)
        if reply is not None:
            return web.json_response(reply.body, status=reply.status, headers=reply.headers)
        body = self._default(method, args, request.headers)
        if method == "chat.postMessage" and body.get("ok"):
            self._posted_ts[id(call)] = body["ts"]
        return web.json_response(body)

    def _default(self, method: str, args: dict[str, Any], headers: Any) -> dict[str, Any]:
        if method == "auth.test":
            token = str(args.get("token") or headers.get("Authorization", "").removeprefix("Bearer "))
            if self.tokens and token not in self.tokens:
                return {"ok": False, "error": "invalid_auth"}
            return {"ok": True, "user_id": self.bot_user, "user": self.bot_name, "team_id": self.tokens.get(token, self.team),
                    "bot_id": "B1", "team": "Test team", "url": "https://test.slack.com/"}
        if method == "oauth.v2.access":
            return self.oauth_codes.get(str(args.get("code")), {"ok": False, "error": "invalid_code"})
        if method in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
            problems = validate_blocks(_as_list(args.get("blocks")))
            if problems:
                return {"ok": False, "error": "invalid_blocks", "errors": problems}
            ts = args.get("ts") or f"1700000000.{next(self._ts):06d}"
            return {"ok": True, "channel": args.get("channel"), "ts": ts, "message": {"text": args.get("text")}}
        if method == "users.info":
            user = self.users.get(str(args.get("user")))
            return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}
        if method == "users.list":
            ids = sorted(self.users)
            start = int(args.get("cursor") or 0)
            limit = int(args.get("limit") or 0) or len(ids)
            page = ids[start : start + min(limit, 1000)]
            more = start + len(page) < len(ids)
            return {"ok": True, "members": [self.users[u] for u in page],
                    "response_metadata": {"next_cursor": str(start + len(page)) if more else ""}}
        if method == "conversations.open":
            user = str(args.get("users") or "")
            if user in self.closed_dms:
                return {"ok": False, "error": "cannot_dm_bot"}
            return {"ok": True, "channel": {"id": f"D{user}"}}
        if method == "views.publish":
            view = args.get("view")
            view = json.loads(view) if isinstance(view, str) else (view or {})
            blocks = list(view.get("blocks") or [])
            problems = validate_blocks(blocks, limit=100)
            if problems or view.get("type") != "home":
                return {"ok": False, "error": "invalid_arguments", "errors": problems}
            return {"ok": True, "view": {"id": "V1", "type": "home"}}
        if method == "conversations.history":
            if not self.history_scope:
                return {"ok": False, "error": "missing_scope", "needed": "channels:history"}
            return {"ok": True, "messages": self.history(str(args.get("channel")), float(args.get("oldest") or 0)),
                    "has_more": False}
        if method == "views.open":
            view = args.get("view")
            view = json.loads(view) if isinstance(view, str) else (view or {})
            if not args.get("trigger_id") or view.get("type") != "modal":
                return {"ok": False, "error": "invalid_arguments"}
            self.views.append(view)
            return {"ok": True, "view": {"id": f"V{len(self.views)}", **view}}
        if method in ("files.getUploadURLExternal", "files.completeUploadExternal"):
            if "files:write" in self.missing_scopes:
                return {"ok": False, "error": "missing_scope", "needed": "files:write",
                        "provided": "commands,chat:write,users:read,im:write"}
            return self._files(method, args)
        if method == "apps.connections.open":
            return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/ws"}
        return {"ok": False, "error": "unknown_method"}

    def history(self, channel: str, oldest: float = 0.0) -> list[dict[str, Any]]:
        """The channel's top-level messages posted through the fake, newest first, as
        conversations.history returns them (with their metadata and blocks). The fake's ts are
        counters, not times, so `oldest` is accepted and not applied."""
        out = []
        for call in self.calls_to("chat.postMessage"):
            args = call.args
            if args.get("channel") != channel or args.get("thread_ts"):
                continue
            ts = self._posted_ts.get(id(call))
            if ts is None:
                continue
            meta = args.get("metadata")
            out.append({"type": "message", "ts": ts, "text": args.get("text"), "blocks": _as_list(args.get("blocks")),
                        **({"metadata": json.loads(meta) if isinstance(meta, str) else meta} if meta else {})})
        return list(reversed(out))

    def _files(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "files.getUploadURLExternal":
            length = str(args.get("length") or "")
            if not args.get("filename") or not length.isdigit():
                return {"ok": False, "error": "invalid_arguments"}
            file_id = f"F{next(self._file_ids):08d}"
            self.uploads[file_id] = {"id": file_id, "filename": args["filename"], "length": int(length),
                                     "alt_txt": args.get("alt_txt"), "data": None, "channel": None}
            return {"ok": True, "file_id": file_id, "upload_url": f"http://127.0.0.1:{self.port}/upload/{file_id}"}
        files = args.get("files")
        files = json.loads(files) if isinstance(files, str) else (files or [])
        shared = []
        for f in files:
            upload = self.uploads.get(str(f.get("id")))
            if upload is None or upload["data"] is None:
                return {"ok": False, "error": "file_not_found"}
            upload.update(channel=args.get("channel_id"), title=f.get("title"),
                          initial_comment=args.get("initial_comment"), thread_ts=args.get("thread_ts"))
            shared.append({"id": upload["id"], "name": upload["filename"], "title": f.get("title"),
                           "mimetype": "image/png", "size": len(upload["data"])})
        return {"ok": True, "files": shared}

    async def _upload(self, request: web.Request) -> web.Response:
        """The upload URL: Slack takes the file's bytes (raw or multipart) and answers 200."""
        file_id = request.match_info["file_id"]
        data = await request.read()
        self.calls.append(Call("upload", {"file_id": file_id, "size": len(data)}, dict(request.headers), request.path))
        upload = self.uploads.get(file_id)
        if upload is None:
            return web.Response(status=404, text="unknown upload")
        if len(data) != upload["length"]:
            return web.Response(status=400, text=f"expected {upload['length']} bytes, got {len(data)}")
        upload["data"] = data
        return web.Response(text=f"OK - {len(data)}")

    async def _response_url(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.calls.append(Call("response_url", body, dict(request.headers), request.path))
        if validate_blocks(body.get("blocks") or []):
            return web.Response(status=400, text="invalid_blocks")
        return web.Response(text="ok")

    # ----- Socket Mode --------------------------------------------------------------------------
    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.sockets.append(ws)
        self.socket_connections += 1
        await ws.send_str(json.dumps({"type": "hello", "num_connections": 1}))
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self.calls.append(Call("socket_ack", json.loads(msg.data), path="/ws"))
        finally:
            if ws in self.sockets:
                self.sockets.remove(ws)
        return ws

    async def send_envelope(self, kind: str, payload: dict[str, Any]) -> str:
        """Push an event over the newest socket, as Slack does; returns its envelope id."""
        envelope_id = f"env-{next(self._envelopes)}"
        await self.sockets[-1].send_str(json.dumps({
            "envelope_id": envelope_id, "type": kind, "payload": payload, "accepts_response_payload": kind != "events_api",
        }))
        return envelope_id

    def drop_sockets(self) -> None:
        """Cut every socket without a close frame, like a network failure."""
        for ws in list(self.sockets):
            transport = ws._req.transport if ws._req is not None else None  # noqa: SLF001 - simulating a cut cable
            if transport is not None:
                transport.abort()
        self.sockets.clear()


def _as_list(blocks: Any) -> list[dict]:
    if isinstance(blocks, str):
        return json.loads(blocks)
    return list(blocks or [])
