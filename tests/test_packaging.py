"""What ``pip install .`` puts on a server: every package of the code, by name.

setuptools installs only the packages ``pyproject.toml`` lists; one left out works in the
repository (tests import from the checkout) and fails on the server and in the tests that
start ``intake-bot run`` from the installed script, with a ModuleNotFoundError at start.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOP = ("bot", "telegram_channel", "handlers", "command_line")


def test_every_package_of_the_code_is_installed() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in TOP
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert found, "no package found: the test looks in the wrong place"
    assert found - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
