"""The house rules that keep the layers honest, checked over the source itself (``ast``).

- A handler parses, calls the core and renders: it never reaches through a service into
  the store (``self.store.roles.has``, ``interview.store.users``), so every rule about
  roles, languages and data stays in the core, where the terminal and tests reach it too.
- Only ``bot/store/`` speaks SQL: a statement anywhere else in the core is one a second
  storage backend would miss.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Every handler module, and every module of the wire, reaches the store only through the
# core; but the two that build on it: the Application wires the store into the services, and
# the channel's side of the inbox writes what arrives before anything else may run.
BUILT_ON_THE_STORE = {"__init__.py", "app.py", "inbox.py"}
THIN_HANDLERS = sorted(
    path
    for package in ("handlers", "telegram_channel")
    for path in (ROOT / package).glob("*.py")
    if path.name not in BUILT_ON_THE_STORE
)

_SQL = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|PRAGMA)\s")


def store_reaches(source: str) -> list[int]:
    """Lines where ``source`` uses an attribute or a name called ``store``."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Attribute) and node.attr == "store") or (
            isinstance(node, ast.Name) and node.id == "store"
        ):
            lines.append(node.lineno)
    return sorted(set(lines))


def sql_statements(source: str) -> list[int]:
    """Lines of string constants in ``source`` that are SQL statements."""
    return sorted(
        {
            node.lineno
            for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and _SQL.match(node.value)
        }
    )


@pytest.mark.parametrize("path", THIN_HANDLERS, ids=lambda p: p.name)
def test_a_handler_never_reaches_into_the_store(path: Path) -> None:
    found = store_reaches(path.read_text(encoding="utf-8"))
    assert not found, f"{path.relative_to(ROOT)} reaches into the store on lines {found}"


def test_only_the_store_speaks_sql() -> None:
    wrong = []
    for path in sorted((ROOT / "bot").rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        if name.startswith("bot/store/"):
            continue
        for line in sql_statements(path.read_text(encoding="utf-8")):
            wrong.append(f"{name}:{line}")
    assert not wrong, "SQL outside bot/store/:\n" + "\n".join(wrong)


def test_the_checks_see_what_they_look_for() -> None:
    source = (
        "class H:\n"
        "    async def f(self):\n"
        "        await self.interview.store.users.language(1)\n"
        "        store = None\n"
        "        await db.fetchone('SELECT lang FROM users WHERE user_id = ?', (1,))\n"
        "        print('Select your language')\n"
    )
    assert store_reaches(source) == [3, 4]
    assert sql_statements(source) == [5]
    assert sql_statements("x = 'Update the flow: send it back to me as a file'") == []
