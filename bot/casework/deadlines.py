"""The two deadlines of an intake, as the 12309 service promises them: a first
(procedural) reply within ``first_reply_days`` and a result within ``decision_days``,
both counted from submission.

The first reply is given when a caseworker takes the intake up (its status leaves
``submitted``: the applicant is told it is being looked at); the result when it is
decided. What is due is worked out here once, for the queue's marks, its "overdue"
filter and the morning digest alike.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from bot.i18n import Tr
from bot.i18n_marks import N_
from bot.store.intakes import OPEN_STATUSES

# An intake is "due soon" this many days before its deadline.
DUE_SOON_DAYS = 2


class Deadline(StrEnum):
    FIRST_REPLY = "first_reply"
    DECISION = "decision"


@dataclass(frozen=True)
class Due:
    """The next deadline an open intake has to meet, and where it stands ``now``."""

    deadline: Deadline
    at: dt.datetime  # UTC
    overdue: bool
    soon: bool  # not overdue yet, but within DUE_SOON_DAYS
    days: int = 0  # ``days_left`` at the moment it was worked out for

    def days_left(self, now: dt.datetime) -> int:
        """Whole days until the deadline (negative: days past it)."""
        return _days_left(self.at, now)


def _days_left(at: dt.datetime, now: dt.datetime) -> int:
    # An hour past it is a day overdue: "overdue 0 days" would read as not overdue.
    return (at - now).days if at > now else -((now - at).days or 1)


def parse_at(stamp: str) -> dt.datetime:
    """A stored timestamp (``now_iso``) as an aware UTC datetime."""
    return dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)


def _iso(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def due(
    status: str,
    submitted_at: str | None,
    now: dt.datetime,
    *,
    first_reply_days: int,
    decision_days: int,
) -> Due | None:
    """The deadline an intake in ``status`` must meet next; None once decided (or never
    sent)."""
    if status not in OPEN_STATUSES or not submitted_at:
        return None
    sent = parse_at(submitted_at)
    if status == "submitted":
        deadline, at = Deadline.FIRST_REPLY, sent + dt.timedelta(days=first_reply_days)
    else:
        deadline, at = Deadline.DECISION, sent + dt.timedelta(days=decision_days)
    overdue = now >= at
    soon = not overdue and at - now <= dt.timedelta(days=DUE_SOON_DAYS)
    return Due(deadline, at, overdue, soon, _days_left(at, now))


def overdue_where(
    now: dt.datetime, *, first_reply_days: int, decision_days: int, column: str = "i"
) -> tuple[str, list[str]]:
    """An SQL condition for open intakes past a deadline ``now`` (``column`` is the intakes
    table's alias in our own query, never input), and its parameters."""
    first = _iso(now - dt.timedelta(days=first_reply_days))
    decision = _iso(now - dt.timedelta(days=decision_days))
    marks = ",".join("?" * len(OPEN_STATUSES))
    sql = (
        f"({column}.status IN ({marks}) AND (({column}.status = 'submitted'"
        f" AND {column}.submitted_at <= ?) OR {column}.submitted_at <= ?))"
    )
    return sql, [*OPEN_STATUSES, first, decision]


def due_where(
    now: dt.datetime, *, first_reply_days: int, decision_days: int, column: str = "i"
) -> tuple[str, list[str]]:
    """An SQL condition for open intakes past a deadline or due soon ``now`` (within
    DUE_SOON_DAYS): what the morning digest lists. A deadline is that near exactly when it
    is passed DUE_SOON_DAYS later."""
    return overdue_where(
        now + dt.timedelta(days=DUE_SOON_DAYS),
        first_reply_days=first_reply_days,
        decision_days=decision_days,
        column=column,
    )


# What is due, as staff read it: the 12309 service's two promises.
DEADLINE_NAMES = {
    Deadline.FIRST_REPLY: N_("first reply"),
    Deadline.DECISION: N_("decision"),
}


def due_text(tr: Tr, due: Due) -> str:
    """How far an intake is from its deadline, and which: "⚠️ overdue 3 days · first
    reply", "⏳ due in 2 days · decision"; "" when it is neither overdue nor due soon."""
    if due.overdue:
        n = -due.days
        when = "⚠️ " + tr.ngettext("overdue {n} day", "overdue {n} days", n).format(n=tr.count(n))
    elif due.soon and due.days > 0:
        when = "⏳ " + tr.ngettext("due in {n} day", "due in {n} days", due.days).format(
            n=tr.count(due.days)
        )
    elif due.soon:
        when = "⏳ " + tr.gettext("due within a day")
    else:
        return ""
    return when + " · " + tr.gettext(DEADLINE_NAMES[due.deadline])
