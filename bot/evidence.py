"""What applicants send as files (photos, documents, voice notes), kept on our side.

A file arrives as a Telegram id in an answer (an ``attachments`` step, a voice answer to a
text step, a piece of an answer to a caseworker). Once the answer is stored, ``keep``
downloads the file through the channel (``Fetch``), seals it into the file store
(bot/files.py) and records which intake holds it (bot/store/files.py). A download that
fails is recorded as waiting and tried again in the background (``retry_due``): the
answer counts already and the applicant is not asked again.

Voice notes go to the transcriber, when one is set (bot/transcribe.py), off the handler's
path (an engine may take seconds while the applicant's next message waits behind it): a
task started after the download, and the background job after a restart, give each voice
note one try and keep its text sealed beside the recording.

Answers keep a small reference to the file (its kind, Telegram's unique id, size, name);
the bytes are found again through the intake and that unique id (``content``), so a
caseworker gets them from our store, not from Telegram.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from bot.files import FileMissing
from bot.store import Store
from bot.store.files import FileRow
from bot.transcribe import Transcriber

log = logging.getLogger(__name__)

MAX_BACKOFF = 3600.0  # seconds: a failed download is tried again at most this far apart


class Unfetchable(Exception):
    """The channel will never get this file (Telegram refuses it: too big for a bot, or
    no longer there): trying again would not help."""


# Telegram's file id -> the file's bytes (the channel's getFile and download).
Fetch = Callable[[str], Awaitable[bytes]]


def is_file(value: Any) -> bool:
    """Whether an answer is a file reference (a voice answer to a text step)."""
    return isinstance(value, dict) and "kind" in value and ("unique" in value or "file_id" in value)


def refs_in(value: Any) -> list[dict[str, Any]]:
    """The file references in an answer: one, a list of them (attachments), or none."""
    if is_file(value):
        return [value]
    if isinstance(value, list):
        return [v for v in value if is_file(v)]
    return []


class Evidence:
    def __init__(self, store: Store, transcriber: Transcriber | None = None) -> None:
        self.store = store
        # Off by default (bot/transcribe.py); a deployment or a test may set one.
        self.transcriber = transcriber
        self._transcribing = asyncio.Lock()
        self._hearing: asyncio.Task[int] | None = None

    async def keep(
        self, intake_id: int, ref: dict[str, Any], fetch: Fetch, *, step: str | None = None
    ) -> FileRow | None:
        """Record the file ``ref`` names on ``intake_id`` and download it now; a download
        that fails waits for ``retry_due``. Idempotent: a file already kept is left as is.
        Returns its row (``address`` None while the download waits)."""
        unique, source = ref.get("unique"), ref.get("file_id")
        if not unique or not source:
            return None
        row = await self.store.file_records.record(
            intake_id,
            str(unique),
            str(ref.get("kind") or "document"),
            step=step,
            size=_int(ref.get("size")),
            duration=_int(ref.get("duration")),
            source=str(source),
        )
        if row.address is None:
            row = await self._download(row, fetch)
        return row

    async def _download(self, row: FileRow, fetch: Fetch) -> FileRow:
        files = self.store.files
        assert files is not None and row.source is not None
        try:
            data = await fetch(row.source)
        except Unfetchable as exc:
            log.error("file %d: cannot be downloaded (%s); not tried again", row.id, exc)
            await self.store.file_records.give_up(row.id)
            return row
        except Exception as exc:
            # Never the file id or the error's text in the log: both may name the file.
            wait = min(MAX_BACKOFF, 30.0 * 2**row.tries)
            log.warning(
                "file %d: download failed (%s); trying again in %d s",
                row.id,
                type(exc).__name__,
                wait,
            )
            await self.store.file_records.retry_later(row.id, wait)
            return row
        address = files.address_of(data)
        try:
            async with self.store.files_lock:  # see Store.erase_files
                self.store.landing.add(address)
                await files.put(data)
            await self.store.file_records.stored(row.id, address)
        finally:
            self.store.landing.discard(address)
        if row.kind == "voice" and self.transcriber is not None:
            self._hear_soon()
        return replace(row, address=address, source=None)

    # -- transcription (off the handler's path: an engine may take seconds) -----------

    def _hear_soon(self) -> None:
        if self._hearing is None or self._hearing.done():
            self._hearing = asyncio.create_task(self.transcribe_due(), name="transcription")

    async def stop(self) -> None:
        task, self._hearing = self._hearing, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def transcribe_due(self) -> int:
        """Give the voice notes kept since to the transcriber (if one is set); each gets
        one try, its text sealed beside the recording. Returns how many were heard."""
        if self.transcriber is None or self.store.files is None:
            return 0
        done = 0
        async with self._transcribing:
            while rows := await self.store.file_records.unheard():
                for row in rows:
                    assert row.address is not None
                    text: str | None = None
                    try:
                        data = await self.store.files.get(row.address)
                        text = await self.transcriber.transcribe(data, "audio/ogg")
                    except Exception as exc:
                        log.warning(
                            "file %d: transcription failed (%s)", row.id, type(exc).__name__
                        )
                    await self.store.file_records.transcribed(row.id, text)
                    done += 1
        return done

    async def retry_due(self, fetch: Fetch) -> int:
        """Try the waiting downloads that are due once; returns how many arrived."""
        done = 0
        for row in await self.store.file_records.waiting():
            if (await self._download(row, fetch)).address is not None:
                done += 1
        return done

    async def row(self, intake_id: int, ref: dict[str, Any]) -> FileRow | None:
        unique = ref.get("unique")
        if not unique:
            return None
        return await self.store.file_records.find(intake_id, str(unique))

    async def content(self, intake_id: int, ref: dict[str, Any]) -> bytes | None:
        """The bytes of a file of ``intake_id`` from our store; None while its download
        waits (or when it was never kept)."""
        row = await self.row(intake_id, ref)
        if row is None or row.address is None or self.store.files is None:
            return None
        try:
            return await self.store.files.get(row.address)
        except FileMissing:
            log.error("file %d: missing from the file store", row.id)
            return None


def _int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None
