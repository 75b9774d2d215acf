"""A small HTTP/1.1 client for one job: POSTing JSON replies to Slack's response_url.

Every answer click costs one reply, so in a burst this is the hottest outgoing call. aiohttp's
client spends about 0.4 ms of CPU per request on this machine in its generic machinery (URL and
header objects, cookies, tracing, timers); this client writes the request bytes and reads the
status line, headers and body over kept-alive connections in about a third of that. It does only
what response_url needs: POST, a JSON body, HTTP or HTTPS (the system's CA store), Content-Length
or chunked responses, keep-alive. No proxies, redirects, cookies or compression - neither did the
aiohttp session it replaces for this call.

A kept-alive connection the server has closed meanwhile fails before any byte of the answer: the
request is sent again once, on a new connection (the server never read it). Failures raise
ConnectionError (an OSError) or TimeoutError; a malformed answer raises ValueError.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_HEAD = 16 * 1024  # bytes of status line and headers accepted
MAX_BODY = 64 * 1024  # bytes of a reply's body read (Slack answers "ok" or a short error)
IDLE_SECONDS = 30.0  # a connection idle longer than this is closed rather than reused


@dataclass(frozen=True, slots=True)
class HookReply:
    status: int
    body: bytes


@dataclass(slots=True)
class _Conn:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    idle_since: float = 0.0

    def close(self) -> None:
        self.writer.close()


class HookClient:
    """POSTs to response_url-like addresses; at most `connections` requests at once, each given up
    after `timeout` seconds (waiting for a connection included)."""

    def __init__(self, *, connections: int = 100, timeout: float = 10.0, ssl_context: ssl.SSLContext | None = None) -> None:
        self._timeout = timeout
        self._keep = connections  # kept-alive connections per host: as many as may be busy at once
        self._slots = asyncio.Semaphore(connections)
        self._idle: defaultdict[tuple[str, str, int], list[_Conn]] = defaultdict(list)
        self._ssl = ssl_context
        self._closed = False

    def _context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = ssl.create_default_context()
        return self._ssl

    async def post_json(self, url: str, body: bytes) -> HookReply:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url[:80]}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        key = (parts.scheme, parts.hostname, port)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host = parts.hostname if port in (80, 443) else f"{parts.hostname}:{port}"
        request = (
            f"POST {target} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: studybot\r\n"
            f"Content-Type: application/json; charset=utf-8\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode("ascii") + body
        async with asyncio.timeout(self._timeout), self._slots:
            conn, reused = self._take(key), True
            if conn is None:
                conn, reused = await self._open(key), False
            try:
                try:
                    reply, keep = await self._exchange(conn, request)
                except _Stale:
                    if not reused:
                        raise ConnectionError("the server closed the connection without an answer") from None
                    conn.close()
                    conn = await self._open(key)
                    reply, keep = await self._exchange(conn, request)
            except BaseException:
                conn.close()
                raise
            if keep and not self._closed:
                self._give_back(key, conn)
            else:
                conn.close()
            return reply

    def _take(self, key: tuple[str, str, int]) -> _Conn | None:
        idle = self._idle.get(key)
        now = asyncio.get_running_loop().time()
        while idle:
            conn = idle.pop()
            if now - conn.idle_since < IDLE_SECONDS and not conn.reader.at_eof() and not conn.writer.is_closing():
                return conn
            conn.close()
        return None

    def _give_back(self, key: tuple[str, str, int], conn: _Conn) -> None:
        idle = self._idle[key]
        if len(idle) >= self._keep:
            conn.close()
            return
        conn.idle_since = asyncio.get_running_loop().time()
        idle.append(conn)

    async def _open(self, key: tuple[str, str, int]) -> _Conn:
        scheme, hostname, port = key
        context = self._context() if scheme == "https" else None
        reader, writer = await asyncio.open_connection(
            hostname, port, ssl=context, server_hostname=hostname if context else None, limit=MAX_HEAD,
        )
        return _Conn(reader, writer)

    async def _exchange(self, conn: _Conn, request: bytes) -> tuple[HookReply, bool]:
        try:
            conn.writer.write(request)
            await conn.writer.drain()
            first = await conn.reader.readline()
        except (ConnectionError, asyncio.IncompleteReadError):
            raise _Stale() from None
        if not first:
            raise _Stale()
        try:
            return await self._read_answer(conn.reader, first)
        except asyncio.IncompleteReadError as exc:
            raise ConnectionError("the answer was cut short") from exc
        except asyncio.LimitOverrunError as exc:
            raise ValueError("the answer's headers are too long") from exc

    async def _read_answer(self, reader: asyncio.StreamReader, first: bytes) -> tuple[HookReply, bool]:
        version, _, rest = first.decode("latin-1").partition(" ")
        status_text = rest[:3]
        if not version.startswith("HTTP/1.") or not status_text.isdigit():
            raise ValueError(f"not an HTTP answer: {first[:60]!r}")
        status = int(status_text)
        headers: dict[str, str] = {}
        size = len(first)
        while True:
            line = await reader.readline()
            size += len(line)
            if size > MAX_HEAD:
                raise ValueError("the answer's headers are too long")
            if line in (b"\r\n", b"\n"):
                break
            if not line:
                raise asyncio.IncompleteReadError(b"", None)
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        if status in (204, 304) or 100 <= status < 200:
            return HookReply(status, b""), keep
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return HookReply(status, await self._chunked(reader)), keep
        if "content-length" in headers:
            length = int(headers["content-length"])
            if length > MAX_BODY:
                body = await reader.readexactly(MAX_BODY)
                return HookReply(status, body), False  # the rest is not read: the connection cannot be reused
            return HookReply(status, await reader.readexactly(length)), keep
        return HookReply(status, await reader.read(MAX_BODY)), False  # the body ends when the server closes

    @staticmethod
    async def _chunked(reader: asyncio.StreamReader) -> bytes:
        body = bytearray()
        while True:
            size_line = await reader.readline()
            if not size_line:
                raise asyncio.IncompleteReadError(bytes(body), None)
            size = int(size_line.split(b";", 1)[0].strip() or b"x", 16)
            if size == 0:
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):  # trailers
                    pass
                return bytes(body)
            chunk = await reader.readexactly(size + 2)
            if len(body) < MAX_BODY:
                body += chunk[:size]

    async def aclose(self) -> None:
        self._closed = True
        conns = [c for idle in self._idle.values() for c in idle]
        self._idle.clear()
        for conn in conns:
            conn.close()
        for conn in conns:
            try:
                await conn.writer.wait_closed()
            except (OSError, ssl.SSLError):
                pass


class _Stale(Exception):
    """No byte of an answer came back: on a kept-alive connection, the server had closed it."""
