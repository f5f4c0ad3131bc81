"""Marks for strings that are translated later, at render time.

Kept apart from ``bot.i18n`` so that low-level modules (the flow loader, the
engine) can mark their messages without importing Babel.
"""

from __future__ import annotations


def N_(message: str) -> str:
    """Mark a module-level string for extraction; it is translated where it is shown."""
    return message
