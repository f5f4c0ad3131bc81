"""The applicants' views last read or written, so that an answer need not read back what
the bot itself has just stored.

Every answer begins by reading the applicant's view (their language and open draft,
``IntakeStore.load_for_applicant``) and ends by storing the draft's new state. Keeping the
view the answer produced saves the next answer's read: under load, a round trip to
SQLite's thread on almost every update (bench/README.md, "The echo ratio").

A kept view is only ever served while nothing can have changed it since it was read or
written. Every write tells ``Views`` whose view it may have changed (``Database``'s
``touches``): one applicant (only their view is dropped), no one (the outbox, the audit
log), or anyone (the default, for everything else: every view is dropped). Each change
and each read gets a number from one clock, and a view is served only if no change that
may touch it came after its own number. A change is counted once its commit is visible,
so a read that overlaps a write is never kept past it. Views are bounded (least recently
used first out), and so is the memory of who changed when: a forgotten change counts as
having touched everyone then. State still lives in SQLite: losing every view costs one
read each, nothing else.

Only this process's writes are seen: an instance among several on one PostgreSQL database
keeps none (``disable``, telegram_channel/app.py). The other programs that open the database change no
applicant's view: the CLI's flow and role commands write flows and roles, and
``intake-bot try`` answers as its own made-up user.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Generic, TypeVar

V = TypeVar("V")

VIEWS = 2048  # kept views: more than the applicants who answer at the same moment
CHANGES = 8192  # remembered per-applicant changes


@dataclass(frozen=True)
class Writing:
    """One applicant's write in progress (from ``Views.writing``)."""

    user_id: int
    started: int  # the change counted when it began
    fresh: bool  # the view it was worked out from was still current when it began


class Views(Generic[V]):
    def __init__(self, size: int = VIEWS, changes: int = CHANGES) -> None:
        self._size = size
        self._changes_size = changes
        self._clock = 0
        self._views: OrderedDict[int, tuple[int, V]] = OrderedDict()  # user -> (number, view)
        self._changed: OrderedDict[int, int] = OrderedDict()  # user -> number of last change
        self._forgotten = 0  # the newest change no longer remembered per applicant
        self._everyone = 0  # the last change that may have touched anyone
        self._held = False  # a write may still land unseen: keep nothing (``hold``)

    def disable(self) -> None:
        """Keep no view from now on: for an instance among several on one PostgreSQL
        database, where the others' writes are not seen here."""
        self._size = 0
        self.changed(None)

    def __len__(self) -> int:
        return len(self._views)

    def _tick(self) -> int:
        self._clock += 1
        return self._clock

    def _last_change(self, user_id: int) -> int:
        own = self._changed.get(user_id, self._forgotten)
        return own if own > self._everyone else self._everyone

    def get(self, user_id: int) -> V | None:
        """The kept view, if nothing may have changed it since."""
        kept = self._views.get(user_id)
        if kept is None:
            return None
        if self._last_change(user_id) > kept[0]:
            del self._views[user_id]
            return None
        self._views.move_to_end(user_id)
        return kept[1]

    def reading(self) -> int:
        """Before a read: its number, for ``keep``."""
        return self._tick()

    def current(self, user_id: int, number: int) -> bool:
        """Whether nothing may have changed this applicant's view since ``number``."""
        return self._last_change(user_id) < number

    def keep(self, user_id: int, number: int, view: V) -> None:
        """Keep what a read numbered ``number`` saw (``get`` serves it only while no change
        came after that number)."""
        if self._held:
            return
        self._views[user_id] = (number, view)
        self._views.move_to_end(user_id)
        if len(self._views) > self._size:
            self._views.popitem(last=False)

    def changed(self, user_id: int | None) -> int:
        """A write touching ``user_id``'s view (None: possibly anyone's) is now visible."""
        number = self._tick()
        if user_id is None:
            self._everyone = number
            self._views.clear()
            return number
        self._views.pop(user_id, None)
        self._changed[user_id] = number
        self._changed.move_to_end(user_id)
        if len(self._changed) > self._changes_size:
            _, oldest = self._changed.popitem(last=False)
            self._forgotten = max(self._forgotten, oldest)
        return number

    def hold(self) -> None:
        """A write was interrupted (cancelled) and may still land later, unseen: drop every
        view and keep none until ``release``."""
        self._held = True
        self.changed(None)

    def release(self) -> None:
        """The interrupted write has landed or never will (the writer finished a later one)."""
        if self._held:
            self._held = False
            self.changed(None)

    def writing(self, user_id: int, seen: int = 0) -> Writing:
        """Before a write to ``user_id``'s view; ``seen`` is the number of the view the
        write was worked out from (0: none)."""
        fresh = seen > 0 and self.current(user_id, seen)
        return Writing(user_id, self.changed(user_id), fresh)

    def written(self, writing: Writing, applied: bool) -> int | None:
        """After the write (its commit visible, or it failed): the number for the view it
        produced if that view may be kept (the write ``applied``, its base was current,
        and nothing else touched the view meanwhile), else None."""
        clean = applied and writing.fresh and self._last_change(writing.user_id) == writing.started
        self.changed(writing.user_id)
        return self._tick() if clean else None
