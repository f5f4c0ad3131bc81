"""A bare HTTP/1.1 server on 127.0.0.1 for the transport tests, answered by a script.

The end-to-end tests use tests/fakebot.py; these tests need what it hides: how many
connections were opened, the exact request line and headers, answers framed, delayed,
cut or garbled on purpose.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable

# Gets the writer, one request (head and body) and its number from 1; False ends the connection.
Answer = Callable[[asyncio.StreamWriter, bytes, int], Awaitable[bool]]


def framed(body: bytes, *extra: bytes) -> bytes:
    """A 200 answer with a Content-Length (and any ``extra`` header lines)."""
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    head += b"".join(h + b"\r\n" for h in extra)
    return head + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body


def parse(request: bytes) -> tuple[str, dict[str, str], bytes]:
    """Request line, headers (lower-case names) and body of a request the server kept."""
    head, _, body = request.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip()
    return lines[0], headers, body


class Server:
    """Keeps every request and the number of connections; ``answer`` replies as it likes."""

    def __init__(self, answer: Answer, tls: ssl.SSLContext | None = None) -> None:
        self.answer = answer
        self.tls = tls
        self.requests: list[bytes] = []
        self.connections = 0
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> Server:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(parse(head)[1].get("content-length", "0"))
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                if not await self.answer(writer, request, len(self.requests)):
                    break
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
