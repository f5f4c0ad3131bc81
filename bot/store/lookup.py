"""The blind index of sent intakes (the ``lookup`` table): written with every change of what
an intake can be found by, in the transaction of that change, and read by a search.

Each row is a keyed hash (``Cipher.blind``) of one normal form from bot/lookup.py; the
normal forms themselves are never stored. The index is made again from the sealed
answers at start when it was written under another key, or never (a database from
before it, or one just re-keyed): a marker in ``settings`` says which key wrote it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from bot.crypto import Cipher
from bot.flow.model import Flow
from bot.lookup import Term, clue_terms, terms
from bot.store.backend import Tx
from bot.store.db import now_iso

if TYPE_CHECKING:
    from bot.store import Store

log = logging.getLogger(__name__)

_MARK = "lookup_key"
_CHUNK = 500


async def index(tx: Tx, cipher: Cipher | None, intake_id: int, found_by: Iterable[Term]) -> None:
    """Make ``intake_id`` findable by ``found_by`` and by nothing else. Without a key (a
    Database opened without a Store) nothing is indexed."""
    await forget(tx, intake_id)
    if cipher is None:
        return
    for kind, value in sorted(set(found_by)):
        await tx.execute(
            "INSERT INTO lookup (intake_id, kind, digest) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (intake_id, kind, cipher.blind(kind, value)),
        )


async def forget(tx: Tx, intake_id: int) -> None:
    """``intake_id`` can no longer be found by anything personal (erased, anonymised)."""
    await tx.execute("DELETE FROM lookup WHERE intake_id = ?", (intake_id,))


def digests(cipher: Cipher | None, looked_for: Iterable[Term]) -> list[bytes]:
    """What a search for ``looked_for`` matches in the index."""
    if cipher is None:
        return []
    return [cipher.blind(kind, value) for kind, value in looked_for]


def _marker(cipher: Cipher) -> str:
    return cipher.blind("check", "lookup v1").hex()


async def rebuild_if_needed(store: Store) -> int:
    """Index every sent intake that still holds personal data, when the index is not
    this key's (see the module's docstring); returns how many intakes were read."""
    from bot.store.intakes import _state  # here: intakes imports this module

    db = store.db
    cipher = db.cipher
    assert cipher is not None
    row = await db.fetchone("SELECT value FROM settings WHERE key = ?", (_MARK,))
    if row is not None and row["value"] == _marker(cipher):
        return 0
    flows: dict[tuple[str, int], Flow | None] = {}
    for f in await db.fetchall("SELECT DISTINCT flow_id, flow_version FROM intakes"):
        key = (f["flow_id"], int(f["flow_version"]))
        try:
            flows[key] = await store.flows.get(*key)
        except Exception:  # a flow that no longer loads: its intakes are not indexed
            log.warning("flow %s version %d does not load: its intakes are not indexed", *key)
            flows[key] = None
    done = 0
    async with db.write() as tx:
        await tx.execute("DELETE FROM lookup")
        last = 0
        while True:
            rows = await tx.fetchall(
                "SELECT id, flow_id, flow_version, state, is_clue, clue FROM intakes"
                " WHERE id > ? AND status <> 'draft' AND anonymised_at IS NULL"
                " ORDER BY id LIMIT ?",
                (last, _CHUNK),
            )
            if not rows:
                break
            last = int(rows[-1]["id"])
            for r in rows:
                if r["is_clue"]:
                    clue = cipher.open_json(r["clue"]) if r["clue"] else {}
                    await index(tx, cipher, r["id"], clue_terms(clue))
                    done += 1
                    continue
                flow = flows.get((r["flow_id"], int(r["flow_version"])))
                if flow is None:
                    continue
                await index(tx, cipher, r["id"], terms(flow, _state(r["state"], cipher).answers))
                done += 1
        await tx.execute(
            "INSERT INTO settings (key, value, changed_at) VALUES (?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
            " changed_at = excluded.changed_at",
            (_MARK, _marker(cipher), now_iso()),
        )
    if done:
        log.info("%d sent intakes indexed for searching", done)
    return done
