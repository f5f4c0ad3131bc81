"""Admins changing the interview from their phone: upload, check, compare, publish, roll back.

An uploaded file is validated in full before anything else; a valid one is kept
as an upload (not a version) until the admin taps Publish, so the summary they
read is exactly what gets published. Applicants mid-interview are never moved:
their drafts keep the version they started on.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.flow.diff import FlowDiff, diff
from bot.flow.loader import MAX_FILE_BYTES, FlowError, Problem
from bot.flow.model import Flow
from bot.flow.sandbox import FlowChecker
from bot.flow.values import clean_text, strip_bidi
from bot.i18n_marks import N_
from bot.store import Store
from bot.store.flows import FlowNotFound, FlowVersion

YAML_SUFFIXES = (".yaml", ".yml")


class NotAdmin(Exception):
    pass


@dataclass(frozen=True)
class Checked:
    """A valid upload, compared with the current version of the same flow id."""

    upload_id: int
    flow: Flow
    current: Flow | None
    changes: FlowDiff | None
    drafts_on_current: int


def is_flow_file(file_name: str | None, mime_type: str | None) -> bool:
    name = (file_name or "").lower()
    return name.endswith(YAML_SUFFIXES) or (mime_type or "") in (
        "application/yaml",
        "application/x-yaml",
        "text/yaml",
        "text/x-yaml",
    )


class FlowAdmin:
    def __init__(self, store: Store, checker: FlowChecker | None = None) -> None:
        self.store = store
        # Uploads are checked in a child process with a time and memory budget, never on
        # the bot's own loop: see bot/flow/sandbox.py.
        self.checker = checker or FlowChecker()

    async def is_admin(self, user_id: int) -> bool:
        return await self.store.roles.has(user_id, "admin")

    async def require(self, actor: int) -> None:
        if not await self.is_admin(actor):
            raise NotAdmin()

    def too_large(self, size: int | None) -> bool:
        return size is None or size > MAX_FILE_BYTES

    async def check(self, actor: int, data: bytes) -> Checked:
        """Validate an uploaded file; raise FlowError with every problem and its line.

        Raises CheckStopped (bot.flow.sandbox) when checking the file went over its time
        or memory budget: the bot went on serving everyone else meanwhile.
        """
        await self.require(actor)
        if len(data) > MAX_FILE_BYTES:
            raise FlowError(
                [
                    Problem(
                        1,
                        N_("the file is too large (at most {kb} KB)"),
                        {"kb": MAX_FILE_BYTES // 1024},
                    )
                ]
            )
        if b"\x00" in data:
            raise FlowError([Problem(1, N_("the file is not UTF-8 text"))])
        try:
            source = data.decode("utf-8")
        except UnicodeDecodeError:
            raise FlowError([Problem(1, N_("the file is not UTF-8 text"))]) from None
        flow = await self.checker.check(source)
        upload_id = await self.store.flows.upload(actor, source)
        current_version = await self.store.flows.current_version(flow.id)
        if current_version is None:
            return Checked(upload_id, flow, None, None, 0)
        current = await self.store.flows.get(flow.id, current_version)
        drafts = await self.store.flows.drafts_on(flow.id, current_version)
        return Checked(upload_id, flow, current, diff(current, flow), drafts)

    async def publish(
        self, actor: int, upload_id: int, name: str | None = None, telegram_lang: str | None = None
    ) -> Flow:
        """Publish an upload; ``name`` is how the admin goes by, so the list of versions
        says who published each (a user id means nothing to the next admin)."""
        await self.require(actor)
        name = clean_text(name or "")[:64]
        if name:
            await self.store.users.saw(actor, telegram_lang)
            await self.store.users.set_display_name(actor, name)
        found = await self.store.flows.uploaded(upload_id)
        if found is None:
            raise FlowNotFound(f"upload {upload_id}")
        source = found[1]
        try:
            active = await self.store.flows.active()
        except FlowNotFound:
            active = None
        if active is not None and source == await self.store.flows.source(
            active.id, active.version
        ):
            # Publish tapped twice (or this very file is what is in use already): one
            # version, not two identical ones.
            return active
        return await self.store.flows.publish(source, by=actor)

    async def versions(self, actor: int) -> list[FlowVersion]:
        await self.require(actor)
        return await self.store.flows.versions()

    async def publisher(self, user_id: int) -> str | None:
        """What to call the admin who published a version: the name they go by, else
        the label of their admin role; None when neither is known."""
        name = await self.store.users.display_name(user_id)
        if name:
            return strip_bidi(name)
        for grant in await self.store.roles.grants("admin"):
            if grant.user_id == user_id and grant.label:
                return strip_bidi(grant.label)
        return None

    async def version_at(self, actor: int, rowid: int) -> tuple[str, int]:
        """The flow id and version of a published row, to ask before rolling back to it."""
        await self.require(actor)
        found = await self.store.flows.by_rowid(rowid)
        if found is None:
            raise FlowNotFound(f"flow {rowid}")
        return found

    async def rollback(self, actor: int, rowid: int) -> tuple[str, int]:
        await self.require(actor)
        found = await self.store.flows.by_rowid(rowid)
        if found is None:
            raise FlowNotFound(f"flow {rowid}")
        await self.store.flows.rollback(found[0], found[1], by=actor)
        return found

    async def export(self, actor: int) -> tuple[Flow, str]:
        await self.require(actor)
        flow = await self.store.flows.active()
        return flow, await self.store.flows.source(flow.id, flow.version)
