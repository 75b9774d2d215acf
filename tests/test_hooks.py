"""The response_url client (bot/adapters/slack/hooks.py) against a raw local server whose every
byte the test controls: kept-alive reuse, chunked and close-delimited answers, a server that drops
an idle connection, one that never answers or answers garbage, and HTTPS with a test CA."""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl

import pytest
import trustme

from bot.adapters.slack.hooks import HookClient


class RawServer:
    """Reads each request (head + Content-Length body) and answers with `answer(n)` bytes, where n
    counts requests; `after` may close the connection after answering."""

    def __init__(self, answer, *, close_after: bool = False, ssl_context: ssl.SSLContext | None = None) -> None:
        self.answer, self.close_after, self.ssl = answer, close_after, ssl_context
        self.requests: list[tuple[bytes, bytes]] = []
        self.connections = 0
        self.writers: list[asyncio.StreamWriter] = []
        self.in_flight = self.max_in_flight = 0

    async def __aenter__(self) -> RawServer:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.ssl)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for w in self.writers:
            w.close()
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length:"))
                body = await reader.readexactly(length)
                self.requests.append((head, body))
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
                try:
                    reply = self.answer(len(self.requests))
                    if asyncio.iscoroutine(reply):
                        reply = await reply
                finally:
                    self.in_flight -= 1
                if reply is None:
                    writer.close()
                    return
                writer.write(reply)
                await writer.drain()
                if self.close_after:
                    writer.close()
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


@contextlib.asynccontextmanager
async def client(**options):
    hooks = HookClient(**options)
    try:
        yield hooks
    finally:
        await hooks.aclose()


def url(server: RawServer, path: str = "/a") -> str:
    return f"http://127.0.0.1:{server.port}{path}"


def ok(body: bytes = b"ok", extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), extra, body)


async def test_a_kept_alive_connection_carries_many_replies():
    async with RawServer(lambda n: ok(b"ok%d" % n)) as server:
        async with client() as hooks:
            replies = [await hooks.post_json(url(server, f"/actions/T1/{n}?x=1"), b'{"n": %d}' % n)
                       for n in range(3)]
    assert [(r.status, r.body) for r in replies] == [(200, b"ok1"), (200, b"ok2"), (200, b"ok3")]
    assert server.connections == 1
    head, body = server.requests[2]
    assert head.startswith(b"POST /actions/T1/2?x=1 HTTP/1.1\r\n")
    assert b"\r\nHost: 127.0.0.1:%d\r\n" % server.port in head
    assert b"Content-Type: application/json" in head and json.loads(body) == {"n": 2}


async def test_chunked_and_close_delimited_answers():
    chunked = b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nno_te\r\n4;x=y\r\nxt!!\r\n0\r\n\r\n"
    async with RawServer(lambda n: chunked) as server:
        async with client() as hooks:
            first = await hooks.post_json(url(server), b"{}")
            second = await hooks.post_json(url(server), b"{}")
    assert (first.status, first.body) == (404, b"no_text!!") == (second.status, second.body)
    assert server.connections == 1
    async with RawServer(lambda n: b"HTTP/1.0 500 Oops\r\n\r\nplain text error", close_after=True) as server:
        async with client() as hooks:
            reply = await hooks.post_json(url(server), b"{}")
            again = await hooks.post_json(url(server), b"{}")
    assert (reply.status, reply.body) == (500, b"plain text error") == (again.status, again.body)
    assert server.connections == 2  # not reused: the body ended with the connection


async def test_connection_close_is_not_reused():
    async with RawServer(lambda n: ok(extra=b"Connection: close\r\n"), close_after=True) as server:
        async with client() as hooks:
            for _ in range(3):
                assert (await hooks.post_json(url(server), b"{}")).status == 200
    assert server.connections == 3 and len(server.requests) == 3


async def test_an_idle_connection_the_server_dropped_is_replaced_and_the_reply_sent_once():
    async with RawServer(lambda n: ok()) as server:
        async with client() as hooks:
            await hooks.post_json(url(server), b"{}")
            for w in server.writers:  # the server's idle timeout
                w.close()
            await asyncio.sleep(0.05)
            reply = await hooks.post_json(url(server, "/b"), b"{}")
    assert reply.status == 200
    assert [head.split(b" ")[1] for head, _ in server.requests] == [b"/a", b"/b"]
    assert server.connections == 2


async def test_a_kept_alive_connection_closed_as_the_request_arrives_is_retried_once_on_a_new_one():
    # The keep-alive race: the server closed the idle connection just as the request went out,
    # without reading it; the client cannot tell before it writes, so it sends again, once.
    async with RawServer(lambda n: None if n == 2 else ok(b"ok%d" % n)) as server:
        async with client() as hooks:
            await hooks.post_json(url(server), b"{}")
            reply = await hooks.post_json(url(server, "/b"), b"{}")
    assert (reply.status, reply.body) == (200, b"ok3")
    assert [head.split(b" ")[1] for head, _ in server.requests] == [b"/a", b"/b", b"/b"]
    assert server.connections == 2


async def test_a_server_that_drops_a_request_on_a_new_connection_is_an_error_not_a_retry():
    async with RawServer(lambda n: None) as server:
        async with client() as hooks:
            with pytest.raises(ConnectionError):
                await hooks.post_json(url(server), b"{}")
    assert len(server.requests) == 1


async def test_silence_times_out_and_garbage_is_a_value_error():
    async def never(n):
        await asyncio.sleep(30)

    async with RawServer(never) as server:
        hooks = HookClient(timeout=0.3)
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            with pytest.raises(TimeoutError):
                await hooks.post_json(url(server), b"{}")
        finally:
            await hooks.aclose()
        assert loop.time() - started < 2
    async with RawServer(lambda n: b"SSH-2.0-OpenSSH\r\n\r\n") as server:
        async with client() as hooks:
            with pytest.raises(ValueError):
                await hooks.post_json(url(server), b"{}")
    async with RawServer(lambda n: b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort", close_after=True) as server:
        async with client() as hooks:
            with pytest.raises(ConnectionError):
                await hooks.post_json(url(server), b"{}")
    with pytest.raises(ValueError):
        await HookClient().post_json("ftp://example.com/x", b"{}")


async def test_at_most_the_given_connections_at_once():
    async def slow(n):
        await asyncio.sleep(0.05)
        return ok()

    async with RawServer(slow) as server:
        async with client(connections=3) as hooks:
            replies = await asyncio.gather(*[hooks.post_json(url(server, f"/{i}"), b"{}")
                                             for i in range(12)])
    assert all(r.status == 200 for r in replies)
    assert server.max_in_flight == 3 and server.connections == 3


async def test_https_with_the_servers_certificate_checked():
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    async with RawServer(lambda n: ok(b"secure"), ssl_context=server_ctx) as server:
        async with client(ssl_context=client_ctx) as hooks:
            replies = [await hooks.post_json(f"https://localhost:{server.port}/actions/1", b"{}") for _ in range(2)]
        assert [r.body for r in replies] == [b"secure", b"secure"] and server.connections == 1
        # A client that does not trust the test CA refuses the server.
        async with client() as stranger:
            with pytest.raises(ssl.SSLCertVerificationError):
                await stranger.post_json(f"https://localhost:{server.port}/actions/1", b"{}")
