"""The layers keep to their imports (docs/architecture.md), checked over the source itself.

The core (``bot/``) speaks to channels through what it returns, never by importing them:
not python-telegram-bot, not the Telegram channel, not the handlers, not the command line.
Every import statement counts, those inside functions too, so a lazy import cannot hide one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# package -> top-level packages its modules must never import
FORBIDDEN = {
    "bot": {
        "telegram",
        "telegram_channel",
        "web_channel",
        "handlers",
        "command_line",
        "aiohttp",
        "httptools",
        "httpx",
    },
    "handlers": {"command_line", "web_channel"},
    "telegram_channel": {"command_line"},
    # The web chat speaks to the core only: never through Telegram's channel or handlers.
    "web_channel": {"telegram", "telegram_channel", "handlers", "command_line"},
}


def imported_roots(source: str, module: str) -> dict[str, int]:
    """Top-level package of every import in ``source`` -> the line of its first import."""
    found: dict[str, int] = {}
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            # A relative import stays inside its own package.
            names = [package.split(".")[0]] if node.level else [node.module or ""]
        else:
            continue
        for name in names:
            found.setdefault(name.split(".")[0], node.lineno)
    return found


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_module_imports_what_its_layer_must_not(package: str) -> None:
    files = modules(package)
    assert files, f"no modules found under {package}/"
    wrong = []
    for path in files:
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for root, line in imported_roots(path.read_text(encoding="utf-8"), module).items():
            if root in FORBIDDEN[package]:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {root}")
    assert not wrong, "\n".join(wrong)


def test_the_check_sees_imports_inside_functions_and_from_imports() -> None:
    source = (
        "import os\n"
        "from telegram.ext import Application\n"
        "def later():\n"
        "    from telegram_channel import app\n"
        "    import handlers.common\n"
    )
    assert imported_roots(source, "bot.x") == {
        "os": 1,
        "telegram": 2,
        "telegram_channel": 4,
        "handlers": 5,
    }
