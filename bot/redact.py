"""Secrets kept out of the log, whoever writes the line.

Our own log lines never name a secret, but libraries do: aiohttp puts the proxy's URL,
credentials included, into the text of its proxy errors, and an exception's text can quote
a request URL, which for the Bot API carries the token. So every line is cleaned where it
leaves, on the log handlers, after the message and any traceback are formatted: the values
of the secret settings are replaced, and so is anything shaped like a bot token or like
credentials in a URL, whatever the setting they came from.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

from bot.config import Settings

HIDDEN = "***"

# user:password@ in a URL (http://alice:pw@proxy:3128, postgresql://u:pw@db/x).
_URL_CREDENTIALS = re.compile(r"(?<=://)[^\s/@:]+:[^\s/@]*@")
# A Telegram bot token: the bot's id, a colon, 35 characters of base64url.
_TOKEN = re.compile(r"\d{3,}:[A-Za-z0-9_-]{30,}")
_PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy")
_SHORTEST = 4  # shorter values would blank out ordinary words


def secrets_of(settings: Settings, env: dict[str, str] | None = None) -> list[str]:
    """The secret values this process knows: the token (and its secret half), the webhook
    secret, the key passphrase, the passwords of proxies named in the environment and
    of the database's URL."""
    env = dict(os.environ) if env is None else env
    found = [settings.token, settings.webhook_secret, settings.secret_key]
    if settings.token and ":" in settings.token:
        found.append(settings.token.split(":", 1)[1])
    # Proxies' passwords, and the database's (INTAKE_DB=postgresql://user:password@host/db).
    for url in [env.get(name) for name in _PROXY_VARIABLES] + [settings.db_path]:
        if url and "@" in url:
            parts = urlsplit(url if "://" in url else "http://" + url)
            if parts.password:
                found += [parts.password, unquote(parts.password)]
    return [s for s in found if s and len(s) >= _SHORTEST]


class Redactor(logging.Filter):
    """A handler filter that hides secrets in the formatted line and its traceback."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # Longest first, so that a token is hidden whole before its secret half is.
        self._secrets = sorted(set(secrets), key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, HIDDEN)
        text = _URL_CREDENTIALS.sub(HIDDEN + "@", text)
        return _TOKEN.sub(HIDDEN, text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.scrub(message)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = self.scrub(record.stack_info)
        return True


def install(settings: Settings) -> Redactor:
    """Put a ``Redactor`` on every handler of the root logger (call after configuring it)."""
    redactor = Redactor(secrets_of(settings))
    for handler in logging.getLogger().handlers:
        for old in [f for f in handler.filters if isinstance(f, Redactor)]:
            handler.removeFilter(old)
        handler.addFilter(redactor)
    return redactor
