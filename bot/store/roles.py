"""Who may do what: caseworkers, partners (agriculture department liaisons), admins.

Checked in the database at the moment of every privileged action, whatever
button or command carried it, so a revoked role stops working at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.store.audit import record
from bot.store.db import Database, now_iso

ROLES = ("caseworker", "partner", "admin")


@dataclass(frozen=True)
class Grant:
    user_id: int
    role: str
    label: str | None
    granted_at: str
    from_config: bool = False


class RoleStore:
    def __init__(self, db: Database, admin_ids: frozenset[int] = frozenset()) -> None:
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

    async def grant(
        self, user_id: int, role: str, *, label: str | None = None, by: int | None = None
    ) -> bool:
        """Give a role; True if it is new (a label is updated either way)."""
        if role not in ROLES:
            raise ValueError(role)
        async with self._db.write() as tx:
            existing = await tx.fetchone(
                "SELECT 1 FROM roles WHERE user_id = ? AND role = ?", (user_id, role)
            )
            await tx.execute(
                "INSERT INTO roles (user_id, role, label, granted_by, granted_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, role)"
                " DO UPDATE SET label = COALESCE(excluded.label, roles.label)",
                (user_id, role, label, by, now_iso()),
            )
            await record(tx, by, "role.granted", None, {"user": user_id, "role": role})
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
                "SELECT user_id, role, label, granted_at FROM roles ORDER BY role, user_id"
            )
        else:
            rows = await self._db.fetchall(
                "SELECT user_id, role, label, granted_at FROM roles WHERE role = ?"
                " ORDER BY user_id",
                (role,),
            )
        out = [Grant(r["user_id"], r["role"], r["label"], r["granted_at"]) for r in rows]
        if role in (None, "admin"):
            listed = {g.user_id for g in out if g.role == "admin"}
            out += [Grant(uid, "admin", None, "", True) for uid in sorted(self.admin_ids - listed)]
        return out

    async def members(self, role: str) -> list[int]:
        return [g.user_id for g in await self.grants(role)]
