"""The commands each reader may use, and what each does: one table for the "/" menu a
channel shows and for /help, so that the two cannot drift apart.

Everyone may use the applicants' commands (staff apply too); each role adds its own.
Whether a command really works for someone is decided where it runs, in the database at
that moment (bot/administration.py, bot/casework/); this table only says what to offer,
and tests/test_security.py holds it to the handlers the channel registers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.i18n_marks import N_
from bot.store.roles import ROLES

__all__ = ["BY_ROLE", "EVERYONE", "ROLE_TITLES", "Command", "for_roles", "sections"]


@dataclass(frozen=True)
class Command:
    """A command: its name (without the slash), what it does in a few words (marked for
    translation, shown in the menu and in /help), and what /help shows after the name for
    one that takes words after it (``USER_ID ROLE``)."""

    name: str
    about: str
    usage: str = ""


EVERYONE: tuple[Command, ...] = (
    Command("start", N_("begin, or go on with your application")),
    Command("status", N_("see your applications and where they are")),
    Command("cancel", N_("stop the application in progress")),
    Command("language", N_("choose the language")),
    Command("mydata", N_("get a copy of everything we hold about you")),
    Command("correct", N_("ask for a correction of an application you sent")),
    Command("delete", N_("delete your data")),
    Command("help", N_("what each command does")),
)

_STATS = Command("stats", N_("figures: applications, decisions and amounts"))
_EXPORT = Command(
    "export",
    N_("applications as an Excel file, for reports"),
    "[FROM TO] [REGION] [STATUS] [csv] [sensitive]",
)

_FIND = Command(
    "find",
    N_("find applications by name, phone number, its last 4 digits or ID number"),
    "TEXT",
)

#: What each role adds, in the order of ``ROLES``.
BY_ROLE: dict[str, tuple[Command, ...]] = {
    "caseworker": (
        Command(
            "queue",
            N_("open applications, most urgent first"),
            "[FILTER]",
        ),
        Command("mine", N_("applications you have claimed")),
        Command("open", N_("an application by its reference"), "ABC-DEF"),
        _FIND,
        _STATS,
        _EXPORT,
    ),
    "supervisor": (
        Command("queue", N_("open applications of your regions, and who holds each")),
        Command("assign", N_("give an application to a caseworker"), "ABC-DEF USER_ID"),
        Command("open", N_("an application by its reference"), "ABC-DEF"),
        _FIND,
        _STATS,
        _EXPORT,
    ),
    "partner": (
        Command("referrals", N_("referrals and help measures for you")),
        Command("clue", N_("send a clue to the procuratorate")),
    ),
    "admin": (
        Command(
            "grant", N_("give a role: caseworker, supervisor, partner or admin"), "USER_ID ROLE"
        ),
        Command("revoke", N_("take a role away"), "USER_ID ROLE"),
        Command("roles", N_("who has which role")),
        Command("flow", N_("the current interview, as a file to edit and send back")),
        Command("flows", N_("the interview's versions, and going back to an earlier one")),
        Command("expiry", N_("how many days unfinished applications wait")),
        _STATS,
        _EXPORT,
    ),
}

#: The heading of each role's part of /help.
ROLE_TITLES: dict[str, str] = {
    "caseworker": N_("For caseworkers"),
    "supervisor": N_("For supervisors"),
    "partner": N_("For liaisons of partner bodies"),
    "admin": N_("For admins"),
}


def sections(roles: Iterable[str]) -> list[tuple[str | None, tuple[Command, ...]]]:
    """/help's parts: everyone's commands (no heading), then each role held, in the order
    of ``ROLES``, each command once (a caseworker who is also an admin sees /stats once)."""
    held = set(roles)
    out: list[tuple[str | None, tuple[Command, ...]]] = [(None, EVERYONE)]
    seen = {c.name for c in EVERYONE}
    for role in ROLES:
        if role not in held:
            continue
        new = tuple(c for c in BY_ROLE[role] if c.name not in seen)
        seen |= {c.name for c in new}
        if new:
            out.append((ROLE_TITLES[role], new))
    return out


def for_roles(roles: Iterable[str]) -> list[Command]:
    """The menu of someone holding ``roles``: what their roles add first (what they open
    the menu for), then everyone's; exactly the commands /help lists for them."""
    parts = sections(roles)
    return [c for _title, cmds in parts[1:] for c in cmds] + list(parts[0][1])
