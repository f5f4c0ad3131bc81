"""Texts of the core, made safe for a page.

The core writes for Telegram: people's words escaped, bold and italics as ``<b>`` and
``<i>``, lines broken with newlines (bot/messages.py, ``HTML``). A page keeps exactly
those two tags and escapes everything else again, whatever the text holds, so neither a
flow's text nor a notice can put markup of its own on the page.
"""

from __future__ import annotations

import html
from html.parser import HTMLParser

from markupsafe import Markup

_KEPT = ("b", "i")


class _Keeper(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _KEPT:
            self.out.append(f"<{tag}>")
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _KEPT and tag in self.open:
            while self.open:
                last = self.open.pop()
                self.out.append(f"</{last}>")
                if last == tag:
                    break

    def handle_data(self, data: str) -> None:
        self.out.append(html.escape(data, quote=True).replace("\n", "<br>"))


def safe_html(text: str) -> Markup:
    """``text`` in Telegram's HTML as a page may show it: bold, italics, line breaks."""
    keeper = _Keeper()
    keeper.feed(text)
    keeper.close()
    keeper.out += [f"</{tag}>" for tag in reversed(keeper.open)]
    return Markup("".join(keeper.out))  # every piece is escaped above
