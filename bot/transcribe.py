"""Speech to text for voice answers: a pluggable engine, off by default.

Why pluggable and off: a villager's voice note is kept and played as it is; a transcription
only helps a caseworker skim. No engine ships with the bot, so the default build claims no
transcription it does not have. A deployment that has one (for example an offline
speech-to-text package with a local model) registers it under a name and sets
``INTAKE_TRANSCRIBER`` to that name; its text is shown beside the recording, marked as a
machine transcription.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from bot.config import ConfigError, Settings


class Transcriber(Protocol):
    async def transcribe(self, audio: bytes, mime: str | None) -> str | None:
        """The words spoken in ``audio`` (None when nothing could be made out)."""
        ...


NONE = "none"

# name -> how to build the engine from the settings (a deployment's plugin adds itself).
ENGINES: dict[str, Callable[[Settings], Transcriber]] = {}


def register(name: str, build: Callable[[Settings], Transcriber]) -> None:
    ENGINES[name.strip().lower()] = build


def transcriber_for(settings: Settings) -> Transcriber | None:
    """The engine ``INTAKE_TRANSCRIBER`` names; None for "none" (the default)."""
    name = settings.transcriber
    if name in ("", NONE):
        return None
    build = ENGINES.get(name)
    if build is None:
        known = ", ".join(sorted([NONE, *ENGINES]))
        raise ConfigError(f"INTAKE_TRANSCRIBER names no known engine: {name!r} (known: {known})")
    return build(settings)
