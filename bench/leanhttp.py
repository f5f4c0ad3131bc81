"""A what-if, not something the bot uses: Bot API calls over bare asyncio streams.

``--what-if transport=lean`` gives the bot under test this ``telegram.request.BaseRequest``
for its Bot API calls (getUpdates keeps PTB's httpx request) to show how much of a reply's
cost is httpx/httpcore rather than the bot. It speaks only what the bench's fake needs:
plain HTTP/1.1 with keep-alive, form-encoded bodies, ``Content-Length`` responses. No TLS, no
uploads, so it cannot talk to Telegram; a production equivalent would be an aiohttp-based
request class (PTB documents custom ``BaseRequest`` subclasses).
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode, urlsplit

from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

TIMEOUT = 30.0


class LeanRequest(BaseRequest):
    def __init__(self, connections: int = 256) -> None:
        self._free: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._slots = asyncio.Semaphore(connections)

    @property
    def read_timeout(self) -> float | None:
        return TIMEOUT

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        while self._free:
            _reader, writer = self._free.pop()
            writer.close()

    async def do_request(  # type: ignore[override]
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        *args: object,
        **kwargs: object,
    ) -> tuple[int, bytes]:
        if request_data is not None and request_data.contains_files:
            raise NetworkError("the lean what-if transport does not upload files")
        parts = urlsplit(url)
        body = urlencode(request_data.json_parameters).encode() if request_data else b""
        head = (
            f"{method} {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        async with self._slots:
            if self._free:
                reader, writer = self._free.pop()
            else:
                reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
            try:
                writer.write(head + body)
                status, payload = await asyncio.wait_for(self._response(reader), TIMEOUT)
            except TimeoutError as exc:
                writer.close()
                raise TimedOut() from exc
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                writer.close()
                raise NetworkError(f"lean transport: {exc!r}") from exc
            except BaseException:
                writer.close()
                raise
            self._free.append((reader, writer))
            return status, payload

    @staticmethod
    async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        payload = await reader.readexactly(length) if length else b""
        return status, payload
