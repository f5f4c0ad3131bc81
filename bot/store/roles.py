"""Who may do what: caseworkers, supervisors, partners (agriculture department liaisons),
admins; and over which regions (bot/regions.py).

Checked in the database at the moment of every privileged action, whatever
button or command carried it, so a revoked role or a narrowed region stops working at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.regions import EVERYWHERE, NOWHERE, Scope, codes
from bot.store.audit import record
from bot.store.backend import Backend
from bot.store.db import now_iso

ROLES = ("caseworker", "supervisor", "partner", "admin")


@dataclass(frozen=True)
class Grant:
    user_id: int
    role: str
    label: str | None
    granted_at: str
    from_config: bool = False
    regions: tuple[str, ...] = ()  # the division codes it covers; none: every region
    kind: str | None = None  # a partner's kind of body (bot/casework/plans.py BODY_KINDS)

    @property
    def scope(self) -> Scope:
        return Scope(frozenset(self.regions)) if self.regions else EVERYWHERE


class RoleStore:
    def __init__(self, db: Backend, admin_ids: frozenset[int] = frozenset()) -> None:
        self._db = db
        self.admin_ids = admin_ids

    async def roles_of(self, user_id: int) -> set[str]:
        rows = await self._db.fetchall("SELECT role FROM roles WHERE user_id = ?", (user_id,))
        roles = {r["role"] for r in rows}
        if user_id in self.admin_ids:
            roles.add("admin")
        return roles

    async def has(self, user_id: int, role: str) -> bool:
        if role == "admin" and user_id in self.admin_ids:
            return True
        row = await self._db.fetchone(
            "SELECT 1 FROM roles WHERE user_id = ? AND role = ?", (user_id, role)
        )
        return row is not None

    async def scope(self, user_id: int, role: str) -> Scope:
        """The regions ``user_id`` covers in ``role``: none at all without the role."""
        return (await self.scopes(user_id)).get(role, NOWHERE)

    async def scopes(self, user_id: int) -> dict[str, Scope]:
        """Each role the person holds, with the regions it covers."""
        rows = await self._db.fetchall(
            "SELECT r.role, g.prefix FROM roles r LEFT JOIN role_regions g"
            " ON g.user_id = r.user_id AND g.role = r.role WHERE r.user_id = ?",
            (user_id,),
        )
        prefixes: dict[str, set[str]] = {}
        for r in rows:
            got = prefixes.setdefault(r["role"], set())
            if r["prefix"] is not None:
                got.add(r["prefix"])
        out = {role: Scope(frozenset(p)) if p else EVERYWHERE for role, p in prefixes.items()}
        if user_id in self.admin_ids:
            out["admin"] = EVERYWHERE
        return out

    async def grant(
        self,
        user_id: int,
        role: str,
        *,
        label: str | None = None,
        by: int | None = None,
        regions: Iterable[str] | None = None,
        kind: str | None = None,
    ) -> bool:
        """Give a role; True if it is new (a label is updated either way). ``regions``
        replaces the regions the role covers (empty: every region); None leaves them as
        they are (a new role then covers every region). ValueError for a code that is not
        2, 4 or 6 digits."""
        if role not in ROLES:
            raise ValueError(role)
        covered = None if regions is None else codes(regions)
        async with self._db.write() as tx:
            existing = await tx.fetchone(
                "SELECT 1 FROM roles WHERE user_id = ? AND role = ?", (user_id, role)
            )
            await tx.execute(
                "INSERT INTO roles (user_id, role, label, granted_by, granted_at, kind)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, role)"
                " DO UPDATE SET label = COALESCE(excluded.label, roles.label),"
                " kind = COALESCE(excluded.kind, roles.kind)",
                (user_id, role, label, by, now_iso(), kind),
            )
            detail: dict[str, object] = {"user": user_id, "role": role}
            if covered is not None:
                await tx.execute(
                    "DELETE FROM role_regions WHERE user_id = ? AND role = ?", (user_id, role)
                )
                for prefix in sorted(covered):
                    await tx.execute(
                        "INSERT INTO role_regions (user_id, role, prefix) VALUES (?, ?, ?)",
                        (user_id, role, prefix),
                    )
                detail["regions"] = sorted(covered)
            await record(tx, by, "role.granted", None, detail)
        return existing is None

    async def revoke(self, user_id: int, role: str, *, by: int | None = None) -> bool:
        async with self._db.write() as tx:
            cursor = await tx.execute(
                "DELETE FROM roles WHERE user_id = ? AND role = ?", (user_id, role)
            )
            if cursor.rowcount:
                await record(tx, by, "role.revoked", None, {"user": user_id, "role": role})
        return bool(cursor.rowcount)

    async def grants(self, role: str | None = None) -> list[Grant]:
        if role is None:
            rows = await self._db.fetchall(
                "SELECT user_id, role, label, granted_at, kind FROM roles ORDER BY role, user_id"
            )
        else:
            rows = await self._db.fetchall(
                "SELECT user_id, role, label, granted_at, kind FROM roles WHERE role = ?"
                " ORDER BY user_id",
                (role,),
            )
        regions: dict[tuple[int, str], list[str]] = {}
        for r in await self._db.fetchall(
            "SELECT user_id, role, prefix FROM role_regions ORDER BY prefix"
        ):
            regions.setdefault((r["user_id"], r["role"]), []).append(r["prefix"])
        out = [
            Grant(
                r["user_id"],
                r["role"],
                r["label"],
                r["granted_at"],
                regions=tuple(regions.get((r["user_id"], r["role"]), ())),
                kind=r["kind"],
            )
            for r in rows
        ]
        if role in (None, "admin"):
            listed = {g.user_id for g in out if g.role == "admin"}
            out += [Grant(uid, "admin", None, "", True) for uid in sorted(self.admin_ids - listed)]
        return out

    async def members(self, role: str, region: str | None = None) -> list[int]:
        """Who holds ``role``; with ``region``, only those whose regions cover it."""
        return [
            g.user_id for g in await self.grants(role) if region is None or g.scope.covers(region)
        ]
